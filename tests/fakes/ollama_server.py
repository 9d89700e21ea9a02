"""A local HTTP server that speaks enough of Ollama's API for the real langchain-ollama client.

Scripted: each POST /api/chat takes the next reply from a queue (a string of model output,
or a `Delay`/`HttpError`), streams it back as Ollama's NDJSON chunks, and records the
request body so tests can check what the planner sent (system prompt, forced schema).
"""

from __future__ import annotations

import json
import threading
import time
from dataclasses import dataclass
from typing import Any

from tests.fakes.local_http import LocalHttpServer, QuietHandler, send_bytes


@dataclass
class Delay:
    seconds: float
    content: str = "{}"


@dataclass
class HttpError:
    status: int = 500
    message: str = "model runner crashed"


class FakeOllama(LocalHttpServer):
    def __init__(self, model: str = "llama3.1:8b") -> None:
        self.model = model
        self.replies: list[Any] = []
        self.requests: list[dict[str, Any]] = []
        self._lock = threading.Lock()
        outer = self

        class Handler(QuietHandler):
            def do_POST(self) -> None:  # noqa: N802
                body = json.loads(self.rfile.read(int(self.headers.get("Content-Length", 0))) or b"{}")
                if self.path != "/api/chat":
                    self._json(404, {"error": f"unknown path {self.path}"})
                    return
                with outer._lock:
                    outer.requests.append(body)
                    reply = outer.next_reply(body)
                if isinstance(reply, HttpError):
                    self._json(reply.status, {"error": reply.message})
                    return
                if isinstance(reply, Delay):
                    time.sleep(reply.seconds)
                    reply = reply.content
                self._stream(str(reply), stream=body.get("stream", True))

            def _json(self, status: int, payload: dict[str, Any]) -> None:
                send_bytes(self, status, json.dumps(payload).encode(), "application/json")

            def _stream(self, content: str, stream: bool) -> None:
                created = "2026-11-25T00:00:00Z"
                final = {"model": outer.model, "created_at": created, "done": True, "done_reason": "stop",
                         "message": {"role": "assistant", "content": "" if stream else content},
                         "total_duration": 1000, "prompt_eval_count": 10, "eval_count": 10}
                if not stream:
                    self._json(200, final)
                    return
                half = max(1, len(content) // 2)
                chunks = [content[:half], content[half:]]
                lines = [json.dumps({"model": outer.model, "created_at": created, "done": False,
                                     "message": {"role": "assistant", "content": piece}}) for piece in chunks]
                lines.append(json.dumps(final))
                send_bytes(self, 200, ("\n".join(lines) + "\n").encode(), "application/x-ndjson")

        super().__init__(Handler)

    def next_reply(self, body: dict[str, Any]) -> Any:
        """The reply to one /api/chat request (called under the lock): the next scripted one. A subclass
        answers from the request instead (`tests/fakes/oracle_ollama.py` answers from a labelled set)."""
        return self.replies.pop(0) if self.replies else '{"outcome": "chat", "message": "no script"}'

    @property
    def url(self) -> str:
        return self.base_url

    def script(self, *replies: Any) -> None:
        with self._lock:
            self.replies.extend(replies)


def plan_json(**fields: Any) -> str:
    """A model answer in the Plan schema, with defaults for what a test does not care about."""
    base = {"outcome": "run", "tool": None, "arguments": {}, "targets": [], "message": "", "language": "en"}
    base.update(fields)
    return json.dumps(base)
