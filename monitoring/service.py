"""The monitor service: an APScheduler job that runs one cycle every interval.

Why these choices:
* `max_instances=1` and `coalesce=True`: a slow cycle (AWS throttling) never overlaps
  the next one, and missed runs collapse into one instead of a burst.
* A lease row in the database: several replicas may run the bot, but APScheduler 3
  cannot share a job store between processes, so each replica schedules the job and only
  the lease holder runs the cycle; if it dies, another takes over when the lease expires.
* Several accounts and regions (ACCOUNTS_FILE): each (account, region) scope has its own
  reader, read side by side in a bounded thread pool (reads are network-bound; the database
  part stays sequential). One scope's AccessDenied or throttling never stops the others: it
  backs off (1, 2, 4 … intervals, at most BACKOFF_MAX), is named in `status`, and the alert
  channel hears of it once after FAILURE_NOTICE_AFTER failures in a row — and once when it
  recovers. The cycle fails only when no scope could be read.
* The lease is short (LEASE_INTERVALS of an interval) and renewed by a heartbeat while the
  holder lives and its cycles keep coming, even through a long cycle: a replica killed with -9
  is replaced within two intervals, a slow cycle never loses the lease to a healthy standby, and
  a holder whose cycles stopped coming (nothing schedules them) lets the lease run out.
* A cycle never raises into the scheduler: a failure is logged and recorded (so `status`
  shows it), and after FAILURE_NOTICE_AFTER failed cycles in a row a notice goes to the alert
  channel — once, and once more when cycles work again; open incidents are not resolved by a
  failed read. A failure after the fleet read (a bug, a database outage) counts the same.
"""

from __future__ import annotations

import json
import logging
import os
import socket
import threading
import time
import uuid
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from apscheduler.schedulers.background import BackgroundScheduler
from pydantic import BaseModel
from sqlalchemy import Engine

from monitoring import checks
from monitoring.attribution import CALL_BEFORE_AWS, Attribution, BotRun, attribute
from monitoring.baseline_reader import BaselineReader
from monitoring.config import MonitorRules
from monitoring.cost_watch import CostWatch
from monitoring.incidents import IncidentManager, OpenHook, ReconcileReport
from monitoring.notifier import Notifier
from monitoring.snapshot import FleetSnapshot, SnapshotReader
from store.audit import AuditLog
from store.baselines import BaselineStore, CostChecks
from store.engine import utcnow
from store.flags import LAST_CYCLE_FLAG
from store.leases import Lease
from store.observations import Observations
from store.proposals import ProposalStore
from tools.accounts import Scope
from tools.aws import AwsClients
from tools.errors import describe_aws_error
from tools.models import Instance, Risk
from tools.registry import tools

log = logging.getLogger(__name__)
LEASE_NAME = "monitor"
FAILURE_NOTICE_AFTER = 3  # failed cycles in a row before the alert channel hears of it
BACKOFF_MAX_SECONDS = 600  # a failing scope is retried at least this often
LEASE_INTERVALS = 0.75  # lease length in intervals: takeover after a crash within 1.75 intervals
MIN_LEASE_SECONDS = 3.0
HEARTBEATS_PER_LEASE = 3  # renewals per lease length: two may fail (a database blip) without losing it
MAX_READERS = 8  # scopes read side by side; botocore's pool holds 20 connections per client


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
    scopes_read: int = 0
    # "prod · us-east-1" → why it could not be read (and for how many cycles), for `status`
    failing_scopes: dict[str, str] = {}


@dataclass
class ScopeWatch:
    """One (account, region) the monitor reads, and how reading it has been going."""

    scope: Scope
    reader: SnapshotReader
    failures_in_a_row: int = 0
    retry_at: float = 0.0  # monotonic; a failing scope waits (backoff) before its next read
    error: str | None = None
    told: bool = False
    last_read_at: datetime | None = None  # naive UTC when its last reconciled read began: what changed, changed after
    read_started: datetime | None = None  # naive UTC when this cycle's read began


