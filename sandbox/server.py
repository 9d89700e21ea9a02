"""Start and stop the sandbox's AWS emulator (moto) on a free 127.0.0.1 port.

Two ways, one interface: in a thread of this process (tests: fast to start) or in a child
process (`python app.py --sandbox`: the bot's own process then holds no emulator, so its memory is
what a deployment against AWS holds). Either way the bot reaches it over HTTP only, and faults go
through the emulator's control route (`sandbox/emulator.py`).
"""

from __future__ import annotations

import json
import subprocess
import sys
import threading
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

from sandbox.emulator import READY_PREFIX, SANDBOX_ACCOUNT_ID, make_emulator_server
from tools.accounts import Estate
from tools.aws import AwsClients

__all__ = ["SANDBOX_ACCOUNT_ID", "SANDBOX_CREDENTIALS", "MotoSandbox"]
ROOT = Path(__file__).resolve().parents[1]
SANDBOX_CREDENTIALS = {
    "aws_access_key_id": "sandbox",
    "aws_secret_access_key": "sandbox",
}


class MotoSandbox:
    """A running moto server and the way to talk to it."""

    def __init__(self, region: str = "us-east-1", separate_process: bool = False) -> None:
        self.region = region
        self.separate_process = separate_process
        self._server: Any = None
        self._thread: threading.Thread | None = None
        self._process: subprocess.Popen[str] | None = None
        self.endpoint_url = ""

    @classmethod
    def attach(cls, endpoint_url: str, region: str = "us-east-1") -> MotoSandbox:
        """An emulator another process runs (`--emulator URL`, or the one `--keep` finds): this process
        talks to it and never stops it, so two processes see one fleet and one set of proposals."""
        sandbox = cls(region=region)
        sandbox.endpoint_url = endpoint_url.rstrip("/")
        sandbox.attached = True
        return sandbox

    attached = False  # True: another process owns the emulator

    def alive(self, timeout: float = 2.0) -> bool:
        """Does an emulator answer at `endpoint_url`? (Any HTTP answer counts; a refused connection does not.)"""
        if not self.endpoint_url.startswith(("http://127.0.0.1:", "http://localhost:")):
            return False  # the sandbox is local only: never point it (and its faults) at a real endpoint
        try:
            # a cheap page: data.json serialises the whole emulator (every seeded datapoint) and can take
            # longer than the timeout on a busy machine, which read as "no emulator answers"
            with urllib.request.urlopen(self.endpoint_url + "/moto-api/", timeout=timeout):
                return True
        except urllib.error.HTTPError:
            return True
        except (OSError, ValueError):
            return False

    @property
    def pid(self) -> int | None:
        """The emulator's process id when it runs apart from this process."""
        return self._process.pid if self._process else None

    def start(self) -> MotoSandbox:
        if self.separate_process:
            self._process = subprocess.Popen([sys.executable, "-m", "sandbox.emulator"], cwd=ROOT,
                                             stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
            line = self._process.stdout.readline() if self._process.stdout else ""
            if not line.startswith(READY_PREFIX):
                self.stop()
                raise RuntimeError("the sandbox's AWS emulator did not start (python -m sandbox.emulator)")
            self.endpoint_url = line[len(READY_PREFIX):].strip()
            return self
        self._server = make_emulator_server()
        host, port = self._server.server_address[:2]
        self._thread = threading.Thread(target=self._server.serve_forever, name="moto", daemon=True)
        self._thread.start()
        self.endpoint_url = f"http://{host}:{port}"
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None
        if self._process is not None:
            if self._process.stdin:
                self._process.stdin.close()  # the emulator's signal to exit
            try:
                self._process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self._process.kill()
                self._process.wait()
            self._process = None

    def __enter__(self) -> MotoSandbox:
        return self.start()

    def __exit__(self, *_: object) -> None:
        self.stop()

    def clients(self, max_attempts: int = 8, estate: Estate | None = None) -> AwsClients:
        """New AwsClients pointed at this sandbox (each with its own call counter); with an estate,
        other accounts are reached by AssumeRole, which moto answers for any account id."""
        return AwsClients(
            default_region=self.region,
            endpoint_url=self.endpoint_url,
            credentials=SANDBOX_CREDENTIALS,
            max_attempts=max_attempts,
            estate=estate,
        )

    def reset(self) -> None:
        """Forget every resource (moto's own reset API)."""
        self.moto_api("/moto-api/reset", {})

    def moto_api(self, path: str, body: dict[str, Any]) -> int:
        """POST JSON to one of the emulator's control endpoints (moto's `/moto-api/...`, ours
        `/sandbox-api/...`)."""
        return self.moto_api_raw(path, json.dumps(body).encode())

    def moto_api_raw(self, path: str, data: bytes) -> int:
        request = urllib.request.Request(
            self.endpoint_url + path, data=data, headers={"Content-Type": "application/json"}, method="POST"
        )
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status
