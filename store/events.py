"""Claim a Slack event id once across every replica, so a retried delivery runs once.

Why the database and not memory: Slack retries an event it thinks was not acked
(`retry_num` > 0), possibly to another replica; a primary-key insert is the one check
that SQLite and PostgreSQL both make atomic. Claims older than a day are pruned (Slack
stops retrying within minutes), at most every few minutes per process, so the table stays small.
"""

from __future__ import annotations

import threading
import time
from datetime import timedelta

from sqlalchemy import Engine, delete, insert
from sqlalchemy.exc import IntegrityError

from store.engine import utcnow
from store.schema import processed_events

KEEP_FOR = timedelta(days=1)
PRUNE_EVERY_SECONDS = 300.0


class EventLedger:
    def __init__(self, engine: Engine, keep_for: timedelta = KEEP_FOR) -> None:
        self.engine = engine
        self.keep_for = keep_for
        self._pruned_at: float | None = None
        self._lock = threading.Lock()

    def claim(self, event_id: str) -> bool:
        """True the first time `event_id` is seen, False for any repeat."""
        self._maybe_prune()
        try:
            with self.engine.begin() as connection:
                connection.execute(insert(processed_events).values(event_id=event_id[:64], seen_at=utcnow()))
        except IntegrityError:
            return False
        return True

    def prune(self) -> int:
        """Forget claims older than `keep_for`; returns how many were removed."""
        with self.engine.begin() as connection:
            return connection.execute(
                delete(processed_events).where(processed_events.c.seen_at < utcnow() - self.keep_for)).rowcount

    def _maybe_prune(self) -> None:
        with self._lock:
            now = time.monotonic()
            if self._pruned_at is not None and now - self._pruned_at < PRUNE_EVERY_SECONDS:
                return
            self._pruned_at = now
        self.prune()
