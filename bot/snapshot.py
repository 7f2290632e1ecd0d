"""An in-memory cache of what retrieval needs from Chroma, kept in step with it.

Chroma holds everything; this cache only saves re-reading sparse vectors and texts on
every question. It is refreshed when the collection's `generation` stamp changes
(checked at most every `refresh_seconds`), by fetching only the chunk ids that
appeared since the last look — so an update made by another process becomes
visible without a restart, and a refresh costs what changed, not the index size.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from scipy.sparse import csr_matrix

from index.embed import SparseVector
from index.settings import Settings
from index.store import DERIVED_KEYS, SPARSE_KEY, StoreError, generation, open_collection, reading_store

from .forms import content_words
from .query import IDENTIFIER

_PAGE = 1000


@dataclass
class Snapshot:
    """The chunks as last read from Chroma."""

    generation: str = ""
    ids: list[str] = field(default_factory=list)
    texts: list[str] = field(default_factory=list)
    metadatas: list[dict[str, Any]] = field(default_factory=list)
    sparse_rows: list[SparseVector | None] = field(default_factory=list)
    sparse: csr_matrix | None = None
    identifiers: dict[str, list[int]] = field(default_factory=dict)  # identifier -> chunk positions
    position: dict[str, int] = field(default_factory=dict)
    langs: np.ndarray = field(default_factory=lambda: np.array([], dtype=object))
    _lowered: str | None = None
    _years: set[str] | None = None
    _word_chunks: dict[str, int] | None = None

    def __len__(self) -> int:
        return len(self.ids)

    def lowered_text(self) -> str:
        """All titles and texts, lower-cased, for "is this name mentioned anywhere?" checks (built once)."""
        if self._lowered is None:
            self._lowered = "\n".join([m.get("title", "") for m in self.metadatas] + self.texts).lower()
        return self._lowered

    def years(self) -> set[str]:
        """Years of the releases' publication and update dates (built once)."""
        if self._years is None:
            self._years = {str(m[key])[:4] for m in self.metadatas for key in ("date", "updated") if m.get(key)}
        return self._years

    def word_chunks(self) -> dict[str, int]:
        """How many chunks each content word (bot.forms.content_words) occurs in, built once."""
        if self._word_chunks is None:
            counts: dict[str, int] = {}
            for text, meta in zip(self.texts, self.metadatas):
                for word in content_words(f"{meta.get('title', '')} {text}"):
                    counts[word] = counts.get(word, 0) + 1
            self._word_chunks = counts
        return self._word_chunks

    def sparse_scores(self, query: SparseVector) -> np.ndarray:
        if self.sparse is None or not len(self):
            return np.zeros(len(self), np.float32)
        keep = query.indices < self.sparse.shape[1]
        vector = np.zeros(self.sparse.shape[1], np.float32)
        vector[query.indices[keep]] = query.values[keep]
        return np.asarray(self.sparse @ vector).ravel()

    def identifier_scores(self, tokens: tuple[str, ...]) -> np.ndarray:
        """IDF-weighted exact matches of the question's identifiers; common ones (NATO, OTAN) weigh ~nothing."""
        scores = np.zeros(len(self), np.float32)
        n = max(len(self), 1)
        for token in set(tokens):
            positions = self.identifiers.get(token, [])
            if positions and len(positions) <= n * 0.1:
                scores[positions] += np.log(n / len(positions))
        return scores


