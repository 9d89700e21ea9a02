"""Cost Explorer tool: spend over a calendar month or the last N days, total, by service, by day.

Why the day windows come with a per-day series: "what did we spend this week?" is usually asked
because something looks off, and the day it jumped is the first thing an on-call engineer
looks for (the cost-anomaly runbook starts there).
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from statistics import median
from typing import Literal

from botocore.exceptions import ClientError
from pydantic import BaseModel, Field, model_validator

from tools.context import ToolContext
from tools.models import Instance, Risk, ToolArgs, ToolResult
from tools.render import Block, code_block, context, escape, lines_blocks, section, table
from tools.spec import ToolSpec, verbs

COST_METRIC = "UnblendedCost"


CostPeriod = Literal["month_to_date", "last_month", "last_7_days", "last_30_days", "yesterday", "day",
                     "last_n_days"]
DAY_WINDOWS: dict[str, int] = {"last_7_days": 7, "last_30_days": 30}
PERIOD_LABELS: dict[str, str] = {"month_to_date": "Month to date", "last_month": "Last month",
                                 "last_7_days": "Last 7 days", "last_30_days": "Last 30 days"}
PERIOD_LABELS_KO: dict[str, str] = {"month_to_date": "이번 달 (오늘까지)", "last_month": "지난달",
                                    "last_7_days": "최근 7일", "last_30_days": "최근 30일"}
WEEKDAYS_KO = "월화수목금토일"


def ko_day(day: date) -> str:
    """'11월 30일 (월)': a day as a Korean reader writes it."""
    return f"{day.month}월 {day.day}일 ({WEEKDAYS_KO[day.weekday()]})"
# these windows, when inside the last 30 days, are cut from that one (cached) daily request
SLICED_PERIODS = frozenset({"yesterday", "day", "last_n_days"})
MAX_DAYS_BACK = 365


class GetCostArgs(ToolArgs):
    period: CostPeriod = Field(
        "month_to_date",
        description="month_to_date (this month so far), last_month (the whole previous month), "
        "last_7_days or last_30_days (ending today, with a per-day series), yesterday, day (one calendar "
        "day, given in `day`) or last_n_days (the last `days` days, with a per-day series).",
    )
    day: date | None = Field(None, description="The day for period=day, YYYY-MM-DD (UTC).")
    days: int | None = Field(None, ge=1, le=MAX_DAYS_BACK, description="How many days for period=last_n_days.")

    @model_validator(mode="after")
    def _period_needs(self) -> GetCostArgs:
        if self.period == "day" and self.day is None:
            raise ValueError("period=day needs the day (YYYY-MM-DD)")
        if self.period == "last_n_days" and self.days is None:
            raise ValueError("period=last_n_days needs days")
        if self.day is not None:
            today = datetime.now(UTC).date()
            if self.day > today:
                raise ValueError(f"{self.day} is in the future; there is no spend for it yet")
            if (today - self.day).days > MAX_DAYS_BACK:
                raise ValueError(f"{self.day} is more than {MAX_DAYS_BACK} days ago")
        return self


class ServiceCost(BaseModel):
    service: str
    amount: float


class DayCost(BaseModel):
    day: date
    amount: float


class CostResult(ToolResult):
    period: str
    start: date
    end: date  # exclusive, as Cost Explorer counts it
    total: float
    currency: str
    by_service: list[ServiceCost]
    by_day: list[DayCost] = []  # the day windows only; the last day is today, still filling up
    # one complete day (yesterday, a day) against the same weekday of the weeks before: "why did it jump?"
    verdict: DayVerdict | None = None

    @property
    def label(self) -> str:
        if self.korean:
            if self.period == "yesterday":
                return f"어제 ({ko_day(self.start)})"
            if self.period == "day":
                return f"{self.start.year}년 {ko_day(self.start)}" + (
                    " (오늘, 집계 중)" if self.end > datetime.now(UTC).date() else "")
            if self.period == "last_n_days":
                return f"최근 {(self.end - self.start).days}일"
            return PERIOD_LABELS_KO.get(self.period, self.period)
        if self.period == "yesterday":
            return f"Yesterday ({self.start:%a %b %d})"
        if self.period == "day":
            return f"{self.start:%a %b %d %Y}" + (" (today, so far)" if self.end > datetime.now(UTC).date() else "")
        if self.period == "last_n_days":
            return f"Last {(self.end - self.start).days} days"
        return PERIOD_LABELS.get(self.period, self.period)

    @property
    def complete_days(self) -> list[DayCost]:
        """The series without its last day: today, still filling up, is never compared."""
        return self.by_day[:-1]

    @property
    def peak_day(self) -> DayCost | None:
        """The most expensive complete day."""
        return max(self.complete_days, key=lambda day: day.amount, default=None)

    @property
    def typical_day(self) -> float | None:
        """The median of the other complete days: what the peak is compared with (a mean would
        include the spike itself)."""
        peak = self.peak_day
        others = [day.amount for day in self.complete_days if day is not peak]
        return median(others) if others else None

    @property
    def peak_note(self) -> str | None:
        """One line both front ends print under the series: where the money went up."""
        peak, typical = self.peak_day, self.typical_day
        if peak is None or not typical:
            return None
        if self.korean:
            return (f"가장 높은 날 {ko_day(peak.day)}: {peak.amount:,.2f} {self.currency}, "
                    f"보통 하루({typical:,.2f})의 {peak.amount / typical:.1f}배")
        return (f"highest day {peak.day:%a %b %d}: {peak.amount:,.2f} {self.currency}, "
                f"{peak.amount / typical:.1f}× a typical day ({typical:,.2f})")


    def verdict_lines(self) -> list[str]:
        if self.verdict is None:
            return []
        ko = self.korean
        lines = [("평소 대비: " if ko else "Against the usual: ") + self.verdict.headline(ko)]
        if self.verdict.spike:
            lines += [("  가장 많이 오른 것: " if ko else "  up most: ") + line for line in self.verdict.service_lines(ko)]
        return lines

    def _day(self, day: date) -> str:
        return ko_day(day) if self.korean else f"{day:%a %b %d}"

    def to_text(self) -> str:
        ko = self.korean
        rows = [(s.service, f"{s.amount:,.2f}") for s in self.by_service]
        span = (f"{self.start} ~ {self.end}, 끝 날짜 제외" if ko else f"{self.start} to {self.end}, end exclusive")
        text = (f"{self.label} ({span}): {self.total:,.2f} {self.currency}\n"
                + table(["서비스" if ko else "SERVICE", self.currency], rows, korean=ko))
        if self.verdict is not None:
            text += "\n" + "\n".join(self.verdict_lines())
        if self.by_day:
            today = " (오늘, 집계 중)" if ko else " (today, so far)"
            days = [(self._day(d.day) + (today if d is self.by_day[-1] else ""), f"{d.amount:,.2f}")
                    for d in self.by_day]
            text += "\n\n" + table(["날짜" if ko else "DAY", self.currency], days, korean=ko)
            if self.peak_note:
                text += "\n" + self.peak_note
        return text

    def to_blocks(self) -> list[Block]:
        ko = self.korean
        lines = [f"{escape(s.service)}: *{s.amount:,.2f}* {escape(self.currency)}" for s in self.by_service]
        blocks = lines_blocks(f"*{self.label}* ({self.start} – {self.end}): "
                              f"*{self.total:,.2f} {escape(self.currency)}*", lines, max_lines=15, korean=ko)
        if self.verdict is not None:
            blocks.append(section(escape("\n".join(self.verdict_lines()))))
        if self.by_day:
            if ko:
                days, _ = code_block([f"{ko_day(d.day)}  {d.amount:>12,.2f}" for d in self.by_day])
            else:
                days, _ = code_block([f"{d.day:%a %b %d}  {d.amount:>12,.2f}" for d in self.by_day])
            blocks.append(section(days))
            notes = [self.peak_note or "", "마지막 날은 오늘이라 아직 집계 중" if ko else "last day is today, still filling up"]
            blocks.append(context(escape(" · ".join(note for note in notes if note))))
        return blocks


def cost_window(period: str, today: date, day: date | None = None, days: int | None = None) -> tuple[date, date]:
    """[start, end) for Cost Explorer. Month-to-date includes today, so it is never empty."""
    first_of_month = today.replace(day=1)
    if period in DAY_WINDOWS:  # like the console's "last 7 days": today included
        return today - timedelta(days=DAY_WINDOWS[period] - 1), today + timedelta(days=1)
    if period == "last_n_days":
        return today - timedelta(days=(days or 1) - 1), today + timedelta(days=1)
    if period == "yesterday":
        return today - timedelta(days=1), today
    if period == "day" and day is not None:
        return day, day + timedelta(days=1)
    if period == "last_month":
        last_month_end = first_of_month
        return (last_month_end - timedelta(days=1)).replace(day=1), last_month_end
    return first_of_month, today + timedelta(days=1)


def _query(ce, start: date, end: date, daily: bool) -> list[dict]:
    """Every ResultsByTime entry of one grouped-by-service request, all pages."""
    kwargs: dict = {
        "TimePeriod": {"Start": start.isoformat(), "End": end.isoformat()},
        "Granularity": "DAILY" if daily else "MONTHLY",
        "Metrics": [COST_METRIC],
        "GroupBy": [{"Type": "DIMENSION", "Key": "SERVICE"}],
    }
    results: list[dict] = []
    while True:
        response = ce.get_cost_and_usage(**kwargs)
        results += response.get("ResultsByTime", [])
        token = response.get("NextPageToken")
        if not token:
            return results
        kwargs["NextPageToken"] = token


def get_cost(ctx: ToolContext, args: GetCostArgs, _: list[Instance]) -> CostResult:
    ce = ctx.clients.client("ce")
    today = datetime.now(UTC).date()
    start, end = cost_window(args.period, today, args.day, args.days)
    sliced = args.period in SLICED_PERIODS
    daily_request = sliced or args.period in DAY_WINDOWS
    series = args.period in DAY_WINDOWS or args.period == "last_n_days"
    canonical_start, canonical_end = cost_window("last_30_days", today)
    verdict = None
    if sliced and canonical_start <= start and end <= canonical_end:
        # one request shape for every recent day window: Cost Explorer charges per request, and the
        # answer for "yesterday" is a slice of the last 30 days anyway
        results = _query(ce, canonical_start, canonical_end, daily=True)
        if end - start == timedelta(days=1) and end <= today:  # one complete day: was it a spike?
            verdict = judge_day(_by_day(results), start)
    else:
        results = _query(ce, start, end, daily=daily_request)
    totals: dict[str, float] = {}
    # every day of the window is listed, a day with no spend as 0.00
    daily = {start + timedelta(days=n): 0.0 for n in range((end - start).days)} if series else {}
    currency = "USD"
    for period in results:
        day = date.fromisoformat(period["TimePeriod"]["Start"])
        if daily_request and not start <= day < end:
            continue
        for group in period.get("Groups", []):
            metric = group["Metrics"][COST_METRIC]
            service = group["Keys"][0]
            amount = float(metric["Amount"])
            totals[service] = totals.get(service, 0.0) + amount
            if series:
                daily[day] = daily.get(day, 0.0) + amount
            currency = metric.get("Unit", currency)
    by_service = sorted(
        (ServiceCost(service=name, amount=round(amount, 2)) for name, amount in totals.items()),
        key=lambda item: -item.amount,
    )
    return CostResult(
        period=args.period,
        start=start,
        end=end,
        total=round(sum(totals.values()), 2),
        currency=currency,
        by_service=by_service,
        by_day=[DayCost(day=day, amount=round(amount, 2)) for day, amount in sorted(daily.items())],
        verdict=verdict,
    )


# -- cost spikes: the daily series against its own same-weekday baseline ---------------------------

MAD_TO_SIGMA = 1.4826
MIN_WEEKS = 2  # a day is judged only against at least this many earlier same weekdays


class ServiceIncrease(BaseModel):
    service: str
    amount: float
    usual: float

    @property
    def increase(self) -> float:
        return self.amount - self.usual


class DayVerdict(BaseModel):
    """One complete day against the same weekday of the weeks before (median, robust spread)."""

    day: date
    amount: float
    usual: float  # the median of the same weekdays before
    spread: float
    weeks: int
    spike: bool
    currency: str = "USD"
    top: list[ServiceIncrease] = Field(default_factory=list)  # by increase, largest first

    @property
    def ratio(self) -> float:
        return self.amount / self.usual if self.usual else float("inf")

    def headline(self, korean: bool = False) -> str:
        if korean:
            weekday = WEEKDAYS_KO[self.day.weekday()] + "요일"
            if not self.spike:
                return (f"{ko_day(self.day)}: {self.amount:,.2f} {self.currency}, {weekday}의 평소 범위 안 "
                        f"(이전 {self.weeks}주 중앙값 {self.usual:,.2f})")
            return (f"{ko_day(self.day)}: {self.amount:,.2f} {self.currency}, 평소 {weekday}({self.usual:,.2f}, "
                    f"이전 {self.weeks}주 중앙값)의 {self.ratio:.1f}배, +{self.amount - self.usual:,.2f}")
        weekday = f"{self.day:%A}"
        if not self.spike:
            return (f"{self.day:%a %b %d}: {self.amount:,.2f} {self.currency}, within the usual range for a {weekday} "
                    f"(median {self.usual:,.2f} of the {self.weeks} before)")
        return (f"{self.day:%a %b %d}: {self.amount:,.2f} {self.currency}, {self.ratio:.1f}× the usual {weekday} "
                f"({self.usual:,.2f}, median of the {self.weeks} before), +{self.amount - self.usual:,.2f}")

    def service_lines(self, korean: bool = False) -> list[str]:
        if korean:
            return [f"{item.service}: {item.amount:,.2f} (평소 {item.usual:,.2f}, +{item.increase:,.2f})"
                    for item in self.top if item.increase > 0]
        return [f"{item.service}: {item.amount:,.2f} (usually {item.usual:,.2f}, +{item.increase:,.2f})"
                for item in self.top if item.increase > 0]


def daily_costs(ce, today: date) -> tuple[dict[date, dict[str, float]], str]:
    """The last 30 days by day and service: the same one request get_cost makes for every recent day
    window (Cost Explorer bills per request), so both answer from the same data."""
    start, end = cost_window("last_30_days", today)
    results = _query(ce, start, end, daily=True)
    units = [group["Metrics"][COST_METRIC].get("Unit") for period in results for group in period.get("Groups", [])]
    return _by_day(results), next((unit for unit in units if unit), "USD")


def _by_day(results: list[dict]) -> dict[date, dict[str, float]]:
    days: dict[date, dict[str, float]] = {}
    for period in results:
        services = days.setdefault(date.fromisoformat(period["TimePeriod"]["Start"]), {})
        for group in period.get("Groups", []):
            name = group["Keys"][0]
            services[name] = services.get(name, 0.0) + float(group["Metrics"][COST_METRIC]["Amount"])
    return days


def judge_day(days: dict[date, dict[str, float]], day: date, *, weeks: int = 4, sensitivity: float = 4.0,
              min_increase: float = 25.0, min_ratio: float = 1.3, top: int = 5,
              currency: str = "USD") -> DayVerdict | None:
    """A spike: above the same weekdays' median by `sensitivity` robust spreads, by at least
    `min_increase` and `min_ratio` times it. None when fewer than MIN_WEEKS earlier weekdays are known."""
    before = [day - timedelta(weeks=n) for n in range(1, weeks + 1) if day - timedelta(weeks=n) in days]
    if len(before) < MIN_WEEKS or day not in days:
        return None
    totals = [sum(days[other].values()) for other in before]
    usual = median(totals)
    spread = max(MAD_TO_SIGMA * median(abs(total - usual) for total in totals), 0.05 * usual)
    amount = sum(days[day].values())
    spike = (amount > usual + sensitivity * spread and amount - usual >= min_increase
             and amount >= min_ratio * usual)
    services = set(days[day]) | {name for other in before for name in days[other]}
    increases = sorted((ServiceIncrease(service=name, amount=round(days[day].get(name, 0.0), 2),
                                        usual=round(median(days[other].get(name, 0.0) for other in before), 2))
                        for name in services), key=lambda item: -item.increase)
    return DayVerdict(day=day, amount=round(amount, 2), usual=round(usual, 2), spread=round(spread, 2),
                      weeks=len(before), spike=spike, currency=currency, top=increases[:top])


class CostAnomaliesArgs(ToolArgs):
    days: int = Field(14, ge=1, le=14, description="How many complete days back to look for spikes (1 to 14).")


class AwsAnomaly(BaseModel):
    start: str
    end: str | None = None
    impact: float
    services: list[str]


class CostAnomaliesResult(ToolResult):
    source: str  # "Cost Explorer anomaly detection" or "the bot's same-weekday baseline"
    days: int
    yesterday: DayVerdict | None = None
    spikes: list[DayVerdict] = Field(default_factory=list)  # newest first, yesterday included when it is one
    anomalies: list[AwsAnomaly] = Field(default_factory=list)
    note: str | None = None  # why Cost Explorer's own detection was not used

    def _lines(self) -> list[str]:
        ko = self.korean
        up = "  가장 많이 오른 것: " if ko else "  up most: "
        lines: list[str] = []
        for anomaly in self.anomalies:
            end = (" ~ " if ko else " to ") + anomaly.end if anomaly.end else ""
            causes = ", ".join(anomaly.services) or ("원인 미상" if ko else "no root cause given")
            lines.append(f"{anomaly.start}{end}: +{anomaly.impact:,.2f} ({causes})")
        if self.yesterday is not None:
            lines.append(("어제 — " if ko else "Yesterday — ") + self.yesterday.headline(ko))
            if self.yesterday.spike:
                lines += [up + line for line in self.yesterday.service_lines(ko)]
        older = [spike for spike in self.spikes if self.yesterday is None or spike.day != self.yesterday.day]
        for spike in older:
            lines.append(("급증 " if ko else "Spike ") + spike.headline(ko))
            lines += [up + line for line in spike.service_lines(ko)[:3]]
        if not self.anomalies and not self.spikes:
            lines.append(f"최근 완료된 {self.days}일 동안 비용 급증이 없습니다." if ko
                         else f"No cost spike in the last {self.days} complete day(s).")
        return lines

    @property
    def _source(self) -> str:
        return SOURCES_KO.get(self.source, self.source) if self.korean else self.source

    @property
    def _note(self) -> str | None:
        if self.note is None or not self.korean:
            return self.note
        return next((ko + self.note[len(en):] for en, ko in NOTES_KO.items() if self.note.startswith(en)), self.note)

    def to_text(self) -> str:
        head = self.say(f"Cost anomalies, last {self.days} day(s) ({self._source}):",
                        f"비용 이상, 최근 {self.days}일 ({self._source}):")
        return "\n".join([head, *self._lines()] + ([f"({self._note})"] if self._note else []))

    def to_blocks(self) -> list[Block]:
        blocks = lines_blocks(self.say(f"*Cost anomalies*, last {self.days} day(s) ({escape(self._source)})",
                                       f"*비용 이상*, 최근 {self.days}일 ({escape(self._source)})"),
                              [escape(line) for line in self._lines()], korean=self.korean)
        if self._note:
            blocks.append(context(escape(self._note)))
        return blocks


SOURCES_KO = {"Cost Explorer anomaly detection": "Cost Explorer 이상 탐지",
              "same weekday of the weeks before": "이전 주들의 같은 요일 대비"}
NOTES_KO = {"Cost Explorer anomaly detection reported none (or the account has no anomaly monitor)":
            "Cost Explorer 이상 탐지는 보고한 것이 없습니다 (또는 계정에 이상 모니터가 없습니다)",
            "Cost Explorer anomaly detection could not be read": "Cost Explorer 이상 탐지를 읽지 못했습니다"}


def _aws_anomalies(ce, start: date, end: date) -> list[AwsAnomaly]:
    response = ce.get_anomalies(DateInterval={"StartDate": start.isoformat(), "EndDate": end.isoformat()},
                                MaxResults=20)
    found = []
    for anomaly in response.get("Anomalies", []):
        impact = float((anomaly.get("Impact") or {}).get("TotalImpact") or
                       (anomaly.get("Impact") or {}).get("MaxImpact") or 0.0)
        causes = [cause.get("Service", "") for cause in anomaly.get("RootCauses", []) if cause.get("Service")]
        found.append(AwsAnomaly(start=anomaly.get("AnomalyStartDate", "")[:10],
                                end=(anomaly.get("AnomalyEndDate") or "")[:10] or None, impact=impact,
                                services=list(dict.fromkeys(causes))))
    return found


def cost_anomalies(ctx: ToolContext, args: CostAnomaliesArgs, _: list[Instance]) -> CostAnomaliesResult:
    """Cost Explorer's own anomaly detection when the account has a monitor that found something;
    otherwise the bot's: each recent day against the same weekday of the weeks before."""
    ce = ctx.clients.client("ce")
    today = datetime.now(UTC).date()
    start = today - timedelta(days=args.days)
    note = None
    try:
        anomalies = _aws_anomalies(ce, start, today)
    except ClientError as error:
        anomalies = []
        note = f"Cost Explorer anomaly detection could not be read ({error.response.get('Error', {}).get('Code')})"
    days, currency = daily_costs(ce, today)
    verdicts = [verdict for offset in range(1, args.days + 1)
                if (verdict := judge_day(days, today - timedelta(days=offset), currency=currency)) is not None]
    yesterday = next((verdict for verdict in verdicts if verdict.day == today - timedelta(days=1)), None)
    spikes = [verdict for verdict in verdicts if verdict.spike]
    if anomalies:
        return CostAnomaliesResult(source="Cost Explorer anomaly detection", days=args.days, yesterday=yesterday,
                                   anomalies=anomalies, note=note)
    note = note or "Cost Explorer anomaly detection reported none (or the account has no anomaly monitor)"
    return CostAnomaliesResult(source="same weekday of the weeks before", days=args.days, yesterday=yesterday,
                               spikes=spikes, note=note)


