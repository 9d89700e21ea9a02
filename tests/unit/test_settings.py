"""Settings: defaults, env names, and one clear line for a bad value."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from bot.core.settings import SettingsError, load_settings

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(autouse=True)
def clean_env(monkeypatch, tmp_path):
    for name in ("AWS_REGION", "AWS_ENDPOINT_URL", "SLACK_BOT_TOKEN", "SLACK_APP_TOKEN", "APPROVER_USER_IDS",
                 "MONITOR_INTERVAL_SECONDS", "OLLAMA_HOST", "OLLAMA_MODEL", "DATA_DIR"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.chdir(tmp_path)  # no stray .env


def test_defaults():
    settings = load_settings()
    assert settings.aws_region == "us-east-1"
    assert settings.ollama_model == "llama3.1:8b"
    assert settings.monitor_interval_seconds == 30
    assert settings.approver_user_ids == []
    assert not settings.slack_configured


def test_reads_ecosystem_variable_names_and_dotenv(monkeypatch, tmp_path):
    (tmp_path / ".env").write_text("AWS_REGION=eu-west-1\nAPPROVER_USER_IDS=U01AAA, U02BBB\n")
    monkeypatch.setenv("AWS_ENDPOINT_URL", "http://127.0.0.1:5000/")
    monkeypatch.setenv("OLLAMA_HOST", "http://gpu-box:11434")
    settings = load_settings()
    assert settings.aws_region == "eu-west-1"
    assert settings.approver_user_ids == ["U01AAA", "U02BBB"]
    assert settings.aws_endpoint_url == "http://127.0.0.1:5000"
    assert settings.ollama_host == "http://gpu-box:11434"


@pytest.mark.parametrize(
    ("name", "value", "expected"),
    [
        ("MONITOR_INTERVAL_SECONDS", "soon", "Invalid setting MONITOR_INTERVAL_SECONDS"),
        ("MONITOR_INTERVAL_SECONDS", "1", "greater than or equal to 5"),
        ("AWS_REGION", "Virginia", "Invalid setting AWS_REGION: expected an AWS region"),
        ("APPROVER_USER_IDS", "U01AAA,alice", "not Slack user ids (like U0123ABCD): alice"),
        ("AWS_ENDPOINT_URL", "localhost:5000", "Invalid setting AWS_ENDPOINT_URL"),
    ],
)
def test_malformed_setting_names_the_variable(monkeypatch, name, value, expected):
    monkeypatch.setenv(name, value)
    with pytest.raises(SettingsError) as error:
        load_settings()
    assert expected in str(error.value)
    assert "\n" not in str(error.value)


def test_token_values_are_never_echoed(monkeypatch):
    monkeypatch.setenv("SLACK_BOT_TOKEN", "xoxp-secret-user-token")
    with pytest.raises(SettingsError) as error:
        load_settings()
    assert "SLACK_BOT_TOKEN" in str(error.value)
    assert "secret" not in str(error.value)


def test_app_exits_with_one_line_on_bad_setting(tmp_path):
    env = {"PATH": "/usr/bin:/bin", "MONITOR_INTERVAL_SECONDS": "abc", "HOME": str(tmp_path)}
    done = subprocess.run([sys.executable, str(ROOT / "app.py")], cwd=tmp_path, env=env,
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 2
    assert done.stderr.strip() == (
        "Invalid setting MONITOR_INTERVAL_SECONDS: Input should be a valid integer, "
        "unable to parse string as an integer (got 'abc')"
    )


def test_app_without_slack_tokens_explains_the_sandbox(tmp_path):
    done = subprocess.run([sys.executable, str(ROOT / "app.py")], cwd=tmp_path,
                          env={"PATH": "/usr/bin:/bin", "HOME": str(tmp_path)},
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 2
    assert "SLACK_BOT_TOKEN" in done.stderr and "python app.py --sandbox" in done.stderr
