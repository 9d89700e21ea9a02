"""Chaos in the sandbox, measured: break instances in a loop with the monitor running, per AUTO_RECOVERY mode.

    python -m bench.recovery_bench [--faults 60] [--seed 7] [--modes off announce on]

What it does, per mode (off / announce / on), on a freshly seeded demo fleet:
* Faults, one at a time, behind the bot's back (`sandbox.faults`): an instance stopped outside the bot, an
  EC2 status check impaired (in moto's in-process backend, through the emulator's control route, as the
  tests do), and at the end a CPU spike (PutMetricData) on each detailed-monitoring instance. A fifth of
  instance (bastion) is sick: a reboot never mends its status check (the world's answer; the bot does not
  know), which is what opens circuit breakers. A mendable one clears when a reboot of that instance reaches AWS.
* The bot is the real runtime (pipeline, one verdict, approvals, runbook index, `MonitorService`,
  `AutoRecovery`) against the sandbox; its AWS calls go through a proxy that sees each request as it
  reaches "AWS". Cycles are driven one by one on a simulated clock (monitor interval per cycle; the
  auto-recovery clock and the reader's schedule follow it): no wall-clock sleeps, so hours of simulated
  chaos run in about a minute. Between faults the clock moves on 2–12 simulated minutes.
* A fault the bot does not mend within its window (approval mode, a guardrail, a breaker) is mended by
  "a person" (behind the bot's back) so the next fault starts from a healthy fleet; it counts as handed over.

What it reports: time to detect and time to recovered (p50/p95, in monitor intervals and simulated seconds,
counted in whole cycles: a fault lands just after a cycle, so these are upper bounds), the automatic actions
and how many of them were outside the guardrails — judged on the AWS side, from the requests the proxy saw,
against the guardrails as configured (`outside_guardrails`: never a stop/terminate, one instance, never
Protected, in scope, only what the runbook prescribes for the fault the instance has, cooldown, hourly cap,
breakers, storm) — breakers opened, undo proposals offered, and incidents left open at the end.

Why the flapping rule is relaxed here: it counts openings in *real* minutes, and the bench fits hours of
simulated faults into one real minute; left as is, it would suppress the bench's own faults.
"""

from __future__ import annotations

import argparse
import io
import random
import sys
import tempfile
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from urllib.parse import parse_qs

import yaml

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench.counting_proxy import CountingProxy  # noqa: E402
from bot.core.runtime import Runtime, build_runtime  # noqa: E402
from bot.core.settings import load_settings  # noqa: E402
from bot.core.verdict import STORM_RECOVERIES  # noqa: E402
from monitoring.config import DEFAULT_RULES_FILE  # noqa: E402
from monitoring.notifier import TerminalNotifier  # noqa: E402
from monitoring.service import MonitorService  # noqa: E402
from sandbox.faults import FaultInjector  # noqa: E402
from sandbox.fleet import DEMO_FLEET, seed_demo_fleet  # noqa: E402
from sandbox.server import SANDBOX_CREDENTIALS, MotoSandbox  # noqa: E402
from store.engine import utcnow  # noqa: E402
from store.incidents import Incident  # noqa: E402
from tools.aws import AwsClients  # noqa: E402

MODES = ("off", "announce", "on")
INTERVAL = 30  # MONITOR_INTERVAL_SECONDS
VERIFY = 90  # RECOVERY_VERIFY_SECONDS: three intervals, so a failed reboot escalates inside its window
WINDOW = 7  # cycles a fault is left to the bot before a person mends it
MUTATIONS = frozenset({"StartInstances", "StopInstances", "RebootInstances", "TerminateInstances"})
AUTO_TOOLS = {"StartInstances": "stopped", "RebootInstances": "impaired"}  # what each may answer
TARGETS = ("web-server-1", "web-server-2", "api-server", "staging-web", "bastion", "db-primary")
CPU_TARGETS = tuple(d.name for d in DEMO_FLEET if d.detailed_monitoring)
PROTECTED = frozenset(d.name for d in DEMO_FLEET if dict(d.extra_tags).get("Protected") == "true")
SICK = "bastion"  # its status check fails again and again: a reboot never mends it (opens breakers)


