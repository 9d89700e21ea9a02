"""Several bot replicas on one PostgreSQL: one monitor leader at a time, fail-over after kill -9 within
two intervals, no incident posted twice, a proposal made through one replica approved through the
other; and replicas that start together index a shared Chroma server's runbooks once.

The replicas are real `python app.py --terminal` processes against the moto server; the test reads
what they did from the database they share and from what AWS (moto) holds — never from a replica's
own account of it.
"""

from __future__ import annotations

import os
import queue
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from urllib.request import urlopen

import pytest
from sqlalchemy import select, text

from bot.core.runtime import MONITOR_FLAG, build_runtime
from bot.core.settings import load_settings
from sandbox.server import SANDBOX_CREDENTIALS
from store.engine import make_engine, utcnow
from store.flags import LAST_CYCLE_FLAG, Flags
from store.schema import incidents, leases, proposals

ROOT = Path(__file__).resolve().parents[2]
INTERVAL = 5  # seconds: MONITOR_INTERVAL_SECONDS of both replicas (the smallest the settings allow)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def wait_for(condition: Callable[[], object], timeout: float, what: str, every: float = 0.1) -> object:
    """Poll another process's effect (a database row, a port) until it shows; fail naming it."""
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(every)


class Replica:
    """One bot process; its output is collected line by line."""

    def __init__(self, name: str, env: dict[str, str], cwd: Path) -> None:
        self.name = name
        self.process = subprocess.Popen([sys.executable, str(ROOT / "app.py"), "--terminal"], cwd=cwd, env=env,
                                        stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                        text=True)
        self.lines: list[str] = []
        self._new: queue.Queue[str] = queue.Queue()
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        for line in self.process.stdout:  # type: ignore[union-attr]
            self.lines.append(line)
            self._new.put(line)

    @property
    def pid(self) -> int:
        return self.process.pid

    def say(self, line: str) -> None:
        self.process.stdin.write(line + "\n")  # type: ignore[union-attr]
        self.process.stdin.flush()  # type: ignore[union-attr]

    def output(self) -> str:
        return "".join(self.lines)

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.process.kill()


@pytest.fixture
def postgres_url():
    from tests.conftest import POSTGRES_URL, _postgres_engine

    engine, problem = _postgres_engine()
    if engine is None:
        pytest.skip(f"PostgreSQL not reachable: {problem}")
    with engine.begin() as connection:
        connection.execute(text("DROP SCHEMA public CASCADE"))
        connection.execute(text("CREATE SCHEMA public"))
    engine.dispose()
    return POSTGRES_URL


def replica_env(demo, database_url: str, data_dir: Path, **extra: str) -> dict[str, str]:
    env = {**os.environ, "PYTHONUNBUFFERED": "1", "DATABASE_URL": database_url, "DATA_DIR": str(data_dir),
           "AWS_ENDPOINT_URL": demo.sandbox.endpoint_url, "AWS_REGION": "us-east-1",
           "AWS_ACCESS_KEY_ID": SANDBOX_CREDENTIALS["aws_access_key_id"],
           "AWS_SECRET_ACCESS_KEY": SANDBOX_CREDENTIALS["aws_secret_access_key"],
           "MONITOR_INTERVAL_SECONDS": str(INTERVAL), **extra}
    for name in ("OLLAMA_HOST", "SLACK_BOT_TOKEN", "SLACK_APP_TOKEN", "AWS_PROFILE", "ACCOUNTS_FILE"):
        env.pop(name, None)
    return env


