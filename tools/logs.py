"""CloudWatch Logs tool: find matching lines in a log group over a time window."""

from __future__ import annotations

import difflib
import re
from datetime import UTC, datetime, timedelta

from botocore.exceptions import ClientError
from pydantic import BaseModel, Field, field_validator

from tools.context import ToolContext
from tools.errors import ToolError
from tools.models import Instance, Risk, ToolArgs, ToolResult, check_window
from tools.render import Block, code_block, context, escape, inline_code, section
from tools.spec import ToolSpec, verbs

LOG_GROUP_PATTERN = r"^[\.\-_/#A-Za-z0-9]{1,512}$"


class SearchLogsArgs(ToolArgs):
    log_group: str = Field(..., pattern=LOG_GROUP_PATTERN, description="Log group name, e.g. /app/web.")
    filter_pattern: str = Field(
        "", max_length=1024, description="CloudWatch Logs filter pattern, e.g. ERROR or \"timeout\"; empty = all."
    )
    minutes: int = Field(60, description="How far back to search, in minutes (1 to 10080 = 7 days).")
    limit: int = Field(50, ge=1, le=1000, description="Most lines to return.")
    targets: list[str] = Field(
        default_factory=list, max_length=20,
        description="Only lines from these instances (Name tag or id): their log streams, named by Name or id.",
    )

    @field_validator("minutes")
    @classmethod
    def _window(cls, value: int) -> int:
        return check_window(value, 10080)


class LogEvent(BaseModel):
    timestamp: datetime
    stream: str
    message: str


