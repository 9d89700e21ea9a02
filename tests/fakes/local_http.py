"""What every local fake server shares: a threaded HTTP server on a free 127.0.0.1 port."""

from __future__ import annotations

import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class QuietHandler(BaseHTTPRequestHandler):
    """A request handler that keeps the test output free of access-log lines."""

    def log_message(self, *_: object) -> None:
        pass


def send_bytes(handler: BaseHTTPRequestHandler, status: int, data: bytes, content_type: str,
               headers: dict[str, str] | None = None) -> None:
    handler.send_response(status)
    handler.send_header("Content-Type", content_type)
    handler.send_header("Content-Length", str(len(data)))
    for key, value in (headers or {}).items():
        handler.send_header(key, value)
    handler.end_headers()
    handler.wfile.write(data)


class LocalHttpServer:
    """Start/stop and address of a ThreadingHTTPServer running `handler` on 127.0.0.1."""

    def __init__(self, handler: type[BaseHTTPRequestHandler]) -> None:
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        # shutdown() returns once the serving loop next looks at its flag: every poll_interval (0.5 s
        # by default, paid by every test that stops a fake)
        self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.02},
                                        daemon=True)

    @property
    def base_url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    def start(self):  # type: ignore[no-untyped-def]
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
