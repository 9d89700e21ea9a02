"""Who changed it, from AWS itself: CloudTrail LookupEvents for the changes made outside the bot.

Why CloudTrail and not only the monitor: the monitor sees *that* web-server-2 went down between two
cycles; CloudTrail says who called StopInstances — a colleague's IAM user, a role session, another
tool. The bot's own calls are in CloudTrail too, under its role session name (ASSUMED_ROLE_SESSION in a
member account, BOT_SESSION_NAMES for its own role) or its own access key: those are recognised and
left to the audit, which already says who approved them. LookupEvents allows one lookup attribute per
request and two requests a second per account and region, so a read asks per instance (ResourceName)
when it knows which, and is bounded in pages either way. A denied or unreachable CloudTrail is one
note in the answer; the rest still answers.
"""

from __future__ import annotations

import json
import os
from datetime import UTC, datetime, timedelta

from botocore.exceptions import BotoCoreError, ClientError
from pydantic import BaseModel

from tools.aws import ASSUMED_ROLE_SESSION, AwsClients
from tools.errors import describe_aws_error
from tools.inventory import fetch_instances
from tools.models import Instance
from tools.ops import ChangeView

CHANGE_EVENTS = frozenset({
    "StopInstances", "StartInstances", "RebootInstances", "TerminateInstances", "ModifyInstanceAttribute",
    "AuthorizeSecurityGroupIngress", "AuthorizeSecurityGroupEgress", "RevokeSecurityGroupIngress",
    "RevokeSecurityGroupEgress", "ModifySecurityGroupRules",
})
GOES_DOWN = frozenset({"StopInstances", "TerminateInstances"})
GOES_UP = frozenset({"StartInstances"})
MAX_PAGES = 3  # 50 events a page; LookupEvents is throttled at 2 requests a second
EXPLAINS_BEFORE = timedelta(seconds=90)  # a call is recorded this long at most before the state it causes
SESSION_NAMES_ENV = "BOT_SESSION_NAMES"  # comma-separated role session names the bot's own role runs as


class TrailEvent(BaseModel):
    at: datetime  # naive UTC
    name: str
    resources: list[str]
    actor: str
    by_bot: bool


def bot_session_names() -> frozenset[str]:
    extra = {name.strip() for name in os.environ.get(SESSION_NAMES_ENV, "").split(",") if name.strip()}
    return frozenset({ASSUMED_ROLE_SESSION} | extra)


def _actor(record: dict, fallback: str) -> tuple[str, str | None, str | None]:
    """(who, role session name, access key) from a CloudTrail record's userIdentity."""
    identity = record.get("userIdentity") or {}
    kind = identity.get("type")
    arn = identity.get("arn") or ""
    key = identity.get("accessKeyId")
    if kind == "AssumedRole" and "/" in arn:
        _, role, session = (arn.split("/", 2) + ["", ""])[:3]
        return f"{role}/{session}" if session else role, session or None, key
    if kind == "IAMUser":
        return f"IAM user {identity.get('userName') or fallback}", None, key
    if kind == "Root":
        return "the account's root user", None, key
    if kind == "AWSService":
        return identity.get("invokedBy") or "an AWS service", None, key
    return fallback or arn or "unknown", None, key


