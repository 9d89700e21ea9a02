"""The schema: every table the bot keeps, in one place (the store owns them, no other package).

Why SQLAlchemy Core tables and plain SQL-expressible updates: the same code must run on
the default SQLite file and on a PostgreSQL server shared by several bot replicas, and the
"approve once" guarantee rests on a conditional UPDATE that both databases make atomic.
Timestamps are stored as naive UTC so both backends compare them the same way.
This module describes the *current* schema; `store/migrations/` brings any older
database to it (a change here needs a migration there, and a test proves the upgrade).
"""

from __future__ import annotations

from sqlalchemy import (
    JSON,
    Boolean,
    Column,
    DateTime,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    false,
)

metadata = MetaData()

proposals = Table(
    "proposals",
    metadata,
    Column("id", String(40), primary_key=True),
    Column("tool", String(64), nullable=False),
    Column("region", String(32), nullable=False),
    Column("args", JSON, nullable=False),
    Column("instance_ids", JSON, nullable=False),
    Column("instance_names", JSON, nullable=False),
    Column("summary", Text, nullable=False),
    Column("requested_by", String(128), nullable=False),
    Column("origin", String(32), nullable=False),
    Column("channel", String(64)),
    Column("thread_ts", String(64)),
    Column("message_ts", String(64)),
    Column("created_at", DateTime, nullable=False),
    Column("expires_at", DateTime, nullable=False),
    Column("status", String(16), nullable=False, index=True),
    Column("decided_by", String(128)),
    Column("decided_at", DateTime),
    Column("result", Text),
    Column("finished_at", DateTime),  # when execution ended (executed or failed); migration 0002
    # who may decide: "confirm" (the requester or an approver) or "approve" (approvers); migration 0003
    Column("needs", String(16), nullable=False, server_default="approve"),
    # an automatic recovery (AUTO_RECOVERY): when it runs by itself unless cancelled first; None: it waits for a
    # person. And the incident it answers. Migration 0006 (auto recovery)
    Column("auto_at", DateTime),
    Column("incident_id", Integer),
)

# Every recovery action taken for an incident (automatic or approved) and whether it brought the instance back:
# what the cooldown, the hourly cap, the circuit breakers and "recovered in N s" read. Migration 0006.
recovery_attempts = Table(
    "recovery_attempts",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("proposal_id", String(40), nullable=False, unique=True),  # one attempt per action, whoever saw it first
    Column("incident_id", Integer, nullable=False, index=True),
    Column("account", String(64), nullable=False, server_default="", default=""),  # '' the bot's own
    Column("region", String(32), nullable=False),
    Column("instance_id", String(32), nullable=False, index=True),
    Column("tool", String(64), nullable=False),
    Column("auto", Boolean, nullable=False, default=False),
    Column("started_at", DateTime, nullable=False),
    Column("deadline_at", DateTime, nullable=False),
    # pending → recovered | failed (not back by the deadline) | by_hand (a person resolved it) | not_run
    Column("outcome", String(16), nullable=False, index=True),
    Column("finished_at", DateTime),
    Column("seconds", Integer),
)

audit_events = Table(
    "audit_events",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("at", DateTime, nullable=False, index=True),
    Column("actor", String(128), nullable=False),
    Column("kind", String(32), nullable=False),
    Column("tool", String(64)),
    Column("proposal_id", String(40), index=True),
    Column("status", String(32)),
    Column("message", Text, nullable=False, default=""),
    Column("detail", JSON),
)

flags = Table(
    "flags",
    metadata,
    Column("key", String(64), primary_key=True),
    Column("value", String(256), nullable=False),
    Column("updated_at", DateTime, nullable=False),
)

# Slack event ids already taken by some replica: a retried delivery is not executed twice.
processed_events = Table(
    "processed_events",
    metadata,
    Column("event_id", String(64), primary_key=True),
    Column("seen_at", DateTime, nullable=False, index=True),
)

