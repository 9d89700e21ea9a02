"""Account and region words are read from the sentence itself, and only explicit ones."""

from __future__ import annotations

import pytest

from planning.scope import take_scope

ACCOUNTS = ("prod", "prod-eu", "staging", "shared")


@pytest.mark.parametrize(("text", "rest", "account", "region"), [
    ("restart web-server-1 in the staging account", "restart web-server-1", "staging", None),
    ("account shared: list alarms", "list alarms", "shared", None),
    ("staging 계정에서 웹 서버 재시작해줘", "웹 서버 재시작해줘", "staging", None),
    ("list instances in us-west-2", "list instances", None, "us-west-2"),
    ("us-west-2의 인스턴스 목록", "인스턴스 목록", None, "us-west-2"),
    ("cpu of api in the prod-eu account in eu-west-1", "cpu of api", "prod-eu", "eu-west-1"),
    ("stop everything in staging", "stop everything in staging", None, None),  # an environment, not an account
    ("reboot prod-web-1", "reboot prod-web-1", None, None),  # a name that starts like an account
])
def test_scope_words(text, rest, account, region):
    words = take_scope(text, ACCOUNTS)
    assert (words.text, words.account, words.region) == (rest, account, region)


def test_an_account_that_is_not_in_the_file_is_noticed():
    assert take_scope("list instances in the billing account", ACCOUNTS).unknown_account == "billing"
    assert take_scope("stop web in our account", ACCOUNTS).unknown_account is None
    assert take_scope("list instances in the billing account", ()).unknown_account is None  # no estate
