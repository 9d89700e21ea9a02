"""Triage tools: what is broken, what changed, and why one instance is unwell — all read-only.

Why these are tools (not operator commands): on call asks them in sentences ("is anything broken
right now?", "who stopped web-server-2?", "why is api-server slow?"), in Slack, the terminal and from
an MCP client alike; a tool is declared once and every front end and both planners get it.
`diagnose` reads everything an engineer would open first, each part labelled, and changes nothing;
a part that cannot be read says so instead of failing the whole answer.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from typing import ClassVar

from botocore.exceptions import BotoCoreError, ClientError
from pydantic import BaseModel, Field, field_validator

from tools.cloudtrail import with_trail
from tools.cloudwatch import alarm_instance_id, fetch_metric_series
from tools.context import ToolContext
from tools.ec2 import StatusCheck
from tools.errors import ToolError, describe_aws_error
from tools.inventory import fetch_instances
from tools.logs import instance_streams, log_group_for, log_group_names
from tools.models import Instance, OneTargetArgs, Risk, ToolArgs, ToolResult, check_window
from tools.ops import ChangeView, HeldView, IncidentView, MonitorView
from tools.render import SECTION_LIMIT, Block, age, context, escape, fmt, link, section, sparkline, table
from tools.spec import ToolSpec, verbs

DOWN_STATES = frozenset({"stopping", "stopped", "shutting-down", "terminated"})
TIER_LABELS = {0: "Tier 0", 1: "Tier 1"}
MAX_FRESH_READERS = 8  # accounts and regions read side by side when the monitor's word is missing


def _now() -> datetime:
    """Naive UTC, as the store keeps times."""
    return datetime.now(UTC).replace(tzinfo=None)


# -- open incidents ---------------------------------------------------------------------------------

class ListIncidentsArgs(ToolArgs):
    pass


class FreshRead(BaseModel):
    """What the bot read from AWS just now, because the monitor's word was missing or old."""

    region: str
    where: str = ""  # the scope as people read it: "prod (123456789012) · us-east-1"; the region alone in one account
    stopped: list[str] = Field(default_factory=list)  # labels
    impaired: list[str] = Field(default_factory=list)
    alarms: list[str] = Field(default_factory=list)
    error: str | None = None

    @property
    def clean(self) -> bool:
        return self.error is None and not (self.stopped or self.impaired or self.alarms)

    def words(self, korean: bool = False) -> str:
        where = self.where or self.region
        if self.error:
            if korean:
                return f"지금 {self.where} 확인하지 못했습니다: {self.error}" if self.where else \
                    f"지금 확인하지 못했습니다: {self.error}"
            return f"could not check {self.where} now: {self.error}" if self.where else f"could not check now: {self.error}"
        if korean:
            return (f"방금 {where} 확인: 중지 {len(self.stopped)}개{_named(self.stopped)}, "
                    f"상태 검사 실패 {len(self.impaired)}개{_named(self.impaired)}, "
                    f"울리는 알람 {len(self.alarms)}개{_named(self.alarms)}")
        return (f"checked now in {where}: {len(self.stopped)} stopped{_named(self.stopped)}, "
                f"{len(self.impaired)} failing status checks{_named(self.impaired)}, "
                f"{len(self.alarms)} alarms firing{_named(self.alarms)}")


def _named(items: list[str], most: int = 5) -> str:
    if not items:
        return ""
    more = f", +{len(items) - most} more" if len(items) > most else ""
    return f" ({', '.join(items[:most])}{more})"


def monitor_words(monitor: MonitorView, now: datetime, korean: bool = False) -> str:
    """When and how the monitor last looked: "monitor off — last cycle never"."""
    if monitor.last_cycle_at is None:
        last = "마지막 점검 없음" if korean else "last cycle never"
    else:
        ago = age((now - monitor.last_cycle_at).total_seconds())
        error = monitor.error or "unknown error"
        if korean:
            outcome = "정상" if monitor.last_ok else f"실패 ({error})"
            last = f"마지막 점검 {ago} 전 ({monitor.last_cycle_at:%H:%M:%S} UTC), {outcome}"
        else:
            outcome = "ok" if monitor.last_ok else f"FAILED ({error})"
            last = f"last cycle {ago} ago ({monitor.last_cycle_at:%H:%M:%S} UTC), {outcome}"
    if not monitor.enabled:
        return f"{'모니터 꺼짐' if korean else 'monitor off'} — {last}"
    if monitor.stale:
        return (f"모니터 켜짐, 그러나 점검이 멈춤 ({monitor.interval_seconds}초마다 예정) — {last}" if korean
                else f"monitor on but not cycling (every {monitor.interval_seconds} s expected) — {last}")
    return f"{'모니터 켜짐' if korean else 'monitor on'} — {last}"