# One row per incident (fingerprint = resource + check); at most one open per fingerprint.
incidents = Table(
    "incidents",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("fingerprint", String(300), nullable=False, index=True),
    Column("check_name", String(48), nullable=False),
    Column("tier", Integer, nullable=False),
    Column("rule", String(200), nullable=False, default=""),
    Column("resource_id", String(256), nullable=False),
    Column("resource_name", String(256)),
    Column("instance_id", String(32)),
    Column("region", String(32), nullable=False),
    # the account of the estate (ACCOUNTS_FILE); '' for the bot's own account; migration 0005
    Column("account", String(64), nullable=False, server_default="", default=""),
    Column("status", String(16), nullable=False, index=True),  # open | resolved
    Column("suppressed", Boolean, nullable=False, default=False),
    Column("summary", Text, nullable=False),
    Column("evidence", JSON, nullable=False),
    Column("signature", String(300), nullable=False),
    Column("notified_signature", String(300)),
    Column("channel", String(64)),
    Column("thread_ts", String(64)),
    Column("proposal_id", String(40)),
    Column("sop_id", String(100)),
    Column("opened_at", DateTime, nullable=False),
    Column("updated_at", DateTime, nullable=False),
    Column("resolved_at", DateTime),
    Column("resolved_notified", Boolean, nullable=False, default=False),
    # people working the incident; migration 0004
    Column("link", String(400)),  # the thread's permalink, for lists and the postmortem
    Column("acknowledged_by", String(128)),
    Column("acknowledged_at", DateTime),
    Column("snoozed_until", DateTime),  # nothing is posted for it before then
    Column("resolved_by", String(128)),  # a person, when resolved by hand; None when the monitor saw it clear
    # resolved by hand while the finding still showed: stay quiet until the finding clears once
    Column("held", Boolean, nullable=False, server_default=false(), default=False),
    # what its buttons carry instead of its number, checked against the message clicked; migration 0006
    Column("button_key", String(40)),
)
Index("incident_button_key", incidents.c.button_key, unique=True)
# At most one open incident per fingerprint in an account and region, enforced by the database itself: two
# replicas that both see a fault in the same moment (a lease hand-over, a split brain) cannot open it twice.
Index("one_open_incident_per_scope_fingerprint", incidents.c.account, incidents.c.region, incidents.c.fingerprint,
      unique=True,
      sqlite_where=incidents.c.status == "open", postgresql_where=incidents.c.status == "open")

# An incident's timeline: detection, posts, proposals, decisions, acknowledgements, snoozes, resolution.
incident_events = Table(
    "incident_events",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("incident_id", Integer, nullable=False, index=True),
    Column("at", DateTime, nullable=False),
    Column("actor", String(128), nullable=False),
    Column("kind", String(32), nullable=False),
    Column("message", Text, nullable=False, server_default=""),
)

# The last state the monitor saw per instance: "running → stopped" needs memory across restarts.
instance_observations = Table(
    "instance_observations",
    metadata,
    Column("instance_id", String(32), primary_key=True),
    Column("region", String(32), nullable=False),
    Column("state", String(24), nullable=False),
    Column("seen_at", DateTime, nullable=False),
)

# Leases: only one replica runs the monitor at a time (APScheduler 3 cannot share a job store).
leases = Table(
    "leases",
    metadata,
    Column("name", String(64), primary_key=True),
    Column("holder", String(128), nullable=False),
    Column("expires_at", DateTime, nullable=False),
)

# What "normal" is per instance and metric (monitoring/baseline.py): 168 hour-of-week buckets learned from
# up to 14 days of hourly history, at most once a day; the lease holder writes, any replica that takes over
# reads them instead of learning again. Migration 0008.
metric_baselines = Table(
    "metric_baselines",
    metadata,
    Column("account", String(64), primary_key=True, server_default="", default=""),  # '' the bot's own
    Column("region", String(32), primary_key=True),
    Column("instance_id", String(32), primary_key=True),
    Column("metric", String(64), primary_key=True),
    Column("learned_at", DateTime, nullable=False),
    Column("history_hours", Integer, nullable=False),  # 0: tried, too little history (the fixed thresholds stay)
    Column("buckets", JSON, nullable=False),
)

# The daily cost check's result per account and day (monitoring/cost_watch.py): one Cost Explorer request a
# day, whoever leads; a replica that takes over the same day reuses it. Migration 0008.
cost_checks = Table(
    "cost_checks",
    metadata,
    Column("account", String(64), primary_key=True, server_default="", default=""),
    Column("day", String(10), primary_key=True),  # the UTC day checked on (YYYY-MM-DD)
    Column("checked_at", DateTime, nullable=False),
    Column("result", JSON, nullable=False),
)
