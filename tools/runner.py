"""The one path that runs tools, in two steps on purpose:

* `prepare` validates the arguments, resolves Name tags to instance ids and, for
  mutating EC2 calls, asks AWS with `DryRun=True` whether the call would be allowed —
  so a permission problem shows up before anyone is asked to approve;
* `execute` runs exactly a prepared call (ids, not names), and refuses any tool that changes
  something unless the caller says it was decided (confirmed or approved): a last lock below the
  verdict, which is made in `bot/core/verdict.py`.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError
from pydantic import ValidationError

from tools.accounts import Scope
from tools.calls import OutcomeStatus, PreparedCall, ToolOutcome, describe_validation
from tools.context import ToolContext
from tools.errors import ToolError, describe_aws_error
from tools.inventory import fetch_instances, fetch_scopes
from tools.models import Instance, Risk, ToolArgs
from tools.registry import REGISTRY
from tools.resolver import resolve_all
from tools.spec import ToolSpec


class ToolRunner:
    """Prepares and executes registry tools against AWS."""

    def __init__(self, ctx: ToolContext) -> None:
        self.ctx = ctx

    def prepare(self, tool: str, raw_args: dict[str, Any] | None = None, *,
                all_matches: bool = False, channel: str | None = None) -> PreparedCall | ToolOutcome:
        """Validate, resolve and pre-flight; a ToolOutcome means it cannot run (and why).

        `all_matches`: an ambiguous phrase stands for every instance it matches ("cpu of the web
        servers") — only ever asked for read tools that take several targets.
        `channel`: where the request came from; with an accounts file it decides which accounts
        may be used and which is searched first.
        """
        spec = REGISTRY.get(tool)
        if spec is None:
            return ToolOutcome(
                tool=tool, status="invalid", message=f"unknown tool '{tool}' (known: {', '.join(REGISTRY)})"
            )
        try:
            args = spec.args_model.model_validate(raw_args or {})
        except ValidationError as error:
            return ToolOutcome(tool=tool, status="invalid", message=describe_validation(tool, error))
        instances: list[Instance] = []
        try:
            scopes = self._scopes(args.account, args.region, channel)
            scope = scopes[0][0]
            phrases: list[str] = getattr(args, "targets", None) or []
            if spec.takes_targets and phrases:
                resolved = self._resolve(spec, phrases, scopes, all_matches and spec.many_targets)
                if isinstance(resolved, ToolOutcome):
                    return resolved
                instances, scope = resolved
            if spec.ec2_action:
                self._dry_run(spec, instances, scope)
        except ToolError as error:
            return ToolOutcome(tool=tool, status="error", message=error.message)
        except (ClientError, BotoCoreError) as error:
            return ToolOutcome(tool=tool, status="error", message=describe_aws_error(error, tool))
        stored = args.model_dump(mode="json")
        if spec.whole_estate:  # every account and region, or those the question named (checked above)
            named = self.ctx.clients.estate.get(args.account or "")
            return PreparedCall(tool=tool, risk=spec.risk, region=args.region or scope.region, args=stored,
                                instances=instances,
                                regions=list(named.regions) if named and not args.region else [])
        stored["region"] = scope.region
        if scope.account is None:
            stored.pop("account", None)
        else:
            stored["account"] = scope.account
        if instances:
            stored["targets"] = [instance.id for instance in instances]
        regions = self._merged_regions(spec, args, scope)
        return PreparedCall(tool=tool, risk=spec.risk, region=scope.region, args=stored, instances=instances,
                            regions=regions)

    def _merged_regions(self, spec: ToolSpec, args: ToolArgs, scope: Scope) -> list[str]:
        """The account's regions, for a whole-account read that names no region; else none."""
        account = self.ctx.clients.estate.get(scope.account or "")
        if spec.merge is None or account is None or args.region is not None or len(account.regions) < 2:
            return []
        return list(account.regions)

    def context_for(self, account: str | None) -> ToolContext:
        """The context a call runs with: the clients of its account (the bot's own without an estate)."""
        if account is None:
            return self.ctx
        return ToolContext(self.ctx.clients.for_account(account), records=self.ctx.records)

    def _scopes(self, account: str | None, region: str | None, channel: str | None) -> list[list[Scope]]:
        """Where to look, in rounds (`Estate.rounds`): the first scope is where a call without targets acts."""
        return self.ctx.clients.estate.rounds(account, region, channel)

    def _resolve(self, spec: ToolSpec, phrases: list[str], rounds: list[list[Scope]],
                 all_matches: bool) -> tuple[list[Instance], Scope] | ToolOutcome:
        """Resolve in the first round that knows every phrase; the last round's answer otherwise.
        A call acts in one account and region: targets found in several make a question."""
        outcome: tuple[list[Instance], Scope] | ToolOutcome | None = None
        for scopes in rounds:
            outcome = self._resolve_in(spec, phrases, scopes, all_matches)
            if not (isinstance(outcome, ToolOutcome) and outcome.status == "not_found"):
                return outcome
        assert outcome is not None
        return outcome

    def _resolve_in(self, spec: ToolSpec, phrases: list[str], scopes: list[Scope],
                    all_matches: bool) -> tuple[list[Instance], Scope] | ToolOutcome:
        failed: dict[Scope, str] = {}
        if len(scopes) == 1 and scopes[0].account is None:
            inventory = fetch_instances(self.ctx.clients, scopes[0].region)
        else:
            inventory, failed = fetch_scopes(self.ctx.clients, scopes)
            if failed and not inventory:
                raise ToolError("; ".join(failed.values()))
        resolutions = resolve_all(phrases, inventory)
        unresolved = [r for r in resolutions if not (r.resolved or (all_matches and r.kind == "ambiguous"))]
        if unresolved:
            ambiguous = [r for r in unresolved if r.kind in ("ambiguous", "confusable")]
            status: OutcomeStatus = "ambiguous" if ambiguous and len(ambiguous) == len(unresolved) else "not_found"
            if any(r.kind == "malformed_id" for r in unresolved):
                status = "invalid"
            unread = f" (not searched, unreadable: {'; '.join(failed.values())})" if failed else ""
            return ToolOutcome(
                tool=spec.name,
                status=status,
                message="; ".join(resolution.explain() for resolution in unresolved) + unread,
                candidates=[instance for resolution in ambiguous for instance in resolution.matches],
            )
        unique: dict[str, Instance] = {}
        for resolution in resolutions:
            for instance in resolution.matches:
                unique.setdefault(instance.id, instance)
        found = list(unique.values())
        places = list(dict.fromkeys(Scope(i.account, i.region or scopes[0].region) for i in found))
        if len(places) > 1:  # the same name in two accounts (or regions): never pick one
            return ToolOutcome(
                tool=spec.name, status="ambiguous", candidates=found,
                message=f"{', '.join(phrases)} matches instances in {len(places)} places: "
                        + "; ".join(f"{i.label} in {Scope(i.account, i.region or '?')}" for i in found)
                        + " — which account and region? (say 'in account <name>' or the instance id)")
        return found, places[0] if places else scopes[0]

    def _dry_run(self, spec: ToolSpec, instances: list[Instance], scope: Scope) -> None:
        """Ask AWS whether the call would be permitted, without doing it."""
        clients = self.context_for(scope.account).clients
        method = getattr(clients.client("ec2", scope.region), spec.ec2_action or "")
        try:
            method(InstanceIds=[instance.id for instance in instances], DryRun=True)
        except ClientError as error:
            if error.response.get("Error", {}).get("Code") == "DryRunOperation":
                return
            raise ToolError(describe_aws_error(error, f"{spec.name} pre-flight (DryRun)")) from None
        raise ToolError(f"{spec.name} pre-flight (DryRun) got no answer from AWS; nothing was done")

    def execute(self, call: PreparedCall, *, approved: bool = False,
                guard: Callable[[PreparedCall], str | None] | None = None) -> ToolOutcome:
        """Run exactly `call`. Any tool that changes something needs `approved=True`, which only the
        approval flow sets (a confirmed or approved proposal): nothing else can change AWS.

        `guard` sees the call with the instances as they are *now* and may refuse it (the approval
        flow re-applies the policy: a Protected tag added after the proposal still blocks it).
        """
        spec = REGISTRY.get(call.tool)
        if spec is None:
            return ToolOutcome(tool=call.tool, status="invalid", message=f"unknown tool '{call.tool}'", call=call)
        if spec.risk is not Risk.READ and not approved:
            return ToolOutcome(
                tool=call.tool,
                status="needs_approval",
                message=f"{call.describe()} needs an engineer's approval; nothing was done",
                call=call,
            )
        try:
            args = spec.args_model.model_validate(call.args)
            instances = self._current(call) if call.instances else []
            refusal = guard(call.model_copy(update={"instances": instances})) if guard else None
            if refusal:
                raise ToolError(f"{refusal}; nothing was done")
            ctx = self.context_for(call.account)
            if call.regions and spec.merge is not None:  # the whole account: each region, one answer
                result = spec.merge([spec.handler(ctx, args.model_copy(update={"region": region}), instances)
                                     for region in call.regions])
            else:
                result = spec.handler(ctx, args, instances)
        except ValidationError as error:
            return ToolOutcome(tool=call.tool, status="invalid", message=describe_validation(call.tool, error), call=call)
        except ToolError as error:
            return ToolOutcome(tool=call.tool, status="error", message=error.message, call=call)
        except (ClientError, BotoCoreError) as error:
            return ToolOutcome(tool=call.tool, status="error", message=describe_aws_error(error, call.tool), call=call)
        return ToolOutcome(tool=call.tool, status="ok", message="ok", result=result, call=call)

    def _current(self, call: PreparedCall) -> list[Instance]:
        """Re-read the stored ids (never the names) so the call acts on exactly them."""
        wanted = [instance.id for instance in call.instances]
        try:
            found = {i.id: i for i in fetch_instances(self.context_for(call.account).clients, call.region,
                                                     instance_ids=wanted)}
        except ClientError as error:
            if "InvalidInstanceID" in error.response.get("Error", {}).get("Code", ""):
                raise ToolError(f"{', '.join(wanted)} no longer exist; nothing was done") from None
            raise
        gone = [instance.label for instance in call.instances if found.get(instance.id) is None
                or found[instance.id].state == "terminated"]
        if gone and call.tool != "terminate_instances":
            raise ToolError(f"{', '.join(gone)} no longer exists (terminated); nothing was done")
        return [found[instance_id] for instance_id in wanted if instance_id in found]

    def run(self, tool: str, raw_args: dict[str, Any] | None = None, *, approved: bool = False) -> ToolOutcome:
        """prepare + execute, for read/change tools and tests."""
        prepared = self.prepare(tool, raw_args)
        if isinstance(prepared, ToolOutcome):
            return prepared
        return self.execute(prepared, approved=approved)
