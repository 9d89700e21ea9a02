"""Plain-text rendering of tool outcomes, for the terminal (and logs).

Why separate from the tools: the tool layer returns typed results; each front end
decides how they look (Block Kit in Slack, aligned tables here).
"""

from __future__ import annotations

from collections.abc import Sequence

from pydantic import BaseModel

from tools.cloudwatch import AlarmsResult, MetricsResult
from tools.cost import CostResult
from tools.ec2 import InstanceDetails, InstanceListResult
from tools.logs import LogSearchResult
from tools.models import Instance, StateChangeResult
from tools.registry import ToolOutcome

MAX_ROWS = 50


def table(headers: Sequence[str], rows: Sequence[Sequence[object]], max_rows: int = MAX_ROWS) -> str:
    """An aligned text table; rows beyond `max_rows` are counted, not printed."""
    shown = [["" if cell is None else str(cell) for cell in row] for row in rows[:max_rows]]
    widths = [max([len(h)] + [len(row[i]) for row in shown]) for i, h in enumerate(headers)]
    lines = ["  ".join(h.ljust(w) for h, w in zip(headers, widths)).rstrip()]
    lines.append("  ".join("-" * w for w in widths))
    lines += ["  ".join(cell.ljust(w) for cell, w in zip(row, widths)).rstrip() for row in shown]
    if len(rows) > max_rows:
        lines.append(f"… and {len(rows) - max_rows} more")
    return "\n".join(lines)


def instances_table(instances: Sequence[Instance]) -> str:
    return table(
        ["NAME", "ID", "STATE", "TYPE", "ENV"],
        [(i.name or "-", i.id, i.state, i.type, i.env or "-") for i in instances],
    )


def _fmt(value: float | None, digits: int = 1) -> str:
    return "-" if value is None else f"{value:.{digits}f}"


def render_result(result: BaseModel) -> str:
    if isinstance(result, InstanceListResult):
        if not result.instances:
            return f"No instances match in {result.region}."
        return f"{len(result.instances)} instance(s) in {result.region}:\n" + instances_table(result.instances)
    if isinstance(result, InstanceDetails):
        i = result.instance
        lines = [
            f"{i.label}: {i.state}, {i.type} in {i.az or '?'}",
            f"private IP {i.private_ip or '-'}, public IP {i.public_ip or '-'}, launched {i.launch_time or '-'}",
            "tags: " + ", ".join(f"{k}={v}" for k, v in sorted(i.tags.items())),
        ]
        if result.status_checks:
            checks = result.status_checks
            failing = f" — failing: {', '.join(checks.failing)}" if checks.failing else ""
            lines.append(f"status checks: instance {checks.instance_status}, system {checks.system_status}{failing}")
        return "\n".join(lines)
    if isinstance(result, StateChangeResult):
        return table(
            ["NAME", "ID", "BEFORE", "NOW"],
            [(c.name or "-", c.instance_id, c.previous_state, c.current_state) for c in result.changes],
        )
    if isinstance(result, MetricsResult):
        header = f"{result.metric} ({result.statistic}, last {result.minutes} min, {result.period_seconds}s period):"
        rows = [(s.name or "-", s.instance_id, _fmt(s.latest), _fmt(s.average), _fmt(s.maximum), len(s.points))
                for s in result.series]
        return header + "\n" + table(["NAME", "ID", "LATEST", "AVG", "MAX", "POINTS"], rows)
    if isinstance(result, AlarmsResult):
        if not result.alarms:
            return "No alarms match."
        rows = [(a.name, a.state, a.instance_name or a.instance_id or "-", f"{a.metric} {a.comparison} {a.threshold}")
                for a in result.alarms]
        return table(["ALARM", "STATE", "RESOURCE", "CONDITION"], rows)
    if isinstance(result, LogSearchResult):
        head = f"{len(result.events)} line(s) in {result.log_group} matching {result.filter_pattern or '(all)'}"
        head += f" over the last {result.minutes} min" + (" (more were left out)" if result.truncated else "") + ":"
        body = [f"{e.timestamp:%H:%M:%S} [{e.stream}] {e.message}" for e in result.events]
        return "\n".join([head, *body])
    if isinstance(result, CostResult):
        rows = [(s.service, f"{s.amount:,.2f}") for s in result.by_service]
        text = (f"{result.label} ({result.start} to {result.end}, end exclusive): "
                f"{result.total:,.2f} {result.currency}\n" + table(["SERVICE", result.currency], rows))
        if result.by_day:
            days = [(f"{d.day:%a %b %d}" + (" (today, so far)" if d is result.by_day[-1] else ""),
                     f"{d.amount:,.2f}") for d in result.by_day]
            text += "\n\n" + table(["DAY", result.currency], days)
            if result.peak_note:
                text += "\n" + result.peak_note
        return text
    return result.model_dump_json(indent=2)


def render_outcome(outcome: ToolOutcome) -> str:
    if outcome.ok and outcome.result is not None:
        return render_result(outcome.result)
    text = outcome.message
    if outcome.candidates:
        text += "\n" + instances_table(outcome.candidates)
    return text
