"""The monitor service: an APScheduler job that runs one cycle every interval.

Why these choices:
* `max_instances=1` and `coalesce=True`: a slow cycle (AWS throttling) never overlaps
  the next one, and missed runs collapse into one instead of a burst.
* A lease row in the database: several replicas may run the bot, but APScheduler 3
  cannot share a job store between processes, so each replica schedules the job and only
  the lease holder runs the cycle; if it dies, another takes over when the lease expires.
* A cycle never raises into the scheduler: a failure is logged and recorded (so `status`
  shows it), and after FAILURE_NOTICE_AFTER failed cycles in a row a notice goes to the alert
  channel — once, and once more when cycles work again; open incidents are not resolved by a
  failed read. A failure after the fleet read (a bug, a database outage) counts the same.
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
from sqlalchemy import Engine

from bot.store.audit import AuditLog
from bot.store.engine import utcnow
from bot.store.flags import LAST_CYCLE_FLAG
from bot.store.leases import Lease
from bot.store.observations import Observations
from bot.store.proposals import ProposalStore
from monitoring import checks
from monitoring.config import MonitorRules
from monitoring.incidents import IncidentManager, OpenHook
from monitoring.notifier import Notifier
from monitoring.snapshot import FleetSnapshot, SnapshotReader
from tools.aws import AwsClients
from tools.errors import describe_aws_error
from tools.models import Risk
from tools.registry import tools

log = logging.getLogger(__name__)
LEASE_NAME = "monitor"
BOT_ACTION_MEMORY = timedelta(hours=2)
FAILURE_NOTICE_AFTER = 3  # failed cycles in a row before the alert channel hears of it


class CycleReport(BaseModel):
    ok: bool
    skipped: bool = False
    seconds: float = 0.0
    findings: int = 0
    opened: list[int] = []
    updated: list[int] = []
    resolved: list[int] = []
    error: str | None = None
    failures_in_a_row: int = 0


class MonitorService:
    def __init__(self, engine: Engine, clients: AwsClients, notifier: Notifier, rules: MonitorRules,
                 audit: AuditLog, interval_seconds: int = 30, region: str | None = None,
                 watch_tag: tuple[str, str] | None = None, on_open: OpenHook | None = None,
                 set_flag: Callable[[str, str], None] | None = None) -> None:
        self.engine = engine
        self.lease = Lease(engine, LEASE_NAME)
        self.observations = Observations(engine)
        self.proposals = ProposalStore(engine)
        self.region = region or clients.default_region
        self.interval_seconds = interval_seconds
        self.rules = rules
        self.notifier = notifier
        thresholds = rules.thresholds
        self.reader = SnapshotReader(clients, self.region, watch_tag, thresholds.cpu_period_seconds,
                                     thresholds.cpu_statistic, thresholds.cpu_period_detailed_seconds,
                                     thresholds.inventory_refresh_seconds, interval_seconds)
        self.incidents = IncidentManager(engine, notifier, rules, audit, on_open)
        self.audit = audit
        self.holder = f"{socket.gethostname()}:{uuid.uuid4().hex[:8]}"
        self.last_report: CycleReport | None = None
        self._set_flag = set_flag
        self.failures_in_a_row = 0
        self._failure_told = False
        self._scheduler: BackgroundScheduler | None = None
        self._lock = threading.Lock()
        self._cycle_lock = threading.Lock()  # held while a cycle runs: stop() waits for it

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

    def stop(self, timeout_seconds: float = 3.0) -> None:
        """Stop scheduling, let a running cycle finish (up to the timeout), and release the lease
        so another replica takes over at once instead of when the lease expires."""
        with self._lock:
            if self._scheduler is not None:
                self._scheduler.shutdown(wait=False)
                self._scheduler = None
        finished = self._cycle_lock.acquire(timeout=timeout_seconds)
        try:
            if not finished:
                log.warning("a monitor cycle is still running after %.0f s; releasing the lease anyway",
                            timeout_seconds)
            self._release_lease()
        finally:
            if finished:
                self._cycle_lock.release()

    # -- one cycle ----------------------------------------------------------------------------

    def run_cycle(self) -> CycleReport:
        with self._cycle_lock:
            return self._run_cycle()

    def _run_cycle(self) -> CycleReport:
        started = time.perf_counter()
        try:
            if not self._take_lease():
                report = CycleReport(ok=True, skipped=True)
                self.last_report = report
                return report
            snapshot = self.reader.read()
        except Exception as error:  # AWS down, throttled past retries, database hiccup …
            return self._failed(started, describe_aws_error(error, "monitor cycle"))
        try:
            previous = self.observations.states(self.region)
            still_open = self.incidents.open_incidents(self.region)
            findings = checks.evaluate(snapshot, previous, {incident.fingerprint for incident in still_open},
                                       self._stopped_by_bot(), self.rules.thresholds.cpu_percent)
            outcome = self.incidents.reconcile(findings, self.region, still_open)
            self._record_state_changes(snapshot, previous)
            self.observations.save(self.region, [(h.instance.id, h.instance.state) for h in snapshot.instances],
                                   previous)
        except Exception as error:
            log.exception("monitor cycle failed after reading the fleet")
            return self._failed(started, f"monitor cycle failed after reading the fleet: {type(error).__name__}")
        if self._failure_told:
            self._tell(f"monitor cycles work again (after {self.failures_in_a_row} failed in a row).")
        self.failures_in_a_row = 0
        self._failure_told = False
        report = CycleReport(ok=True, seconds=time.perf_counter() - started, findings=len(findings),
                             opened=outcome.opened, updated=outcome.updated, resolved=outcome.resolved)
        self._record(report)
        return report

    def _failed(self, started: float, error: str) -> CycleReport:
        """Count the failure; the alert channel hears once, at the FAILURE_NOTICE_AFTER-th in a row."""
        self.failures_in_a_row += 1
        report = CycleReport(ok=False, seconds=time.perf_counter() - started, error=error,
                             failures_in_a_row=self.failures_in_a_row)
        self._record(report)
        log.warning("%s (%d in a row)", error, self.failures_in_a_row)
        if self.failures_in_a_row >= FAILURE_NOTICE_AFTER and not self._failure_told:
            self._failure_told = True
            self._tell(f"{error}. {self.failures_in_a_row} cycles in a row failed; I keep trying every "
                       f"{self.interval_seconds} s. Open incidents stay open until I can read the fleet again.")
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
                                                            "error": report.error,
                                                            "failures_in_a_row": report.failures_in_a_row}))
            except Exception:
                log.warning("could not record the monitor cycle")

    # -- memory between cycles ----------------------------------------------------------------

    def _record_state_changes(self, snapshot: FleetSnapshot, previous: dict[str, str]) -> None:
        """Audit every instance that went up or down since the last cycle, and whether the bot did it:
        "what changed?" must also show "api-server stopped outside the bot at 14:02"."""
        moved = [h.instance for h in snapshot.instances if h.instance.id in previous
                 and (previous[h.instance.id] in checks.UP_STATES) != (h.instance.state in checks.UP_STATES)]
        if not moved:
            return
        by_bot = self.proposals.instances_acted_on([spec.name for spec in tools() if spec.risk is not Risk.READ],
                                                   utcnow() - BOT_ACTION_MEMORY)
        for instance in moved:
            outside = instance.id not in by_bot
            self.audit.record("observed", "monitor", status="outside" if outside else "bot",
                              message=f"{instance.label} {previous[instance.id]} → {instance.state}"
                                      + (" (outside the bot)" if outside else " (after an approved change)"))

    def _stopped_by_bot(self) -> set[str]:
        """Instances an approved stop/terminate touched recently: their going down is expected."""
        return self.proposals.instances_acted_on([spec.name for spec in tools() if spec.takes_down],
                                                 utcnow() - BOT_ACTION_MEMORY)

    # -- lease ----------------------------------------------------------------------------------

    def _take_lease(self) -> bool:
        return self.lease.take(self.holder, timedelta(seconds=max(3 * self.interval_seconds, 30)))

    def _release_lease(self) -> None:
        self.lease.release(self.holder)
