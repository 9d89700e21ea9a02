"""Runbooks are Markdown files with a small YAML front matter; this turns them into chunks.

Why chunks per section: an alert text matches the *symptoms*, a question like "how do I
free disk space" matches the *Recover* steps; indexing both lets either find the runbook.
"""

from __future__ import annotations

import hashlib
import re
from pathlib import Path

import yaml
from pydantic import BaseModel, Field, ValidationError, field_validator, model_validator

from tools.models import Risk
from tools.registry import REGISTRY

FRONT_MATTER = re.compile(r"\A---\s*\n(.*?)\n---\s*\n(.*)\Z", re.S)
SECTION = re.compile(r"^##\s+(.+?)\s*$", re.M)


class RunbookError(Exception):
    pass


# the monitor's finding checks an `auto` rule may answer (monitoring.config.CheckName)
FINDING_CHECKS = frozenset({"instance_down", "status_check_failed", "cpu_high", "alarm"})


class AutoRule(BaseModel):
    """`recovery.auto`: when the monitor may run the recovery by itself (AUTO_RECOVERY=announce|on).

    `when`: the finding checks it answers ("instance_down" → start); `states`: the instance states it may
    act in (a start only for a `stopped` instance, never a terminated one). Everything else — Protected,
    scope, cooldown, cap, breaker — is the verdict's, not the runbook's."""

    model_config = {"extra": "forbid"}

    when: list[str] = Field(min_length=1)
    states: list[str] = Field(default_factory=list)

    @field_validator("when")
    @classmethod
    def _known_checks(cls, value: list[str]) -> list[str]:
        unknown = [check for check in value if check not in FINDING_CHECKS]
        if unknown:
            raise ValueError(f"recovery.auto.when names unknown checks {', '.join(unknown)} "
                             f"(known: {', '.join(sorted(FINDING_CHECKS))})")
        return value


class Recovery(BaseModel):
    """The runbook's first action. Why only reversible tools: the runbook folder (SOP_DIR) is text anyone
    with access to it can write, and the monitor proposes — and with AUTO_RECOVERY may run — what it names.
    A runbook that names a stop or a terminate is refused at load, by name, so it can never reach a
    proposal; `auto` is allowed only on a reversible tool (start, reboot)."""

    tool: str = "none"
    why: str = ""
    auto: AutoRule | None = None

    @field_validator("tool")
    @classmethod
    def _registry_tool(cls, value: str) -> str:
        if value == "none":
            return value
        spec = REGISTRY.get(value)
        if spec is None:
            raise ValueError(f"recovery tool '{value}' is not a registry tool")
        if spec.risk is not Risk.READ and not spec.reversible:
            raise ValueError(f"recovery tool '{value}' is destructive or irreversible; a runbook may only name "
                             "a reversible recovery (" + ", ".join(sorted(
                                 name for name, other in REGISTRY.items() if other.reversible)) + ")")
        return value

    @model_validator(mode="after")
    def _auto_only_when_reversible(self) -> Recovery:
        if self.auto is not None and (self.tool == "none" or not REGISTRY[self.tool].reversible):
            raise ValueError(f"recovery.auto needs a reversible recovery tool, not '{self.tool}'")
        return self

    def runs_by_itself(self, check: str, state: str | None) -> bool:
        """Does this runbook let the monitor run its tool by itself for this finding, in this state?"""
        auto = self.auto
        if auto is None or check not in auto.when:
            return False
        return not auto.states or state in auto.states


class Runbook(BaseModel):
    id: str = Field(pattern=r"^[a-z0-9][a-z0-9\-]+$")
    title: str
    tier: int = Field(ge=0, le=2)
    symptoms: list[str]
    recovery: Recovery = Field(default_factory=Recovery)
    sections: dict[str, str] = Field(default_factory=dict)
    path: str = ""
    content_hash: str = ""

    def key_steps(self, limit: int = 3) -> list[str]:
        """The first numbered steps of Recover — what an on-call engineer does first."""
        steps = re.findall(r"^\s*\d+\.\s+(.+?)(?=\n\s*\d+\.|\n\n|\Z)", self.sections.get("Recover", ""), re.S | re.M)
        return [re.sub(r"\s+", " ", step).strip() for step in steps[:limit]]

    @property
    def shown_path(self) -> str:
        """Where a person finds it in the repository (`sops/disk-full.md`)."""
        name = Path(self.path).name
        return f"sops/{name}" if name else self.id

    def first_lines(self, steps: int = 3) -> list[str]:
        """The runbook as a person first needs it: which one, where, and the first recovery steps."""
        lines = [f"Runbook: {self.title} ({self.shown_path})"]
        if self.recovery.tool != "none":
            lines.append(f"First action: {self.recovery.tool} — {self.recovery.why}")
        lines += [f"{number}. {step}" for number, step in enumerate(self.key_steps(steps), start=1)]
        return lines

    def chunks(self) -> list[tuple[str, str]]:
        """(section, text) pairs to embed: the summary first, then each section."""
        summary = f"{self.title}. Symptoms: " + "; ".join(self.symptoms)
        return [("summary", summary)] + [(name, f"{self.title} — {name}: {body}") for name, body in
                                         self.sections.items()]


def parse_runbook(path: Path) -> Runbook:
    raw = path.read_text(encoding="utf-8")
    match = FRONT_MATTER.match(raw)
    if not match:
        raise RunbookError(f"{path.name}: no front matter (--- id, title, tier, symptoms, recovery ---)")
    try:
        meta = yaml.safe_load(match.group(1)) or {}
    except yaml.YAMLError as error:
        raise RunbookError(f"{path.name}: front matter is not YAML: {error}") from None
    body = match.group(2)
    parts = SECTION.split(body)
    sections = {parts[i].strip(): parts[i + 1].strip() for i in range(1, len(parts) - 1, 2)}
    try:
        return Runbook(**meta, sections=sections, path=str(path),
                       content_hash=hashlib.sha256(raw.encode()).hexdigest()[:16])
    except ValidationError as error:  # one line per problem, naming the field: "recovery.tool: …"
        problems = "; ".join(f"{'.'.join(str(part) for part in item['loc']) or 'front matter'}: "
                             f"{item['msg'].removeprefix('Value error, ')}" for item in error.errors()[:3])
        raise RunbookError(f"{path.name}: refused ({problems})") from None
    except TypeError as error:
        raise RunbookError(f"{path.name}: refused ({error})") from None


def load_runbooks(folder: Path) -> tuple[list[Runbook], list[str]]:
    """All parsable runbooks in `folder`, and one line per file that could not be parsed."""
    runbooks, problems, seen = [], [], set()
    for path in sorted(folder.glob("*.md")):
        try:
            runbook = parse_runbook(path)
        except RunbookError as error:
            problems.append(str(error))
            continue
        if runbook.id in seen:
            problems.append(f"{path.name}: duplicate id {runbook.id}")
            continue
        seen.add(runbook.id)
        runbooks.append(runbook)
    return runbooks, problems