class IncidentsResult(ToolResult):
    incidents: list[IncidentView]
    as_of: datetime
    monitor: MonitorView | None = None
    # read when the monitor is off, stalled or failing: one per account and region the estate watches
    fresh: list[FreshRead] = Field(default_factory=list)

    @property
    def fresh_clean(self) -> bool:
        return bool(self.fresh) and all(read.clean for read in self.fresh)
    held: list[HeldView] = Field(default_factory=list)

    def _state(self, incident: IncidentView) -> str:
        if incident.snoozed_until and incident.snoozed_until > self.as_of:
            return (f"{incident.snoozed_until:%H:%M} UTC까지 일시 중지" if self.korean
                    else f"snoozed until {incident.snoozed_until:%H:%M} UTC")
        if incident.acknowledged_by:
            return f"담당 {incident.acknowledged_by}" if self.korean else f"ack by {incident.acknowledged_by}"
        return "미확인" if self.korean else "not acknowledged"

    def headline(self) -> str:
        """The answer's first sentence: an all-clear only with the evidence for one."""
        ko = self.korean
        if self.incidents:
            return (f"열린 인시던트 {len(self.incidents)}건 (긴급한 순):" if ko
                    else f"{len(self.incidents)} open incident(s), most urgent first:")
        trusted = self.monitor is not None and self.monitor.trusted
        if trusted and not self.held:
            return ("열린 인시던트 없음: 모니터의 마지막 점검에서 실패한 것이 없었습니다." if ko
                    else "No open incidents: nothing the monitor watches was failing at its last cycle.")
        if trusted:
            return ("열린 인시던트는 없지만, 수동으로 해결된 인시던트가 아직 울리고 있습니다:" if ko
                    else "No open incidents, but an incident resolved by hand is still firing:")
        if self.fresh_clean and not self.held:
            return ("기록된 열린 인시던트는 없고 방금 확인에서도 실패는 없습니다. 다만 모니터가 감시하지 않고 있어 "
                    "이 확인 이후의 일은 알 수 없습니다." if ko else
                    "No open incidents recorded, and nothing failing when checked just now — but the monitor "
                    "is not watching, so nothing newer than this check is known.")
        return ("기록된 열린 인시던트는 없지만 이상 없음이 아닙니다: 모니터가 감시하지 않고 있습니다." if ko
                else "No open incidents recorded, but that is not an all-clear: the monitor is not watching.")

    def evidence(self) -> list[str]:
        lines = []
        if self.monitor is not None:
            lines.append(monitor_words(self.monitor, self.as_of, self.korean))
        lines += [read.words(self.korean) for read in self.fresh]
        return lines

    @property
    def held_title(self) -> str:
        return "수동으로 해결됐지만 아직 울리는 것:" if self.korean else "Resolved by hand, finding still firing:"

    def held_lines(self) -> list[str]:
        if self.korean:
            return [f"#{h.id} {h.resource}: {h.resolved_by or '?'}이(가) "
                    + (f"{h.resolved_at:%H:%M} UTC에 " if h.resolved_at else "") + "수동 해결 — "
                    + ("모니터의 마지막 점검에서도 여전히 발생" if h.checked_since
                       else "이후 점검 없음; 해결할 때 해소되지 않았음")
                    + f" ({h.summary})" for h in self.held]
        return [f"#{h.id} {h.resource}: resolved by hand by {h.resolved_by or '?'}"
                + (f" at {h.resolved_at:%H:%M} UTC" if h.resolved_at else "") + " — "
                + ("its finding still fired at the monitor's last cycle" if h.checked_since
                   else "not checked since; it had not cleared when resolved")
                + f" ({h.summary})" for h in self.held]

    def to_text(self) -> str:
        lines = [self.headline()]
        if self.incidents:
            rows = [(f"#{i.id}", TIER_LABELS.get(i.tier, f"Tier {i.tier}"), i.resource,
                     age((self.as_of - i.opened_at).total_seconds()), self._state(i), i.summary, i.link or "-")
                    for i in self.incidents]
            headers = (["ID", "등급", "리소스", "경과", "담당", "요약", "스레드"] if self.korean
                       else ["ID", "TIER", "RESOURCE", "AGE", "OWNER", "SUMMARY", "THREAD"])
            lines.append(table(headers, rows, korean=self.korean))
        if self.held:
            lines.append(self.held_title)
            lines += [f"  {line}" for line in self.held_lines()]
        lines += [f"({line})" for line in self.evidence()]
        return "\n".join(lines)

    def to_blocks(self) -> list[Block]:
        clear = not self.incidents and not self.held and self.monitor is not None and self.monitor.trusted
        mark = ":white_check_mark: " if clear else ("" if self.incidents else ":warning: ")
        blocks: list[Block] = [section(f"{mark}*{escape(self.headline())}*")]
        if self.incidents:
            lines = []
            for i in self.incidents:
                thread = link(i.link, "thread")
                thread = f" · {thread}" if thread else ""
                lines.append(f"{':rotating_light:' if i.tier == 0 else ':large_orange_diamond:'} *#{i.id}* "
                             f"{TIER_LABELS.get(i.tier, f'Tier {i.tier}')} · *{escape(i.resource)}* · "
                             f"{age((self.as_of - i.opened_at).total_seconds())} · {escape(self._state(i))}{thread}\n"
                             f"    {escape(i.summary)}")
            blocks.append(section("\n".join(lines[:40])))
        if self.held:
            blocks.append(section(f"*{self.held_title.rstrip(':')}*\n"
                                  + "\n".join(f":warning: {escape(line)}" for line in self.held_lines()[:20])))
        evidence = self.evidence()
        if len(self.fresh) > 1:  # one line per account and region: a section holds them where a context line would not
            body = "\n".join(escape(line) for line in evidence)
            blocks.append(section(body if len(body) <= SECTION_LIMIT else body[:SECTION_LIMIT - 20] + "\n…"))
        elif evidence:
            blocks.append(context(escape(" · ".join(evidence))))
        return blocks


