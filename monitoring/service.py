"""The monitor service: an APScheduler job that runs one cycle every interval.

Why these choices:
* `max_instances=1` and `coalesce=True`: a slow cycle (AWS throttling) never overlaps
  the next one, and missed runs collapse into one instead of a burst.
* A lease row in the database: several replicas may run the bot, but APScheduler 3
  cannot share a job store between processes, so each replica schedules the job and only
  the lease holder runs the cycle; if it dies, another takes over when the lease expires.
* A cycle never raises into the scheduler: a failure is logged, reported once (not every
  30 s), and the next cycle runs; open incidents are not resolved by a failed read.
"""

from __future__ import annotations

import json
import logging
import socket
import threading
import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

from apscheduler.schedulers.background import BackgroundScheduler
from pydantic import BaseModel
from sqlalchemy import Engine, insert, or_, select, update
from sqlalchemy.exc import IntegrityError

from bot.audit import AuditLog
from bot.db import instance_observations, leases, proposals, utcnow
from monitoring import checks
from monitoring.config import MonitorRules
from monitoring.incidents import IncidentManager, OpenHook
from monitoring.notifier import Notifier
from monitoring.snapshot import FleetSnapshot, SnapshotReader
from tools.aws import AwsClients
from tools.errors import describe_aws_error

log = logging.getLogger(__name__)
LEASE_NAME = "monitor"
LAST_CYCLE_FLAG = "monitor_last_cycle"
BOT_ACTION_MEMORY = timedelta(hours=2)


class CycleReport(BaseModel):
    ok: bool
    skipped: bool = False
    seconds: float = 0.0
    findings: int = 0
    opened: list[int] = []
    updated: list[int] = []
    resolved: list[int] = []
    error: str | None = None