def test_the_monitor_fails_over_after_kill_9_and_nothing_is_posted_twice(demo, postgres_url, tmp_path):
    engine = make_engine(postgres_url)  # migrated here, before either replica starts
    Flags(engine).set(MONITOR_FLAG, "on")

    def one(query):  # noqa: ANN001
        with engine.connect() as connection:
            return connection.execute(query).all()

    def holder_pid() -> int | None:
        rows = one(select(leases.c.holder, leases.c.expires_at).where(leases.c.name == "monitor"))
        if not rows:
            return None
        holder, expires_at = rows[0]
        return int(holder.split(":")[1]) if expires_at > utcnow() else None

    replicas = [Replica(name, replica_env(demo, postgres_url, tmp_path / name), tmp_path) for name in ("a", "b")]
    try:
        for replica in replicas:
            wait_for(lambda r=replica: "Type a request" in r.output(), 180, f"replica {replica.name} to start")
        leader_pid = wait_for(lambda: holder_pid() in {r.pid for r in replicas} and holder_pid(), 30,
                              "one of the replicas to lead the monitor")
        [leader] = [r for r in replicas if r.pid == leader_pid]
        [standby] = [r for r in replicas if r is not leader]

        flags = Flags(engine)
        wait_for(lambda: flags.get(LAST_CYCLE_FLAG, ""), 3 * INTERVAL, "the leader's first cycle (it sees all up)")
        demo.faults.stop_behind_back("web-server-2")
        wait_for(lambda: "INCIDENT OPEN" in leader.output(), 4 * INTERVAL, "the leader to announce the incident")
        leader.say("stop web-server-1")  # the leader asks "Approve?" … and dies before anyone answers
        wait_for(lambda: one(select(proposals.c.id).where(proposals.c.tool == "stop_instances",
                                                          proposals.c.status == "pending")), 30, "the proposal")

        killed_at = time.monotonic()
        os.kill(leader.pid, signal.SIGKILL)
        wait_for(lambda: holder_pid() == standby.pid, 3 * INTERVAL, "the standby to take the lease", every=0.05)
        took_over = time.monotonic() - killed_at
        assert took_over <= 2 * INTERVAL, f"takeover after {took_over:.1f} s"

        # the standby reconciles the same open incident: it must not post it again (asserted at the end)
        pending = {row.tool: row.id for row in one(select(proposals.c.tool, proposals.c.id)
                                                   .where(proposals.c.status == "pending"))}
        assert "stop_instances" in pending
        standby.say(f"approve {pending['stop_instances']}")
        wait_for(lambda: demo.state_of("web-server-1") in ("stopping", "stopped"), 30,
                 "the approval through the other replica to stop web-server-1")
        if "start_instances" in pending:  # the monitor's recovery proposal, made by the dead leader
            standby.say(f"approve {pending['start_instances']}")
            wait_for(lambda: demo.state_of("web-server-2") in ("pending", "running"), 30, "the recovery")
        wait_for(lambda: one(select(incidents.c.id).where(incidents.c.status == "resolved")), 4 * INTERVAL,
                 "the standby to resolve the incident")
    finally:
        for replica in replicas:
            replica.stop()
    both = leader.output() + standby.output()
    rows = one(select(incidents.c.id, incidents.c.resource_name))
    assert [name for _, name in rows] == ["web-server-2"]  # one incident, opened once
    assert both.count("INCIDENT OPEN") == 1, both[-4000:]
    assert standby.output().count("INCIDENT OPEN") == 0
    assert "Traceback" not in standby.output()
    engine.dispose()


@pytest.fixture
def chroma_url(tmp_path) -> Iterator[str]:
    port = free_port()
    # chromadb's own `chroma run`, through this interpreter (its script may not be on PATH)
    cli = "import sys; from chromadb.cli.cli import app; sys.argv[0] = 'chroma'; app()"
    server = subprocess.Popen([sys.executable, "-c", cli, "run", "--path", str(tmp_path / "chroma-server"),
                               "--host", "127.0.0.1", "--port", str(port)],
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)

    def answers() -> bool:
        try:
            with urlopen(f"http://127.0.0.1:{port}/api/v2/heartbeat", timeout=1):
                return True
        except OSError:
            return False

    try:
        wait_for(answers, 60, "the Chroma server")
        yield f"http://127.0.0.1:{port}"
    finally:
        server.terminate()
        server.wait(timeout=20)


def test_replicas_starting_together_index_the_shared_runbooks_once(demo, db_url, chroma_url, tmp_path):
    runtimes = [build_runtime(load_settings(data_dir=tmp_path / name, database_url=db_url, chroma_url=chroma_url),
                              demo.clients) for name in ("a", "b")]
    reports = [None, None]
    start = threading.Barrier(2)

    def attach(index: int) -> None:
        start.wait()
        reports[index] = runtimes[index].open_runbooks()

    threads = [threading.Thread(target=attach, args=(index,)) for index in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=300)
    try:
        runbooks = len(runtimes[0].runbooks.index.runbooks)
        assert runbooks >= 10
        added = sorted(len(report.added) for report in reports)
        assert added == [0, runbooks]  # one replica embedded them all, the other found them current
        assert sorted(report.unchanged for report in reports) == [0, runbooks]
        assert runtimes[0].runbooks.index.chunk_count() == runtimes[1].runbooks.index.chunk_count() > 0  # one shared index
        hits = runtimes[1].runbooks.index.search("instance stopped unexpectedly", limit=1)
        assert hits and hits[0].runbook.id == "ec2-instance-stopped-unexpectedly"
    finally:
        for runtime in runtimes:
            runtime.close()
