"""The sandbox's AWS emulator: moto's WSGI app plus one control route of ours, in a thread or a process.

Why a control route: moto hard-codes EC2 status checks to "ok", so an impaired check can only be
made inside moto's in-memory backend — in whichever process moto runs. `POST
/sandbox-api/status-check` does that there, so the fault injector is the same HTTP call whether
moto runs in a test's own process (fast to start) or in a child process (`python app.py
--sandbox`: the bot's process then never imports moto and holds what it holds in production;
docs/EVALUATION.md, "Footprint", has the emulator's share).

Why the child watches its stdin: the parent holds the other end of that pipe, so when the parent
exits in any way — even `kill -9` — the pipe closes and the emulator exits with it; nothing is
left listening on a port.

    python -m sandbox.emulator    # prints "listening on http://127.0.0.1:PORT", serves until stdin closes
"""

from __future__ import annotations

import json
import logging
import sys
import threading
from collections.abc import Callable, Iterable
from datetime import UTC, datetime
from typing import Any

CONTROL_PATH = "/sandbox-api/status-check"
READY_PREFIX = "listening on "
SANDBOX_ACCOUNT_ID = "123456789012"  # moto's default account

Environ = dict[str, Any]
StartResponse = Callable[..., Any]


def _impaired() -> dict[str, Any]:
    return {
        "Status": "impaired",
        "Details": [{"Name": "reachability", "Status": "failed", "ImpairedSince": datetime.now(UTC)}],
    }


def set_status_check(region: str, instance_id: str, scope: str) -> None:
    """Impair the instance's check ("instance"), the system check ("system"), both ("both"), or
    restore both ("ok") — in moto's backend, which must live in this process."""
    from moto.ec2.models import ec2_backends

    instance = ec2_backends[SANDBOX_ACCOUNT_ID][region].get_instance(instance_id)
    base = getattr(type(instance), "_sandbox_original_class", type(instance))
    if scope == "ok":
        instance.__class__ = base
        return
    if scope not in ("instance", "system", "both"):
        raise ValueError(f"scope must be instance, system, both or ok, not {scope!r}")
    overrides: dict[str, Any] = {"_sandbox_original_class": base}
    if scope in ("instance", "both"):
        overrides["instance_status"] = property(lambda self: _impaired())
    if scope in ("system", "both"):
        overrides["system_status"] = property(lambda self: _impaired())
    # same class name: moto's serializer finds attribute aliases (InstanceId …) by class name
    instance.__class__ = type(base.__name__, (base,), overrides)


class EmulatorApp:
    """moto's dispatcher, with the control route answered before it."""

    def __init__(self) -> None:
        from moto.moto_server.werkzeug_app import DomainDispatcherApplication, create_backend_app

        self.moto = DomainDispatcherApplication(create_backend_app)

    def __call__(self, environ: Environ, start_response: StartResponse) -> Iterable[bytes]:
        if environ.get("PATH_INFO") == CONTROL_PATH and environ.get("REQUEST_METHOD") == "POST":
            return self._control(environ, start_response)
        return self.moto(environ, start_response)

    @staticmethod
    def _control(environ: Environ, start_response: StartResponse) -> Iterable[bytes]:
        try:
            length = int(environ.get("CONTENT_LENGTH") or 0)
            body = json.loads(environ["wsgi.input"].read(length) or b"{}")
            set_status_check(body["region"], body["instance_id"], body.get("scope", "instance"))
        except Exception as error:  # a bad fault request is the caller's mistake: say which
            start_response("400 Bad Request", [("Content-Type", "text/plain")])
            return [f"{type(error).__name__}: {error}".encode()]
        start_response("200 OK", [("Content-Type", "text/plain")])
        return [b"ok"]


def make_emulator_server(port: int = 0) -> Any:
    """A threaded WSGI server for moto on 127.0.0.1 (port 0: a free one)."""
    from moto.moto_server.werkzeug_app import MotoRequestHandler
    from werkzeug.serving import make_server

    logging.getLogger("werkzeug").setLevel(logging.ERROR)  # one access-log line per AWS call is noise
    return make_server("127.0.0.1", port, EmulatorApp(), threaded=True, request_handler=MotoRequestHandler)


def main() -> int:
    server = make_emulator_server()
    host, port = server.server_address[:2]
    threading.Thread(target=server.serve_forever, daemon=True).start()
    print(f"{READY_PREFIX}http://{host}:{port}", flush=True)
    sys.stdin.read()  # returns when the parent closes the pipe or dies
    server.shutdown()
    return 0


if __name__ == "__main__":
    sys.exit(main())
