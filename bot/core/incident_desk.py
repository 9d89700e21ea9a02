"""People working an incident: acknowledge, snooze, resolve, show its logs or metrics, read its timeline.

Why one desk for every front end: Slack's buttons on the incident's root message, `/aiops incident <id>`
and the terminal all act on the same rows with the same rules — the first acknowledgement wins, a
snooze silences the thread until it ends, a hand resolution holds the fingerprint quiet until the
finding clears — and every action lands in the incident's timeline (the postmortem's source) and
in the audit. Logs and metrics are ordinary read tools through the pipeline, on the incident's own
instance id, never a name taken from telemetry.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta

from pydantic import BaseModel

from bot.core.approvals import Clicked, Proposal
from bot.core.pipeline import Attachment, Pipeline, Reply
from bot.core.postmortem import draft
from sop.runbooks import Runbook
from store.audit import AuditLog
from store.engine import utcnow
from store.incidents import Incident, IncidentStore
from tools.inventory import fetch_instances
from tools.logs import log_group_for, log_group_names
from tools.render import age, table

ACTIONS: tuple[str, ...] = ("ack", "snooze_1h", "snooze_4h", "resolve", "logs", "metrics", "postmortem")
SNOOZE_HOURS = {"snooze_1h": 1, "snooze_4h": 4}
OPERATOR_ACTIONS = frozenset({"snooze_1h", "snooze_4h", "resolve"})  # they silence or close it for everyone


class DeskOutcome(BaseModel):
    ok: bool
    message: str
    incident: Incident | None = None
    reply: Reply | None = None  # logs / metrics: the tool's reply, rendered by the front end
    attachment: Attachment | None = None  # postmortem: a Markdown file for the incident's thread
    changed: bool = False  # the incident row changed: its root message should be redrawn
    withdrawn: Proposal | None = None  # resolve: the recovery proposal it withdrew, whose message should say so


class IncidentDesk:
    def __init__(self, store: IncidentStore, audit: AuditLog, pipeline: Pipeline,
                 may_operate: Callable[[str, str, str | None], bool],
                 runbook: Callable[[str | None], Runbook | None] = lambda _: None) -> None:
        self.store = store
        self.audit = audit
        self.pipeline = pipeline
        self.may_operate = may_operate
        self.runbook = runbook

    def open_incidents(self) -> list[Incident]:
        """Most urgent first: tier, then age."""
        return sorted(self.store.open_incidents(), key=lambda incident: (incident.tier, incident.opened_at))

    def get(self, incident_id: int) -> Incident | None:
        return self.store.get(incident_id)

    def press(self, key: str, action: str, user: str, clicked: Clicked) -> DeskOutcome:
        """A button on an incident's root message: `key` is the opaque id it carries, and the click must
        come from that incident's own message (channel and ts) — a value pasted into another incident's
        message, another channel or an ephemeral list names nothing here."""
        incident = self.store.by_button_key(key)
        if incident is None:
            self.audit.record("incident_action", user, status="unknown", message=f"incident {action} refused: "
                              "no incident carries that button")
            return DeskOutcome(ok=False, message="No such incident (that button is not valid); nothing changed.")
        refusal = None
        if not incident.announced or clicked.channel != incident.channel:
            refusal = "That incident belongs to another channel; nothing changed."
        elif clicked.message_ts != incident.thread_ts:
            refusal = "That button does not belong to this incident's message; nothing changed."
        if refusal:
            self._audit(incident, user, action, "refused", refusal)
            return DeskOutcome(ok=False, incident=incident, message=refusal)
        return self.act(incident.id, action, user, "slack")

    def act(self, incident_id: int, action: str, user: str, front: str = "slack") -> DeskOutcome:
        incident = self.get(incident_id)
        if incident is None or action not in ACTIONS:
            return DeskOutcome(ok=False, message=f"No incident #{incident_id} (or no such action); nothing changed.")
        if action in OPERATOR_ACTIONS and not self.may_operate(user, front, incident.account):
            self._audit(incident, user, action, "refused")
            whose = (f"the {incident.account} account's approvers and operators (accounts file; APPROVER_USER_IDS "
                     "and OPERATOR_USER_IDS if it names none)" if incident.account else
                     "approvers and operators (OPERATOR_USER_IDS)")
            return DeskOutcome(ok=False, incident=incident, message=f"Only {whose} may snooze or resolve "
                               "this incident; nothing changed.")
        if action in ("logs", "metrics"):
            return self._read(incident, action, user, front)
        if action == "postmortem":
            return self.postmortem(incident, user)
        if incident.status != "open":
            return DeskOutcome(ok=False, incident=incident, message=f"Incident #{incident.id} is already "
                               f"{incident.status}" + (f" (by {incident.resolved_by})" if incident.resolved_by else "")
                               + "; nothing changed.")
        withdrawn: Proposal | None = None
        if action == "ack":
            if not self.store.acknowledge(incident.id, user):
                return DeskOutcome(ok=False, incident=incident, message=f"Incident #{incident.id} was already "
                                   f"acknowledged by {incident.acknowledged_by}; nothing changed.")
            message = f"Acknowledged by {user}."
        elif action in SNOOZE_HOURS:
            until = utcnow() + timedelta(hours=SNOOZE_HOURS[action])
            if not self.store.snooze(incident.id, until):
                return DeskOutcome(ok=False, incident=incident, message="It changed meanwhile; nothing changed.")
            message = f"Snoozed by {user} until {until:%H:%M} UTC: no posts for it before then."
        else:
            if not self.store.resolve_by_hand(incident.id, user):
                return DeskOutcome(ok=False, incident=incident, message="It was resolved meanwhile; nothing changed.")
            message = (f"Resolved by {user}. It stays resolved while the same finding persists; it opens again "
                       f"only when the finding clears and fires again.")
            withdrawn = self._withdraw_recovery(incident, user)
            if withdrawn is not None:
                message += f" Its pending recovery proposal {withdrawn.id} was withdrawn (nothing was run)."
        self.store.add_event(incident.id, user, action, message)
        self._audit(incident, user, action, "done", message)
        return DeskOutcome(ok=True, changed=True, message=message, incident=self.get(incident.id),
                           withdrawn=withdrawn)

    def _withdraw_recovery(self, incident: Incident, user: str) -> Proposal | None:
        """A resolved incident needs no recovery: its pending proposal expires (audited), so nobody approves a
        restart of something a person has already dealt with. Returns the withdrawn proposal (its message, if
        a front end posted one, is to be redrawn to say so), or None when there was nothing pending."""
        if not incident.proposal_id:
            return None
        why = f"incident #{incident.id} was resolved by hand by {user}"
        if not self.pipeline.approvals.withdraw(incident.proposal_id, user, why):
            return None
        self.store.add_event(incident.id, user, "proposal expired",
                             f"recovery proposal {incident.proposal_id} withdrawn: {why}")
        return self.pipeline.approvals.get(incident.proposal_id)

    def _read(self, incident: Incident, action: str, user: str, front: str) -> DeskOutcome:
        if not incident.instance_id:
            return DeskOutcome(ok=False, incident=incident, message=f"Incident #{incident.id} is not about one "
                               "instance; there are no instance logs or metrics to show.")
        target = incident.call_arguments()
        if action == "metrics":
            reply = self.pipeline.call("get_metrics", target, user=user, origin=front)  # type: ignore[arg-type]
        else:
            ctx = self.pipeline.runner.context_for(incident.account)
            found = fetch_instances(ctx.clients, incident.region, instance_ids=[incident.instance_id])
            group = log_group_for(found[0], log_group_names(ctx, incident.region)) if found else None
            if group is None:
                return DeskOutcome(ok=False, incident=incident, message=f"I found no log group for "
                                   f"{incident.resource_name or incident.instance_id} (tag it LogGroup=<group>).")
            reply = self.pipeline.call("search_logs", {**target, "log_group": group, "minutes": 180}, user=user,
                                       origin=front)  # type: ignore[arg-type]
        self.store.add_event(incident.id, user, f"showed {action}", "")
        return DeskOutcome(ok=reply.kind == "run", message=reply.text, incident=incident, reply=reply)

    def _audit(self, incident: Incident, user: str, action: str, status: str, message: str = "") -> None:
        self.audit.record("incident_action", user, status=status,
                          message=f"incident #{incident.id} {action}: {incident.summary}" + (f" — {message}" if
                                                                                              message else ""),
                          detail={"incident": incident.id, "action": action})

    def postmortem(self, incident: Incident, user: str) -> DeskOutcome:
        """The Markdown draft, as a file for the incident's thread (and the terminal prints it)."""
        proposal = self.pipeline.approvals.get(incident.proposal_id) if incident.proposal_id else None
        cleared = [event["at"] for event in self.store.events(incident.id)
                   if event["kind"] in ("finding cleared", "cleared")]
        text = draft(incident, self.timeline(incident), proposal, self.runbook(incident.sop_id), utcnow(),
                     cleared_at=cleared[0] if cleared else None)
        self.store.add_event(incident.id, user, "postmortem", "draft written")
        attachment = Attachment(filename=f"postmortem-incident-{incident.id}.md",
                                title=f"Postmortem draft — incident #{incident.id}", content=text,
                                channel=incident.channel if incident.announced else None,
                                thread_ts=incident.thread_ts if incident.announced else None)
        return DeskOutcome(ok=True, message=f"Postmortem draft for incident #{incident.id} written.",
                           incident=incident, attachment=attachment)

    # -- reading -------------------------------------------------------------------------------

    def timeline(self, incident: Incident) -> list[tuple[str, str, str, str]]:
        """(when, who, what, detail), oldest first: the incident's own events, plus the audit of its
        recovery proposal (proposed, decided, executed) — what a postmortem is drafted from."""
        rows = [(event["at"], event["actor"], event["kind"], event["message"]) for event in self.store.events(incident.id)]
        if incident.proposal_id:
            rows += [(row.at, row.actor, f"{row.kind} {row.status or ''}".strip(), row.message)
                     for row in self.audit.rows(proposal_id=incident.proposal_id)]
        rows.sort(key=lambda row: row[0])
        return [(f"{at:%m-%d %H:%M:%S}", who, what, detail) for at, who, what, detail in rows]

    def detail_text(self, incident_id: int) -> str:
        incident = self.get(incident_id)
        if incident is None:
            return f"No incident #{incident_id}."
        now = utcnow()
        state = incident.status + (f" by {incident.resolved_by}" if incident.resolved_by else "")
        if incident.status == "resolved" and incident.held:  # resolved by hand is not recovered
            state += " — its finding has not cleared (as far as the monitor has seen)"
        lines = [incident.title, f"status: {state} · opened {age((now - incident.opened_at).total_seconds())} ago · "
                 f"{incident.resource_name or incident.resource_id} ({incident.region})",
                 f"acknowledged: {incident.acknowledged_by or 'nobody yet'}"
                 + (f" · snoozed until {incident.snoozed_until:%H:%M} UTC" if incident.snoozed(now) else ""),
                 *[f"  {line}" for line in incident.evidence]]
        if incident.link:
            lines.append(f"thread: {incident.link}")
        events = self.timeline(incident)
        lines.append("timeline (UTC):")
        lines.append(table(["WHEN", "WHO", "WHAT", "DETAIL"], [(w, who, what, d[:100]) for w, who, what, d in events]))
        return "\n".join(lines)
