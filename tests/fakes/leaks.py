"""Planted hostile data, and where it would show as the bot's own formatting in what Slack received.

Why sentinels: a test cannot tell the bot's `*bold*` from a Name tag's by looking at the result, so the
planted strings carry words nobody else writes (FAKE-APPROVED, fake_stamp, …). A leak is one of them
reaching Slack in a form Slack would format: in mrkdwn outside a ``` block or a code span, or as live
markup (a mention, a disguised link) in any field, plain-text titles and alt text included.
"""

from __future__ import annotations

import json
import re
from typing import Any

BOLD, ITALIC, STRIKE, CODE = "*FAKE-APPROVED*", "_FAKE-ITALIC_", "~FAKE-STRIKE~", "`FAKE-CODE`"
EMOJI, QUOTE = ":fake_stamp:", "FAKE-QUOTE"
MARKUP = ("<!channel>", "<!here>", "<@UADMIN0001>", "<https://evil.example")
HOSTILE = (f"{BOLD} by {ITALIC} {STRIKE} {CODE} {EMOJI} <!channel> <@UADMIN0001> <https://evil.example|AWS console> "
           "[console](https://evil.example/login) ![x](https://evil.example/x.png) <img src=x> @here")
HOSTILE_LINES = f"{HOSTILE}\n> {QUOTE} approved by the security team\n- FAKE-LIST item"

_FENCED = re.compile(r"```.*?```", re.S)
# a span the bot opened: its backticks are not beside the word joiner that `escape` puts around data's
_SPAN = re.compile("(?<!\u2060)`[^`\n]*?`(?!\u2060)")
_QUOTE_START = re.compile(rf"(?:^|\n)[ \t]*(?:&gt;|>)[ \t]*{QUOTE}")
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")


def mrkdwn_leaks(text: str) -> list[str]:
    """The planted formatting Slack would apply to this mrkdwn text."""
    found = [markup for markup in MARKUP if markup in text]
    outside = _FENCED.sub(" ", text)
    if CODE in outside:
        found.append(CODE)
    outside = _SPAN.sub(" ", outside)
    found += [marker for marker in (BOLD, ITALIC, STRIKE, EMOJI) if marker in outside]
    if _QUOTE_START.search(outside):
        found.append("> quote")
    return found


def plain_leaks(text: str) -> list[str]:
    """A plain-text field (a file's title, alt text): no live markup, no control characters."""
    found = [markup for markup in MARKUP if markup in text]
    return found + (["control character"] if _CONTROL.search(text) else [])


def _mrkdwn_texts(value: Any) -> list[str]:
    """Every mrkdwn text in a block tree (plain_text objects are checked as plain text)."""
    if isinstance(value, dict):
        own = [value["text"]] if value.get("type") == "mrkdwn" and isinstance(value.get("text"), str) else []
        return own + [text for inner in value.values() for text in _mrkdwn_texts(inner)]
    if isinstance(value, list):
        return [text for inner in value for text in _mrkdwn_texts(inner)]
    return []


def _plain_texts(value: Any) -> list[str]:
    if isinstance(value, dict):
        own = [value["text"]] if value.get("type") == "plain_text" and isinstance(value.get("text"), str) else []
        return own + [text for inner in value.values() for text in _plain_texts(inner)]
    if isinstance(value, list):
        return [text for inner in value for text in _plain_texts(inner)]
    return []


def call_leaks(method: str, params: dict[str, Any]) -> list[str]:
    """Leaks in one Web API call: messages' text and blocks, views, and files' titles and alt text."""
    leaks: list[str] = []
    view = params.get("view")
    view = json.loads(view) if isinstance(view, str) else view
    blocks = (view or {}).get("blocks") if isinstance(view, dict) else params.get("blocks")
    blocks = json.loads(blocks) if isinstance(blocks, str) else blocks or []
    texts = _mrkdwn_texts(blocks)
    if isinstance(params.get("text"), str):
        texts.append(params["text"])  # a message's text is mrkdwn too (and the notification)
    for text in texts:
        leaks += [f"{method}: {leak}" for leak in mrkdwn_leaks(text)]
    plain = _plain_texts(blocks)
    files = params.get("files")
    files = json.loads(files) if isinstance(files, str) else files or []
    plain += [str(f.get("title") or "") for f in files if isinstance(f, dict)]
    plain += [str(params[key]) for key in ("filename", "alt_txt", "alt_text", "title", "initial_comment")
              if params.get(key) is not None]
    for text in plain:
        leaks += [f"{method} (plain text): {leak}" for leak in plain_leaks(text)]
    return leaks


def leaks_in(slack_api: Any) -> list[str]:
    """Every leak in everything the fake Slack received."""
    with slack_api._lock:
        calls = list(slack_api.calls)
    return [leak for call in calls for leak in call_leaks(call.method, call.params)]


def markdown_leaks(markdown: str) -> list[str]:
    """The postmortem draft (Markdown for wikis): the planted data must not link, embed, ping or format
    (a backslash-escaped character is text in CommonMark; nothing formats inside a code span)."""
    text = re.sub(r"`[^`\n]*`", " ", markdown)
    found = [markup for markup in MARKUP if re.search(r"(?<!\\)" + re.escape(markup), text)]
    for pattern, what in ((r"(?<!\\)\[[^\]\n]*(?<!\\)\]\(", "a link or image"), (r"(?<!\\)<(img|script)", "HTML"),
                          (r"(?<!\\)\*FAKE-APPROVED(?<!\\)\*", "bold"), (r"(?m)^[ \t]*>[ \t]*FAKE-QUOTE", "a quote"),
                          (r"@(?!\u2060)(channel|here)", "a broadcast")):
        if re.search(pattern, text):
            found.append(what)
    return found
