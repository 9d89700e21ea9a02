"""How fast the Slack front end acknowledges, while the real work is slow.

    python bench/slack_ack_bench.py [--n 30] [--llm-delay 2.0]

Slack retries anything not acked within 3 s. This drives the real Bolt app over a real
Socket Mode websocket (local fake Slack) against the sandbox, with an LLM that takes
`--llm-delay` seconds per plan, and prints envelope→ack latency (p50/p95/max) for
mentions, button clicks and /aiops commands, beside the time the answer took.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from slack_bolt.adapter.socket_mode import SocketModeHandler  # noqa: E402

from bot.core.runtime import build_runtime  # noqa: E402
from bot.core.settings import load_settings  # noqa: E402
from bot.slack.app import SlackFrontEnd, make_web_client  # noqa: E402
from planning.chain import PlannerChain  # noqa: E402
from planning.llm import LlmPlanner  # noqa: E402
from sandbox.fleet import seed_demo_fleet  # noqa: E402
from sandbox.server import MotoSandbox  # noqa: E402
from tests.fakes.ollama_server import Delay, FakeOllama  # noqa: E402
from tests.fakes.slack_payloads import button_click, mention_event, slash_command  # noqa: E402
from tests.fakes.slack_server import FakeSlackWebApi, FakeSocketModeServer  # noqa: E402

PLAN = '{"outcome":"run","tool":"list_instances","arguments":{},"targets":[],"message":"","language":"en"}'


def summary(label: str, values: list[float]) -> None:
    ms = sorted(v * 1000 for v in values)
    p95 = ms[min(len(ms) - 1, round(0.95 * (len(ms) - 1)))]
    print(f"{label}: n={len(ms)} p50={statistics.median(ms):.1f} ms p95={p95:.1f} ms max={ms[-1]:.1f} ms")


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--n", type=int, default=30)
    parser.add_argument("--llm-delay", type=float, default=2.0)
    args = parser.parse_args()
    slack, sock, ollama = FakeSlackWebApi().start(), FakeSocketModeServer().start(), FakeOllama().start()
    slack.socket_url = sock.url
    with MotoSandbox() as sandbox, tempfile.TemporaryDirectory() as data_dir:
        clients = sandbox.clients()
        seed_demo_fleet(sandbox, clients)
        settings = load_settings(data_dir=Path(data_dir), approver_user_ids=["UAPPROVER1"])
        planner = PlannerChain(llm=LlmPlanner(ollama.url, "llama3.1:8b", timeout_seconds=30))
        runtime = build_runtime(settings, clients, planner=planner)
        front = SlackFrontEnd(runtime, make_web_client("xoxb-bench", base_url=slack.url))
        handler = SocketModeHandler(front.app, app_token="xapp-bench")
        handler.connect()
        sock.connected.wait(15)
        ollama.script(*[Delay(args.llm_delay, PLAN)] * args.n)

        mention_ids = []
        for index in range(args.n):
            mention_ids.append(sock.send("events_api", mention_event(
                "list instances", "U1", "C1", f"1714444444.{index:06d}", f"EvB{index:06d}")))
            time.sleep(0.02)
        started = time.perf_counter()
        slack.wait_for(lambda: len(slack.of("chat.postMessage")) >= args.n, timeout=args.n * args.llm_delay + 120)
        answered = time.perf_counter() - started

        click_ids, command_ids = [], []
        for index in range(args.n):
            click_ids.append(sock.send("interactive", button_click(f"unknown-{index}", "UAPPROVER1", "C1", "1.1")))
            command_ids.append(sock.send("slash_commands", slash_command("status", "U1", "C1", slack.response_url)))
            time.sleep(0.02)
        deadline = time.time() + 60
        wanted = set(mention_ids + click_ids + command_ids)
        while not wanted <= set(sock.acked_at) and time.time() < deadline:
            time.sleep(0.05)
        handler.close()
        runtime.engine.dispose()
    for label, ids in (("mention ack", mention_ids), ("button ack", click_ids), ("/aiops ack", command_ids)):
        summary(label, [sock.acked_at[i] - sock.sent_at[i] for i in ids if i in sock.acked_at])
    print(f"answers to {args.n} mentions with a {args.llm_delay:.1f} s LLM each: all posted {answered:.1f} s "
          f"after the last mention was sent (Bolt worker threads plan in parallel)")
    slack.stop(), sock.stop(), ollama.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