@dataclass(frozen=True)
class Guardrails:
    """The guardrails as configured (the AUTO_RECOVERY_* settings), for the judge below."""

    cooldown_seconds: float = 30 * 60
    max_per_hour: int = 5
    breaker: int = 2
    account_breaker: int = 5
    verify_seconds: float = VERIFY
    interval_seconds: float = INTERVAL
    scope: tuple[str, str] | None = None


@dataclass(frozen=True)
class Action:
    """One state-changing EC2 request as it reached AWS, with what the world knew of its instances then."""

    at: float  # simulated seconds
    operation: str
    instance_ids: tuple[str, ...]
    faults: tuple[str | None, ...]  # each instance's fault at that moment: stopped, impaired, cpu, or None
    sticky: bool = False  # a reboot that does not mend it (the bot cannot know)
    protected: bool = False
    tags: dict[str, str] = field(default_factory=dict)


def outside_guardrails(actions: Sequence[Action], mode: str, rails: Guardrails) -> list[str]:
    """Each action that crossed a guardrail, and which — from the AWS side only. In the bench nobody approves
    anything, so every change the bot sent is an automatic one."""
    problems: list[str] = []
    done: list[Action] = []
    for action in actions:
        why = _first_crossed(action, done, mode, rails)
        if why:
            problems.append(f"{action.operation} {','.join(action.instance_ids)} at {action.at:.0f} s: {why}")
        done.append(action)
    return problems


def _first_crossed(action: Action, done: list[Action], mode: str, rails: Guardrails) -> str | None:
    if mode == "off":
        return "AUTO_RECOVERY=off, yet a change reached AWS"
    if action.operation not in AUTO_TOOLS:
        return f"{action.operation} is never automatic"
    if len(action.instance_ids) != 1:
        return "more than one instance in one automatic action"
    if action.protected:
        return "Protected=true instance"
    if rails.scope is not None and action.tags.get(rails.scope[0]) != rails.scope[1]:
        return "outside AUTO_RECOVERY_SCOPE"
    if action.faults[0] != AUTO_TOOLS[action.operation]:
        return f"not what the runbook prescribes for the instance's fault ({action.faults[0]})"
    instance, at = action.instance_ids[0], action.at
    mine = [a for a in done if a.instance_ids == action.instance_ids]
    if mine and at - mine[-1].at < rails.cooldown_seconds:
        return "inside the instance's cooldown"
    if sum(1 for a in done if a.at >= at - 3600) >= rails.max_per_hour:
        return "over the hourly cap"
    settled = rails.verify_seconds + rails.interval_seconds  # by then the bot surely judged it
    in_a_row = 0
    for earlier in reversed(mine):
        if not earlier.sticky:
            break
        if earlier.at + settled <= at:
            in_a_row += 1
    if in_a_row >= rails.breaker:
        return f"circuit breaker: {in_a_row} failed automatic recoveries of {instance} in a row"
    failed = sum(1 for a in done if a.sticky and a.at + rails.verify_seconds >= at - 3600 and a.at + settled <= at)
    if failed >= rails.account_breaker:
        return f"account circuit breaker: {failed} failed in the hour"
    if sum(1 for a in mine if not a.sticky and a.at >= at - 3600) >= STORM_RECOVERIES:
        return "restart storm"
    return None


class SimClock:
    """Simulated time: seconds for the monitor's schedule, a datetime for auto-recovery's countdowns."""

    def __init__(self) -> None:
        self.seconds = 0.0
        self.base = utcnow()

    def monotonic(self) -> float:
        return self.seconds

    def now(self) -> datetime:
        return self.base + timedelta(seconds=self.seconds)


@dataclass
class Fault:
    kind: str  # stopped, impaired, cpu
    name: str
    instance_id: str
    sticky: bool
    detected: int | None = None  # cycles after the fault until an incident was open for it
    recovered: int | None = None  # cycles after detection until it cleared by the bot's own action
    mended_by_person: bool = False


