"""Local stand-ins for Slack: a Web API server (HTTP) and a Socket Mode server (websocket).

The pattern is bolt-python's own tests/mock_web_api_server: a real HTTP server on a free
127.0.0.1 port that the real WebClient talks to, recording every request body so tests
assert what users would see (which messages, in which thread, with which buttons).
"""

from __future__ import annotations

import itertools
import json
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qs

from tests.fakes.block_kit import problems
from tests.fakes.local_http import LocalHttpServer, QuietHandler, send_bytes

BOT_USER_ID = "UBOT0001"


@dataclass
class Call:
    method: str
    params: dict[str, Any]
    response: dict[str, Any] | None = None


class FakeSlackWebApi(LocalHttpServer):
    def __init__(self) -> None:
        self.calls: list[Call] = []
        self.uploads: dict[str, bytes] = {}  # file id → the bytes uploaded to its upload URL
        self.socket_url = ""
        self.refusals_expected = False  # a test that sends invalid blocks on purpose sets it
        self.failures: dict[str, list[tuple[int, dict[str, Any], dict[str, str]]]] = {}
        self._ts = itertools.count(1)
        self._lock = threading.Lock()
        outer = self

        class Handler(QuietHandler):
            def do_POST(self) -> None:  # noqa: N802
                body = self.rfile.read(int(self.headers.get("Content-Length", 0) or 0))
                if self.path.startswith("/upload/"):  # files upload v2, step 2: the bytes, to the upload URL
                    with outer._lock:
                        outer.uploads[self.path.removeprefix("/upload/")] = body
                    send_bytes(self, 200, f"OK - {len(body)}".encode(), "text/plain")
                    return
                raw = body.decode()
                if "json" in (self.headers.get("Content-Type") or ""):
                    params = json.loads(raw or "{}")
                else:
                    params = {key: values[0] for key, values in parse_qs(raw).items()}
                for key in ("blocks", "attachments"):
                    if isinstance(params.get(key), str):
                        params[key] = json.loads(params[key])
                method = self.path.removeprefix("/api/").strip("/")
                status, payload, headers = outer._answer(method, params)
                with outer._lock:
                    outer.calls[-1].response = payload
                send_bytes(self, status, json.dumps(payload).encode(), "application/json", headers)

        super().__init__(Handler)

    @property
    def url(self) -> str:
        return f"{self.base_url}/api/"

    @property
    def response_url(self) -> str:
        return f"{self.base_url}/response_url/{uuid.uuid4().hex}"

    def fail_next(self, method: str, status: int, payload: dict[str, Any], headers: dict[str, str] | None = None):
        with self._lock:
            self.failures.setdefault(method, []).append((status, payload, headers or {}))

    def _answer(self, method: str, params: dict[str, Any]) -> tuple[int, dict[str, Any], dict[str, str]]:
        with self._lock:
            queued = self.failures.get(method)
            if queued:
                status, payload, headers = queued.pop(0)
                self.calls.append(Call(f"{method}!{status}", params))
                return status, payload, headers
            refusal = refused_blocks(method, params)
            if refusal is not None:  # what real Slack answers: the message or view does not appear
                self.calls.append(Call(f"{method}!invalid_blocks", params))
                return 200, {"ok": False, "error": "invalid_blocks", "errors": [refusal]}, {}
            self.calls.append(Call(method, params))
            ts = f"1700000000.{next(self._ts):06d}"
        if method == "auth.test":
            return 200, {"ok": True, "url": "https://example.slack.com/", "team": "T", "user": "aiops",
                         "team_id": "T0001", "user_id": BOT_USER_ID, "bot_id": "B0001"}, {}
        if method == "chat.postMessage":
            return 200, {"ok": True, "channel": params.get("channel"), "ts": ts,
                         "message": {"text": params.get("text"), "ts": ts}}, {}
        if method == "chat.update":
            return 200, {"ok": True, "channel": params.get("channel"), "ts": params.get("ts")}, {}
        if method == "files.getUploadURLExternal":
            file_id = f"F{next(self._ts):08d}"
            return 200, {"ok": True, "file_id": file_id, "upload_url": f"{self.base_url}/upload/{file_id}"}, {}
        if method == "files.completeUploadExternal":
            files = params.get("files")
            files = json.loads(files) if isinstance(files, str) else files or []
            return 200, {"ok": True, "files": [{"id": f["id"], "title": f.get("title")} for f in files]}, {}
        if method == "chat.getPermalink":
            message = str(params.get("message_ts", "")).replace(".", "")
            return 200, {"ok": True, "channel": params.get("channel"),
                         "permalink": f"https://example.slack.com/archives/{params.get('channel')}/p{message}"}, {}
        if method == "chat.postEphemeral":
            return 200, {"ok": True, "message_ts": ts}, {}
        if method == "apps.connections.open":
            return 200, {"ok": True, "url": self.socket_url}, {}
        return 200, {"ok": True}, {}

    # -- what tests look at ---------------------------------------------------------------

    def refusals(self) -> list[Call]:
        """Calls this fake refused as Slack would (invalid_blocks)."""
        with self._lock:
            return [call for call in self.calls if call.method.endswith("!invalid_blocks")]

    def responses_of(self, method: str) -> list[dict[str, Any]]:
        with self._lock:
            return [call.response or {} for call in self.calls if call.method == method]

    def uploaded(self) -> list[tuple[dict[str, Any], bytes]]:
        """(the completeUploadExternal call, the file's bytes) for every file shared."""
        with self._lock:
            done = [call.params for call in self.calls if call.method == "files.completeUploadExternal"]
            uploads = dict(self.uploads)
        shared = []
        for params in done:
            files = params.get("files")
            files = json.loads(files) if isinstance(files, str) else files or []
            shared += [(params, uploads.get(f["id"], b"")) for f in files]
        return shared

    def of(self, method: str) -> list[dict[str, Any]]:
        with self._lock:
            return [call.params for call in self.calls if call.method == method]

    def wait_for(self, predicate: Callable[[], Any], timeout: float = 20.0) -> Any:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            value = predicate()
            if value:
                return value
            time.sleep(0.05)
        raise AssertionError(f"timed out; calls so far: {[c.method for c in self.calls]}")



