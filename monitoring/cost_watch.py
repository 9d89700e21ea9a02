"""The daily cost check: yesterday's spend against the same weekday of the weeks before, once a day.

Why once a day and stored: Cost Explorer bills each request ($0.01) and its daily figures settle about a
day late, so a check more often than daily pays for nothing new. The first cycle of a UTC day asks once
per account (the same last-30-days request the cost tools make) and keeps the verdict in the store
(`cost_checks`): later cycles, a restart and a new leader reuse it. A spike is a finding every cycle of
that day (so its incident stays open and is posted once); the next day's verdict resolves or keeps it.
A denied or failing request is retried after an hour, and never stops the rest of the cycle.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta

from botocore.exceptions import BotoCoreError, ClientError

from monitoring.checks import Finding
from monitoring.config import CostRules
from store.baselines import CostChecks
from tools.aws import AwsClients
from tools.cost import daily_costs, judge_day

log = logging.getLogger(__name__)
RETRY_SECONDS = 3600.0


class CostWatch:
    def __init__(self, clients: AwsClients, rules: CostRules, store: CostChecks,
                 today: Callable[[], date] = lambda: datetime.now(UTC).date(),
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.clients = clients
        self.rules = rules
        self.store = store
        self.today = today
        self.clock = clock
        self._results: dict[tuple[str | None, str], dict] = {}
        self._retry_at: dict[str | None, float] = {}
        self.requests = 0

    def finding(self, account: str | None) -> Finding | None:
        result = self._result(account)
        if not result or not result.get("spike"):
            return None
        where = account or "this account"
        return Finding(check="cost_spike", resource_id=f"cost/{where}", resource_name=f"daily cost of {where}",
                       summary=f"cost spike — {result['headline']}", evidence=result["evidence"],
                       signature=f"cost_spike={result['day']}")

    def _result(self, account: str | None) -> dict | None:
        today = self.today()
        key = (account, today.isoformat())
        if key in self._results:
            return self._results[key]
        stored = self.store.get(account, today.isoformat())
        if stored is None:
            if self.clock() < self._retry_at.get(account, 0.0):
                return None
            try:
                stored = self.store.put(account, today.isoformat(), self._check(account, today))
            except (ClientError, BotoCoreError) as error:
                log.warning("the daily cost check of %s failed: %s", account or "the bot's account", error)
                self._retry_at[account] = self.clock() + RETRY_SECONDS
                return None
        self._results = {k: v for k, v in self._results.items() if k[1] == today.isoformat()}
        self._results[key] = stored
        return stored

    def _check(self, account: str | None, today: date) -> dict:
        ce = self.clients.for_account(account).client("ce")
        days, currency = daily_costs(ce, today)
        self.requests += 1
        rules = self.rules
        verdict = judge_day(days, today - timedelta(days=1), weeks=rules.weeks, sensitivity=rules.sensitivity,
                            min_increase=rules.min_increase, min_ratio=rules.min_ratio, top=rules.top_services,
                            currency=currency)
        if verdict is None:
            return {"day": (today - timedelta(days=1)).isoformat(), "spike": False, "headline": "too little history",
                    "evidence": []}
        evidence = [verdict.headline(), *("up most: " + line for line in verdict.service_lines())]
        return {"day": verdict.day.isoformat(), "spike": verdict.spike, "headline": verdict.headline(),
                "evidence": evidence, "amount": verdict.amount, "usual": verdict.usual}