class Wire:
    """What the proxy saw reach AWS: every non-DryRun EC2 mutation, stamped with the simulated time and
    the world's facts about its instances at that moment."""

    def __init__(self, clock: SimClock, ids: dict[str, str], active: dict[str, Fault]) -> None:
        self.clock = clock
        self.names = {instance_id: name for name, instance_id in ids.items()}
        self.active = active
        self.tags = {ids[d.name]: {"Env": d.env, "Role": d.role, **dict(d.extra_tags)} for d in DEMO_FLEET}
        self.actions: list[Action] = []
        self._lock = threading.Lock()

    def observe(self, operation: str, body: bytes) -> None:
        service, _, name = operation.partition(".")
        if service != "ec2" or name not in MUTATIONS:
            return
        form = parse_qs(body.decode("utf-8", "replace"))
        if (form.get("DryRun") or ["false"])[0].lower() == "true":
            return
        ids = tuple(value for key, values in sorted(form.items()) if key.startswith("InstanceId.") for value in values)
        faults = tuple(self.active[i].kind if i in self.active else None for i in ids)
        sticky = any(self.active[i].sticky for i in ids if i in self.active)
        protected = any(self.names.get(i) in PROTECTED for i in ids)
        with self._lock:
            self.actions.append(Action(self.clock.seconds, name, ids, faults, sticky, protected,
                                       self.tags.get(ids[0], {}) if ids else {}))


class Notes(TerminalNotifier):
    """The terminal notifier, counting the recovery steps it is asked to say."""

    def __init__(self) -> None:
        super().__init__(io.StringIO())
        self.escalations = 0
        self.undo_offers = 0
        self.no_inverse = 0

    def recovery_note(self, incident: Incident, text: str, mentions: Sequence[str] = (),
                      replace: str | None = None, proposal_id: str | None = None) -> None:
        self.escalations += text.startswith("Not recovered")
        self.undo_offers += "Undo offered to approvers" in text
        self.no_inverse += "has no inverse" in text
        super().recovery_note(incident, text, mentions, replace, proposal_id)


@dataclass
class ModeResult:
    mode: str
    faults: list[Fault]
    actions: list[Action]
    outside: list[str]
    breakers: int
    escalations: int
    undo_offers: int
    no_inverse: int
    left_open: int
    proposals_for_approvers: int
    seconds: float  # wall seconds of the chaos loop (runbook indexing apart)
    indexing: float  # wall seconds to open the runbook index (MiniLM, once; later modes reuse it)

    def detect(self) -> list[int]:
        return [f.detected for f in self.faults if f.detected is not None]

    def recovered(self, kind: str | None = None) -> list[int]:
        return [f.recovered for f in self.faults if f.recovered is not None and kind in (None, f.kind)]


def rules_file(folder: Path) -> Path:
    """The monitor's own rules, with the flapping limit lifted (see the module docstring)."""
    rules = yaml.safe_load(DEFAULT_RULES_FILE.read_text(encoding="utf-8"))
    rules["flapping"]["max_openings"] = 1_000_000
    path = folder / "tiers.yaml"
    path.write_text(yaml.safe_dump(rules), encoding="utf-8")
    return path