class FakeSocketModeServer:
    """A websocket endpoint that says hello and replays Slack envelopes; records the acks."""

    def __init__(self) -> None:
        from websockets.sync.server import serve

        self.acks: list[dict[str, Any]] = []
        self.sent_at: dict[str, float] = {}
        self.acked_at: dict[str, float] = {}
        self.connected = threading.Event()
        self._outbox: list[dict[str, Any]] = []
        self._lock = threading.Lock()
        self._server = serve(self._handle, "127.0.0.1", 0)
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        host, port = self._server.socket.getsockname()[:2]
        return f"ws://{host}:{port}/link"

    def send(self, envelope_type: str, payload: dict[str, Any], retry_attempt: int = 0) -> str:
        envelope_id = uuid.uuid4().hex
        with self._lock:
            self._outbox.append({"envelope_id": envelope_id, "type": envelope_type, "payload": payload,
                                 "accepts_response_payload": envelope_type != "events_api",
                                 "retry_attempt": retry_attempt, "retry_reason": "timeout" if retry_attempt else ""})
        return envelope_id

    def _handle(self, websocket: Any) -> None:
        websocket.send(json.dumps({"type": "hello", "num_connections": 1,
                                   "debug_info": {"host": "fake", "approximate_connection_time": 3600}}))
        self.connected.set()
        while True:
            with self._lock:
                outgoing, self._outbox = self._outbox, []
            for envelope in outgoing:
                self.sent_at[envelope["envelope_id"]] = time.perf_counter()
                websocket.send(json.dumps(envelope))
            try:
                message = websocket.recv(timeout=0.05)
            except TimeoutError:
                continue
            except Exception:
                return
            try:
                data = json.loads(message)
            except ValueError:
                continue
            with self._lock:
                self.acks.append(data)
                if "envelope_id" in data:
                    self.acked_at.setdefault(data["envelope_id"], time.perf_counter())

    def start(self) -> FakeSocketModeServer:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()


def refused_blocks(method: str, params: dict[str, Any]) -> str | None:
    """Why Slack would refuse these blocks (`invalid_blocks`), or None — the shared checker's rules
    (tests/fakes/block_kit.py: slack_sdk's block models plus Slack's documented limits they lack)."""
    found = problems(method, params)
    return "; ".join(found) if found else None
