"""Name resolution: what a person types → which instances (pure, no AWS)."""

from __future__ import annotations

import pytest

from tools.models import Instance
from tools.resolver import normalise, resolve, words

FLEET = [
    Instance(id="i-0000000000000000a", name="web-server-1", state="running", type="t3.small"),
    Instance(id="i-0000000000000000b", name="web-server-2", state="running", type="t3.small"),
    Instance(id="i-0000000000000000c", name="api-server", state="running", type="t3.medium"),
    Instance(id="i-0000000000000000d", name="db-primary", state="running", type="r5.large"),
    Instance(id="i-0000000000000000e", name="batch-worker", state="stopped", type="t3.micro"),
    Instance(id="i-0000000000000000f", name="staging-web", state="running", type="t3.micro"),
    Instance(id="i-00000000000000010", name="bastion", state="running", type="t3.nano"),
    Instance(id="i-00000000000000011", name="old-box", state="terminated", type="t3.nano"),
]


def names(resolution) -> list[str]:
    return [instance.name for instance in resolution.matches]


@pytest.mark.parametrize(
    "phrase", ["web-server-1", "web server 1", "Web_Server_1", "WEB SERVER-1", "the web-server-1", "webserver1"]
)
def test_exact_match_ignores_case_spaces_underscores_and_dashes(phrase):
    resolution = resolve(phrase, FLEET)
    assert resolution.kind == "exact"
    assert names(resolution) == ["web-server-1"]


@pytest.mark.parametrize(
    ("phrase", "expected"),
    [("the db", "db-primary"), ("api", "api-server"), ("batch", "batch-worker"), ("web 2", "web-server-2"),
     ("staging", "staging-web"), ("bast", "bastion"), ("primary", "db-primary")],
)
def test_partial_match_on_words(phrase, expected):
    resolution = resolve(phrase, FLEET)
    assert resolution.kind == "partial"
    assert names(resolution) == [expected]


def test_several_matches_return_candidates_not_a_guess():
    resolution = resolve("web server", FLEET)
    assert resolution.kind == "ambiguous"
    assert sorted(names(resolution)) == ["web-server-1", "web-server-2"]
    assert "which one" in resolution.explain()


def test_a_number_must_match_whole():
    assert resolve("web server 3", FLEET).kind == "none"
    assert resolve("web 12", FLEET).kind == "none"


def test_unknown_name_suggests_closest_names():
    resolution = resolve("web-sever-1", FLEET)
    assert resolution.kind == "none"
    assert resolution.suggestions[0] == "web-server-1"
    assert "no instance named 'web-sever-1'" in resolution.explain()
    assert "web-server-1" in resolution.explain()


def test_instance_id_resolves_exactly():
    resolution = resolve("i-0000000000000000c", FLEET)
    assert resolution.kind == "id"
    assert names(resolution) == ["api-server"]


def test_unknown_and_malformed_ids():
    assert resolve("i-0000000000000abcd", FLEET).kind == "none"
    malformed = resolve("i-xyz", FLEET)
    assert malformed.kind == "malformed_id"
    assert "not a valid instance id" in malformed.explain()


def test_terminated_instances_are_never_targets():
    assert resolve("old-box", FLEET).kind == "none"
    assert resolve("i-00000000000000011", FLEET).kind == "none"


def test_duplicate_name_tags_are_ambiguous():
    twin = Instance(id="i-00000000000000099", name="api-server", state="running", type="t3.medium")
    resolution = resolve("api-server", [*FLEET, twin])
    assert resolution.kind == "ambiguous"
    assert {i.id for i in resolution.matches} == {"i-0000000000000000c", "i-00000000000000099"}


def test_normalise_and_words():
    assert normalise("Web Server_1") == "webserver1"
    assert words("web-server1") == ["web", "server", "1"]