def lookup(clients: AwsClients, region: str | None, resource_ids: list[str], since: datetime,
           until: datetime | None = None) -> list[TrailEvent]:
    """The change events naming these resources (or every change event, with none) since `since`
    (naive UTC), newest first. Raises ClientError / BotoCoreError like any AWS read."""
    cloudtrail = clients.client("cloudtrail", region)
    sessions = bot_session_names()
    own_key = clients.access_key()
    start = since.replace(tzinfo=UTC)
    end = (until or datetime.now(UTC).replace(tzinfo=None)).replace(tzinfo=UTC)
    lookups = ([[{"AttributeKey": "ResourceName", "AttributeValue": rid}] for rid in resource_ids]
               or [[{"AttributeKey": "ReadOnly", "AttributeValue": "false"}]])
    events: dict[str, TrailEvent] = {}
    for attributes in lookups:
        kwargs: dict = {"LookupAttributes": attributes, "StartTime": start, "EndTime": end, "MaxResults": 50}
        for _ in range(MAX_PAGES):
            page = cloudtrail.lookup_events(**kwargs)
            for event in page.get("Events", []):
                name = event.get("EventName", "")
                if name not in CHANGE_EVENTS:
                    continue
                try:
                    record = json.loads(event.get("CloudTrailEvent") or "{}")
                except ValueError:
                    record = {}
                who, session, key = _actor(record, event.get("Username", ""))
                at = event["EventTime"].astimezone(UTC).replace(tzinfo=None)
                resources = [item.get("ResourceName", "") for item in event.get("Resources", [])]
                events[event.get("EventId") or f"{name}{at}{resources}"] = TrailEvent(
                    at=at, name=name, resources=[rid for rid in resources if rid], actor=who,
                    by_bot=(session in sessions) or (key is not None and key == own_key))
            token = page.get("NextToken")
            if not token:
                break
            kwargs["NextToken"] = token
    return sorted(events.values(), key=lambda event: event.at, reverse=True)


def explaining(event: TrailEvent, instance_id: str, went_down: bool, start: datetime, end: datetime) -> bool:
    """Does this call explain an instance going down (or up) observed between `start` and `end`?"""
    names = GOES_DOWN if went_down else GOES_UP
    return (event.name in names and instance_id in event.resources
            and start - EXPLAINS_BEFORE <= event.at <= end + timedelta(seconds=10))


def with_trail(clients: AwsClients, region: str | None, instances: list[Instance], since: datetime,
               changes: list[ChangeView]) -> tuple[list[ChangeView], str | None]:
    """The bot's own records, with CloudTrail's actor on each change the monitor saw made outside the bot,
    and CloudTrail's other outside changes added; plus a note when CloudTrail could not be read."""
    ids = [instance.id for instance in instances]
    try:
        events = [event for event in lookup(clients, region, ids, since) if not event.by_bot]
    except (ClientError, BotoCoreError) as error:
        return changes, f"who made changes outside the bot is unknown: {describe_aws_error(error, 'CloudTrail')}"
    labels = {instance.id: instance.label for instance in instances}
    unknown = sorted({rid for event in events for rid in event.resources if rid.startswith("i-")} - set(labels))
    if unknown:  # a fleet-wide read: name the instances it found (best effort; an id is still an answer)
        try:
            labels |= {instance.id: instance.label
                       for instance in fetch_instances(clients, region, instance_ids=unknown[:200])}
        except (ClientError, BotoCoreError):
            pass
    used: set[int] = set()
    merged: list[ChangeView] = []
    for change in changes:
        if change.outside_bot and change.instance_id and change.who == "outside the bot":
            start, end = change.between or (change.at, change.at)
            went_down = change.went_down is not False
            match = next((index for index, event in enumerate(events) if index not in used
                          and explaining(event, change.instance_id, went_down, start, end)), None)
            if match is not None:
                used.add(match)
                change = change.model_copy(update={"who": f"{events[match].actor} (CloudTrail)"})
        merged.append(change)
    for index, event in enumerate(events):
        if index in used:
            continue
        subject = ", ".join(labels.get(rid, rid) for rid in event.resources) or "?"
        extra = ChangeView(at=event.at, who=f"{event.actor} (CloudTrail)",
                           what=f"{event.name} {subject} (outside the bot)", outside_bot=True,
                           instance_id=event.resources[0] if event.resources else None)
        # the records keep their own order (AWS stamps whole seconds); an event goes before the first older one
        position = next((n for n, change in enumerate(merged) if change.at < event.at), len(merged))
        merged.insert(position, extra)
    return merged, None
