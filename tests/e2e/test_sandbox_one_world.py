"""The sandbox as one world: a second process joins the running sandbox's emulator and database
(`--emulator URL`, or `--keep` finding it), so a proposal made over MCP is approved in the first process's
terminal — and the change lands in the one emulator both see (checked on the AWS side)."""

from __future__ import annotations

import os
import queue
import re
import subprocess
import sys
import threading
from pathlib import Path

import anyio
import boto3
from mcp import Client
from mcp.client.stdio import StdioServerParameters

ROOT = Path(__file__).resolve().parents[2]


def clean_env(data: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "OLLAMA_")) and k != "DATABASE_URL"}
    return {**env, "DATA_DIR": str(data), "PYTHONUNBUFFERED": "1"}


class Owner:
    """`python app.py --sandbox` fed through stdin: it runs the emulator."""

    def __init__(self, data: Path) -> None:
        self.process = subprocess.Popen([sys.executable, str(ROOT / "app.py"), "--sandbox"], cwd=ROOT,
                                        env=clean_env(data), stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                        stderr=subprocess.STDOUT, text=True)
        self.lines: queue.Queue[str] = queue.Queue()
        threading.Thread(target=lambda: [self.lines.put(line) for line in self.process.stdout], daemon=True).start()
        self.url = ""
        self.url = re.search(r"AWS sandbox running at (http://\S+)", self.until("AWS sandbox running at")).group(1)
        self.until("Type a request")

    def until(self, text: str) -> str:
        while True:
            line = self.lines.get(timeout=180)
            if text in line:
                return line

    def say(self, line: str) -> None:
        self.process.stdin.write(line + "\n")
        self.process.stdin.flush()

    def close(self) -> None:
        if self.process.poll() is None:
            self.say("exit")
            self.process.wait(timeout=60)


def state_of(url: str, name: str) -> str:
    ec2 = boto3.client("ec2", endpoint_url=url, region_name="us-east-1", aws_access_key_id="sandbox",
                       aws_secret_access_key="sandbox")
    found = ec2.describe_instances(Filters=[{"Name": "tag:Name", "Values": [name]}])["Reservations"]
    return found[0]["Instances"][0]["State"]["Name"]


def test_a_proposal_made_over_mcp_is_approved_in_the_sandbox_terminal(tmp_path):
    owner = Owner(tmp_path)
    try:
        params = StdioServerParameters(command=sys.executable, cwd=str(ROOT), env=clean_env(tmp_path),
                                       args=[str(ROOT / "app.py"), "mcp", "--sandbox", "--emulator", owner.url])

        async def propose() -> str:
            async with Client(params, read_timeout_seconds=120) as client:
                stop = await client.call_tool("stop_instances", {"targets": ["web-server-2"]})
                assert not stop.is_error and stop.structured_content["status"] == "pending_approval"
                return stop.structured_content["proposal_id"]

        proposal_id = anyio.run(propose)
        assert state_of(owner.url, "web-server-2") == "running"  # proposed, nothing ran
        owner.say(f"approve {proposal_id[:6]}")  # a unique prefix is enough
        assert "Approved by" in owner.until("Approved by")
        assert state_of(owner.url, "web-server-2") in ("stopping", "stopped")

        joined = subprocess.run([sys.executable, str(ROOT / "app.py"), "--sandbox", "--keep"], cwd=ROOT,
                                env=clean_env(tmp_path), input="audit web-server-2\nexit\n", capture_output=True,
                                text=True, timeout=180)
        assert f"Using the AWS sandbox another process runs at {owner.url}" in joined.stdout
        # the same audit, one world: the MCP proposal and the terminal's approval of it
        assert re.search(r"\bmcp\s+proposed\s+stop_instances web-server-2", joined.stdout), joined.stdout
        assert re.search(r"\bapproved\s+stop_instances web-server-2", joined.stdout), joined.stdout
    finally:
        owner.close()
    assert not (tmp_path / "sandbox-emulator.json").exists()  # the owner took its record with it