def fresh_read(ctx: ToolContext, region: str, account: str | None = None, where: str = "") -> FreshRead:
    """Stopped instances, failing status checks and firing alarms of one account and region, read now (three
    cheap reads)."""
    clients = ctx.clients.for_account(account)
    try:
        ec2 = clients.client("ec2", region)
        statuses = [status for page in ec2.get_paginator("describe_instance_status").paginate(
            IncludeAllInstances=True) for status in page.get("InstanceStatuses", [])]
        stopped = [s["InstanceId"] for s in statuses if s.get("InstanceState", {}).get("Name") in DOWN_STATES]
        impaired = [s["InstanceId"] for s in statuses if s.get("InstanceState", {}).get("Name") == "running"
                    and "impaired" in (s.get("InstanceStatus", {}).get("Status"), s.get("SystemStatus", {}).get("Status"))]
        alarms = [alarm["AlarmName"] for page in clients.client("cloudwatch", region).get_paginator(
            "describe_alarms").paginate(StateValue="ALARM") for alarm in page.get("MetricAlarms", [])]
        named = {i.id: i.label for i in fetch_instances(clients, region, instance_ids=(stopped + impaired)[:50])} \
            if stopped or impaired else {}
    except (ClientError, BotoCoreError) as error:
        return FreshRead(region=region, where=where, error=describe_aws_error(error, "read"))
    return FreshRead(region=region, where=where, stopped=[named.get(i, i) for i in stopped],
                     impaired=[named.get(i, i) for i in impaired], alarms=alarms)


def fresh_reads(ctx: ToolContext, args: ListIncidentsArgs) -> list[FreshRead]:
    """The fresh read of every account and region the estate watches (`Estate.rounds`' widest round: the one
    the monitor covers), each named, side by side — an all-clear for the default region alone would speak for
    accounts nobody looked at. An account or region the question names narrows it."""
    estate = ctx.clients.estate
    scopes = estate.rounds(args.account, args.region, None)[-1]
    if len(scopes) == 1 and scopes[0].account is None:  # one account, no accounts file: as it always read
        return [fresh_read(ctx, scopes[0].region)]
    with ThreadPoolExecutor(max_workers=max(1, min(MAX_FRESH_READERS, len(scopes)))) as pool:
        futures = [pool.submit(fresh_read, ctx, scope.region, scope.account,
                               f"{estate.label(scope.account)} · {scope.region}" if scope.account else scope.region)
                   for scope in scopes]
    return [future.result() for future in futures]


def list_incidents(ctx: ToolContext, args: ListIncidentsArgs, _: list[Instance]) -> IncidentsResult:
    records = ctx.require_records()
    incidents = sorted(records.open_incidents(), key=lambda i: (i.tier, i.opened_at))
    monitor = records.monitor()
    fresh = [] if monitor.trusted else fresh_reads(ctx, args)
    return IncidentsResult(incidents=incidents, as_of=_now(), monitor=monitor, fresh=fresh,
                           held=records.still_firing())


