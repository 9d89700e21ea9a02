"""Claim a Slack event id once across every replica, so a retried delivery runs once.

Why the database and not memory: Slack retries an event it thinks was not acked
(`retry_num` > 0), possibly to another replica; a primary-key insert is the one check
that SQLite and PostgreSQL both make atomic.
"""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import Engine, delete, insert
from sqlalchemy.exc import IntegrityError

from bot.db import processed_events, utcnow

KEEP_FOR = timedelta(hours=2)  # Slack stops retrying long before this


def claim_event(engine: Engine, event_id: str) -> bool:
    """True the first time `event_id` is seen, False for any repeat."""
    try:
        with engine.begin() as connection:
            connection.execute(insert(processed_events).values(event_id=event_id[:64], seen_at=utcnow()))
    except IntegrityError:
        return False
    return True


def forget_old_events(engine: Engine) -> None:
    with engine.begin() as connection:
        connection.execute(delete(processed_events).where(processed_events.c.seen_at < utcnow() - KEEP_FOR))