def run_mode(sandbox: MotoSandbox, mode: str, faults: int, seed: int, folder: Path,
             rails: Guardrails = Guardrails()) -> ModeResult:
    started = time.perf_counter()
    sandbox.reset()
    fleet = seed_demo_fleet(sandbox)
    injector = FaultInjector(sandbox)
    clock = SimClock()
    active: dict[str, Fault] = {}
    wire = Wire(clock, fleet.ids, active)
    rng = random.Random(seed)
    with CountingProxy(sandbox.endpoint_url, observe=wire.observe) as proxy:
        clients = AwsClients(sandbox.region, endpoint_url=proxy.url, credentials=SANDBOX_CREDENTIALS)
        settings = load_settings(
            data_dir=folder / "data", database_url=f"sqlite:///{folder}/{mode}.sqlite3", auto_recovery=mode,
            monitor_interval_seconds=INTERVAL, recovery_verify_seconds=int(rails.verify_seconds),
            auto_recovery_cooldown_minutes=rails.cooldown_seconds / 60, auto_recovery_max_per_hour=rails.max_per_hour,
            auto_recovery_breaker=rails.breaker, auto_recovery_account_breaker=rails.account_breaker,
            auto_recovery_scope="=".join(rails.scope) if rails.scope else None,
            monitor_rules_file=rules_file(folder), slack_alert_channel=None)
        runtime = build_runtime(settings, clients)
        try:
            indexing = time.perf_counter()
            runtime.open_runbooks()
            indexing = time.perf_counter() - indexing
            runtime.autorecovery.clock = clock.now
            notes = Notes()
            service = runtime.attach_monitor(notes)
            service.clock = clock.monotonic
            for watch in service.watches:
                watch.reader.clock = clock.monotonic
            service.run_cycle()  # the healthy fleet, remembered
            done = [one_fault(runtime, service, injector, wire, clock, active, fleet.ids, rng, kind, name, mode)
                    for kind, name in plan(faults, rng)]
            left_open = len(runtime.incidents.open_incidents())
            breakers = len(runtime.autorecovery.attempts.breakers(rails.breaker))
            for_approvers = sum(1 for p in runtime.approvals.pending() if not p.automatic)
        finally:
            runtime.close()
    actions = list(wire.actions)
    return ModeResult(mode, done, actions, outside_guardrails(actions, mode, rails), breakers, notes.escalations,
                      notes.undo_offers, notes.no_inverse, left_open, for_approvers, time.perf_counter() - started - indexing, indexing)