# -- recent changes ---------------------------------------------------------------------------------

class RecentChangesArgs(ToolArgs):
    targets: list[str] = Field(default_factory=list, max_length=20,
                               description="Only changes to these instances (Name tag or id); empty = all.")
    minutes: int = Field(60, description="How far back, in minutes (1 to 10080 = 7 days).")

    @field_validator("minutes")
    @classmethod
    def _window(cls, value: int) -> int:
        return check_window(value, 10080)


class ChangesResult(ToolResult):
    minutes: int
    subjects: list[str] = Field(default_factory=list)
    changes: list[ChangeView]
    note: str | None = None  # CloudTrail could not be read: who made outside changes is unknown

    def _head(self) -> str:
        if self.korean:
            about = f"{', '.join(self.subjects)}의 " if self.subjects else ""
            return f"최근 {_window_words(self.minutes, True)} {about}변경"
        about = f" to {', '.join(self.subjects)}" if self.subjects else ""
        return f"changes{about} in the last {_window_words(self.minutes)}"

    def _none(self) -> str:
        if self.korean:
            return f"{self._head()} 없음 (봇을 통한 변경, 모니터가 본 변경" + ("" if self.note else ", CloudTrail") + " 기준)."
        where = "made through the bot or seen by the monitor" + ("" if self.note else " or in CloudTrail")
        return f"No {self._head()} ({where})."

    def _count(self) -> str:
        if self.korean:
            return f"{self._head()} {len(self.changes)}건, 최신순 (UTC)"
        return f"{len(self.changes)} {self._head()}, newest first (UTC)"

    def to_text(self) -> str:
        tail = f"\n({self.note})" if self.note else ""
        if not self.changes:
            return self._none() + tail
        rows = [(c.when(), c.who, c.what) for c in self.changes]
        headers = ["언제", "누가", "무엇을"] if self.korean else ["WHEN", "WHO", "WHAT"]
        return f"{self._count()}:\n" + table(headers, rows, korean=self.korean) + tail

    def to_blocks(self) -> list[Block]:
        notes = [context(escape(self.note))] if self.note else []
        if not self.changes:
            return [section(escape(self._none())), *notes]
        lines = [f"`{c.when()}` *{escape(c.who)}* {escape(c.what)}" + (" :warning:" if c.outside_bot else "")
                 for c in self.changes]
        return [section(f"*{escape(self._count())}*"),
                section("\n".join(lines[:40])), *notes]


def _window_words(minutes: int, korean: bool = False) -> str:
    if korean:
        if minutes % 1440 == 0:
            return f"{minutes // 1440}일"
        return f"{minutes // 60}시간" if minutes % 60 == 0 else f"{minutes}분"
    if minutes % 1440 == 0:
        return f"{minutes // 1440} day(s)" if minutes > 1440 else "day"
    if minutes % 60 == 0:
        return f"{minutes // 60} hours" if minutes > 60 else "hour"
    return f"{minutes} min"


def recent_changes(ctx: ToolContext, args: RecentChangesArgs, instances: list[Instance]) -> ChangesResult:
    mentioning = [instance.id for instance in instances]
    since = _now() - timedelta(minutes=args.minutes)
    changes = ctx.require_records().changes(since, mentioning)
    changes, note = with_trail(ctx.clients, ctx.region(args.region), instances, since, changes)
    return ChangesResult(minutes=args.minutes, subjects=[i.label for i in instances], changes=changes, note=note)


# -- diagnose ---------------------------------------------------------------------------------------

class DiagnoseArgs(OneTargetArgs):
    verb: ClassVar[str] = "diagnose"
    symptom: str = Field("", max_length=200,
                         description="What the user sees, in their words: 'slow', 'down', '502 errors'.")


# the parts' labels in Korean: a part is read (and labelled) before the asker's language is set on the result,
# so the label is translated when it is shown; a log group after the label, "(…)", is kept as written
LABELS_KO = {"state and status checks": "상태와 상태 검사", "CPU, last hour": "CPU, 최근 1시간", "alarms": "알람",
             "latest ERROR lines, last 3 hours": "최근 3시간의 최신 ERROR 줄",
             "changes to it, last 24 hours": "최근 24시간의 변경", "runbook": "런북",
             "state": "상태", "cpu": "CPU", "errors": "오류", "changes": "변경"}


