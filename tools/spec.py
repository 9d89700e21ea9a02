"""What a tool is: one declaration with every fact any layer needs about it.

Why a module of its own: each handler module (`ec2.py`, `cloudwatch.py`, …) declares its tools
beside its handlers and result models, and `registry.py` collects them; both import this, so
neither imports the other's users.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from tools.context import ToolContext
from tools.models import Instance, Risk, ToolArgs, ToolResult

Handler = Callable[[ToolContext, Any, list[Instance]], ToolResult]


@dataclass(frozen=True)
class ToolSpec:
    """One tool, declared once, with every fact any layer needs about it.

    Slack, the terminal, MCP, the LLM prompt, the help text, the policy and the monitor all
    read these fields; none of them keeps a table keyed by tool name.
    """

    name: str
    description: str
    args_model: type[ToolArgs]
    risk: Risk
    handler: Handler
    verbs: dict[str, str] = field(default_factory=dict)  # {"en": "reboot", "ko": "재부팅"}: how people say it
    examples: dict[str, tuple[str, ...]] = field(default_factory=dict)  # help text lines per language
    noop_states: frozenset[str] = frozenset()  # targets all in these states: nothing to do, nothing to approve
    takes_down: bool = False  # an approved run makes its instances go down: the monitor expects it
    irreversible: bool = False  # cannot be undone: Protected=true instances are refused outright
    # the tool that reverses it (start → stop): after an automatic run the monitor offers it to approvers;
    # None: nothing undoes it (a reboot cannot be taken back), and the thread says so
    undo: str | None = None
    destructive: bool = False  # interrupts or removes what runs (MCP's destructiveHint)
    ec2_action: str | None = None  # boto3 method to pre-flight with DryRun=True
    # the IAM actions its handler calls ("ec2:StopInstances"), the DryRun pre-flight included; the policies in
    # docs/deploy/iam/ grant exactly these plus `tools.permissions.CALLERS`, and tests/integration/test_iam.py
    # records what AWS receives while every tool runs: a call missing here fails it
    iam_actions: tuple[str, ...] = ()
    many_targets: bool = True  # False: the tool acts on exactly one instance
    # reads a whole account: with several regions in the accounts file and none asked for, it runs in each
    # of the account's regions and this merges the results into one answer ("list instances")
    merge: Callable[[list[ToolResult]], ToolResult] | None = None
    # speaks for the whole estate ("is anything broken?"): a question that names no account is not pinned to
    # the first one — the handler reads every account and region the estate watches (`Estate.rounds`)
    whole_estate: bool = False
    # how people ask for it, for the keyword planner: regular expressions (EN and KO, matched on the
    # lower-cased message), its short name for the intent ("reboot"), and its rank — the planner tries
    # tools in rank order and the first that matches wins, so the more specific and the more dangerous
    # rank first (triage before the actions: "who stopped X?" reads; terminate before stop, 재시작 before 시작)
    phrasings: tuple[str, ...] = ()
    intent: str = ""
    phrasing_rank: int = 1000

    @property
    def reversible(self) -> bool:
        """A change that can be undone and takes nothing away (start, reboot): the only kind a runbook may
        name as its recovery, and the only kind the monitor may ever run by itself."""
        return self.risk is Risk.CHANGE and not self.takes_down and not self.irreversible

    @property
    def takes_targets(self) -> bool:
        return "targets" in self.args_model.model_fields

    def verb(self, language: str = "en") -> str:
        """The word for what this tool does ("reboot", "재부팅"); the name itself if none is declared."""
        return self.verbs.get(language) or self.verbs.get("en") or self.name

    def json_schema(self) -> dict[str, Any]:
        return self.args_model.model_json_schema()


def verbs(en: str, ko: str) -> dict[str, str]:
    return {"en": en, "ko": ko}