def plan(faults: int, rng: random.Random) -> list[tuple[str, str]]:
    """The faults, in order: stops and impaired status checks at random (the sick instance only ever fails its
    status check), then one CPU spike per
    detailed-monitoring instance (a spike stays the latest datapoint for ten real minutes, so each instance
    takes one, last)."""
    cpu = list(CPU_TARGETS)[: max(0, min(len(CPU_TARGETS), faults // 10))]
    steps = []
    for _ in range(faults - len(cpu)):
        name = rng.choice(TARGETS)
        steps.append(("impaired" if name == SICK else rng.choice(("stopped", "impaired")), name))
    return steps + [("cpu", name) for name in cpu]


def one_fault(runtime: Runtime, service: MonitorService, injector: FaultInjector, wire: Wire, clock: SimClock,
              active: dict[str, Fault], ids: dict[str, str], rng: random.Random, kind: str, name: str,
              mode: str) -> Fault:
    instance_id = ids[name]
    fault = Fault(kind, name, instance_id, sticky=kind == "impaired" and name == SICK)
    check = {"stopped": "instance_down", "impaired": "status_check_failed", "cpu": "cpu_high"}[kind]
    active[instance_id] = fault
    if kind == "stopped":
        injector.stop_behind_back(instance_id)
    elif kind == "impaired":
        injector.impair_status_check(instance_id)
    else:
        injector.spike_cpu(instance_id)
    incident_id: int | None = None
    seen = len(wire.actions)
    for cycle in range(1, WINDOW + 1):
        clock.seconds += INTERVAL
        service.run_cycle()
        for action in wire.actions[seen:]:  # a reboot reaching AWS mends a status check that is not sticky
            if action.operation == "RebootInstances" and instance_id in action.instance_ids and not fault.sticky:
                injector.restore_status_check(instance_id)
        seen = len(wire.actions)
        if incident_id is None:
            incident_id = next((i.id for i in runtime.incidents.open_incidents()
                                if i.instance_id == instance_id and i.check_name == check), None)
            if incident_id is not None:
                fault.detected = cycle
        if incident_id is not None and fault.detected is not None:
            incident = runtime.incidents.get(incident_id)
            if incident is not None and incident.status == "resolved" and not incident.resolved_by:
                fault.recovered = cycle - fault.detected
                break
    if fault.recovered is None and kind != "cpu":  # a person mends it, behind the bot's back
        fault.mended_by_person = True
        if kind == "stopped":
            injector.start_behind_back(instance_id)
        else:
            injector.restore_status_check(instance_id)
        for _ in range(3):
            clock.seconds += INTERVAL
            service.run_cycle()
            if incident_id is None or runtime.incidents.get(incident_id).status == "resolved":  # type: ignore[union-attr]
                break
    if kind != "cpu":
        active.pop(instance_id, None)
    clock.seconds += rng.randint(2, 12) * 60  # until the next fault
    return fault


def pct(values: list[int], q: float) -> str:
    if not values:
        return "—"
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(q * (len(ordered) - 1))))
    cycles = ordered[index]
    return f"{cycles} ({cycles * INTERVAL} s)"


def table(results: list[ModeResult]) -> str:
    rows = [("", *[r.mode for r in results])]
    rows.append(("faults (stop / impaired / cpu)", *[
        "/".join(str(sum(1 for f in r.faults if f.kind == k)) for k in ("stopped", "impaired", "cpu")) for r in results]))
    rows.append(("detected", *[f"{len(r.detect())}/{len(r.faults)}" for r in results]))
    rows.append(("time to detect p50, intervals (s)", *[pct(r.detect(), 0.5) for r in results]))
    rows.append(("time to detect p95", *[pct(r.detect(), 0.95) for r in results]))
    rows.append(("recovered by the bot", *[str(len(r.recovered())) for r in results]))
    rows.append(("detect → recovered p50 (all)", *[pct(r.recovered(), 0.5) for r in results]))
    rows.append(("detect → recovered p95 (all)", *[pct(r.recovered(), 0.95) for r in results]))
    rows.append(("  stopped-outside p95", *[pct(r.recovered("stopped"), 0.95) for r in results]))
    rows.append(("  stopped-outside max", *[pct(r.recovered("stopped"), 1.0) for r in results]))
    rows.append(("  impaired p95", *[pct(r.recovered("impaired"), 0.95) for r in results]))
    rows.append(("handed over (mended by a person)", *[str(sum(f.mended_by_person for f in r.faults)) for r in results]))
    rows.append(("automatic actions at AWS (start/reboot)", *[
        f"{sum(a.operation == 'StartInstances' for a in r.actions)}/{sum(a.operation == 'RebootInstances' for a in r.actions)}"
        for r in results]))
    rows.append(("actions outside the guardrails", *[str(len(r.outside)) for r in results]))
    rows.append(("stop/terminate sent", *[str(sum(a.operation in ('StopInstances', 'TerminateInstances')
                                                  for a in r.actions)) for r in results]))
    rows.append(("escalations (not recovered)", *[str(r.escalations) for r in results]))
    rows.append(("breakers opened", *[str(r.breakers) for r in results]))
    rows.append(("undo offered (start → stop) / no inverse said", *[f"{r.undo_offers}/{r.no_inverse}" for r in results]))
    rows.append(("pending for approvers at the end", *[str(r.proposals_for_approvers) for r in results]))
    rows.append(("incidents left open (CPU: no auto)", *[str(r.left_open) for r in results]))
    rows.append(("wall seconds (+ runbook indexing)", *[f"{r.seconds:.1f} (+{r.indexing:.1f})" for r in results]))
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    return "\n".join("  ".join(cell.ljust(widths[i]) if i == 0 else cell.rjust(widths[i])
                               for i, cell in enumerate(row)) for row in rows)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0] if __doc__ else None)
    parser.add_argument("--faults", type=int, default=60, help="faults per mode (default 60)")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--modes", nargs="+", choices=MODES, default=list(MODES))
    args = parser.parse_args(argv)
    results = []
    with MotoSandbox() as sandbox, tempfile.TemporaryDirectory() as folder:
        for mode in args.modes:
            results.append(run_mode(sandbox, mode, args.faults, args.seed, Path(folder)))
    print(f"recovery bench: {args.faults} faults per mode, seed {args.seed}, monitor interval {INTERVAL} s "
          f"(simulated), verify {VERIFY} s, cooldown 30 min, cap 5/h, breaker 2")
    print(table(results))
    for result in results:
        for problem in result.outside:
            print(f"OUTSIDE THE GUARDRAILS ({result.mode}): {problem}")
    return 1 if any(r.outside for r in results) else 0


if __name__ == "__main__":
    raise SystemExit(main())
