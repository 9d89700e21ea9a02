"""The last state the monitor saw per instance: "running → stopped" needs memory across restarts."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from sqlalchemy import Engine, insert, select, update

from store.engine import utcnow
from store.schema import instance_observations


class Observations:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def states(self, region: str) -> dict[str, str]:
        with self.engine.connect() as connection:
            rows = connection.execute(select(instance_observations.c.instance_id, instance_observations.c.state)
                                      .where(instance_observations.c.region == region))
            return {row.instance_id: row.state for row in rows}

    def seen_since(self, region: str) -> dict[str, datetime]:
        """When each instance was first seen in its current state (naive UTC): after a restart, the
        earliest a change from that state can have happened."""
        with self.engine.connect() as connection:
            rows = connection.execute(select(instance_observations.c.instance_id, instance_observations.c.seen_at)
                                      .where(instance_observations.c.region == region))
            return {row.instance_id: row.seen_at for row in rows}

    def save(self, region: str, seen: Iterable[tuple[str, str]], previous: dict[str, str]) -> None:
        """Store the states that changed since `previous` (what `states` returned this cycle)."""
        changed = [(instance_id, state) for instance_id, state in seen if previous.get(instance_id) != state]
        if not changed:
            return
        now = utcnow()
        with self.engine.begin() as connection:
            for instance_id, state in changed:
                if instance_id in previous:
                    connection.execute(update(instance_observations)
                                       .where(instance_observations.c.instance_id == instance_id)
                                       .values(state=state, seen_at=now))
                else:
                    connection.execute(insert(instance_observations).values(
                        instance_id=instance_id, region=region, state=state, seen_at=now))
