"""The numpy MiniLM gives the vectors sentence-transformers gave (a fixture made once; no torch here)."""

from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np
import pytest

from sop.embeddings import LocalMiniLM

pytestmark = pytest.mark.real_embeddings  # the model itself is under test: no remembered vectors
REFERENCE = Path(__file__).resolve().parents[1] / "data" / "minilm_reference.json"


def test_vectors_match_the_reference_model():
    reference = json.loads(REFERENCE.read_text(encoding="utf-8"))
    ours = np.array(LocalMiniLM().embed(reference["texts"]), dtype=np.float64)
    theirs = np.array(reference["vectors"], dtype=np.float64)
    assert ours.shape == theirs.shape == (len(reference["texts"]), 384)
    cosines = (ours * theirs).sum(axis=1) / (np.linalg.norm(ours, axis=1) * np.linalg.norm(theirs, axis=1))
    assert cosines.min() >= 0.9999, dict(zip(reference["texts"], cosines.round(6)))
    assert np.allclose(np.linalg.norm(ours, axis=1), 1.0, atol=1e-5)  # normalised for cosine search


def test_order_and_batching_do_not_change_a_vector():
    embedder = LocalMiniLM()
    texts = ["disk full", "CPU at 97% on api-server " * 20, "웹 서버 디스크", "a"]
    alone = [embedder.embed([text])[0] for text in texts]
    together = embedder.embed(list(reversed(texts)))[::-1]
    assert np.allclose(np.array(alone), np.array(together), atol=1e-5)


def test_the_bot_runs_without_torch(tmp_path):
    """Nothing the bot imports (runbook search included) loads torch or transformers, and no requirements
    file asks for them: PyPI's Linux torch is a multi-GB CUDA build."""
    import subprocess
    import sys

    root = Path(__file__).resolve().parents[2]
    script = ("import sys, app, bot.core.runtime, bot.slack.app, bot.mcp.server, sop.index\n"
              "from sop.embeddings import LocalMiniLM\n"
              "LocalMiniLM().embed(['disk full'])\n"
              "heavy = sorted(m for m in sys.modules if m.split('.')[0] in ('torch', 'transformers', "
              "'sentence_transformers'))\n"
              "print(heavy)\n")
    done = subprocess.run([sys.executable, "-c", script], cwd=root, capture_output=True, text=True, timeout=120,
                          env={"PATH": "/usr/bin:/bin", "DATA_DIR": str(tmp_path)})
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[]"
    for requirements in root.glob("requirements*.txt"):
        listed = requirements.read_text().lower()
        for heavy in ("torch", "transformers", "sentence-transformers"):
            assert not re.search(rf"^{heavy}\b", listed, re.M), (requirements.name, heavy)
