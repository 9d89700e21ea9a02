"""Entry point.

    python app.py --sandbox   local AWS emulator + demo fleet; terminal chat, or Slack if its tokens are set
                              (--fleet FILE: your fleet's names and tags instead of the demo's)
    python app.py             Slack front end (Socket Mode) against real AWS (needs the Slack tokens)
    python app.py --terminal  terminal chat against real AWS (an operator console beside the Slack replicas)
    python app.py --sandbox --accounts 3   three accounts × two regions in the emulator
    python app.py mcp         the same tools over MCP (stdio; --http PORT, --read-only, --sandbox)
    python app.py health      exit 0 if the running bot is healthy, 1 if not (Docker HEALTHCHECK)
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import signal
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from bot.core.health import Heartbeat, check_health
from bot.core.settings import SettingsError, load_settings

log = logging.getLogger("app")


class Shutdown(BaseException):
    """SIGTERM or SIGINT: unwind the main thread so `finally` closes everything in order."""


@contextmanager
def stop_on_signals() -> Iterator[None]:
    """Turn SIGTERM (docker stop) and SIGINT (Ctrl-C) into a Shutdown in the main thread.

    Why: a killed bot keeps the monitor lease until it expires and leaves Socket Mode
    half-open; unwinding lets `Runtime.close` release the lease and the connections.
    """
    def handler(signum: int, _frame: object) -> None:
        signal.signal(signal.SIGINT, signal.SIG_IGN)  # a second Ctrl-C must not cut the clean-up short
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        raise Shutdown(signal.Signals(signum).name)

    previous = {sig: signal.signal(sig, handler) for sig in (signal.SIGTERM, signal.SIGINT)}
    try:
        yield
    finally:
        for sig, old in previous.items():
            signal.signal(sig, old)


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description="AIOps ChatOps agent for AWS")
    parser.add_argument("mode", nargs="?", choices=("mcp", "health"),
                        help="mcp: serve the tools to MCP clients (stdio) instead of Slack/terminal; "
                             "health: check the running bot (heartbeat, Slack, database, monitor)")
    parser.add_argument("--read-only", action="store_true", help="mcp: expose read tools only")
    parser.add_argument("--http", type=int, metavar="PORT",
                        help="mcp: streamable HTTP on PORT instead of stdio (127.0.0.1 unless --host)")
    parser.add_argument("--host", default="127.0.0.1",
                        help="mcp --http: address to listen on; beyond 127.0.0.1 only with MCP_AUTH_TOKEN set")
    parser.add_argument("--fleet-size", type=int, default=0, metavar="N",
                        help="--sandbox: add generated instances (node-0000…, Env=load) up to N in all, "
                             "to try the monitor at scale")
    parser.add_argument("--keep", action="store_true",
                        help="--sandbox: keep the previous sandbox run's incidents, proposals and audit "
                             "(by default every sandbox run starts fresh)")
    parser.add_argument("--fleet", type=Path, metavar="FILE",
                        help="--sandbox: seed the instances, tags and log lines of a fleet file (YAML) "
                             "instead of the demo fleet")
    parser.add_argument("--terminal", action="store_true",
                        help="chat in this terminal against the configured AWS account(s) instead of Slack "
                             "(an operator console; it shares the database, approvals and monitor with Slack "
                             "replicas)")
    parser.add_argument("--accounts", type=int, default=0, metavar="N",
                        help="--sandbox: N accounts (prod, staging, shared, team-4 …, at most 10) in two regions, "
                             "reached by AssumeRole, each with its own fleet; its accounts file is written to "
                             "DATA_DIR/sandbox-accounts.yaml as an example")
    parser.add_argument("--emulator", metavar="URL",
                        help="--sandbox: use the AWS emulator another `app.py --sandbox` runs (the URL it prints) "
                             "instead of starting one: one fleet, one database, so a proposal made over MCP can be "
                             "approved in the terminal; --keep finds a running one by itself")
    parser.add_argument(
        "--sandbox",
        action="store_true",
        help="run against a local AWS emulator (moto) seeded with a demo fleet; no AWS account needed",
    )
    return parser.parse_args(argv)


EMULATOR_FILE = "sandbox-emulator.json"  # DATA_DIR: where the running sandbox's emulator listens, while it runs


def running_emulator(settings, emulator: str | None, keep: bool):
    """The emulator to share, or None to start one: `--emulator URL`, else (with `--keep`) the one a
    sandbox running on this data directory recorded — if it still answers."""
    from sandbox.server import MotoSandbox

    if emulator:
        found = MotoSandbox.attach(emulator, settings.aws_region)
        if not found.alive():
            raise SystemExit(f"no sandbox emulator answers at {emulator} (a local http://127.0.0.1:PORT URL that "
                             "another `python app.py --sandbox` printed)")
        return found
    if not keep:
        return None
    try:
        recorded = json.loads((Path(settings.data_dir) / EMULATOR_FILE).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    found = MotoSandbox.attach(str(recorded.get("url", "")), settings.aws_region)
    return found if found.alive() else None


def record_emulator(settings, sandbox) -> Path:
    path = Path(settings.data_dir) / EMULATOR_FILE
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps({"url": sandbox.endpoint_url, "pid": os.getpid()}), encoding="utf-8")
    return path


def forget_emulator(settings, sandbox) -> None:
    """The owner stops: the record goes with it (only if it is still ours)."""
    path = Path(settings.data_dir) / EMULATOR_FILE
    try:
        if json.loads(path.read_text(encoding="utf-8")).get("url") == sandbox.endpoint_url:
            path.unlink()
    except (OSError, ValueError):
        pass


def attach_sandbox(settings, sandbox, out=None, accounts: int = 0):
    """Clients for an emulator another process runs: its fleet as it is (nothing seeded); returns (sandbox, clients)."""
    out = out or sys.stdout
    from tools.inventory import fetch_instances
    from tools.models import instances_table

    estate = None
    if accounts:
        from sandbox.accounts import sandbox_estate

        estate = sandbox_estate(accounts, settings.aws_region)
    clients = sandbox.clients(estate=estate)
    print(f"Using the AWS sandbox another process runs at {sandbox.endpoint_url} ({settings.aws_region}); "
          "its fleet as it is now (it stops when that process stops):", file=out)
    print(instances_table(sorted(fetch_instances(clients), key=lambda i: i.name or "")), file=out, flush=True)
    return sandbox, clients


def start_sandbox(settings, out=None, fleet_size: int = 0, fleet=None, accounts: int = 0):
    """Start moto on 127.0.0.1 in a child process (so this process's memory is the bot's alone), seed
    the demo fleet or a loaded fleet file (and generated instances up to `fleet_size`), and with
    `accounts` more accounts and a second region; print it; returns (sandbox, clients)."""
    out = out or sys.stdout
    from sandbox.fleet import DEMO_FLEET, seed_demo_fleet, seed_load_fleet
    from sandbox.server import MotoSandbox
    from tools.inventory import fetch_instances
    from tools.models import instances_table
    from tools.render import table

    sandbox = MotoSandbox(region=settings.aws_region, separate_process=True).start()
    estate = None
    if accounts:
        from sandbox.accounts import sandbox_estate

        estate = sandbox_estate(accounts, settings.aws_region)
    clients = sandbox.clients(estate=estate)
    if fleet is not None:
        from sandbox.fleet_file import seed_fleet_file

        seed_fleet_file(sandbox, fleet, clients)
    else:
        seed_demo_fleet(sandbox, clients)
    print(f"AWS sandbox running at {sandbox.endpoint_url} ({settings.aws_region}); "
          f"{'fleet from the file' if fleet is not None else 'demo fleet'}:", file=out)
    print(instances_table(sorted(fetch_instances(clients), key=lambda i: i.name or "")), file=out, flush=True)
    if estate is not None:
        from sandbox.accounts import seed_accounts, write_estate
        from tools.inventory import fetch_scopes

        seed_accounts(clients)
        written = write_estate(estate, Path(settings.data_dir) / "sandbox-accounts.yaml")
        others, _ = fetch_scopes(clients, [scope for scope in estate.scopes() if scope != (estate.accounts[0].name,
                                                                                          settings.aws_region)])
        print(f"{len(estate.accounts)} accounts ({', '.join(estate.label(a.name) for a in estate.accounts)}), "
              f"regions {', '.join(estate.accounts[0].regions)} (accounts file: {written}); "
              "beyond the demo fleet:", file=out)
        print(table(["ACCOUNT", "REGION", "NAME", "ID", "STATE"],
                    [(i.account or "", i.region or "", i.name or "-", i.id, i.state)
                     for i in sorted(others, key=lambda i: (i.account or "", i.region or "", i.name or ""))]),
              file=out, flush=True)
    extra = fleet_size - (len(fleet.instances) if fleet is not None else len(DEMO_FLEET))
    if extra > 0:
        print(f"adding {extra:,} generated instances (node-0000…, Env=load)…", file=out, flush=True)
        seed_load_fleet(clients, extra)
    return sandbox, clients


SANDBOX_DB = "sandbox.sqlite3"


class Progress:
    """One line per start-up step with the time it took, so a slow machine shows where its seconds go
    instead of a silent wait before the first prompt."""

    def __init__(self, out) -> None:
        self.out = out
        self.started = time.perf_counter()

    def step(self, what: str) -> None:
        print(f"[{time.perf_counter() - self.started:5.1f} s] {what}…", file=self.out, flush=True)

    def done(self) -> None:
        print(f"[{time.perf_counter() - self.started:5.1f} s] ready", file=self.out, flush=True)


def sandbox_database(settings, keep: bool) -> str:
    """Every sandbox run starts from fresh state: the emulator's fleet is new (new instance ids), so an
    old run's incidents and proposals would be about instances that no longer exist. `--keep` keeps them.
    A configured DATABASE_URL is never wiped: it may be shared."""
    if not keep and not settings.database_url:
        for suffix in ("", "-wal", "-shm"):
            (settings.data_dir / f"{SANDBOX_DB}{suffix}").unlink(missing_ok=True)
    return SANDBOX_DB


def fault_command(sandbox):
    """The sandbox's `fault` command, for the router's table (so help lists it only where a sandbox runs)."""
    from bot.core.commands import plain_command
    from bot.core.runtime import MONITOR_FLAG
    from sandbox.fault_command import PATTERN, USAGE, fault_runner
    from sandbox.faults import FaultInjector

    inject = fault_runner(FaultInjector(sandbox))

    def run(call) -> str:
        said = inject(call.args)
        if said.startswith("fault: ") and call.runtime.flags.get(MONITOR_FLAG, "off") != "on":
            said += " (the monitor is off: type `auto on` to watch)"
        return said

    return plain_command("fault", USAGE, {"en": "sandbox only: break an instance to see the monitor react",
                                          "ko": "샌드박스 전용: 장애 주입 (모니터 반응 확인)"}, PATTERN, run)


def mcp_announcers(settings):
    """MCP proposals have no thread: with Slack configured they are posted where the approvers are."""
    if not (settings.slack_bot_token and settings.slack_alert_channel):
        return ()
    from bot.slack.app import make_web_client
    from bot.slack.poster import ProposalPoster

    client = make_web_client(settings.slack_bot_token.get_secret_value(), base_url=settings.slack_api_url)
    return (lambda approvals: ProposalPoster(client, settings.slack_alert_channel, approvals),)


def run_terminal(runtime) -> int:
    from bot.terminal import Terminal, recovery_lines
    from bot.terminal.editing import HISTORY_FILE, LineEditor, PromptedOutput
    from monitoring.notifier import TerminalNotifier

    interactive = sys.stdin.isatty()
    editor = LineEditor(Path(runtime.settings.data_dir) / HISTORY_FILE) if interactive and sys.stdout.isatty() \
        else None
    prompted = PromptedOutput(sys.stdout, typed=editor.buffer if editor else lambda: "")
    notifier = TerminalNotifier(prompted, recovery_lines=lambda incident: recovery_lines(runtime, incident))
    runtime.attach_monitor(notifier)
    return Terminal(runtime, sys.stdin, sys.stdout, interactive=interactive, notifier=notifier, editor=editor,
                    prompted=prompted).run()


def run_mcp(runtime, read_only: bool, http_port: int | None,
            host: str = "127.0.0.1") -> int:
    import anyio

    from bot.mcp.server import McpFrontEnd, McpSetupError, usable_token

    front = McpFrontEnd(runtime, read_only=read_only)
    if http_port:
        secret = runtime.settings.mcp_auth_token
        token = usable_token(secret.get_secret_value() if secret else None)  # a blank one is none
        try:
            print(f"MCP (streamable HTTP) on http://{host}:{http_port}/mcp"
                  + (" (bearer token required)" if token else ""), file=sys.stderr, flush=True)
            front.run_http(http_port, host, token)
        except McpSetupError as error:
            print(error, file=sys.stderr)
            return 2
    else:
        anyio.run(front.run_stdio)
    return 0


def run_slack(runtime) -> int:
    from slack_bolt.adapter.socket_mode import SocketModeHandler

    from bot.slack.app import SlackFrontEnd, make_web_client
    from bot.slack.notifier import SlackNotifier
    from monitoring.notifier import TerminalNotifier

    settings = runtime.settings
    client = make_web_client(settings.slack_bot_token.get_secret_value(), base_url=settings.slack_api_url)
    if settings.slack_alert_channel:
        runtime.attach_monitor(SlackNotifier(client, settings.slack_alert_channel, runtime.recovery, runtime.charts))
    else:
        print("SLACK_ALERT_CHANNEL is not set: monitor incidents are printed here, not posted.", flush=True)
        runtime.attach_monitor(TerminalNotifier(sys.stdout))
    front = SlackFrontEnd(runtime, client)
    print("Connecting to Slack (Socket Mode)… Ctrl-C to stop.", flush=True)
    handler = SocketModeHandler(front.app, settings.slack_app_token.get_secret_value())
    heartbeat = Heartbeat.of(runtime.engine, settings.data_dir, "slack", handler.client.is_connected)
    try:
        handler.connect()
        heartbeat.start()  # first beat once connected; then every few seconds, reconnects included
        threading.Event().wait()  # what handler.start() does after connecting: serve until a signal
    finally:
        heartbeat.stop()
        close_within(handler.close, SOCKET_CLOSE_SECONDS)
    return 0


def run_health() -> int:
    """One line per check; exit 1 when any fails (Docker marks the container unhealthy)."""
    try:
        settings = load_settings()
    except SettingsError as error:
        print(error, file=sys.stderr)
        return 2
    report = check_health(settings)
    print("\n".join(report.lines()), flush=True)
    return 0 if report.ok else 1


SOCKET_CLOSE_SECONDS = 3.0


@contextmanager
def beating(runtime, mode: str) -> Iterator[None]:
    heartbeat = Heartbeat.of(runtime.engine, runtime.settings.data_dir, mode).start()
    try:
        yield
    finally:
        heartbeat.stop()


def close_within(close, seconds: float) -> None:
    """Close the Socket Mode connection (Slack then routes events to another replica), but never let
    a slow close of its worker threads hold the process past `docker stop`'s grace period."""
    def run() -> None:
        try:
            close()
        except Exception:  # closing a socket that never opened: nothing to release
            log.debug("Socket Mode close failed", exc_info=True)

    closer = threading.Thread(target=run, name="socket-mode-close", daemon=True)
    closer.start()
    closer.join(seconds)


