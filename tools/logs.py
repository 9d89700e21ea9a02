"""CloudWatch Logs tool: find matching lines in a log group over a time window."""

from __future__ import annotations

import difflib
from datetime import UTC, datetime, timedelta

from botocore.exceptions import ClientError
from pydantic import BaseModel, Field, field_validator

from tools.context import ToolContext
from tools.errors import ToolError
from tools.models import Instance, ToolArgs, ToolResult, check_window
from tools.render import Block, code_block, context, escape, section

LOG_GROUP_PATTERN = r"^[\.\-_/#A-Za-z0-9]{1,512}$"


class SearchLogsArgs(ToolArgs):
    log_group: str = Field(..., pattern=LOG_GROUP_PATTERN, description="Log group name, e.g. /app/web.")
    filter_pattern: str = Field(
        "", max_length=1024, description="CloudWatch Logs filter pattern, e.g. ERROR or \"timeout\"; empty = all."
    )
    minutes: int = Field(60, description="How far back to search, in minutes (1 to 10080 = 7 days).")
    limit: int = Field(50, ge=1, le=1000, description="Most lines to return.")

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

    def _lines(self) -> list[str]:
        return [f"{e.timestamp:%H:%M:%S} [{e.stream}] {e.message}" for e in self.events]

    def to_text(self) -> str:
        head = f"{len(self.events)} line(s) in {self.log_group} matching {self.filter_pattern or '(all)'}"
        head += f" over the last {self.minutes} min" + (" (more were left out)" if self.truncated else "") + ":"
        return "\n".join([head, *self._lines()])

    def to_blocks(self) -> list[Block]:
        header = (f"*{len(self.events)} line(s)* in `{escape(self.log_group)}` matching "
                  f"`{escape(self.filter_pattern or '(all)')}` over the last {self.minutes} min")
        if not self.events:
            return [section(header)]
        body, left_out = code_block(self._lines())
        blocks = [section(header), section(body)]
        if left_out or self.truncated:
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


def search_logs(ctx: ToolContext, args: SearchLogsArgs, _: list[Instance]) -> LogSearchResult:
    logs = ctx.clients.client("logs", args.region)
    end = datetime.now(UTC)
    start = end - timedelta(minutes=args.minutes)
    kwargs = {
        "logGroupName": args.log_group,
        "startTime": int(start.timestamp() * 1000),
        "endTime": int(end.timestamp() * 1000),
    }
    if args.filter_pattern:
        kwargs["filterPattern"] = args.filter_pattern
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
    return LogSearchResult(
        log_group=args.log_group,
        filter_pattern=args.filter_pattern,
        minutes=args.minutes,
        events=events,
        truncated=truncated,
    )
