"""An HTTP proxy in front of the moto server that can answer like a throttled AWS.

Real AWS throttles with `RequestLimitExceeded` (EC2) under load; moto never does. The
proxy forwards everything to moto except the next N EC2 requests, which get EC2's own
throttling error, so botocore's retry logic and the monitor's resilience are exercised
against the same wire format AWS uses. `down()` makes it refuse like a dead endpoint; `deny(key)` answers every request signed with that
access key as AWS answers a role without permission (an account whose role the bot may not use), and
`deny_action("ec2:TerminateInstances")` one EC2 action as AWS answers a policy that denies it. Every request is
recorded as the IAM action it asks for (`actions`, `take_actions`), named as a policy names it.
"""

from __future__ import annotations

import http.client
import json
import re
import threading
from collections import Counter
from dataclasses import dataclass
from email.message import Message
from urllib.parse import parse_qs, urlparse

from tests.fakes.local_http import LocalHttpServer, QuietHandler, send_bytes

EC2_THROTTLE = (b'<?xml version="1.0" encoding="UTF-8"?><Response><Errors><Error><Code>RequestLimitExceeded</Code>'
                b"<Message>Request limit exceeded.</Message></Error></Errors><RequestID>throttled</RequestID></Response>")


EC2_DENIED = (b'<?xml version="1.0" encoding="UTF-8"?><Response><Errors><Error><Code>UnauthorizedOperation</Code>'
              b"<Message>You are not authorized to perform this operation.</Message></Error></Errors>"
              b"<RequestID>denied</RequestID></Response>")
ACCESS_KEY = re.compile(r"Credential=([^/]+)/")

CREDENTIAL_SCOPE = re.compile(r"Credential=[^/]+/\d{8}/[^/]+/([^/]+)/aws4_request")
# the SigV4 signing name when it is not the IAM prefix (CloudWatch signs as "monitoring")
IAM_PREFIX = {"monitoring": "cloudwatch"}


def iam_action(path: str, headers: Message, body: bytes) -> str:
    """The `service:Action` one AWS request asks for, as an IAM policy names it: the service from the SigV4
    credential scope; the action from `X-Amz-Target` (JSON protocol: logs, ce), the Smithy RPC v2 path
    (`/service/…/operation/GetMetricData`: CloudWatch) or `Action=` (query protocol: ec2, sts)."""
    scope = CREDENTIAL_SCOPE.search(headers.get("Authorization", ""))
    service = IAM_PREFIX.get(scope.group(1), scope.group(1)) if scope else "?"
    target = headers.get("X-Amz-Target")
    if target:
        return f"{service}:{target.rsplit('.', 1)[-1]}"
    rpc = re.search(r"/operation/([A-Za-z]+)", path)
    if rpc:
        return f"{service}:{rpc.group(1)}"
    form = parse_qs(urlparse(path).query)
    form.update(parse_qs(body.decode("utf-8", "replace")))
    return f"{service}:{(form.get('Action') or ['?'])[0]}"


MUTATING_ACTIONS = frozenset({"StartInstances", "StopInstances", "RebootInstances", "TerminateInstances"})


@dataclass(frozen=True)
class WireMutation:
    """A state-changing EC2 request that reached the emulator and succeeded (DryRun excluded)."""

    operation: str
    instance_ids: tuple[str, ...]
    access_key: str = ""  # whose credentials signed it: which account it acted in


def wire_mutation(body: bytes, access_key: str = "") -> WireMutation | None:
    form = parse_qs(body.decode("utf-8", "replace"))
    action = (form.get("Action") or [""])[0]
    if action not in MUTATING_ACTIONS or (form.get("DryRun") or ["false"])[0].lower() == "true":
        return None
    numbered = [(int(key.split(".", 1)[1]), values[0]) for key, values in form.items()
                if key.startswith("InstanceId.") and key.split(".", 1)[1].isdigit()]
    ids = [instance_id for _, instance_id in sorted(numbered)]
    return WireMutation(action, tuple(ids), access_key)


class ThrottlingProxy(LocalHttpServer):
    """Also a ledger: `mutations` lists every successful EC2 start/stop/reboot/terminate that passed
    through it — what AWS was actually asked to do, counted on the wire, not from the bot's replies."""

    def __init__(self, upstream: str) -> None:
        target = urlparse(upstream)
        self.mutations: list[WireMutation] = []
        self.throttled = 0
        self.forwarded = 0
        self._pending = 0
        self._down = False
        self.denied_keys: set[str] = set()
        self.denied_actions: set[str] = set()
        self.actions: Counter[str] = Counter()  # every request received, as the IAM action it asks for
        self._lock = threading.Lock()
        outer = self

        class Handler(QuietHandler):
            def _relay(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", 0) or 0))
                is_ec2 = b"Version=2016-11-15" in body
                signed = ACCESS_KEY.search(self.headers.get("Authorization", ""))
                access_key = signed.group(1) if signed else ""
                action = iam_action(self.path, self.headers, body)
                with outer._lock:
                    if outer._down:
                        self.close_connection = True
                        self.connection.close()
                        return
                    outer.actions[action] += 1
                    denied = access_key in outer.denied_keys or action in outer.denied_actions
                if denied and not action.startswith("ec2:") and access_key not in outer.denied_keys:
                    # a JSON-protocol service (CloudTrail, Cost Explorer …) denies in JSON
                    send_bytes(self, 400, json.dumps({"__type": "AccessDeniedException", "message":
                                                      f"not authorized to perform: {action}"}).encode(),
                               "application/x-amz-json-1.1")
                    return
                if denied:
                    send_bytes(self, 403, EC2_DENIED, "text/xml")
                    return
                with outer._lock:
                    throttle = is_ec2 and outer._pending > 0
                    if throttle:
                        outer._pending -= 1
                        outer.throttled += 1
                    else:
                        outer.forwarded += 1
                if throttle:
                    send_bytes(self, 503, EC2_THROTTLE, "text/xml")
                    return
                connection = http.client.HTTPConnection(target.hostname, target.port, timeout=60)
                headers = {k: v for k, v in self.headers.items() if k.lower() not in ("host", "connection")}
                connection.request(self.command, self.path, body=body, headers=headers)
                response = connection.getresponse()
                data = response.read()
                mutation = wire_mutation(body, access_key) if is_ec2 and response.status == 200 else None
                if mutation is not None:
                    with outer._lock:
                        outer.mutations.append(mutation)
                self.send_response(response.status)
                for key, value in response.getheaders():
                    if key.lower() not in ("transfer-encoding", "connection", "content-length", "server", "date"):
                        self.send_header(key, value)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)
                connection.close()

            do_GET = do_POST = do_PUT = do_DELETE = _relay  # noqa: N815

        super().__init__(Handler)

    @property
    def url(self) -> str:
        return self.base_url

    def throttle_next(self, count: int) -> None:
        with self._lock:
            self._pending = count

    def deny(self, access_key: str, denied: bool = True) -> None:
        with self._lock:
            (self.denied_keys.add if denied else self.denied_keys.discard)(access_key)

    def deny_action(self, action: str, denied: bool = True) -> None:
        """Answer every request for this action as AWS answers one a policy denies (DryRun included): EC2's
        UnauthorizedOperation, or a JSON-protocol service's AccessDeniedException."""
        with self._lock:
            (self.denied_actions.add if denied else self.denied_actions.discard)(action)

    def take_actions(self) -> set[str]:
        """The IAM actions received since the last take (and forget them)."""
        with self._lock:
            taken, self.actions = set(self.actions), Counter()
        return taken

    def down(self, is_down: bool = True) -> None:
        with self._lock:
            self._down = is_down