LOG_LINE = re.compile(r"^\d\d:\d\d:\d\d ")
# the parts' own sentences in Korean, translated when shown like the labels (AWS's words and data stay as written)
LINES_KO: tuple[tuple[re.Pattern[str], str], ...] = tuple((re.compile(pattern), words) for pattern, words in (
    (r"^(\S+), (\S+) in (\S+)$", r"\1, \2 (\3)"),
    (r"^status checks: instance (\S+), system (\S+)$", r"상태 검사: 인스턴스 \1, 시스템 \2"),
    (r"^failing: ", "실패: "),
    (r"^not read: the instance is (\S+)$", r"읽지 않음: 인스턴스가 \1 상태입니다"),
    (r"^no datapoints in the last hour$", "최근 1시간 데이터 포인트 없음"),
    (r"^latest (\S+) · avg (\S+) · max (\S+) \((\d+) points\)$", r"최신 \1 · 평균 \2 · 최대 \3 (포인트 \4개)"),
    (r"^no CloudWatch alarm watches this instance$", "이 인스턴스를 지켜보는 CloudWatch 알람이 없습니다"),
    (r"^no log group found for it \(tag it LogGroup=<group> to say which\)$",
     "로그 그룹을 찾지 못했습니다 (LogGroup=<그룹> 태그로 알려 주세요)"),
    (r"^(\S+) has no stream named for this instance \(by Name or id\)$",
     r"\1에 이 인스턴스 이름(Name 또는 id)의 스트림이 없습니다"),
    (r"^none$", "없음"),
    (r"^(\d+) ERROR lines; the latest 5:$", r"ERROR 줄 \1개, 최신 5개:"),
    (r"^none recorded \(through the bot or seen by the monitor or in CloudTrail\)$",
     "기록 없음 (봇을 통한 변경, 모니터가 본 변경, CloudTrail 기준)"),
    (r"^none recorded \(through the bot or seen by the monitor\)$", "기록 없음 (봇을 통한 변경, 모니터가 본 변경 기준)"),
    (r"^none searched: nothing above points to a problem$", "검색하지 않음: 위의 어느 것도 문제를 가리키지 않습니다"),
    (r"^no runbook matches$", "맞는 런북이 없습니다"),
    (r"^its recovery step is (\S+) \((.*)\); ask for it by name if you decide so — I propose, you decide$",
     r"복구 단계는 \1입니다 (\2). 그렇게 하기로 하면 이름으로 요청하세요 — 제안은 제가, 결정은 사람이 합니다"),
))


def _korean_line(line: str) -> str:
    if LOG_LINE.match(line):  # a log line is data, never translated
        return line
    for pattern, words in LINES_KO:
        if pattern.search(line):
            return pattern.sub(words, line, count=1)
    return line


class DiagnosisPart(BaseModel):
    label: str
    lines: list[str]
    concern: bool = False  # something here looks wrong
    unread: bool = False  # this part could not be read (the reason is in lines)

    def title(self, korean: bool = False) -> str:
        if not korean:
            return self.label
        base, bracket, rest = self.label.partition(" (")
        return LABELS_KO.get(base, base) + (bracket + rest if bracket else "")

    def shown(self, korean: bool = False) -> list[str]:
        return [_korean_line(line) for line in self.lines] if korean else self.lines


class Diagnosis(ToolResult):
    instance: Instance
    symptom: str = ""
    parts: list[DiagnosisPart]

    @property
    def summary(self) -> str:
        concerns = [part.title(self.korean) for part in self.parts if part.concern]
        unread = [part.title(self.korean) for part in self.parts if part.unread]
        if self.korean:
            text = (f"확인할 것: {', '.join(concerns)}." if concerns
                    else "상태, 상태 검사, CPU, 알람, 오류, 변경 어디에도 눈에 띄는 것이 없습니다.")
            if unread:
                text += f" 읽지 못함: {', '.join(unread)}."
            return text + " (이 진단은 읽기만 했고 아무것도 바꾸지 않았습니다.)"
        text = (f"Look at: {', '.join(concerns)}." if concerns
                else "Nothing stands out in state, status checks, CPU, alarms, errors or changes.")
        if unread:
            text += f" Could not read: {', '.join(unread)}."
        return text + " (This diagnosis only read; it changed nothing.)"

    @property
    def head(self) -> str:
        symptom = f" ({self.symptom})" if self.symptom else ""
        return f"{self.instance.label} 진단{symptom}:" if self.korean else f"Diagnosis of {self.instance.label}{symptom}:"

    def to_text(self) -> str:
        lines = [self.head, self.summary]
        for part in self.parts:
            lines.append(f"[{part.title(self.korean)}]" + (" !" if part.concern else ""))
            lines += [f"  {line}" for line in part.shown(self.korean)]
        return "\n".join(lines)

    def to_blocks(self) -> list[Block]:
        blocks: list[Block] = [section(f":mag: *{escape(self.head.rstrip(':'))}*\n{escape(self.summary)}")]
        for part in self.parts:
            mark = ":warning: " if part.concern else (":grey_question: " if part.unread else "")
            body = "\n".join(escape(line) for line in part.shown(self.korean)[:12]) or "–"
            blocks.append(section(f"{mark}*{escape(part.title(self.korean))}*\n{body}"))
        blocks.append(context(self.say("read-only: every part above was read, nothing was changed",
                                       "읽기 전용: 위의 모든 부분은 읽기만 했고 아무것도 바꾸지 않았습니다")))
        return blocks


