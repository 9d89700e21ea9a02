"""Entry point.

    python app.py --sandbox   local AWS emulator + demo fleet + terminal chat (no account needed)
    python app.py             Slack front end against real AWS (needs Slack tokens)
"""

from __future__ import annotations

import argparse
import logging
import sys

from bot.settings import SettingsError, load_settings


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description="AIOps ChatOps agent for AWS")
    parser.add_argument(
        "--sandbox",
        action="store_true",
        help="run against a local AWS emulator (moto) seeded with a demo fleet; no AWS account needed",
    )
    return parser.parse_args(argv)


def run_sandbox_terminal(settings) -> int:  # type: ignore[no-untyped-def]
    from bot.render_text import instances_table
    from bot.runtime import build_runtime
    from bot.terminal import Terminal
    from sandbox.fleet import seed_demo_fleet
    from sandbox.server import MotoSandbox
    from tools.inventory import fetch_instances

    sandbox = MotoSandbox(region=settings.aws_region).start()
    try:
        clients = sandbox.clients()
        seed_demo_fleet(sandbox, clients)
        runtime = build_runtime(settings, clients, db_file="sandbox.sqlite3")
        print(f"AWS sandbox running at {sandbox.endpoint_url} ({settings.aws_region}); demo fleet:")
        print(instances_table(sorted(fetch_instances(clients), key=lambda i: i.name or "")))
        terminal = Terminal(runtime, sys.stdin, sys.stdout, interactive=sys.stdin.isatty())
        return terminal.run()
    except KeyboardInterrupt:
        print("\nStopping the sandbox.")
        return 0
    finally:
        sandbox.stop()


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    logging.basicConfig(level=logging.WARNING, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    try:
        settings = load_settings()
    except SettingsError as error:
        print(error, file=sys.stderr)
        return 2

    if args.sandbox:
        return run_sandbox_terminal(settings)

    if not settings.slack_configured:
        print(
            "Slack is not configured: set SLACK_BOT_TOKEN (xoxb-…) and SLACK_APP_TOKEN (xapp-…) in the "
            "environment or .env.\nTo try the bot locally without Slack or AWS, run: python app.py --sandbox",
            file=sys.stderr,
        )
        return 2
    print("The Slack front end is not built yet; run: python app.py --sandbox", file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main())
