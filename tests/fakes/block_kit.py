"""What real Slack refuses with `invalid_blocks`, checked the same way by the fake Web API and the tests.

Why a shared checker built on slack_sdk: Slack publishes its Block Kit limits, and slack_sdk's block
models (`slack_sdk.models.blocks`, `slack_sdk.models.views`) encode most of them — known block and
element types, required fields, 3,000 characters a section's text, 75 a button's label, 2,000 its
value, 10 context elements, 25 actions, 255 a block_id, the confirm dialog's limits, 1–100 blocks a
view. Each block is parsed with `Block.parse` and validated with `validate_json()`. What slack_sdk
does not check is added here from Slack's documented rules: a `block_id` repeated in one message or
view, an `action_id` repeated in one block, more than 50 blocks in a message, empty or blank text
objects (slack_sdk silently drops them), properties Slack does not know (slack_sdk drops them, Slack
refuses them), and a message with neither text nor blocks.
"""

from __future__ import annotations

import json
from typing import Any

from slack_sdk.errors import SlackObjectFormationError
from slack_sdk.models.blocks import Block
from slack_sdk.models.views import View

MAX_MESSAGE_BLOCKS = 50
MAX_VIEW_BLOCKS = 100
MAX_MESSAGE_TEXT = 40_000  # chat.postMessage truncates beyond it; we never send that much
MESSAGE_METHODS = ("chat.postMessage", "chat.update", "chat.postEphemeral")


def payload_blocks(method: str, params: dict[str, Any]) -> tuple[list[Any], int, str] | None:
    """(blocks, block limit, what it is) of a Web API call that carries blocks; None for any other."""
    if method in ("views.publish", "views.open", "views.update", "views.push"):
        view = params.get("view")
        view = json.loads(view) if isinstance(view, str) else view or {}
        return view.get("blocks") or [], MAX_VIEW_BLOCKS, "view"
    if method in MESSAGE_METHODS or method.startswith("response_url"):
        blocks = params.get("blocks") or []
        return (json.loads(blocks) if isinstance(blocks, str) else blocks), MAX_MESSAGE_BLOCKS, "message"
    return None


def problems(method: str, params: dict[str, Any]) -> list[str]:
    """Every reason Slack would refuse this call's blocks (empty: it would accept them)."""
    found = payload_blocks(method, params)
    if found is None:
        return []
    blocks, limit, kind = found
    errors: list[str] = []
    if not isinstance(blocks, list):
        return ["blocks is not a list [json-pointer:/blocks]"]
    if kind == "message":
        text = params.get("text")
        if not blocks and not (isinstance(text, str) and text.strip()) and method != "chat.update":
            errors.append("no_text: a message needs text or blocks")
        if isinstance(text, str) and len(text) > MAX_MESSAGE_TEXT:
            errors.append(f"text is longer than {MAX_MESSAGE_TEXT} characters")
    if len(blocks) > limit:
        errors.append(f"no more than {limit} items allowed [json-pointer:/blocks]")
    if kind == "view":
        view = params.get("view")
        view = json.loads(view) if isinstance(view, str) else view or {}
        try:
            View(**{key: value for key, value in view.items() if key in ("type", "blocks", "callback_id",
                                                                       "private_metadata", "external_id")}
                 ).validate_json()
        except (SlackObjectFormationError, TypeError) as error:
            errors.append(f"view: {error}")
    block_ids: set[str] = set()
    for index, block in enumerate(blocks):
        where = f"[json-pointer:/blocks/{index}]"
        if not isinstance(block, dict):
            errors.append(f"a block is not an object {where}")
            continue
        block_id = block.get("block_id")
        if block_id is not None:
            if block_id in block_ids:
                errors.append(f"invalid additional property: block_id {block_id!r} is repeated {where}")
            block_ids.add(block_id)
        errors += [f"{error} {where}" for error in block_problems(block)]
    return errors


def block_problems(block: dict[str, Any]) -> list[str]:
    """One block: slack_sdk's parse and validation, then the rules it lacks."""
    try:
        parsed = Block.parse(block)
    except (SlackObjectFormationError, KeyError, TypeError, ValueError) as error:
        return [f"cannot parse a {block.get('type')!r} block: {error}"]
    if parsed is None:
        return [f"unknown block type {block.get('type')!r}"]
    errors: list[str] = []
    try:
        parsed.validate_json()
        as_sent = parsed.to_dict()  # validates the elements and text objects inside, too
    except SlackObjectFormationError as error:
        return [str(error)]
    errors += _dropped(block, as_sent, block.get("type", "block"))
    errors += _blank_texts(block, block.get("type", "block"))
    elements = block.get("elements") if block.get("type") == "actions" else None
    if isinstance(elements, list):
        action_ids = [e.get("action_id") for e in elements if isinstance(e, dict) and e.get("action_id")]
        repeated = sorted({a for a in action_ids if action_ids.count(a) > 1})
        if repeated:
            errors.append(f"action_id repeated in one block: {', '.join(repeated)}")
    return errors


def _dropped(original: Any, parsed: Any, path: str) -> list[str]:
    """Properties slack_sdk did not keep: Slack does not know them (it refuses them) or they were empty."""
    if isinstance(original, dict) and isinstance(parsed, dict):
        errors = []
        for key, value in original.items():
            if key not in parsed:
                errors.append(f"invalid or empty property {path}.{key}")
            else:
                errors += _dropped(value, parsed[key], f"{path}.{key}")
        return errors
    if isinstance(original, list) and isinstance(parsed, list):
        if len(original) != len(parsed):
            return [f"{path}: {len(original) - len(parsed)} element(s) Slack does not know"]
        return [error for index, (a, b) in enumerate(zip(original, parsed)) for error in
                _dropped(a, b, f"{path}[{index}]")]
    return []


def _blank_texts(value: Any, path: str) -> list[str]:
    """Slack refuses a text object whose text is empty or only whitespace."""
    if isinstance(value, dict):
        errors = []
        if value.get("type") in ("mrkdwn", "plain_text") and not str(value.get("text") or "").strip():
            errors.append(f"{path}: text must be more than 0 characters")
        for key, inner in value.items():
            errors += _blank_texts(inner, f"{path}.{key}")
        return errors
    if isinstance(value, list):
        return [error for index, inner in enumerate(value) for error in _blank_texts(inner, f"{path}[{index}]")]
    return []
