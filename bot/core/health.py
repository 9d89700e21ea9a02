"""`python app.py health`: is this bot process doing its job? For Docker's HEALTHCHECK.

Why a heartbeat file: HEALTHCHECK runs a new process inside the container, which cannot ask the
running bot's Socket Mode client anything. The bot writes `DATA_DIR/heartbeat.json` every
HEARTBEAT_SECONDS (its mode and whether Socket Mode is connected) and removes it when it stops;
the check reads it. The file is per container; the database (and so the monitor's last cycle) is
shared by replicas, so any replica can tell that the monitor has stalled.

Why a failing AWS read is not "unhealthy": a restart does not fix an AWS outage or missing
permissions, and `status` and the alert channel already say so. Unhealthy means this process
cannot serve: no heartbeat, Slack disconnected, database unreachable, or no monitor cycle for
several intervals while the monitor is on.
"""

from __future__ import annotations

import json
import logging
import os
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

from pydantic import BaseModel
from sqlalchemy import Engine, text

from bot.core.settings import Settings
from store.engine import DEFAULT_DB_FILE, database_url, make_engine
from store.flags import LAST_CYCLE_FLAG, MONITOR_FLAG, Flags

log = logging.getLogger(__name__)
HEARTBEAT_FILE = "heartbeat.json"
HEARTBEAT_SECONDS = 10.0
STALE_HEARTBEAT_SECONDS = 60.0
MISSED_CYCLES = 3  # cycles the monitor may miss (a slow AWS read) before it counts as stalled


class Check(BaseModel):
    name: str
    ok: bool
    detail: str


class HealthReport(BaseModel):
    checks: list[Check]

    @property
    def ok(self) -> bool:
        return all(check.ok for check in self.checks)

    def lines(self) -> list[str]:
        return [f"{'ok  ' if check.ok else 'FAIL'} {check.name}: {check.detail}" for check in self.checks]


class Heartbeat:
    """Writes the heartbeat file from a daemon thread until `stop()`, which removes it."""

    def __init__(self, data_dir: Path, mode: str, connected: Callable[[], bool] | None = None,
                 every_seconds: float = HEARTBEAT_SECONDS, db_file: str = DEFAULT_DB_FILE) -> None:
        self.path = Path(data_dir) / HEARTBEAT_FILE
        self.mode = mode
        self.db_file = db_file  # the SQLite file this process uses (the sandbox keeps its own)
        self.connected = connected
        self.every_seconds = every_seconds
        self._stop = threading.Event()
        self._last_state: bool | None = None
        self._thread = threading.Thread(target=self._run, name="heartbeat", daemon=True)

    @classmethod
    def of(cls, engine: Engine, data_dir: Path, mode: str, connected: Callable[[], bool] | None = None) -> Heartbeat:
        """A heartbeat naming the SQLite file `engine` uses, so `health` checks that database."""
        sqlite_file = engine.url.database if engine.dialect.name == "sqlite" else None
        return cls(data_dir, mode, connected, db_file=Path(sqlite_file).name if sqlite_file else DEFAULT_DB_FILE)

    def start(self) -> Heartbeat:
        self.beat()
        self._thread.start()
        return self

    def beat(self) -> None:
        socket_mode = None
        if self.connected is not None:
            try:
                socket_mode = bool(self.connected())
            except Exception:  # a client mid-reconnect: not connected
                socket_mode = False
        self._last_state = socket_mode
        payload = {"at": time.time(), "pid": os.getpid(), "mode": self.mode, "socket_mode": socket_mode,
                   "db_file": self.db_file}
        self.path.parent.mkdir(parents=True, exist_ok=True)
        partial = self.path.with_suffix(".tmp")
        partial.write_text(json.dumps(payload), encoding="utf-8")
        os.replace(partial, self.path)  # a reader never sees half a file

    def _run(self) -> None:
        # while Slack is not (yet, or no longer) connected, beat every second: the file must say
        # "connected" as soon as the client is, not up to a whole period later
        while not self._stop.wait(1.0 if self._last_state is False else self.every_seconds):
            try:
                self.beat()
            except OSError:
                log.warning("could not write the heartbeat file %s", self.path)

    def stop(self) -> None:
        self._stop.set()
        if self._thread.is_alive():  # never started when the connection failed first
            self._thread.join(timeout=2)
        self.path.unlink(missing_ok=True)


