"""The image leaves out what chromadb declares but this bot never loads (see the Dockerfile), and the
product never needs torch: the bot must start and answer from its runbooks without any of them."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
LEFT_OUT = ("kubernetes", "onnxruntime", "hf_xet", "torch", "transformers", "sentence_transformers")

RUN_WITHOUT = (
    "import runpy, sys\n"
    f"for name in {LEFT_OUT!r}:\n"
    "    sys.modules[name] = None  # `import name` now raises ImportError, as if not installed\n"
    "sys.argv = ['app.py', '--sandbox']\n"
    "runpy.run_path('app.py', run_name='__main__')\n"
)


def test_the_bot_answers_from_its_runbooks_without_the_packages_the_image_leaves_out(tmp_path):
    env = {**os.environ, "DATA_DIR": str(tmp_path / "data"), "PYTHONUNBUFFERED": "1"}
    for name in ("OLLAMA_HOST", "SLACK_BOT_TOKEN", "SLACK_APP_TOKEN"):
        env.pop(name, None)
    done = subprocess.run([sys.executable, "-c", RUN_WITHOUT], cwd=ROOT, env=env, capture_output=True, text=True,
                          input="how do I fix high cpu on a web server?\nlist instances\nexit\n", timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    assert "Runbook: EC2 CPU utilisation high" in done.stdout
    assert "web-server-1" in done.stdout and "Traceback" not in done.stderr
