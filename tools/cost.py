"""Cost Explorer tool: month-to-date or last month's spend, total and by service."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Literal

from pydantic import BaseModel, Field

from tools.context import ToolContext
from tools.models import Instance, ToolArgs

COST_METRIC = "UnblendedCost"


class GetCostArgs(ToolArgs):
    period: Literal["month_to_date", "last_month"] = Field(
        "month_to_date", description="month_to_date (this month so far) or last_month (the whole previous month)."
    )


class ServiceCost(BaseModel):
    service: str
    amount: float


class CostResult(BaseModel):
    period: str
    start: date
    end: date  # exclusive, as Cost Explorer counts it
    total: float
    currency: str
    by_service: list[ServiceCost]


def cost_window(period: str, today: date) -> tuple[date, date]:
    """[start, end) for Cost Explorer. Month-to-date includes today, so it is never empty."""
    first_of_month = today.replace(day=1)
    if period == "last_month":
        last_month_end = first_of_month
        return (last_month_end - timedelta(days=1)).replace(day=1), last_month_end
    return first_of_month, today + timedelta(days=1)


def get_cost(ctx: ToolContext, args: GetCostArgs, _: list[Instance]) -> CostResult:
    ce = ctx.clients.client("ce")
    start, end = cost_window(args.period, datetime.now(UTC).date())
    totals: dict[str, float] = {}
    currency = "USD"
    kwargs = {
        "TimePeriod": {"Start": start.isoformat(), "End": end.isoformat()},
        "Granularity": "MONTHLY",
        "Metrics": [COST_METRIC],
        "GroupBy": [{"Type": "DIMENSION", "Key": "SERVICE"}],
    }
    while True:
        response = ce.get_cost_and_usage(**kwargs)
        for period in response.get("ResultsByTime", []):
            for group in period.get("Groups", []):
                metric = group["Metrics"][COST_METRIC]
                service = group["Keys"][0]
                totals[service] = totals.get(service, 0.0) + float(metric["Amount"])
                currency = metric.get("Unit", currency)
        token = response.get("NextPageToken")
        if not token:
            break
        kwargs["NextPageToken"] = token
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
    )
