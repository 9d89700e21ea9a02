"""The runbook index: a ChromaDB PersistentClient under the data directory.

Why hash-based sync: start-up must be fast and idempotent. Each chunk carries its file's
content hash; a runbook is re-embedded only when its hash changes, a deleted file's chunks
are removed, and restarting never duplicates anything.

Retrieval is hybrid: cosine similarity of the query to each runbook's chunks (best chunk
wins) plus a small keyword score over the runbook's title and symptoms, because alert texts
carry exact tokens ("ENOSPC", "StatusCheckFailed", "502") that a small embedding model
blurs. `python -m sop.eval` measures both parts.
"""

from __future__ import annotations

import math
import os
import re
import threading
from collections import Counter
from functools import lru_cache
from pathlib import Path
from urllib.parse import urlparse

from pydantic import BaseModel

from sop.embeddings import Embedder
from sop.english import to_english
from sop.runbooks import Runbook, load_runbooks

os.environ.setdefault("ANONYMIZED_TELEMETRY", "False")

WORD = re.compile(r"[a-z0-9_]+|[가-힣]+")
STOP = frozenset("the a an of to in on is are and or for with by from at it be not no its this that as was "
                 "than above below after before into out over under".split())


class RunbookHit(BaseModel):
    runbook: Runbook
    score: float
    vector_score: float
    keyword_score: float
    best_section: str


class SyncReport(BaseModel):
    added: list[str] = []
    updated: list[str] = []
    removed: list[str] = []
    unchanged: int = 0
    problems: list[str] = []


INSTANCE_ID = re.compile(r"\bi-[0-9a-f]{8,17}\b")


def strip_names(text: str, names: tuple[str, ...]) -> str:
    """Drop instance ids and compound Name tags ("staging-web", "web-server-1"); a one-word name
    ("bastion") is also a description of the machine and stays."""
    text = INSTANCE_ID.sub(" ", text)
    pattern = _names_pattern(names)
    if pattern is not None:
        text = pattern.sub(" ", text)
    return re.sub(r"\(\s*\)", " ", text)


@lru_cache(maxsize=4)
def _names_pattern(names: tuple[str, ...]) -> re.Pattern[str] | None:
    """One alternation per fleet snapshot (longest first), compiled once: a pattern per name overflowed
    Python's regex cache at 1,000 names and made every runbook search recompile them all."""
    compound = sorted({name for name in names if name and re.search(r"[-_\d]", name)}, key=len, reverse=True)
    if not compound:
        return None
    return re.compile(r"(?<![\w-])(?:" + "|".join(map(re.escape, compound)) + r")(?![\w-])", re.I)


def stem(word: str) -> str:
    """A light English stemmer: timeouts → timeout, stopped → stop, failing → fail."""
    for suffix, keep in (("ies", "y"), ("ing", ""), ("ed", ""), ("es", ""), ("s", "")):
        if word.endswith(suffix) and len(word) - len(suffix) >= 3 and not word.endswith("ss"):
            word = word[: len(word) - len(suffix)] + keep
            break
    if len(word) > 3 and word[-1] == word[-2] and word[-1] not in "lsz":
        word = word[:-1]  # stopp → stop
    return word


def tokens(text: str) -> list[str]:
    return [stem(t) for t in WORD.findall(text.lower()) if t not in STOP and len(t) > 1]