Reader = Callable[[ToolContext, str, Instance, dict], DiagnosisPart]


def _state(ctx: ToolContext, region: str, instance: Instance, found: dict) -> DiagnosisPart:
    statuses = ctx.clients.client("ec2", region).describe_instance_status(
        InstanceIds=[instance.id], IncludeAllInstances=True).get("InstanceStatuses", [])
    checks = StatusCheck.from_aws(statuses[0]) if statuses else None
    lines = [f"{instance.state}, {instance.type} in {instance.az or '?'}"]
    concern = instance.state != "running"
    if checks is not None:
        lines.append(f"status checks: instance {checks.instance_status}, system {checks.system_status}")
        lines += [f"failing: {item}" for item in checks.failing]
        concern = concern or "impaired" in (checks.instance_status, checks.system_status)
        found["status"] = f"{checks.instance_status}/{checks.system_status}"
    return DiagnosisPart(label="state and status checks", lines=lines, concern=concern)


def _cpu(ctx: ToolContext, region: str, instance: Instance, found: dict) -> DiagnosisPart:
    if instance.state != "running":
        return DiagnosisPart(label="CPU, last hour", lines=[f"not read: the instance is {instance.state}"])
    series = fetch_metric_series(ctx.clients, region, [instance], minutes=60, period_seconds=300)[0]
    if not series.points:
        return DiagnosisPart(label="CPU, last hour", lines=["no datapoints in the last hour"])
    values = [point.value for point in series.points]
    found["cpu"] = series.latest
    high = (series.maximum or 0) >= 80
    return DiagnosisPart(label="CPU, last hour", concern=high, lines=[
        f"latest {fmt(series.latest)}% · avg {fmt(series.average)}% · max {fmt(series.maximum)}% "
        f"({len(values)} points)", sparkline(values, 0, 100)])


def _alarms(ctx: ToolContext, region: str, instance: Instance, found: dict) -> DiagnosisPart:
    cloudwatch = ctx.clients.client("cloudwatch", region)
    alarms = [alarm for page in cloudwatch.get_paginator("describe_alarms").paginate(AlarmTypes=["MetricAlarm"])
              for alarm in page.get("MetricAlarms", []) if alarm_instance_id(alarm) == instance.id]
    firing = [alarm for alarm in alarms if alarm.get("StateValue") == "ALARM"]
    found["alarms"] = [alarm["AlarmName"] for alarm in firing]
    if not alarms:
        return DiagnosisPart(label="alarms", lines=["no CloudWatch alarm watches this instance"])
    lines = [f"{alarm['AlarmName']}: {alarm.get('StateValue')} — {alarm.get('MetricName')} "
             f"{alarm.get('ComparisonOperator')} {alarm.get('Threshold')}" for alarm in alarms]
    return DiagnosisPart(label="alarms", lines=lines, concern=bool(firing))


def _errors(ctx: ToolContext, region: str, instance: Instance, found: dict) -> DiagnosisPart:
    group = log_group_for(instance, log_group_names(ctx, region))
    label = "latest ERROR lines, last 3 hours"
    if group is None:
        return DiagnosisPart(label=label, lines=["no log group found for it (tag it LogGroup=<group> to say which)"])
    streams = instance_streams(ctx, region, group, instance)
    if not streams:
        return DiagnosisPart(label=label, lines=[f"{group} has no stream named for this instance (by Name or id)"])
    end = datetime.now(UTC)
    events = [event for page in ctx.clients.client("logs", region).get_paginator("filter_log_events").paginate(
        logGroupName=group, logStreamNames=streams[:100], filterPattern="ERROR",
        startTime=int((end - timedelta(hours=3)).timestamp() * 1000), endTime=int(end.timestamp() * 1000))
        for event in page.get("events", [])]
    events.sort(key=lambda event: event["timestamp"])
    found["errors"] = [event.get("message", "").strip() for event in events[-3:]]
    if not events:
        return DiagnosisPart(label=f"{label} ({group})", lines=["none"])
    lines = [f"{datetime.fromtimestamp(e['timestamp'] / 1000, UTC):%H:%M:%S} {e.get('message', '').strip()[:300]}"
             for e in events[-5:]]
    if len(events) > 5:
        lines.insert(0, f"{len(events)} ERROR lines; the latest 5:")
    return DiagnosisPart(label=f"{label} ({group})", lines=lines, concern=True)