def not_configured_hint(image: str | None) -> str:
    """What to do without Slack tokens — in the image (the Dockerfile sets AIOPS_IMAGE) the commands are
    docker's: `python app.py` inside a container is not something its user can type."""
    head = ("Slack is not configured: set SLACK_BOT_TOKEN (xoxb-…) and SLACK_APP_TOKEN (xapp-…) in the "
            "environment or .env (see manifest.yaml and the README).\n")
    if image:
        return (head + f"In Docker: put them in .env (cp .env.example .env) and run: docker run --env-file .env "
                f"{image}\nTo try the image without Slack or AWS, run: docker run --rm -it {image} --sandbox")
    return head + "To try the bot locally without Slack or AWS, run: python app.py --sandbox"


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if args.mode == "health":
        return run_health()
    logging.basicConfig(level=logging.WARNING, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    try:
        settings = load_settings()
    except SettingsError as error:
        print(error, file=sys.stderr)
        return 2

    if not args.sandbox and not args.terminal and not settings.slack_configured and args.mode != "mcp":
        print(not_configured_hint(os.environ.get("AIOPS_IMAGE")), file=sys.stderr)
        return 2

    if args.accounts and (not args.sandbox or not 1 <= args.accounts <= 10):
        print("--accounts N (1 to 10) seeds accounts in the local sandbox: use it with --sandbox; for AWS "
              "set ACCOUNTS_FILE", file=sys.stderr)
        return 2

    fleet = None
    if args.fleet is not None:
        from sandbox.fleet_file import FleetFileError, load_fleet_file

        if not args.sandbox:
            print("--fleet seeds the local sandbox: use it with --sandbox", file=sys.stderr)
            return 2
        try:
            fleet = load_fleet_file(args.fleet)
        except FleetFileError as error:
            print(error, file=sys.stderr)
            return 2

    from bot.core.commands import COMMANDS
    from bot.core.runtime import build_runtime, real_aws_clients

    announce = mcp_announcers(settings) if args.mode == "mcp" else ()

    sandbox = None
    runtime = None
    code = 0
    try:
        with stop_on_signals():
            try:
                # in MCP stdio mode stdout is the protocol: everything human goes to stderr
                human = sys.stderr if args.mode == "mcp" else sys.stdout
                progress = Progress(human)
                if args.sandbox:
                    shared = running_emulator(settings, args.emulator, args.keep)
                    if shared is not None:
                        progress.step("joining the running AWS sandbox")
                        sandbox, clients = attach_sandbox(settings, shared, out=human, accounts=args.accounts)
                    else:
                        progress.step("starting the AWS sandbox (moto) and seeding its fleet")
                        sandbox, clients = start_sandbox(settings, out=human, fleet_size=args.fleet_size,
                                                         fleet=fleet, accounts=args.accounts)
                        record_emulator(settings, sandbox)
                    progress.step("opening the database and building the bot")
                    # one world: joining a running sandbox shares its database too (its proposals, incidents)
                    runtime = build_runtime(settings, clients,
                                            db_file=sandbox_database(settings, args.keep or shared is not None),
                                            commands=(*COMMANDS, fault_command(sandbox)), announce=announce)
                else:
                    progress.step("opening the database and building the bot")
                    runtime = build_runtime(settings, real_aws_clients(settings), announce=announce)
                runtime.warm_up_planner()  # background: the first request must not pay for the prompt
                if args.mode == "mcp":
                    with beating(runtime, "mcp"):
                        code = run_mcp(runtime, args.read_only, args.http, args.host)
                else:
                    progress.step("loading the runbook index (re-embeds only runbooks that changed)")
                    report = runtime.open_runbooks()
                    progress.done()
                    for problem in report.problems:
                        print(f"runbook skipped: {problem}", file=sys.stderr)
                    if settings.slack_configured and not args.terminal:
                        code = run_slack(runtime)  # its heartbeat carries the Socket Mode state
                    else:
                        with beating(runtime, "terminal"):
                            code = run_terminal(runtime)
            finally:
                shutdown(runtime, sandbox, settings)
    except (Shutdown, KeyboardInterrupt) as stop:
        print(f"\nStopped ({stop or 'interrupt'}).", file=sys.stderr, flush=True)
        code = 0
    return code


def shutdown(runtime, sandbox, settings=None) -> None:
    """Close in order: the bot (monitor lease, runbook index, database), then the local AWS (only if
    this process runs it: a joined sandbox belongs to another)."""
    if runtime is not None:
        runtime.close()
    if sandbox is not None and not sandbox.attached:
        if settings is not None:
            forget_emulator(settings, sandbox)
        sandbox.stop()


def finish(code: int) -> None:
    """Exit now: everything that matters is closed by now, and library threads (a Socket Mode
    reader, a scheduler worker finishing a slow AWS call) or their exit hooks must not hold the
    process open past `docker stop`'s grace period."""
    sys.stdout.flush()
    sys.stderr.flush()
    logging.shutdown()
    os._exit(code)


if __name__ == "__main__":
    finish(main())
