"""The sandbox's AWS emulator: moto's WSGI app plus control routes of ours, in a thread or a process.

Why a control route: moto hard-codes EC2 status checks to "ok", so an impaired check can only be
made inside moto's in-memory backend — in whichever process moto runs. `POST
/sandbox-api/status-check` does that there, so the fault injector is the same HTTP call whether
moto runs in a test's own process (fast to start) or in a child process (`python app.py
--sandbox`: the bot's process then never imports moto and holds what it holds in production;
docs/EVALUATION.md, "Footprint", has the emulator's share).

Why a CloudTrail of its own: moto has no LookupEvents. The fault injector's behind-the-back calls
(`fault stop …`) are recorded with `POST /sandbox-api/cloudtrail` as an IAM user's events, and
LookupEvents is answered from them here — so "who stopped X?" makes the same boto3 call in the sandbox
as against AWS. Cost Explorer's GetAnomalies (also missing) answers what `POST /sandbox-api/cost-anomalies`
set, none by default (an account without an anomaly monitor). A moto reset clears both.

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
TRAIL_PATH = "/sandbox-api/cloudtrail"  # record CloudTrail events for the calls the fault injector makes
ANOMALIES_PATH = "/sandbox-api/cost-anomalies"  # what Cost Explorer's GetAnomalies answers (moto lacks it)
ANOMALIES: list[dict[str, Any]] = []
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
        path, method = environ.get("PATH_INFO"), environ.get("REQUEST_METHOD")
        if path == CONTROL_PATH and method == "POST":
            return self._control(environ, start_response)
        if path == TRAIL_PATH and method == "POST":
            return self._record_trail(environ, start_response)
        if str(environ.get("HTTP_X_AMZ_TARGET", "")).endswith("CloudTrail_20131101.LookupEvents"):
            return self._lookup_events(environ, start_response)
        if path == ANOMALIES_PATH and method == "POST":
            ANOMALIES[:] = list(_body(environ).get("anomalies", []))
            start_response("200 OK", [("Content-Type", "text/plain")])
            return [b"ok"]
        if str(environ.get("HTTP_X_AMZ_TARGET", "")).endswith("AWSInsightsIndexService.GetAnomalies"):
            start_response("200 OK", [("Content-Type", "application/x-amz-json-1.1")])
            return [json.dumps({"Anomalies": ANOMALIES}).encode()]  # no anomaly monitor: none, as AWS says
        if path == "/moto-api/reset" and method == "POST":
            TRAIL.clear()
            ANOMALIES.clear()
        return self.moto(environ, start_response)

    @staticmethod
    def _record_trail(environ: Environ, start_response: StartResponse) -> Iterable[bytes]:
        try:
            body = _body(environ)
            for event in body["events"]:
                TRAIL.record(event["name"], list(event["resources"]), event.get("user", "sandbox-operator"),
                             event.get("session"))
        except Exception as error:
            start_response("400 Bad Request", [("Content-Type", "text/plain")])
            return [f"{type(error).__name__}: {error}".encode()]
        start_response("200 OK", [("Content-Type", "text/plain")])
        return [b"ok"]

    @staticmethod
    def _lookup_events(environ: Environ, start_response: StartResponse) -> Iterable[bytes]:
        """CloudTrail's LookupEvents (JSON protocol) over the recorded events, which moto lacks."""
        try:
            answer = TRAIL.lookup(_body(environ))
        except Exception as error:
            start_response("400 Bad Request", [("Content-Type", "application/x-amz-json-1.1")])
            return [json.dumps({"__type": "InvalidLookupAttributesException", "message": str(error)}).encode()]
        start_response("200 OK", [("Content-Type", "application/x-amz-json-1.1")])
        return [json.dumps(answer).encode()]

    @staticmethod
    def _control(environ: Environ, start_response: StartResponse) -> Iterable[bytes]:
        try:
            body = _body(environ)
            set_status_check(body["region"], body["instance_id"], body.get("scope", "instance"))
        except Exception as error:  # a bad fault request is the caller's mistake: say which
            start_response("400 Bad Request", [("Content-Type", "text/plain")])
            return [f"{type(error).__name__}: {error}".encode()]
        start_response("200 OK", [("Content-Type", "text/plain")])
        return [b"ok"]


def _body(environ: Environ) -> dict[str, Any]:
    length = int(environ.get("CONTENT_LENGTH") or 0)
    return json.loads(environ["wsgi.input"].read(length) or b"{}")


class Trail:
    """The CloudTrail events of the calls made behind the bot's back (the fault injector records them), in
    the emulator's process. The bot's own calls are not recorded: in AWS they would be, under its role
    session name, and the bot leaves those to its own audit."""

    def __init__(self) -> None:
        self._events: list[dict[str, Any]] = []
        self._lock = threading.Lock()

    def clear(self) -> None:
        with self._lock:
            self._events.clear()

    def record(self, name: str, resources: list[str], user: str, session: str | None = None) -> None:
        at = datetime.now(UTC)
        if session:  # an assumed role: arn:aws:sts::ACCOUNT:assumed-role/ROLE/SESSION
            identity = {"type": "AssumedRole", "arn": f"arn:aws:sts::{SANDBOX_ACCOUNT_ID}:assumed-role/{user}/{session}",
                        "accessKeyId": "ASIASANDBOX"}
        else:
            identity = {"type": "IAMUser", "userName": user, "accessKeyId": "AKIASANDBOXUSER",
                        "arn": f"arn:aws:iam::{SANDBOX_ACCOUNT_ID}:user/{user}"}
        with self._lock:
            event_id = f"sandbox-{len(self._events) + 1:06d}"
            self._events.append({
                "EventId": event_id, "EventName": name, "ReadOnly": "false", "EventTime": at.timestamp(),
                "EventSource": "ec2.amazonaws.com", "Username": session or user,
                "AccessKeyId": identity["accessKeyId"],
                "Resources": [{"ResourceType": "AWS::EC2::Instance" if rid.startswith("i-") else
                               "AWS::EC2::SecurityGroup", "ResourceName": rid} for rid in resources],
                "CloudTrailEvent": json.dumps({"eventVersion": "1.08", "userIdentity": identity,
                                               "eventTime": at.strftime("%Y-%m-%dT%H:%M:%SZ"),
                                               "eventSource": "ec2.amazonaws.com", "eventName": name,
                                               "eventID": event_id}),
            })

    def lookup(self, request: dict[str, Any]) -> dict[str, Any]:
        attributes = request.get("LookupAttributes") or []
        if len(attributes) > 1:
            raise ValueError("LookupAttributes takes at most one attribute")
        start = float(request.get("StartTime", 0))
        end = float(request.get("EndTime", datetime.now(UTC).timestamp() + 1))
        with self._lock:
            events = [event for event in self._events if start <= event["EventTime"] <= end]
        for attribute in attributes:
            key, value = attribute["AttributeKey"], attribute["AttributeValue"]
            if key == "ResourceName":
                events = [e for e in events if any(r["ResourceName"] == value for r in e["Resources"])]
            elif key in ("EventName", "Username", "ReadOnly", "EventSource", "EventId", "AccessKeyId"):
                events = [e for e in events if str(e.get(key)) == value]
        events.sort(key=lambda event: event["EventTime"], reverse=True)  # newest first, as CloudTrail
        size = int(request.get("MaxResults") or 50)
        offset = int(request.get("NextToken") or 0)
        answer: dict[str, Any] = {"Events": events[offset:offset + size]}
        if offset + size < len(events):
            answer["NextToken"] = str(offset + size)
        return answer


TRAIL = Trail()


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