class MonitorService:
    def __init__(self, engine: Engine, clients: AwsClients, notifier: Notifier, rules: MonitorRules,
                 audit: AuditLog, interval_seconds: int = 30, region: str | None = None,
                 watch_tag: tuple[str, str] | None = None, on_open: OpenHook | None = None,
                 set_flag: Callable[[str, str], None] | None = None, scopes: list[Scope] | None = None,
                 max_readers: int = MAX_READERS, clock: Callable[[], float] = time.monotonic,
                 after_cycle: Callable[[], None] | None = None) -> None:
        self.engine = engine
        self.lease = Lease(engine, LEASE_NAME)
        self.observations = Observations(engine)
        self.proposals = ProposalStore(engine)
        self.interval_seconds = interval_seconds
        self.rules = rules
        self.notifier = notifier
        thresholds = rules.thresholds
        if scopes is None:  # no accounts file: the bot's own account, one region — as it always was
            scopes = [Scope(None, region or clients.default_region)]
        baseline_store = BaselineStore(engine)
        self.watches = [ScopeWatch(scope, SnapshotReader(
            clients.for_account(scope.account), scope.region, watch_tag, thresholds.cpu_period_seconds,
            thresholds.cpu_statistic, thresholds.cpu_period_detailed_seconds, thresholds.inventory_refresh_seconds,
            interval_seconds, baselines=BaselineReader(
                clients.for_account(scope.account), scope.region, rules.baselines, baseline_store, scope.account,
                interval_seconds) if rules.baselines.enabled else None)) for scope in scopes]
        self.region = scopes[0].region
        self.reader = self.watches[0].reader
        self.max_readers = max_readers
        self.clock = clock
        self.incidents = IncidentManager(engine, notifier, rules, audit, on_open)
        # the daily cost check runs in each account's first scope (cost is per account, not per region)
        self.cost = CostWatch(clients, rules.cost, CostChecks(engine)) if rules.cost.enabled else None
        self._cost_scopes = {scope.account: scope for scope in reversed(scopes)}
        self.audit = audit
        # run by the lease holder after each reconciled cycle (auto-recovery: countdowns, verification)
        self.after_cycle = after_cycle
        # the pid lets an operator (and the fail-over test) tell which process of a host leads
        self.holder = f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"
        self._heartbeat: threading.Thread | None = None
        self._heartbeat_stop = threading.Event()
        self._cycle_started = time.monotonic()  # the heartbeat renews only while cycles keep coming
        self._follower: threading.Thread | None = None
        self._follow_stop = threading.Event()
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

    def follow(self, switch: Callable[[], bool]) -> None:
        """Start and stop with a switch every replica shares (the saved `auto on|off`): a replica that
        was started while the monitor was off must still stand by when another replica turns it on."""
        if self._follower is not None:
            return
        self._follow_stop.clear()

        def loop() -> None:
            while not self._follow_stop.wait(self.interval_seconds):
                try:
                    wanted = switch()
                except Exception:  # a database blip: keep the current state until the next look
                    log.warning("could not read the monitor switch", exc_info=True)
                    continue
                if wanted and not self.running:
                    self.start()
                elif not wanted and self.running:
                    self.stop()

        self._follower = threading.Thread(target=loop, name="monitor-switch", daemon=True)
        self._follower.start()

    def close(self) -> None:
        """Stop following the switch, then stop (the bot is shutting down)."""
        self._follow_stop.set()
        self.stop()

    # -- one cycle ----------------------------------------------------------------------------

    def run_cycle(self) -> CycleReport:
        with self._cycle_lock:
            self._cycle_started = time.monotonic()
            return self._run_cycle()

    def _run_cycle(self) -> CycleReport:
        started = time.perf_counter()
        try:
            if not self._take_lease():
                report = CycleReport(ok=True, skipped=True)
                self.last_report = report
                return report
        except Exception as error:  # database hiccup
            return self._failed(started, describe_aws_error(error, "monitor cycle"))
        now = self.clock()
        due = [watch for watch in self.watches if watch.retry_at <= now]
        snapshots, errors = self._read(due)
        if len(self.watches) == 1 and errors:  # one scope: the cycle is the scope, as it always was
            return self._failed(started, next(iter(errors.values())))
        for watch in due:
            self._note_scope(watch, errors.get(watch.scope), now)
        if due and not snapshots:
            return self._failed(started, "; ".join(f"{scope}: {error}" for scope, error in errors.items()))
        findings_count = 0
        outcome = ReconcileReport()
        try:
            watches = {watch.scope: watch for watch in due}
            for scope, snapshot in snapshots.items():
                found, done = self._reconcile(watches[scope], snapshot)
                findings_count += found
                outcome.opened += done.opened
                outcome.updated += done.updated
                outcome.resolved += done.resolved
        except Exception as error:
            log.exception("monitor cycle failed after reading the fleet")
            return self._failed(started, f"monitor cycle failed after reading the fleet: {type(error).__name__}")
        if self.after_cycle is not None:
            try:
                self.after_cycle()
            except Exception:  # a recovery step that failed is logged; the cycle's incidents stand
                log.exception("the after-cycle step (auto-recovery) failed")
        if self._failure_told:
            self._tell(f"monitor cycles work again (after {self.failures_in_a_row} failed in a row).")
        self.failures_in_a_row = 0
        self._failure_told = False
        report = CycleReport(ok=True, seconds=time.perf_counter() - started, findings=findings_count,
                             opened=outcome.opened, updated=outcome.updated, resolved=outcome.resolved,
                             scopes_read=len(snapshots), failing_scopes=self._failing())
        self._record(report)
        return report

    def _read(self, due: list[ScopeWatch]) -> tuple[dict[Scope, FleetSnapshot], dict[Scope, str]]:
        """Read every due scope, side by side when there are several; errors are kept per scope."""
        snapshots: dict[Scope, FleetSnapshot] = {}
        errors: dict[Scope, str] = {}
        started = utcnow()
        for watch in due:
            watch.read_started = started
        with ThreadPoolExecutor(max_workers=max(1, min(self.max_readers, len(due))),
                                thread_name_prefix="monitor-read") as pool:
            futures = [(watch, pool.submit(watch.reader.read)) for watch in due]
        for watch, future in futures:
            error = future.exception()  # AWS down, throttled past retries, denied …
            if error is not None:
                errors[watch.scope] = describe_aws_error(error, f"monitor cycle ({watch.scope})"
                                                         if watch.scope.account else "monitor cycle")
            else:
                snapshots[watch.scope] = future.result()
        return snapshots, errors

    def _reconcile(self, watch: ScopeWatch, snapshot: FleetSnapshot) -> tuple[int, ReconcileReport]:
        """One scope's findings against its own incidents and memory (keyed by account and region)."""
        scope = watch.scope
        account = scope.account
        previous = self.observations.states(scope.region)
        read_at = snapshot.taken_at.astimezone(UTC).replace(tzinfo=None)
        moves = self._attribute_moves(snapshot, previous, scope, watch.last_read_at, read_at)
        stopped_by_bot = {move.instance_id for _, move in moves if move.went_down and move.by_bot}
        still_open = self.incidents.open_incidents(scope.region, account)
        # a stop resolved by hand still fires while the instance stays down: held counts as open here, or
        # the hold would be released (as "cleared") by the first cycle after the resolution
        watched = {incident.fingerprint for incident in still_open} | self.incidents.store.held_fingerprints(
            scope.region, account)
        findings = checks.evaluate(snapshot, previous, watched, stopped_by_bot, self.rules.thresholds.cpu_percent)
        if self.cost is not None and self._cost_scopes.get(account) == scope:
            spike = self.cost.finding(account)
            findings += [spike] if spike else []
        outcome = self.incidents.reconcile(findings, scope.region, still_open, account=account)
        self._record_moves(moves, scope)
        self.observations.save(scope.region, [(h.instance.id, h.instance.state) for h in snapshot.instances],
                               previous)
        watch.last_read_at = watch.read_started or read_at
        return len(findings), outcome

    def _note_scope(self, watch: ScopeWatch, error: str | None, now: float) -> None:
        """Count a scope's failure (and back off), or its recovery; tell the alert channel once each way."""
        if error is None:
            if watch.told:
                self._tell(f"{watch.scope} can be read again (after {watch.failures_in_a_row} failed reads).")
            watch.failures_in_a_row, watch.error, watch.told, watch.retry_at = 0, None, False, 0.0
            return
        watch.failures_in_a_row += 1
        watch.error = error
        if len(self.watches) > 1:
            watch.retry_at = now + min(self.interval_seconds * 2 ** (watch.failures_in_a_row - 1),
                                       BACKOFF_MAX_SECONDS) - 1.0
        log.warning("%s (%d in a row)", error, watch.failures_in_a_row)
        if len(self.watches) > 1 and watch.failures_in_a_row >= FAILURE_NOTICE_AFTER and not watch.told:
            watch.told = True
            self._tell(f"{error}. {watch.failures_in_a_row} reads of {watch.scope} in a row failed; the other "
                       "accounts and regions are still watched, and I retry it with backoff.")

    def _failing(self) -> dict[str, str]:
        return {str(watch.scope): f"{watch.error} ({watch.failures_in_a_row} in a row)"
                for watch in self.watches if watch.error}

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
                self._set_flag(LAST_CYCLE_FLAG, json.dumps({"at": utcnow().isoformat(timespec="milliseconds"),
                                                            "ok": report.ok, "seconds": round(report.seconds, 2),
                                                            "error": report.error,
                                                            "failures_in_a_row": report.failures_in_a_row,
                                                            "scopes": len(self.watches),
                                                            "failing_scopes": report.failing_scopes}))
            except Exception:
                log.warning("could not record the monitor cycle")

    # -- memory between cycles ----------------------------------------------------------------

    def _attribute_moves(self, snapshot: FleetSnapshot, previous: dict[str, str], scope: Scope,
                         last_read_at: datetime | None, read_at: datetime) -> list[tuple[Instance, Attribution]]:
        """Every instance that went up or down since the last cycle, with whose the change was on the
        evidence (monitoring/attribution.py): an approved run that explains it, or outside the bot."""
        moved = [h.instance for h in snapshot.instances if h.instance.id in previous
                 and (previous[h.instance.id] in checks.UP_STATES) != (h.instance.state in checks.UP_STATES)]
        if not moved:
            return []
        # after a restart the last cycle is unknown: the old state was seen from `seen_at` on
        since = {} if last_read_at is not None else self.observations.seen_since(scope.region)
        changing = {spec.name: spec.noop_states for spec in tools() if spec.risk is not Risk.READ}
        earliest = min([last_read_at] if last_read_at else [since.get(i.id, read_at) for i in moved])
        runs = [BotRun(proposal_id=row["id"], tool=row["tool"], instance_ids=row["instance_ids"],
                       at=row["decided_at"], finished_at=row["finished_at"], decided_by=row["decided_by"],
                       requested_by=row["requested_by"])
                for row in self.proposals.approved_runs(changing, earliest - CALL_BEFORE_AWS)]
        return [(instance, attribute(instance.id, previous[instance.id], instance.state, instance.state_reason,
                                     (last_read_at or since.get(instance.id, read_at), read_at), runs, changing))
                for instance in moved]

    def _record_moves(self, moves: list[tuple[Instance, Attribution]], scope: Scope) -> None:
        """Audit each move with its evidence: "what changed?" must show "api-server stopped outside the
        bot at 14:02" — when it happened, not when the monitor noticed."""
        for instance, move in moves:
            where = f" in {scope}" if scope.account else ""
            run = move.by_bot
            whose = (f"by the bot: approved {run.tool} {run.proposal_id}" + (f" by {run.decided_by}" if run.decided_by
                                                                             else "")
                     if run else "outside the bot" + (f", by {move.actor}" if move.actor else ""))
            self.audit.record("observed", "monitor", status="bot" if run else "outside",
                              proposal_id=run.proposal_id if run else None,
                              message=f"{instance.label}{where} {move.before} → {move.after} {move.when()} ({whose})",
                              detail=move.detail())

    # -- lease ----------------------------------------------------------------------------------

    @property
    def lease_seconds(self) -> float:
        return max(LEASE_INTERVALS * self.interval_seconds, MIN_LEASE_SECONDS)

    def _take_lease(self) -> bool:
        taken = self.lease.take(self.holder, timedelta(seconds=self.lease_seconds))
        if taken:
            self._start_heartbeat()
        return taken

    def _start_heartbeat(self) -> None:
        """Renew the lease several times per lease length while this replica holds it — through a cycle
        that runs longer than the lease, too — and stop as soon as it is lost or released."""
        with self._lock:
            if self._heartbeat is not None and self._heartbeat.is_alive():
                return
            self._heartbeat_stop.clear()
            self._heartbeat = threading.Thread(target=self._beat, name="monitor-lease", daemon=True)
            self._heartbeat.start()

    def _beat(self) -> None:
        while not self._heartbeat_stop.wait(self.lease_seconds / HEARTBEATS_PER_LEASE):
            idle = time.monotonic() - self._cycle_started > self.interval_seconds + self.lease_seconds
            if idle and not self._cycle_lock.locked():
                return  # no cycles run here any more (nothing schedules them): let the lease run out
            try:
                if not self.lease.take(self.holder, timedelta(seconds=self.lease_seconds)):
                    log.warning("the monitor lease went to another replica")
                    return
            except Exception:  # a database blip: the next beat (or cycle) tries again
                log.warning("could not renew the monitor lease", exc_info=True)

    def _release_lease(self) -> None:
        self._heartbeat_stop.set()
        heartbeat = self._heartbeat
        if heartbeat is not None and heartbeat is not threading.current_thread():
            heartbeat.join(timeout=2)
        self.lease.release(self.holder)
