"""Start and stop a moto server on a free 127.0.0.1 port, in this process.

Why in-process (ThreadedMotoServer) rather than a subprocess: some faults (an impaired
EC2 status check) can only be injected through moto's in-memory backend, and tests
start faster without a second interpreter. The bot still reaches it over HTTP only.
"""

from __future__ import annotations

import json
import logging
import urllib.request
from typing import Any

from moto.server import ThreadedMotoServer

from tools.aws import AwsClients

SANDBOX_ACCOUNT_ID = "123456789012"  # moto's default account
SANDBOX_CREDENTIALS = {
    "aws_access_key_id": "sandbox",
    "aws_secret_access_key": "sandbox",
}


class MotoSandbox:
    """A running moto server and the way to talk to it."""

    def __init__(self, region: str = "us-east-1") -> None:
        self.region = region
        self._server: ThreadedMotoServer | None = None
        self.endpoint_url = ""

    def start(self) -> MotoSandbox:
        logging.getLogger("werkzeug").setLevel(logging.ERROR)  # one access-log line per AWS call is noise
        self._server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
        self._server.start()
        host, port = self._server.get_host_and_port()
        self.endpoint_url = f"http://{host}:{port}"
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.stop()
            self._server = None

    def __enter__(self) -> MotoSandbox:
        return self.start()

    def __exit__(self, *_: object) -> None:
        self.stop()

    def clients(self, max_attempts: int = 8) -> AwsClients:
        """New AwsClients pointed at this sandbox (each with its own call counter)."""
        return AwsClients(
            default_region=self.region,
            endpoint_url=self.endpoint_url,
            credentials=SANDBOX_CREDENTIALS,
            max_attempts=max_attempts,
        )

    def reset(self) -> None:
        """Forget every resource (moto's own reset API)."""
        self.moto_api("/moto-api/reset", {})

    def moto_api(self, path: str, body: dict[str, Any]) -> int:
        """POST JSON to one of moto's control endpoints (`/moto-api/...`)."""
        return self.moto_api_raw(path, json.dumps(body).encode())

    def moto_api_raw(self, path: str, data: bytes) -> int:
        request = urllib.request.Request(
            self.endpoint_url + path, data=data, headers={"Content-Type": "application/json"}, method="POST"
        )
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status