def _changes(ctx: ToolContext, region: str, instance: Instance, found: dict) -> DiagnosisPart:
    since = _now() - timedelta(hours=24)
    changes, note = with_trail(ctx.clients, region, [instance], since,
                               ctx.require_records().changes(since, [instance.id]))
    label = "changes to it, last 24 hours"
    notes = [note] if note else []
    if not changes:
        where = "through the bot or seen by the monitor" + ("" if note else " or in CloudTrail")
        return DiagnosisPart(label=label, lines=[f"none recorded ({where})", *notes])
    lines = [f"{c.when(seconds=False)} {c.who}: {c.what}" for c in changes[:8]] + notes
    return DiagnosisPart(label=label, lines=lines, concern=any(c.outside_bot for c in changes))


READERS: tuple[Reader, ...] = (_state, _cpu, _alarms, _errors, _changes)


def diagnose(ctx: ToolContext, args: DiagnoseArgs, instances: list[Instance]) -> Diagnosis:
    instance = instances[0]
    region = ctx.region(args.region)
    found: dict = {}
    parts = []
    for reader in READERS:
        try:
            parts.append(reader(ctx, region, instance, found))
        except ToolError as error:
            parts.append(DiagnosisPart(label=reader.__name__.strip("_"), lines=[error.message], unread=True))
        except (ClientError, BotoCoreError) as error:
            parts.append(DiagnosisPart(label=reader.__name__.strip("_"), lines=[describe_aws_error(error, "read")],
                                       unread=True))
    parts.append(_runbook(ctx, instance, args.symptom, found))
    return Diagnosis(instance=instance, symptom=args.symptom, parts=parts)


def _runbook(ctx: ToolContext, instance: Instance, symptom: str, found: dict) -> DiagnosisPart:
    """The runbook for what was found, searched with the facts (the symptom words first)."""
    facts = [symptom, f"instance {instance.state}"]
    if str(found.get("status", "")).count("impaired"):
        facts.append("status check failed impaired")
    if (found.get("cpu") or 0) >= 80:
        facts.append("high CPU")
    facts += [f"alarm {name}" for name in found.get("alarms", [])] + found.get("errors", [])
    if not symptom and len(facts) == 2 and instance.state == "running":
        return DiagnosisPart(label="runbook", lines=["none searched: nothing above points to a problem"])
    try:
        hint = ctx.require_records().runbook(" ".join(fact for fact in facts if fact))
    except ToolError as error:
        return DiagnosisPart(label="runbook", lines=[error.message], unread=True)
    if hint is None:
        return DiagnosisPart(label="runbook", lines=["no runbook matches"])
    lines = [f"{hint.id}: {hint.title}"]
    if hint.recovery_tool:
        lines.append(f"its recovery step is {hint.recovery_tool} ({hint.why or 'see the runbook'}); "
                     f"ask for it by name if you decide so — I propose, you decide")
    return DiagnosisPart(label="runbook", lines=lines)


# -- the declarations: what the LLM, MCP, the keyword planner, help and the policy read ------------

