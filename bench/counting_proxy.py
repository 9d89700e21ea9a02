"""An HTTP proxy that counts AWS API calls (and response bytes) per operation, on the wire.

Why on the wire: a client-side counter counts what the code meant to send; the proxy counts what
reached "AWS" (retries included), the way AWS bills and throttles. It understands the three
protocols botocore speaks to EC2 and CloudWatch: query (`Action=` in the form body), JSON
(`X-Amz-Target`) and Smithy RPC v2 CBOR (`/service/…/operation/<Name>` in the path).
"""

from __future__ import annotations

import http.client
import threading
import time
from collections import Counter
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlparse

HOP_BY_HOP = {"connection", "keep-alive", "transfer-encoding", "content-length"}


def operation_of(path: str, headers: dict[str, str], body: bytes) -> str:
    """`service.Operation` of one AWS request."""
    authorization = headers.get("authorization", "")
    service = "?"
    if "Credential=" in authorization:  # Credential=AKID/20260101/us-east-1/ec2/aws4_request
        scope = authorization.split("Credential=", 1)[1].split(",", 1)[0].split("/")
        if len(scope) >= 4:
            service = "cloudwatch" if scope[3] == "monitoring" else scope[3]
    if "/operation/" in path:
        return f"{service}.{path.rsplit('/operation/', 1)[1].split('?')[0]}"
    target = headers.get("x-amz-target")
    if target:
        return f"{service}.{target.rsplit('.', 1)[-1]}"
    action = parse_qs(body.decode("utf-8", "replace")).get("Action") or parse_qs(urlparse(path).query).get("Action")
    return f"{service}.{action[0] if action else '?'}"


class CountingProxy:
    """Forwards everything to `upstream`; `counts` and `response_bytes` by operation."""

    def __init__(self, upstream: str, latency_seconds: float = 0.0,
                 observe: Callable[[str, bytes], None] | None = None) -> None:
        """`latency_seconds`: added to every call, as a network round trip to AWS would be (moto answers
        from this machine in a millisecond; a bench of network-bound fan-out needs the round trip).
        `observe(operation, body)`: sees every request as it reaches "AWS" (the recovery bench audits the
        mutations there, not from what the bot says it did)."""
        target = urlparse(upstream)
        self.counts: Counter[str] = Counter()
        self.response_bytes: Counter[str] = Counter()
        self.upstream_seconds = 0.0  # time spent waiting on the emulator (what real AWS would replace)
        self.upstream_by_operation: Counter[str] = Counter()  # the same, per operation
        self.last_waits: Counter[str] = Counter()  # upstream_by_operation as of the last take()
        self._lock = threading.Lock()
        outer = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            disable_nagle_algorithm = True  # else headers and body, written apart, wait out a delayed ACK

            def log_message(self, *_: object) -> None:
                pass

            def _relay(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", 0) or 0))
                headers = {key.lower(): value for key, value in self.headers.items()}
                operation = operation_of(self.path, headers, body)
                if observe is not None:
                    observe(operation, body)
                upstream_connection = http.client.HTTPConnection(target.hostname, target.port, timeout=300)
                started = time.perf_counter()
                if latency_seconds:
                    time.sleep(latency_seconds)  # the simulated round trip (a bench parameter, not a test wait)
                try:
                    upstream_connection.request(self.command, self.path, body=body, headers={
                        key: value for key, value in self.headers.items() if key.lower() not in HOP_BY_HOP})
                    response = upstream_connection.getresponse()
                    payload = response.read()
                finally:
                    upstream_connection.close()
                waited = time.perf_counter() - started
                with outer._lock:
                    outer.upstream_seconds += waited
                    outer.upstream_by_operation[operation] += waited
                    outer.counts[operation] += 1
                    outer.response_bytes[operation] += len(payload)
                self.send_response(response.status)
                for key, value in response.getheaders():
                    if key.lower() not in HOP_BY_HOP:
                        self.send_header(key, value)
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            do_GET = do_POST = do_PUT = do_DELETE = _relay

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}"
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    def __enter__(self) -> CountingProxy:
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._server.shutdown()
        self._server.server_close()

    def take(self) -> tuple[Counter[str], Counter[str], float]:
        """The counts, response bytes and upstream seconds since the last take, and reset (the upstream
        seconds per operation stay readable in `last_waits`)."""
        with self._lock:
            counts, sizes, waited = self.counts, self.response_bytes, self.upstream_seconds
            self.last_waits, self.upstream_by_operation = self.upstream_by_operation, Counter()
            self.counts, self.response_bytes, self.upstream_seconds = Counter(), Counter(), 0.0
        return counts, sizes, waited