class RunbookIndex:
    def __init__(self, data_dir: Path, sop_dir: Path, embedder: Embedder, keyword_weight: float = 0.35,
                 chroma_url: str | None = None) -> None:
        """`chroma_url`: a Chroma server shared by every replica (one index for all); else a local
        index under `data_dir`."""
        import chromadb
        from chromadb.config import Settings as ChromaSettings

        self.sop_dir = sop_dir
        self.embedder = embedder
        self.keyword_weight = keyword_weight
        chroma_settings = ChromaSettings(anonymized_telemetry=False)
        if chroma_url:
            server = urlparse(chroma_url)
            self._client = chromadb.HttpClient(host=server.hostname or "localhost",
                                               port=server.port or (443 if server.scheme == "https" else 8000),
                                               ssl=server.scheme == "https", settings=chroma_settings)
        else:
            self._client = chromadb.PersistentClient(path=str(data_dir / "chroma"), settings=chroma_settings)
        self._collection = self._client.get_or_create_collection(
            f"sops-{embedder.name}", metadata={"hnsw:space": "cosine"}, embedding_function=None)
        self._runbooks: dict[str, Runbook] = {}
        self._idf: dict[str, float] = {}
        self._keywords: dict[str, Counter[str]] = {}
        self._lock = threading.Lock()

    def close(self) -> None:
        """Release the Chroma client (its files, its background system); safe to call twice."""
        close = getattr(self._client, "close", None)
        if close is not None:
            try:
                close()
            except Exception:  # already closed, or a client without close semantics
                pass

    # -- indexing ------------------------------------------------------------------------------

    def sync(self) -> SyncReport:
        """Bring the index in line with the files: add new, re-embed changed, drop deleted."""
        runbooks, problems = load_runbooks(self.sop_dir)
        report = SyncReport(problems=problems)
        with self._lock:
            indexed: dict[str, str] = {}
            existing = self._collection.get(include=["metadatas"])
            for metadata in existing["metadatas"] or []:
                indexed[str(metadata["runbook_id"])] = str(metadata["content_hash"])
            current = {runbook.id: runbook for runbook in runbooks}
            for runbook_id in sorted(set(indexed) - set(current)):
                self._collection.delete(where={"runbook_id": runbook_id})
                report.removed.append(runbook_id)
            for runbook in runbooks:
                known = indexed.get(runbook.id)
                if known == runbook.content_hash:
                    report.unchanged += 1
                    continue
                if known is not None:
                    self._collection.delete(where={"runbook_id": runbook.id})
                self._add(runbook)
                (report.updated if known is not None else report.added).append(runbook.id)
            self._runbooks = current
            self._build_keyword_index()
        return report

    def _add(self, runbook: Runbook) -> None:
        chunks = runbook.chunks()
        self._collection.add(
            ids=[f"{runbook.id}#{index}" for index in range(len(chunks))],
            documents=[text for _, text in chunks],
            embeddings=self.embedder.embed([text for _, text in chunks]),  # type: ignore[arg-type]  # chromadb's stubs want numpy arrays; it takes lists
            metadatas=[{"runbook_id": runbook.id, "section": section, "content_hash": runbook.content_hash}
                       for section, _ in chunks],
        )

    def _build_keyword_index(self) -> None:
        self._keywords = {rid: Counter(tokens(rb.title + " " + " ".join(rb.symptoms) + " " + rid.replace("-", " ")))
                          for rid, rb in self._runbooks.items()}
        documents = len(self._keywords) or 1
        frequency: Counter[str] = Counter(t for words in self._keywords.values() for t in set(words))
        self._idf = {t: math.log(1 + documents / n) for t, n in frequency.items()}

    def chunk_count(self) -> int:
        return self._collection.count()

    @property
    def runbooks(self) -> dict[str, Runbook]:
        return dict(self._runbooks)

    # -- retrieval -----------------------------------------------------------------------------

    def search(self, query: str, limit: int = 3, names: tuple[str, ...] = ()) -> list[RunbookHit]:
        """Best runbooks for `query`. `names` (the fleet's Name tags) are removed first: they say
        which machine is affected, not what is wrong with it ("staging-web" is not about the web tier)."""
        if not self._runbooks:
            return []
        query = to_english(strip_names(query, names))
        vector = self.embedder.embed([query])[0]
        count = self._collection.count()
        result = self._collection.query(query_embeddings=[vector], n_results=min(count, 50),  # type: ignore[arg-type]  # chromadb's stubs want numpy arrays; it takes lists
                                        include=["metadatas", "distances"])
        best: dict[str, tuple[float, str]] = {}
        for metadata, distance in zip(result["metadatas"][0], result["distances"][0]):  # type: ignore[index]  # chromadb's stubs want numpy arrays; it takes lists
            runbook_id = str(metadata["runbook_id"])
            similarity = 1.0 - float(distance)
            if runbook_id not in best or similarity > best[runbook_id][0]:
                best[runbook_id] = (similarity, str(metadata["section"]))
        keyword = self._keyword_scores(query)
        hits = []
        for runbook_id, (similarity, section) in best.items():
            runbook = self._runbooks.get(runbook_id)
            if runbook is None:
                continue
            key_score = keyword.get(runbook_id, 0.0)
            hits.append(RunbookHit(runbook=runbook, score=similarity + self.keyword_weight * key_score,
                               vector_score=similarity, keyword_score=key_score, best_section=section))
        hits.sort(key=lambda hit: -hit.score)
        return hits[:limit]

    def _keyword_scores(self, query: str) -> dict[str, float]:
        """IDF-weighted overlap of query words with title+symptoms, scaled to 0..1 across runbooks."""
        words = set(tokens(query))
        raw = {rid: sum(self._idf.get(w, 0.0) for w in words if w in counter)
               for rid, counter in self._keywords.items()}
        top = max(raw.values(), default=0.0)
        return {rid: value / top for rid, value in raw.items()} if top > 0 else {}