TOOLS: tuple[ToolSpec, ...] = (
    ToolSpec(
        "list_incidents",
        "Open incidents the monitor is tracking: tier, resource, age, who acknowledged it, link to its thread. "
        "Answers 'is anything broken right now?'.",
        ListIncidentsArgs,
        Risk.READ,
        list_incidents,
        # when the monitor is off or stale it reads AWS now, so an all-clear carries its own evidence — in every
        # account and region the estate watches, as the monitor would
        whole_estate=True,
        iam_actions=("ec2:DescribeInstances", "ec2:DescribeInstanceStatus", "cloudwatch:DescribeAlarms"),
        verbs=verbs("list incidents", "인시던트 조회"),
        examples={"en": ("open incidents", "is anything broken right now?"), "ko": ("인시던트 목록", "지금 장애 있어?")},
        intent="incidents",
        phrasing_rank=30,
        phrasings=(
            r"\bincidents?\b", r"\boutages?\b", r"\b(is|are) (anything|something|anything else) (broken|down|wrong|failing|on fire)\b",
            r"\banything (broken|down|wrong|failing|on fire)\b",
            r"\bwhat('?s| is)( (currently|now|still|actually))? (broken|on fire|failing)\b",
            r"\bany (problems|issues|fires)\b", r"\bon fire\b", r"\bwhat'?s (still )?open\b", r"\banything (still )?open\b",
            r"인시던트", r"장애", r"문제 ?(있|생긴|났)", r"이슈 ?있", r"터진 ?(거|것|게)",
        ),
    ),
    ToolSpec(
        "recent_changes",
        "What changed recently: changes made through the bot (who ran what, when), instance state changes "
        "the monitor saw that nobody made through the bot, and who made them (CloudTrail); optionally only for "
        "named instances.",
        RecentChangesArgs,
        Risk.READ,
        recent_changes,
        iam_actions=("cloudtrail:LookupEvents",),
        verbs=verbs("show recent changes", "변경 이력 조회"),
        examples={"en": ("what changed in the last hour?", "who stopped web-server-2?"),
                  "ko": ("최근 변경 사항", "누가 웹 서버 2 중지했어?")},
        intent="changes",
        phrasing_rank=20,
        phrasings=(
            r"\bwhat('s| has| have)? changed\b", r"\bwhat changes\b", r"\brecent changes\b", r"\bchange ?log\b",
            r"\bchanges? (in|over|during|since|today|made|to)\b", r"\bany changes\b",
            r"\bwho (stopped|started|rebooted|restarted|terminated|changed|touched|killed|shut down|turned off|modified|deleted|bounced)\b",
            r"\bwhat did (the bot|you|anyone|someone|somebody) (do|change)\b",
            r"변경 ?(사항|이력|내역|된|한|됐)", r"뭐가? 바뀌", r"바뀐 ?(것|거|게)", r"최근 ?(작업|변경)", r"작업 ?(이력|내역)",
            r"누가(?=.{0,30}(중지|정지|껐|꺼|재부팅|재시작|종료|시작|켰|바꿨|건드|내렸|내린|멈췄|죽였|날렸|올렸))",
            r"\b(did|has|have) (anyone|someone|somebody|anybody) (touch|change|stop|start|reboot|restart|terminate|modify|"
            r"kill|bounce|shut)",
        ),
    ),
    ToolSpec(
        "diagnose",
        "Why one instance is slow, down or broken, read-only: state and status checks, CPU over the last hour, "
        "its alarms, the latest ERROR lines of its log group, recent changes to it and the matching runbook.",
        DiagnoseArgs,
        Risk.READ,
        diagnose,
        iam_actions=("ec2:DescribeInstanceStatus", "cloudwatch:GetMetricData", "cloudwatch:DescribeAlarms",
                     "logs:DescribeLogGroups", "logs:DescribeLogStreams", "logs:FilterLogEvents",
                     "cloudtrail:LookupEvents"),
        verbs=verbs("diagnose", "진단"),
        examples={"en": ("why is api-server slow?",), "ko": ("api 서버 왜 느려?",)},
        many_targets=False,
        intent="diagnose",
        phrasing_rank=10,
        phrasings=(
            r"\bdiagnos", r"\btroubleshoot", r"\binvestigate\b", r"\broot cause\b", r"\bwhat('s| is) wrong with\b",
            r"\bwhat('s| is) going on with\b",
            r"\bwhy\b(?!.{0,60}\b(costs?|bills?|spend|spent|expens\w*|charges?|pay|paid|budget|invoice)\b)\s+"
            r"(is|are|was|were|did|does|do|has|have|'?s)\b.{0,60}\b(slow|sluggish|down|broken|failing|fail(ed)?|erroring|"
            r"errors?|unhealthy|unresponsive|stuck|lagg(ing|y)|high|hot|spiking|crash(ed|ing)?|dead|stop(ped)?|"
            r"terminated|reboot(ed)?|restart(ed)?|timing out|time ?outs?|5\d\d|flapping|impaired|hanging|not (responding|working))\b",
            r"진단", r"원인", r"뭐가 문제", r"무슨 문제", r"문제가 뭐",
            # lookaheads, not spans: words between "왜" and the symptom may be a name said in Hangul ("배치 워커")
            r"왜(?=.{0,30}(느려|느리|느린|죽었|죽어|멈췄|멈춰|다운|안 ?돼|안 ?되|에러|오류|터졌|먹통|이상해|높아|높지|꺼졌|중지됐|재부팅됐|종료됐))",
            r"(느려|느린|먹통|이상해)(?=.{0,10}왜)",
        ),
    ),
)