def check_health(settings: Settings, now: float | None = None) -> HealthReport:
    now = time.time() if now is None else now
    beat = _read_heartbeat(settings.data_dir / HEARTBEAT_FILE)
    checks = [_heartbeat(beat, now)]
    db_file = str(beat.get("db_file") or DEFAULT_DB_FILE) if isinstance(beat, dict) else DEFAULT_DB_FILE
    sqlite_file = settings.data_dir / Path(db_file).name
    if not settings.database_url and not sqlite_file.exists():  # never create an empty database here
        checks.append(Check(name="database", ok=False, detail=f"no database file {sqlite_file}"))
        return HealthReport(checks=checks)
    engine = make_engine(database_url(settings.data_dir, settings.database_url, sqlite_file.name), migrate=False)
    try:
        with engine.connect() as connection:
            connection.execute(text("SELECT 1"))
    except Exception as error:  # the URL may hold a password: name the error's kind only
        engine.dispose()
        checks.append(Check(name="database", ok=False, detail=f"unreachable ({type(error).__name__})"))
        return HealthReport(checks=checks)
    try:
        flags = Flags(engine)
        monitor_on = flags.get(MONITOR_FLAG, "off") == "on"
        last_cycle = flags.get(LAST_CYCLE_FLAG, "")
    except Exception:
        checks.append(Check(name="database", ok=False, detail="reachable, but the bot's tables are missing "
                                                              "(it has not started against this database)"))
        return HealthReport(checks=checks)
    finally:
        engine.dispose()
    checks.append(Check(name="database", ok=True, detail="reachable"))
    checks.append(_monitor(monitor_on, last_cycle, settings.monitor_interval_seconds, now))
    return HealthReport(checks=checks)


def _read_heartbeat(path: Path) -> dict | str:
    """The heartbeat, or why there is none."""
    try:
        beat = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return "no heartbeat: the bot is not running, or still starting"
    except (OSError, ValueError):
        return "heartbeat file unreadable"
    return beat if isinstance(beat, dict) else "heartbeat file unreadable"


def _heartbeat(beat: dict | str, now: float) -> Check:
    if isinstance(beat, str):
        return Check(name="process", ok=False, detail=beat)
    age = now - float(beat.get("at", 0))
    if age > STALE_HEARTBEAT_SECONDS:
        return Check(name="process", ok=False, detail=f"last heartbeat {age:.0f} s ago (hung or killed)")
    if beat.get("socket_mode") is False:
        return Check(name="slack", ok=False, detail="Socket Mode is not connected")
    detail = "Socket Mode connected" if beat.get("socket_mode") else f"running ({beat.get('mode')})"
    return Check(name="slack" if beat.get("socket_mode") else "process", ok=True, detail=detail)


def _monitor(monitor_on: bool, last_cycle: str, interval_seconds: int, now: float) -> Check:
    if not monitor_on:
        return Check(name="monitor", ok=True, detail="off")
    if not last_cycle:
        return Check(name="monitor", ok=False, detail="on, but no cycle has run yet")
    cycle = json.loads(last_cycle)
    at = datetime.fromisoformat(cycle["at"]).replace(tzinfo=UTC)  # stored as naive UTC
    age = now - at.timestamp()
    limit = MISSED_CYCLES * interval_seconds + 30
    outcome = "ok" if cycle.get("ok") else f"failed: {cycle.get('error')}"
    if age > limit:
        return Check(name="monitor", ok=False, detail=f"on, but the last cycle was {age:.0f} s ago "
                                                      f"(interval {interval_seconds} s)")
    return Check(name="monitor", ok=True, detail=f"last cycle {age:.0f} s ago, {outcome}")
