"""Data shown in Slack reads as it came, but cannot ping, link or format (tools/render.py, the postmortem)."""

from __future__ import annotations

import pytest

from bot.core.postmortem import md
from tests.fakes.leaks import HOSTILE_LINES, markdown_leaks, mrkdwn_leaks, plain_leaks
from tools.render import escape, escape_entities, inline_code, link, plain_text, strip_invisible


@pytest.mark.parametrize("data", [HOSTILE_LINES, "*APPROVED* by security", "_urgent_ ~done~ `rm -rf /`",
                                  "> quoted\n- listed\n1. numbered", ":white_check_mark: ok", "web_server_1"])
def test_escaped_data_reads_as_written_and_formats_nothing(data):
    shown = escape(data)
    assert strip_invisible(shown) == escape_entities(data)  # the same characters, for the eye
    assert mrkdwn_leaks(escape(HOSTILE_LINES)) == []
    assert mrkdwn_leaks(f"*bold of ours* {inline_code(HOSTILE_LINES)} _ours_") == []


def test_times_and_addresses_are_left_alone():
    assert escape("at 11:49:11 UTC") == "at 11:49:11 UTC"
    assert link("https://example.slack.com/archives/C1/p1_2", "thread") == "<https://example.slack.com/archives/C1/p1_2|thread>"


def test_plain_text_fields_lose_markup_and_control_characters():
    title = plain_text("CPU of <!channel> <@U123> <#C123> <https://evil.example|AWS console>\x07\nweb-1 @here")
    assert plain_leaks(title) == [] and "<" not in title and "\n" not in title and "@here" not in title
    assert "AWS console" in title and "web-1" in title


def test_the_postmortem_escapes_markdown_in_data():
    assert markdown_leaks(md(HOSTILE_LINES)) == []
    assert md("start_instances web-server-2 (i-0abc)") == "start_instances web-server-2 (i-0abc)"  # stays readable
