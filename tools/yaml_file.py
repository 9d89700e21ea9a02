"""Read a YAML file people write (accounts, a sandbox fleet) into a pydantic model.

Why one function: a file someone edits by hand must fail with one line that names the file and
each problem's place in it (`accounts.1.role_arn: …`), never a traceback — and every such file
should say it the same way.
"""

from __future__ import annotations

from pathlib import Path
from typing import TypeVar

import yaml
from pydantic import BaseModel, ValidationError

Model = TypeVar("Model", bound=BaseModel)


def load_yaml_model(path: Path, model: type[Model], what: str, error: type[Exception], hint: str) -> Model:
    """`what` names the file for people ("the accounts file"); `hint` says what its top level must be."""
    try:
        raw = yaml.safe_load(Path(path).read_text(encoding="utf-8"))
    except OSError as problem:
        raise error(f"cannot read {what} {path}: {problem.strerror or problem}") from None
    except yaml.YAMLError as problem:
        raise error(f"{what} {path} is not valid YAML: {problem}") from None
    if not isinstance(raw, dict):
        raise error(f"{what} {path}: expected {hint}")
    try:
        return model.model_validate(raw)
    except ValidationError as invalid:
        problems = "; ".join(f"{'.'.join(str(part) for part in item['loc']) or 'file'}: "
                             f"{item['msg'].removeprefix('Value error, ')}" for item in invalid.errors())
        raise error(f"{what} {path} is invalid: {problems}") from None
