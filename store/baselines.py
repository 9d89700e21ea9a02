"""Learned baselines and daily cost checks: what the monitor paid AWS for once and must not pay again.

Why upserts: only the lease holder writes, but during a hand-over two replicas may learn the same
instance; INSERT … ON CONFLICT DO UPDATE makes the last one win without an update-then-insert race.
A cost check is claimed with ON CONFLICT DO NOTHING: the first result of the day is the day's result.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Engine, delete, select
from sqlalchemy.dialects import postgresql, sqlite

from store.engine import utcnow
from store.schema import cost_checks, metric_baselines


@dataclass(frozen=True)
class StoredBaseline:
    instance_id: str
    metric: str
    learned_at: datetime  # naive UTC
    history_hours: int  # 0: the history was too short (tried, nothing learned)
    buckets: list[Any]


class BaselineStore:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def _insert(self):  # the dialect's INSERT, which has on_conflict_*
        return (postgresql if self.engine.dialect.name == "postgresql" else sqlite).insert

    def load(self, account: str | None, region: str) -> list[StoredBaseline]:
        with self.engine.connect() as connection:
            rows = connection.execute(select(metric_baselines).where(
                metric_baselines.c.account == (account or ""), metric_baselines.c.region == region))
            return [StoredBaseline(row.instance_id, row.metric, row.learned_at, row.history_hours, row.buckets)
                    for row in rows]

    def save(self, account: str | None, region: str, learned: list[StoredBaseline]) -> None:
        if not learned:
            return
        with self.engine.begin() as connection:
            for item in learned:
                values = {"account": account or "", "region": region, "instance_id": item.instance_id,
                          "metric": item.metric, "learned_at": item.learned_at,
                          "history_hours": item.history_hours, "buckets": item.buckets}
                statement = self._insert()(metric_baselines).values(**values).on_conflict_do_update(
                    index_elements=[metric_baselines.c.account, metric_baselines.c.region,
                                    metric_baselines.c.instance_id, metric_baselines.c.metric],
                    set_={key: values[key] for key in ("learned_at", "history_hours", "buckets")})
                connection.execute(statement)

    def forget(self, account: str | None, region: str, instance_ids: list[str]) -> None:
        """Instances AWS no longer lists: their baselines go with them."""
        if not instance_ids:
            return
        with self.engine.begin() as connection:
            connection.execute(delete(metric_baselines).where(
                metric_baselines.c.account == (account or ""), metric_baselines.c.region == region,
                metric_baselines.c.instance_id.in_(instance_ids)))


class CostChecks:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def get(self, account: str | None, day: str) -> dict | None:
        with self.engine.connect() as connection:
            return connection.execute(select(cost_checks.c.result).where(
                cost_checks.c.account == (account or ""), cost_checks.c.day == day)).scalar_one_or_none()

    def put(self, account: str | None, day: str, result: dict) -> dict:
        """Keep the day's first result; return the one kept (another replica's, if it was first)."""
        dialect = postgresql if self.engine.dialect.name == "postgresql" else sqlite
        statement = dialect.insert(cost_checks).values(account=account or "", day=day, checked_at=utcnow(),
                                                       result=result).on_conflict_do_nothing()
        with self.engine.begin() as connection:
            connection.execute(statement)
        return self.get(account, day) or result
