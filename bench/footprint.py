"""Footprint of the bot as a user installs and runs it: install size, import time, time to the
first prompt, memory after start and after 200 requests.

    python bench/footprint.py [--requests 200] [--starts 5]

Runs `python app.py --sandbox` as a real process (terminal front end, runbook index built at
start) and feeds it requests through stdin, the way a person would. The sandbox's AWS emulator
runs as that process's child; its memory is printed apart, as a deployment against AWS has none.
Start-up to the first prompt is measured cold (index built) and then warm `--starts` times (median and
slowest, with the seconds each start-up step took from the bot's own progress lines), and the load
average is printed beside it: on a shared machine another user's work shows up in these figures.
"""

from __future__ import annotations

import argparse
import os
import queue
import re
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
REQUESTS = ("list instances", "cpu of web-server-1", "cost this month", "describe api-server", "alarms firing",
            "errors in /app/api", "인스턴스 목록 보여줘", "status", "how do I fix a full disk?", "sop high cpu")


def installed_size_mb() -> float:
    """Everything in this interpreter's site-packages (what `pip install -r requirements*.txt` put there)."""
    import site

    total = 0
    for root in {Path(p) for p in site.getsitepackages()}:
        for path in root.rglob("*"):
            if path.is_file() and not path.is_symlink():
                total += path.stat().st_size
    return total / 1e6


# the app's modules and the embedding model (loaded at the first runbook search)
IMPORTS = ("import app, bot.core.runtime, bot.slack.app, bot.mcp.server, sop.index\n"
           "from sop.embeddings import LocalMiniLM\nLocalMiniLM._model()")


def import_seconds() -> float:
    started = time.perf_counter()
    subprocess.run([sys.executable, "-c", IMPORTS], cwd=ROOT, check=True)
    return time.perf_counter() - started


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def children_rss_mb(pid: int) -> float:
    """RSS of the process's children: `--sandbox` runs its AWS emulator (moto) as one, which a real
    deployment against AWS does not carry."""
    total = 0.0
    for task in Path(f"/proc/{pid}/task").iterdir():
        for child in (task / "children").read_text().split():
            total += rss_mb(int(child))
    return total


PROGRESS = re.compile(r"^\[\s*([\d.]+) s\] (.+?)…?$")  # app.py's start-up lines: "[  1.6 s] loading …"


def load_average() -> str:
    one, five, _ = os.getloadavg()
    return f"load average {one:.2f} (1 min), {five:.2f} (5 min) on {os.cpu_count()} cores"


def step_times(steps: dict[str, float]) -> str:
    """Seconds per start-up step, from the moments each began (the last one ends at "ready")."""
    names = list(steps)
    parts = [f"{name.split(' (')[0]} {steps[after] - steps[name]:.1f} s" for name, after in zip(names, names[1:])]
    return "; ".join(parts)


def run_bot(requests: int, data: str) -> dict:
    env = {**os.environ, "PYTHONUNBUFFERED": "1", "DATA_DIR": data}
    for name in ("OLLAMA_HOST", "SLACK_BOT_TOKEN", "SLACK_APP_TOKEN"):
        env.pop(name, None)
    started = time.perf_counter()
    process = subprocess.Popen([sys.executable, str(ROOT / "app.py"), "--sandbox"], cwd=data, env=env,
                               stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                               text=True)
    lines: queue.Queue[str] = queue.Queue()
    threading.Thread(target=lambda: [lines.put(line) for line in process.stdout], daemon=True).start()
    steps: dict[str, float] = {}
    while "Type a request" not in (line := lines.get(timeout=300)):
        step = PROGRESS.match(line)
        if step:
            steps[step.group(2)] = float(step.group(1))
    first_prompt = time.perf_counter() - started
    after_start = rss_mb(process.pid)
    emulator_after_start = children_rss_mb(process.pid)
    answered = 0
    request_started = time.perf_counter()
    for number in range(requests):
        process.stdin.write(REQUESTS[number % len(REQUESTS)] + "\n")
    process.stdin.write("help\n")  # read (echoed) only after the last request was answered
    process.stdin.flush()
    while answered < requests + 1:  # each line is echoed as "aiops> …" when the bot reads it
        if lines.get(timeout=300).startswith("aiops> "):
            answered += 1
    requests_seconds = time.perf_counter() - request_started
    after_requests = rss_mb(process.pid)
    emulator_after_requests = children_rss_mb(process.pid)
    process.stdin.write("exit\n")
    process.stdin.flush()
    process.wait(timeout=60)
    return {"first_prompt_s": first_prompt, "steps": steps, "rss_after_start_mb": after_start,
            "rss_after_requests_mb": after_requests, "requests": requests, "requests_s": requests_seconds,
            "emulator_after_start_mb": emulator_after_start, "emulator_after_requests_mb": emulator_after_requests}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=200)
    parser.add_argument("--starts", type=int, default=5, help="warm starts to the first prompt (median, slowest)")
    args = parser.parse_args()
    print(f"installed packages (site-packages): {installed_size_mb():,.0f} MB")
    print(f"import of the app's modules and the embedding model: {import_seconds():.2f} s")
    print(f"before: {load_average()}")
    with tempfile.TemporaryDirectory() as data:
        cold = run_bot(0, data)  # builds the runbook index
        warm = [run_bot(0, data)["first_prompt_s"] for _ in range(max(0, args.starts - 1))]
        figures = run_bot(args.requests, data)  # starts again with the index in place
    warm.append(figures["first_prompt_s"])
    print(f"python app.py --sandbox to the first prompt: {cold['first_prompt_s']:.1f} s the first time "
          f"(runbook index built); once the index exists, median {statistics.median(warm):.1f} s, slowest "
          f"{max(warm):.1f} s over {len(warm)} starts ({', '.join(f'{s:.1f}' for s in warm)})")
    print(f"  steps, cold: {step_times(cold['steps'])}")
    print(f"  steps, warm: {step_times(figures['steps'])}")
    print(f"after: {load_average()}")
    print(f"RSS of the bot's process after start: {figures['rss_after_start_mb']:.0f} MB "
          f"(target ≤ 350 MB; the AWS emulator runs beside it: {figures['emulator_after_start_mb']:.0f} MB)")
    print(f"{figures['requests']} requests in {figures['requests_s']:.1f} s; RSS of the bot's process after them: "
          f"{figures['rss_after_requests_mb']:.0f} MB (emulator {figures['emulator_after_requests_mb']:.0f} MB)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