class SnapshotCache:
    """One Snapshot per collection, refreshed incrementally and safely across threads."""

    def __init__(self, settings: Settings, stack_name: str) -> None:
        self.settings = settings
        self.stack_name = stack_name
        self._snapshot = Snapshot()
        self._checked = 0.0
        self._lock = threading.Lock()
        self._attempts = 0  # refreshes tried, so that waiters can see one failed meanwhile
        self._failure: StoreError | None = None  # why the last refresh failed

    def invalidate(self) -> None:
        """Look at the store again on the next question (after a write made by this process)."""
        self._checked = 0.0

    def current(self) -> Snapshot:
        """The cached snapshot, refreshed first if another write happened since the last check."""
        if (
            self._checked
            and time.monotonic() - self._checked < self.settings.refresh_seconds
            and self._snapshot.generation
        ):
            return self._snapshot
        attempts = self._attempts
        # A waiter never queues for longer than one refresh may take (each server call has its deadline).
        if not self._lock.acquire(timeout=max(1.0, 3 * self.settings.chroma_timeout)):
            raise StoreError("the index server is too slow to answer (another refresh is still waiting for it)")
        try:
            if self._attempts != attempts:  # another thread refreshed while this one waited: share its outcome
                if self._failure is not None:
                    raise self._failure
                if self._snapshot.generation:
                    return self._snapshot
            self._attempts += 1
            try:
                collection = open_collection(self.settings, self.stack_name)
                stamp = generation(collection)
                if stamp != self._snapshot.generation:
                    with reading_store():
                        self._snapshot = self._sync(collection, stamp)
            except StoreError as exc:
                self._failure = exc
                raise
            self._failure = None
            self._checked = time.monotonic()
            return self._snapshot
        finally:
            self._lock.release()

    def _sync(self, collection: Any, stamp: str) -> Snapshot:
        old = self._snapshot
        ids: list[str] = []
        offset = 0
        while True:
            page = collection.get(include=[], limit=_PAGE * 10, offset=offset)
            ids.extend(page["ids"])
            if len(page["ids"]) < _PAGE * 10:
                break
            offset += _PAGE * 10
        wanted = set(ids)
        kept = [i for i, id_ in enumerate(old.ids) if id_ in wanted]
        new_ids = [id_ for id_ in ids if id_ not in old.position]
        snap = Snapshot(
            generation=stamp,
            ids=[old.ids[i] for i in kept],
            texts=[old.texts[i] for i in kept],
            metadatas=[old.metadatas[i] for i in kept],
            sparse_rows=[old.sparse_rows[i] for i in kept],
        )
        for start in range(0, len(new_ids), _PAGE):
            page = collection.get(ids=new_ids[start : start + _PAGE], include=["documents", "metadatas"])
            for id_, text, meta in zip(page["ids"], page["documents"], page["metadatas"]):
                meta = meta or {}
                snap.ids.append(id_)
                snap.texts.append(text or "")
                snap.metadatas.append({k: v for k, v in meta.items() if k not in DERIVED_KEYS})
                snap.sparse_rows.append(SparseVector.decode(meta[SPARSE_KEY]) if meta.get(SPARSE_KEY) else None)
        snap.position = {id_: i for i, id_ in enumerate(snap.ids)}
        snap.langs = np.array([m.get("lang", "") for m in snap.metadatas], dtype=object)
        snap.sparse = _stack_sparse(snap.sparse_rows)
        index: dict[str, list[int]] = {}
        for i, (text, meta) in enumerate(zip(snap.texts, snap.metadatas)):
            for token in set(IDENTIFIER.findall(f"{meta.get('title', '')} {text}")):
                index.setdefault(token, []).append(i)
        snap.identifiers = index
        return snap


def _stack_sparse(rows: list[SparseVector | None]) -> csr_matrix | None:
    present = [r for r in rows if r is not None and len(r.indices)]
    if not present:
        return None
    width = int(max(int(r.indices.max()) for r in present)) + 1
    indptr = [0]
    indices, values = [], []
    for row in rows:
        if row is not None:
            indices.append(row.indices)
            values.append(row.values)
            indptr.append(indptr[-1] + len(row.indices))
        else:
            indptr.append(indptr[-1])
    return csr_matrix(
        (np.concatenate(values), np.concatenate(indices), np.array(indptr)), shape=(len(rows), width), dtype=np.float32
    )
