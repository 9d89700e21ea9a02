"""A named lease row: which replica does a singleton job (the monitor) right now.

Why a row and not APScheduler's job store: APScheduler 3 cannot share a job store between
processes, so every replica schedules the job and only the lease holder runs it. If the
holder dies, its lease expires and another replica takes over; a graceful stop releases it.
"""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import Engine, insert, or_, select, update
from sqlalchemy.exc import IntegrityError

from store.engine import utcnow
from store.schema import leases


class Lease:
    def __init__(self, engine: Engine, name: str) -> None:
        self.engine = engine
        self.name = name

    def take(self, holder: str, ttl: timedelta) -> bool:
        """Take or renew the lease; False while another holder's lease is still valid."""
        now = utcnow()
        expires = now + ttl
        with self.engine.begin() as connection:
            taken = connection.execute(update(leases).where(
                leases.c.name == self.name, or_(leases.c.holder == holder, leases.c.expires_at < now),
            ).values(holder=holder, expires_at=expires)).rowcount
        if taken:
            return True
        try:
            with self.engine.begin() as connection:
                connection.execute(insert(leases).values(name=self.name, holder=holder, expires_at=expires))
            return True
        except IntegrityError:
            return False

    def release(self, holder: str) -> None:
        with self.engine.begin() as connection:
            connection.execute(update(leases).where(leases.c.name == self.name, leases.c.holder == holder)
                               .values(expires_at=utcnow() - timedelta(seconds=1)))

    def current_holder(self) -> str | None:
        """Who holds it now (None when free or expired)."""
        with self.engine.connect() as connection:
            row = connection.execute(select(leases.c.holder, leases.c.expires_at)
                                     .where(leases.c.name == self.name)).first()
        return row.holder if row is not None and row.expires_at > utcnow() else None