# -- the declarations: what the LLM, MCP, the keyword planner, help and the policy read ------------

TOOLS: tuple[ToolSpec, ...] = (
    ToolSpec(
        "get_cost",
        "AWS spend from Cost Explorer for this month so far or last month: total and by service.",
        GetCostArgs,
        Risk.READ,
        get_cost,
        iam_actions=("ce:GetCostAndUsage",),
        verbs=verbs("read cost", "비용 조회"),
        examples={"en": ("cost this month · cost last month · cost by day this week",),
                  "ko": ("이번 달 비용 · 지난달 비용 · 이번 주 일별 비용",)},
        intent="cost",
        phrasing_rank=80,
        phrasings=(
            r"\bcosts?\b", r"\bspend", r"\bspent\b", r"\bbill", r"\binvoice", r"\bexpens", r"\bcharges?\b",
            r"\bhow much\b(?!.{0,30}\b(cpu|memory|disk|network|traffic|load)\b)", r"\bpa(y|id)\b",
            r"\bbudget", r"\bpricing\b", r"\bdollars?\b", r"\$",
            r"비용", r"요금", r"청구", r"지출", r"과금", r"돈", r"빌링",
            r"얼마(나)? ?(나왔|들었|썼|냈|청구|나가)", r"^(이번 ?달|지난 ?달|저번 ?달).{0,6}얼마",
        ),
    ),
    ToolSpec(
        "cost_anomalies",
        "Cost spikes and anomalies: Cost Explorer's anomaly detection when the account has it, otherwise each "
        "recent day against the same weekday of the weeks before, with the services that went up. Answers "
        "'why did cost jump yesterday?'.",
        CostAnomaliesArgs,
        Risk.READ,
        cost_anomalies,
        iam_actions=("ce:GetAnomalies", "ce:GetCostAndUsage"),
        verbs=verbs("read cost anomalies", "비용 이상 조회"),
        examples={"en": ("cost anomalies · why did cost jump yesterday?",),
                  "ko": ("비용 이상 · 어제 비용 왜 튀었어?",)},
        # before get_cost's (80): "cost spiked" asks what jumped, not what it came to; planned from this
        # declaration alone (the keyword planner has no branch of its own for it)
        intent="cost_anomalies",
        phrasing_rank=75,
        phrasings=(
            r"\bcost anomal", r"\banomal(y|ies) in (the |our )?(cost|spend|bill)", r"\bspend(ing)? anomal",
            r"\b(cost|costs|spend|spending|bill)s? (spiked?|spikes|jumped|jump|went up|exploded)",
            r"\bwhy did (the |our )?(cost|costs|spend|spending|bill)s? (jump|spike|go up|rise|explode)",
            r"비용 ?(이상|급증|폭증)", r"(비용|요금)(이|가)? ?(왜 )?(튀었|튀어|튄|급증|폭증)",
        ),
    ),
)