class MonitorService:
    def __init__(self, engine: Engine, clients: AwsClients, notifier: Notifier, rules: MonitorRules,
                 audit: AuditLog, interval_seconds: int = 30, region: str | None = None,
                 watch_tag: tuple[str, str] | None = None, on_open: OpenHook | None = None,
                 set_flag: Callable[[str, str], None] | None = None) -> None:
        self.engine = engine
        self.region = region or clients.default_region
        self.interval_seconds = interval_seconds
        self.rules = rules
        self.notifier = notifier
        self.reader = SnapshotReader(clients, self.region, watch_tag, rules.thresholds.cpu_period_seconds,
                                     rules.thresholds.cpu_statistic)
        self.incidents = IncidentManager(engine, notifier, rules, audit, on_open)
        self.holder = f"{socket.gethostname()}:{uuid.uuid4().hex[:8]}"
        self.last_report: CycleReport | None = None
        self._set_flag = set_flag
        self._failing = False
        self._scheduler: BackgroundScheduler | None = None
        self._lock = threading.Lock()

    # -- scheduling ---------------------------------------------------------------------------

    @property
    def running(self) -> bool:
        return self._scheduler is not None and self._scheduler.running

    def start(self) -> None:
        with self._lock:
            if self.running:
                return
            scheduler = BackgroundScheduler(timezone="UTC")
            scheduler.add_job(self.run_cycle, "interval", seconds=self.interval_seconds, id="monitor-cycle",
                              max_instances=1, coalesce=True, misfire_grace_time=self.interval_seconds,
                              next_run_time=None)
            scheduler.start()
            scheduler.modify_job("monitor-cycle", next_run_time=datetime.now(UTC))  # first cycle right away
            self._scheduler = scheduler

    def stop(self) -> None:
        with self._lock:
            if self._scheduler is not None:
                self._scheduler.shutdown(wait=True)
                self._scheduler = None
        self._release_lease()

    # -- one cycle ----------------------------------------------------------------------------

    def run_cycle(self) -> CycleReport:
        started = time.perf_counter()
        try:
            if not self._take_lease():
                report = CycleReport(ok=True, skipped=True)
                self.last_report = report
                return report
            snapshot = self.reader.read()
        except Exception as error:  # AWS down, throttled past retries, database hiccup …
            report = CycleReport(ok=False, seconds=time.perf_counter() - started,
                                 error=describe_aws_error(error, "monitor cycle"))
            self._record(report)
            if not self._failing:
                self._failing = True
                log.warning("%s", report.error)
                self._tell(f"{report.error}. I keep trying every {self.interval_seconds} s; "
                           "open incidents stay open until I can read the fleet again.")
            return report
        try:
            previous = self._previous_states()
            still_open = self.incidents.open_incidents(self.region)
            findings = checks.evaluate(snapshot, previous, {incident.fingerprint for incident in still_open},
                                       self._stopped_by_bot(), self.rules.thresholds.cpu_percent)
            outcome = self.incidents.reconcile(findings, self.region, still_open)
            self._save_states(snapshot, previous)
        except Exception as error:
            log.exception("monitor cycle failed after reading the fleet")
            report = CycleReport(ok=False, seconds=time.perf_counter() - started, error=type(error).__name__)
            self._record(report)
            return report
        if self._failing:
            self._failing = False
            self._tell("monitor cycles work again.")
        report = CycleReport(ok=True, seconds=time.perf_counter() - started, findings=len(findings),
                             opened=outcome.opened, updated=outcome.updated, resolved=outcome.resolved)
        self._record(report)
        return report

    def _tell(self, message: str) -> None:
        try:
            self.notifier.problem(message)
        except Exception:
            log.warning("could not report a monitor problem: %s", message)

    def _record(self, report: CycleReport) -> None:
        self.last_report = report
        if self._set_flag is not None:
            try:
                self._set_flag(LAST_CYCLE_FLAG, json.dumps({"at": utcnow().isoformat(timespec="seconds"),
                                                            "ok": report.ok, "seconds": round(report.seconds, 2),
                                                            "error": report.error}))
            except Exception:
                log.warning("could not record the monitor cycle")

    # -- memory between cycles ----------------------------------------------------------------

    def _previous_states(self) -> dict[str, str]:
        with self.engine.connect() as connection:
            rows = connection.execute(select(instance_observations.c.instance_id, instance_observations.c.state)
                                      .where(instance_observations.c.region == self.region))
            return {row.instance_id: row.state for row in rows}

    def _save_states(self, snapshot: FleetSnapshot, previous: dict[str, str]) -> None:
        now = utcnow()
        changed = [(h.instance.id, h.instance.state) for h in snapshot.instances
                   if previous.get(h.instance.id) != h.instance.state]
        if not changed:
            return
        with self.engine.begin() as connection:
            for instance_id, state in changed:
                if instance_id in previous:
                    connection.execute(update(instance_observations)
                                       .where(instance_observations.c.instance_id == instance_id)
                                       .values(state=state, seen_at=now))
                else:
                    connection.execute(insert(instance_observations).values(
                        instance_id=instance_id, region=self.region, state=state, seen_at=now))

    def _stopped_by_bot(self) -> set[str]:
        """Instances an approved stop/terminate touched recently: their going down is expected."""
        since = utcnow() - BOT_ACTION_MEMORY
        with self.engine.connect() as connection:
            rows = connection.execute(select(proposals.c.instance_ids).where(
                proposals.c.tool.in_(["stop_instances", "terminate_instances"]),
                proposals.c.status.in_(["executing", "executed"]), proposals.c.decided_at >= since))
            return {instance_id for row in rows for instance_id in row.instance_ids}

    # -- lease ----------------------------------------------------------------------------------

    def _take_lease(self) -> bool:
        now = utcnow()
        expires = now + timedelta(seconds=max(3 * self.interval_seconds, 30))
        with self.engine.begin() as connection:
            taken = connection.execute(update(leases).where(
                leases.c.name == LEASE_NAME, or_(leases.c.holder == self.holder, leases.c.expires_at < now),
            ).values(holder=self.holder, expires_at=expires)).rowcount
        if taken:
            return True
        try:
            with self.engine.begin() as connection:
                connection.execute(insert(leases).values(name=LEASE_NAME, holder=self.holder, expires_at=expires))
            return True
        except IntegrityError:
            return False

    def _release_lease(self) -> None:
        with self.engine.begin() as connection:
            connection.execute(update(leases).where(leases.c.name == LEASE_NAME, leases.c.holder == self.holder)
                               .values(expires_at=utcnow() - timedelta(seconds=1)))

