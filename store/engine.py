"""The database connection: one engine per process, brought to the current schema at start.

Why Alembic at start rather than `create_all`: `create_all` never alters a table that
exists, so a column added in a later release breaks every database made before it.
Migrations run inside one transaction, and on PostgreSQL under an advisory lock, so two
replicas starting at the same moment migrate once. A database made before migrations
existed (release b367286 and older: tables, no `alembic_version`) is stamped at the
baseline revision first, then upgraded like any other, keeping its rows.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy import Connection, Engine, create_engine, event, inspect, text

DEFAULT_DB_FILE = "aiops.sqlite3"  # under DATA_DIR, when no DATABASE_URL is set
MIGRATIONS = Path(__file__).resolve().parent / "migrations"
BASELINE_REVISION = "0001"  # the schema of b367286, made by create_all before migrations existed
MIGRATION_LOCK_KEY = 7_310_411  # any constant: the advisory lock replicas queue on while migrating


def utcnow() -> datetime:
    """Naive UTC 'now' — the one clock every table uses."""
    return datetime.now(UTC).replace(tzinfo=None)


def database_url(data_dir: Path, configured: str | None, file_name: str = DEFAULT_DB_FILE) -> str:
    if configured:
        return configured
    data_dir.mkdir(parents=True, exist_ok=True)
    return f"sqlite:///{(data_dir / file_name).resolve()}"


def make_engine(url: str, migrate: bool = True) -> Engine:
    """Create the engine and bring the database to the current schema (idempotent)."""
    if url.startswith("sqlite"):
        engine = create_engine(url, connect_args={"check_same_thread": False, "timeout": 30})

        @event.listens_for(engine, "connect")
        def _sqlite_pragmas(connection, _record) -> None:
            cursor = connection.cursor()
            cursor.execute("PRAGMA journal_mode=WAL")  # readers don't block the writer
            cursor.execute("PRAGMA busy_timeout=30000")
            cursor.close()
    else:
        engine = create_engine(url, pool_pre_ping=True)
    if migrate:
        upgrade(engine)
    return engine


def alembic_config(connection: Connection | None = None) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.attributes["connection"] = connection
    return config


def upgrade(engine: Engine, revision: str = "head") -> None:
    """Apply every migration not applied yet, in one transaction."""
    with engine.begin() as connection:
        if connection.dialect.name == "postgresql":
            connection.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": MIGRATION_LOCK_KEY})
        config = alembic_config(connection)
        tables = set(inspect(connection).get_table_names())
        if "proposals" in tables and "alembic_version" not in tables:
            command.stamp(config, BASELINE_REVISION)  # made by create_all before migrations: adopt it
        command.upgrade(config, revision)


def current_revision(engine: Engine) -> str | None:
    with engine.connect() as connection:
        if not inspect(connection).has_table("alembic_version"):
            return None
        return connection.execute(text("SELECT version_num FROM alembic_version")).scalar_one_or_none()