class LogSearchResult(ToolResult):
    log_group: str
    filter_pattern: str
    minutes: int
    events: list[LogEvent]
    truncated: bool
    sources: list[str] = Field(default_factory=list)  # the instances whose streams were searched, if narrowed

    def _lines(self) -> list[str]:
        return [f"{e.timestamp:%H:%M:%S} [{e.stream}] {e.message}" for e in self.events]

    # the newest line the searched streams hold at all (any pattern): an empty window says how far back to look
    newest_at: datetime | None = None
    as_of: datetime | None = None

    def hint(self) -> str | None:
        """For an empty window: where the lines are, and a window that reaches them."""
        if self.events:
            return None
        ko = self.korean
        if self.newest_at is None:
            return "검색한 스트림에 줄이 하나도 없습니다." if ko else "The searched streams hold no lines at all."
        now = self.as_of or datetime.now(UTC)
        ago_minutes = max(1, int((now - self.newest_at).total_seconds() // 60) + 1)
        if ago_minutes <= self.minutes:
            if ko:
                return (f"가장 최근 줄은 {self.newest_at:%H:%M:%S} UTC로 이 창 안에 있습니다: "
                        f"{self.filter_pattern or '(전체)'}와 일치하는 줄이 없습니다.")
            return (f"The newest line is from {self.newest_at:%H:%M:%S} UTC, inside this window: none matched "
                    f"{self.filter_pattern or '(all)'}.")
        wider = next((m for m in (60, 180, 360, 720, 1440, 4320, 10080) if m >= ago_minutes), 10080)
        if ko:
            words = ("지난 1시간" if wider == 60 else f"지난 {wider // 1440}일" if wider % 1440 == 0 and wider > 1440
                     else f"지난 {wider // 60}시간")
            return (f"가장 최근 줄은 {self.newest_at:%Y-%m-%d %H:%M} UTC ({ago_minutes}분 전)로 이 창보다 이전입니다: "
                    f"{words}으로 다시 물어보세요.")
        words = ("last hour" if wider == 60 else f"last {wider // 1440} days" if wider % 1440 == 0 and wider > 1440
                 else f"last {wider // 60} hours")
        return (f"The newest line there is from {self.newest_at:%Y-%m-%d %H:%M} UTC ({ago_minutes} min ago), "
                f"before this window: ask again for the {words}.")

    def _head(self, group: str, pattern: str, count: str, sources: str) -> str:
        """'N line(s) in G from S matching P over the last M min' — or its Korean (`sources`: who, as shown)."""
        if self.korean:
            return f"{group}{f' ({sources})' if sources else ''}에서 {pattern}와 일치하는 {count}, 최근 {self.minutes}분"
        return f"{count} in {group}{f' from {sources}' if sources else ''} matching {pattern} over the last {self.minutes} min"

    def to_text(self) -> str:
        count = self.say(f"{len(self.events)} line(s)", f"줄 {len(self.events)}개")
        head = self._head(self.log_group, self.filter_pattern or self.say("(all)", "(전체)"), count,
                          ", ".join(self.sources))
        head += (self.say(" (more were left out)", " (일부 생략)") if self.truncated else "") + ":"
        hint = self.hint()
        return "\n".join([head, *self._lines(), *([hint] if hint else [])])

    def to_blocks(self) -> list[Block]:
        header = self._head(inline_code(self.log_group), inline_code(self.filter_pattern or self.say("(all)", "(전체)")),
                            self.say(f"*{len(self.events)} line(s)*", f"*줄 {len(self.events)}개*"),
                            escape(", ".join(self.sources)))
        if not self.events:
            hint = self.hint()
            return [section(header + (f"\n{escape(hint)}" if hint else ""))]
        body, left_out = code_block(self._lines())
        blocks = [section(header), section(body)]
        if left_out or self.truncated:
            if self.korean:
                more = f"줄 {left_out}개 더 있음" if left_out else "더 많은 줄이 일치함"
                blocks.append(context(f"… {more}; 패턴이나 창을 좁히세요"))
            else:
                more = f"{left_out} more line(s) not shown" if left_out else "more lines matched"
                blocks.append(context(f"… {more}; narrow the pattern or the window"))
        return blocks


def log_group_names(ctx: ToolContext, region: str | None) -> list[str]:
    logs = ctx.clients.client("logs", region)
    return [
        group["logGroupName"]
        for page in logs.get_paginator("describe_log_groups").paginate()
        for group in page.get("logGroups", [])
    ]


GENERIC_NAME_WORDS = frozenset({"server", "servers", "srv", "host", "node", "app", "apps", "service", "svc", "prod",
                                "production", "staging", "stage", "dev", "test", "instance", "log", "logs", "var"})


def _words(text: str) -> set[str]:
    return {word for word in re.split(r"[^a-z0-9]+", text.lower()) if word and not word.isdigit()} - GENERIC_NAME_WORDS


def log_group_for(instance: Instance, groups: list[str]) -> str | None:
    """The log group an instance writes to: its `LogGroup` tag, else the one group whose path shares a
    word with its Name or Role ("api-server" → /app/api); None when that is not one group."""
    tagged = instance.tags.get("LogGroup") or instance.tags.get("LogGroupName")
    if tagged:
        return tagged
    own = _words(instance.name or "") | _words(instance.role or "")
    matches = [group for group in groups if _words(group) & own]
    return matches[0] if len(matches) == 1 else None


def instance_streams(ctx: ToolContext, region: str | None, group: str, instance: Instance) -> list[str]:
    """The streams of `group` that belong to `instance`: named by its Name tag or containing its id
    (the CloudWatch agent's default stream name is the instance id)."""
    logs = ctx.clients.client("logs", region)
    names: list[str] = []
    try:
        for page in logs.get_paginator("describe_log_streams").paginate(logGroupName=group):
            names += [stream["logStreamName"] for stream in page.get("logStreams", [])]
    except ClientError as error:
        if error.response.get("Error", {}).get("Code") != "ResourceNotFoundException":
            raise
        return []
    own_name = (instance.name or "").lower()
    return [name for name in names if instance.id in name or (own_name and name.lower() == own_name)]


def _newest_line(logs, log_group: str, streams: list[str] | None) -> datetime | None:
    """When the newest line of these streams (or the group) was written, from the streams' own metadata."""
    try:
        if streams:
            wanted = set(streams)
            described = [stream for page in logs.get_paginator("describe_log_streams").paginate(
                logGroupName=log_group) for stream in page.get("logStreams", [])
                if stream.get("logStreamName") in wanted]
        else:
            described = logs.describe_log_streams(logGroupName=log_group, orderBy="LastEventTime", descending=True,
                                                  limit=1).get("logStreams", [])
    except ClientError:
        return None
    stamps = [stream.get("lastEventTimestamp") for stream in described if stream.get("lastEventTimestamp")]
    return datetime.fromtimestamp(max(stamps) / 1000, UTC) if stamps else None


def search_logs(ctx: ToolContext, args: SearchLogsArgs, instances: list[Instance]) -> LogSearchResult:
    logs = ctx.clients.client("logs", args.region)
    end = datetime.now(UTC)
    start = end - timedelta(minutes=args.minutes)
    kwargs: dict = {
        "logGroupName": args.log_group,
        "startTime": int(start.timestamp() * 1000),
        "endTime": int(end.timestamp() * 1000),
    }
    if args.filter_pattern:
        kwargs["filterPattern"] = args.filter_pattern
    if instances:  # one instance's lines are that instance's lines only, never its neighbours'
        streams = [stream for instance in instances
                   for stream in instance_streams(ctx, args.region, args.log_group, instance)]
        if not streams:
            raise ToolError(f"no log stream in {args.log_group} belongs to "
                            f"{', '.join(instance.label for instance in instances)} (streams are matched by "
                            f"Name tag or instance id); nothing was searched")
        kwargs["logStreamNames"] = streams[:100]
    events: list[LogEvent] = []
    truncated = False
    try:
        for page in logs.get_paginator("filter_log_events").paginate(**kwargs):
            for event in page.get("events", []):
                if len(events) >= args.limit:
                    truncated = True
                    break
                events.append(
                    LogEvent(
                        timestamp=datetime.fromtimestamp(event["timestamp"] / 1000, UTC),
                        stream=event.get("logStreamName", ""),
                        message=event.get("message", "").rstrip("\n"),
                    )
                )
            if truncated:
                break
    except ClientError as error:
        if error.response.get("Error", {}).get("Code") != "ResourceNotFoundException":
            raise
        known = log_group_names(ctx, args.region)
        close = difflib.get_close_matches(args.log_group, known, n=3, cutoff=0.4)
        hint = f" (closest: {', '.join(close)})" if close else (f" (known: {', '.join(known[:5])})" if known else "")
        raise ToolError(f"no log group named '{args.log_group}'{hint}") from None
    events.sort(key=lambda event: event.timestamp)
    newest = None if events else _newest_line(logs, args.log_group, kwargs.get("logStreamNames"))
    return LogSearchResult(
        newest_at=newest,
        as_of=end,
        log_group=args.log_group,
        filter_pattern=args.filter_pattern,
        minutes=args.minutes,
        events=events,
        truncated=truncated,
        sources=[instance.label for instance in instances],
    )


# -- the declarations: what the LLM, MCP, the keyword planner, help and the policy read ------------

TOOLS: tuple[ToolSpec, ...] = (
    ToolSpec(
        "search_logs",
        "Search a CloudWatch Logs group for lines matching a filter pattern (e.g. ERROR) in a recent window.",
        SearchLogsArgs,
        Risk.READ,
        search_logs,
        iam_actions=("logs:FilterLogEvents", "logs:DescribeLogStreams"),
        verbs=verbs("search logs", "로그 검색"),
        examples={"en": ("errors in /app/api",), "ko": ("api 로그 에러 찾아줘",)},
        intent="logs",
        phrasing_rank=90,
        phrasings=(
            r"\blogs?\b", r"\blogging\b", r"\bgrep\b", r"\btail\b", r"\berror lines?\b", r"\bstack ?traces?\b",
            r"(?<!\w)/[a-z0-9_\-]+/[a-z0-9_\-./#]+", r"로그", r"에러 (줄|라인|메시지)", r"에러 찾", r"오류 찾",
        ),
    ),
)
