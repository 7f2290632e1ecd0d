"""Helpers for the index tests: settings, a spy on the embedding models, what Chroma holds."""
from __future__ import annotations

import re
import shutil
import sqlite3
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from index.embed import EmbeddingStack, Vectors
from index.settings import Settings
from index.store import open_collection

# Corpus file names carry the release's date (or "undated") and language: 2014-09-04-fr-....txt
CORPUS_NAME = re.compile(r"^(?P<date>\d{4}-\d{2}-\d{2}|undated)-(?P<lang>[a-z]{2})-")

# A line of the nato.int page header: "  • 04 Jun. 2012 -", "  • |", "  • Last updated: ...".
HEADER_BULLET = re.compile(
    r"^\s*•\s*(?:\d{1,2}(?:er)?\.? \w+\.? \d{4}|\||Last updated|Mis à jour|Dernière mise à jour)", re.IGNORECASE
)


def make_settings(home: Path, *, chroma_url: str | None = None, collection: str = "communiques",
                  embeddings: str = "bundled") -> Settings:
    """Settings for one test index; every store knob is explicit so the caller's environment cannot leak in."""
    return Settings(home=home, chroma_url=chroma_url, records_url=None, collection=collection, embeddings=embeddings, llm=None)


def copy_releases(names: Iterable[str], source: Path, dest: Path) -> list[Path]:
    """Copy corpus files by name into `dest` (created); returns the copies, resolved."""
    dest.mkdir(parents=True, exist_ok=True)
    return [Path(shutil.copy2(source / name, dest / name)).resolve() for name in names]


def copy_index(settings: Settings, home: Path) -> Settings:
    """The same embedded index copied to `home` (without its lock), e.g. for a subprocess to read.

    Only for an index no one is writing to: Chroma and the record manager have committed everything.
    """
    shutil.copytree(settings.home, home, ignore=shutil.ignore_patterns("index.lock*"))
    return make_settings(home, collection=settings.collection, embeddings=settings.embeddings)


# --------------------------------------------------------------------------- what the index holds


@dataclass(frozen=True)
class StoredChunk:
    id: str
    text: str
    metadata: dict[str, Any]

    @property
    def source(self) -> str:
        return str(self.metadata["source"])


def stored_chunks(settings: Settings) -> list[StoredChunk]:
    """Every chunk in the collection, in (source, chunk) order."""
    found = open_collection(settings).get(include=["documents", "metadatas"])
    chunks = [StoredChunk(i, d or "", dict(m or {})) for i, d, m in zip(found["ids"], found["documents"], found["metadatas"])]
    return sorted(chunks, key=lambda c: (c.source, c.metadata.get("chunk", 0)))


def ids_by_source(settings: Settings) -> dict[str, set[str]]:
    out: dict[str, set[str]] = {}
    for chunk in stored_chunks(settings):
        out.setdefault(chunk.source, set()).add(chunk.id)
    return out


def record_count(home: Path) -> int:
    """Chunks the record manager has committed, read from another process's SQLite file (0 if none yet)."""
    path = home / "records.sqlite"
    if not path.exists():
        return 0
    try:
        with sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=1) as db:
            return int(db.execute("SELECT count(*) FROM upsertion_record").fetchone()[0])
    except sqlite3.Error:  # not created yet, or busy: try again later
        return 0


# --------------------------------------------------------------------------- spying on the models


@dataclass
class EmbeddingSpy:
    """Records every text the index asks the models to embed, while the real models do the work."""

    passages: list[str] = field(default_factory=list)    # chunk texts (title + body), dense and sparse
    sentences: list[str] = field(default_factory=list)   # single sentences, dense only

    def wrap(self, stack: EmbeddingStack) -> EmbeddingStack:
        return _SpiedStack(stack, self)

    def reset(self) -> None:
        self.passages.clear()
        self.sentences.clear()

    @property
    def called(self) -> bool:
        return bool(self.passages or self.sentences)


class _SpiedStack:
    def __init__(self, stack: EmbeddingStack, spy: EmbeddingSpy) -> None:
        self._stack, self._spy = stack, spy
        self.name, self.dim, self.has_sparse = stack.name, stack.dim, stack.has_sparse
        self.sentence_dim, self.sentence_baseline = stack.sentence_dim, stack.sentence_baseline
        self.sentences_in_dense_space = stack.sentences_in_dense_space

    def embed_passages(self, texts: list[str]) -> Vectors:
        self._spy.passages.extend(texts)
        return self._stack.embed_passages(texts)

    def embed_queries(self, texts: list[str]) -> Vectors:
        return self._stack.embed_queries(texts)

    def embed_dense(self, texts: list[str]) -> np.ndarray:
        return self._stack.embed_dense(texts)

    def embed_sentences(self, texts: list[str]) -> np.ndarray:
        self._spy.sentences.extend(texts)
        return self._stack.embed_sentences(texts)

    def embed_sentence_queries(self, texts: list[str]) -> np.ndarray:
        return self._stack.embed_sentence_queries(texts)
