"""Small named settings that must survive a restart and be shared by replicas (`auto on`).

Why an upsert: "update, then insert if nothing was updated" races when two replicas set a
flag at once (the loser's insert fails). INSERT … ON CONFLICT DO UPDATE is one atomic
statement on SQLite and PostgreSQL alike.
"""

from __future__ import annotations

from sqlalchemy import Engine, select
from sqlalchemy.dialects import postgresql, sqlite

from store.engine import utcnow
from store.schema import flags

# the flags the bot itself keeps; named here so a reader (the health check) needs no bot import
MONITOR_FLAG = "monitor_enabled"  # `auto on|off`, survives restarts
AUTO_RECOVERY_FLAG = "auto_recovery"  # `auto recovery off|announce|on`: overrides AUTO_RECOVERY, survives restarts
LAST_CYCLE_FLAG = "monitor_last_cycle"  # JSON of the last monitor cycle: when, ok, error


class Flags:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def get(self, key: str, default: str = "") -> str:
        with self.engine.connect() as connection:
            value = connection.execute(select(flags.c.value).where(flags.c.key == key)).scalar_one_or_none()
        return default if value is None else value

    def set(self, key: str, value: str) -> None:
        dialect = postgresql if self.engine.dialect.name == "postgresql" else sqlite
        now = utcnow()
        statement = dialect.insert(flags).values(key=key, value=value, updated_at=now)
        statement = statement.on_conflict_do_update(index_elements=[flags.c.key],
                                                    set_={"value": value, "updated_at": now})
        with self.engine.begin() as connection:
            connection.execute(statement)
