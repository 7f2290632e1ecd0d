"""An in-memory copy of what retrieval needs from Chroma, and the per-question lookups on it.

Chroma holds everything; the snapshot saves re-reading texts and sparse vectors on every
question, and indexes them so that a question costs what it touches — the postings of
its terms and identifiers, its candidates — not the number of chunks: sparse scores are
a column slice of the chunk x term matrix, "is this name mentioned?" a postings
intersection, filters a vectorised mask. Applying a delta costs the chunks it changes, too:
the matrices are layered (index/layered_matrix.py) and the positions kept by number
(index/positions.py), so a small edit shares the large arrays with the snapshot it came
from instead of rebuilding them. It lives in index/ because writers build it
too: `index.snapshot_sync` brings one in step with Chroma (the changes log, or a full
read), `index.snapshot_file` keeps it on disk, `index.snapshot_writer` leaves that file
up to date after a write, and `bot.snapshot_cache` holds the one answering uses.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from itertools import compress
from sys import intern
from typing import Any, TypeVar

import numpy as np
from scipy.sparse import csc_matrix, csr_matrix

from .embed import SparseVector
from .layered_matrix import LayeredMatrix
from .positions import Positions
from .postings import Postings
from .words import CONTENT_STOPWORDS, WORD, identifiers, stem

TOKEN = re.compile(r"[^\W_]+")  # words of a lower-cased text, for "is this name mentioned anywhere?"
NO_DATE = -1
_FEW = 64  # dropped chunks up to which a list is copied and cut rather than filtered (_kept)
T = TypeVar("T")


@dataclass(frozen=True)
class Chunks:
    """Chunks as read from Chroma (derived vectors decoded), before they join a snapshot."""

    ids: list[str]
    texts: list[str]
    metadatas: list[dict[str, Any]]
    sparse: list[SparseVector | None]


@dataclass
class Snapshot:
    """The chunks as last read from Chroma, indexed for per-question lookups; never changed once built."""

    generation: str = ""
    collection_id: str = ""
    cursor: float = 0.0  # changes log: the newest entry applied (index.snapshot_sync, index.changes)
    applied: frozenset[str] = frozenset()
    ids: list[str] = field(default_factory=list)
    texts: list[str] = field(default_factory=list)
    metadatas: list[dict[str, Any]] = field(default_factory=list)
    sparse: LayeredMatrix | None = None  # chunk x latent term (None: no chunk has a sparse vector)
    tokens: Postings = field(default_factory=Postings)  # lower-cased words of title + text
    words: Postings = field(default_factory=Postings)  # index.words.content_words of title + text
    identifiers: Postings = field(default_factory=Postings)  # index.words.identifiers of title + text
    lang_codes: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int32))
    lang_names: list[str] = field(default_factory=list)
    date_ints: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64))
    year_max: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int32))  # latest year named in the dates
    position: Positions = field(default_factory=lambda: Positions.of([]))  # id -> position (index/positions.py)
    _langs: np.ndarray | None = None

    def __len__(self) -> int:
        return len(self.ids)

    @property
    def langs(self) -> np.ndarray:
        """Each chunk's language (object array; `lang_codes` is the fast form)."""
        if self._langs is None:
            self._langs = np.array(self.lang_names, dtype=object)[self.lang_codes] if len(self) else np.array([])
        return self._langs

    # -- building
    def edited(self, removed: set[str], added: Chunks, **state: Any) -> Snapshot:
        """A new snapshot without the `removed` ids (and the re-added ones), then `added`; `state`: new fields."""
        dropped = [self.position[i] for i in removed | set(added.ids) if i in self.position]
        keep = np.ones(len(self), bool)
        keep[dropped] = False
        names = list(self.lang_names)
        codes = [_code(names, str(m.get("lang", ""))) for m in added.metadatas]
        ids = _kept(self.ids, keep, dropped, added.ids)
        return Snapshot(
            generation=state.get("generation", self.generation),
            collection_id=state.get("collection_id", self.collection_id),
            cursor=state.get("cursor", self.cursor),
            applied=state.get("applied", self.applied),
            ids=ids,
            texts=_kept(self.texts, keep, dropped, added.texts),
            metadatas=_kept(self.metadatas, keep, dropped, added.metadatas),
            sparse=_sparse_rows(self.sparse, keep, added.sparse),
            # generators: a full read never holds every chunk's words at once
            tokens=self.tokens.edited(keep, (TOKEN.findall(_searchable(t, m).lower()) for t, m in _pairs(added))),
            words=self.words.edited(keep, _content_words_of(_searchable(t, m) for t, m in _pairs(added))),
            identifiers=self.identifiers.edited(keep, (identifiers(_searchable(t, m)) for t, m in _pairs(added))),
            lang_codes=np.concatenate([self.lang_codes[keep], np.asarray(codes, np.int32)]),
            lang_names=names,
            date_ints=np.concatenate([self.date_ints[keep], np.asarray([_day(m) for m in added.metadatas], np.int64)]),
            year_max=np.concatenate([self.year_max[keep], np.asarray([_year(m) for m in added.metadatas], np.int32)]),
            position=self.position.edited(keep, added.ids, ids),
        )

    # -- per-question lookups
    def sparse_scores(self, query: SparseVector) -> np.ndarray:
        """Dot products with the question's sparse vector: only the columns of its terms are read."""
        if self.sparse is None or not len(self):
            return np.zeros(len(self), np.float32)
        return self.sparse.dot(query.indices, query.values.astype(np.float32))

    def identifier_scores(self, tokens: tuple[str, ...]) -> np.ndarray:
        """IDF-weighted exact matches of the question's identifiers; common ones (NATO, OTAN) weigh ~nothing."""
        scores = np.zeros(len(self), np.float32)
        n = max(len(self), 1)
        for token in set(tokens):
            positions = self.identifiers.chunks(token)
            if len(positions) and len(positions) <= n * 0.1:
                scores[positions] += np.log(n / len(positions))
        return scores

    def admitted(self, lang: str | None, day_from: int | None, day_to: int | None) -> np.ndarray:
        """Which chunks a language and an inclusive date_int range admit (a chunk without a date: none)."""
        mask = np.ones(len(self), bool)
        if lang:
            mask &= self.lang_codes == (self.lang_names.index(lang) if lang in self.lang_names else -1)
        if day_from is not None:
            mask &= (self.date_ints != NO_DATE) & (self.date_ints >= day_from)
        if day_to is not None:
            mask &= (self.date_ints != NO_DATE) & (self.date_ints <= day_to)
        return mask

    def unknown_words(self, term: str, admitted: np.ndarray | None = None) -> list[str]:
        """The words of `term` that no chunk (of those admitted) uses in its title or text, case-insensitively.

        A postings lookup per word: nothing is read but the term's own columns.
        """
        unknown = []
        for word in dict.fromkeys(TOKEN.findall(term.lower())):
            chunks = self.tokens.chunks(word)
            if admitted is not None:
                chunks = chunks[admitted[chunks]]
            if not len(chunks):
                unknown.append(word)
        return unknown

    def latest_year(self) -> int:
        """The latest year of any release's publication or update date (0 when none is dated)."""
        return int(self.year_max.max()) if len(self.year_max) else 0

    def word_chunks(self) -> Postings:
        """How many chunks each content word (index.words.content_words) occurs in: `.get(word, 0)`."""
        return self.words


def _content_words_of(texts: Iterable[str]) -> Iterator[set[str]]:
    """index.words.content_words of each text, each distinct word normalised once.

    The same as calling content_words per text (tests/test_snapshot_cache.py), but a full
    read of the index normalises ~100x fewer words: most words recur across chunks.
    """
    normal: dict[str, str | None] = {}

    def word(raw: str) -> str | None:
        if raw not in normal:
            bare = re.sub(r"[’']s$", "", raw)
            normal[raw] = stem(bare) if bare.lower() not in CONTENT_STOPWORDS and len(bare) > 2 else None
        return normal[raw]

    for text in texts:
        found = {word(raw) for raw in set(WORD.findall(text))}
        found.discard(None)
        yield found  # type: ignore[misc]  # None was discarded


def _kept(items: list[T], keep: np.ndarray, dropped: list[int], added: list[T]) -> list[T]:
    """The kept items, then the added ones: a few dropped cost a copy and a memmove each, not a step per item."""
    if len(dropped) > _FEW:
        return [*compress(items, keep), *added]
    out = list(items)
    for position in sorted(dropped, reverse=True):
        del out[position]
    out.extend(added)
    return out


def _pairs(chunks: Chunks) -> Iterator[tuple[str, dict[str, Any]]]:
    return zip(chunks.texts, chunks.metadatas)


def shared_metadata(meta: dict[str, Any]) -> dict[str, Any]:
    """The metadata with its keys and string values interned: chunks of one release (and every chunk's keys)
    share one copy instead of one per chunk (~25 % of the snapshot's memory at 30,000 chunks)."""
    return {intern(k): intern(v) if isinstance(v, str) else v for k, v in meta.items()}


def _searchable(text: str, meta: dict[str, Any]) -> str:
    return f"{meta.get('title', '')}\n{text}"


def _code(names: list[str], lang: str) -> int:
    if lang not in names:
        names.append(lang)
    return names.index(lang)


def _day(meta: dict[str, Any]) -> int:
    day = meta.get("date_int")
    return int(day) if isinstance(day, int) and not isinstance(day, bool) else NO_DATE


def _year(meta: dict[str, Any]) -> int:
    years = [str(meta[key])[:4] for key in ("date", "updated") if meta.get(key)]
    return max((int(y) for y in years if y.isdigit()), default=0)


def _sparse_rows(
    matrix: LayeredMatrix | None, keep: np.ndarray, added: Sequence[SparseVector | None]
) -> LayeredMatrix | None:
    """The kept rows of the chunk x term matrix, then the added chunks' vectors (None: no sparse vector).

    At the cost of the rows changed: the matrix is layered (index/layered_matrix.py).
    """
    new = _stack_sparse(added)
    if matrix is None and new is None:
        return None
    if matrix is None:  # the first chunks with a sparse vector: the others hold none
        matrix = LayeredMatrix.of(csc_matrix((keep.size, 0), dtype=np.float32))
    if new is None:
        new = csr_matrix((len(added), 0), dtype=np.float32)
    return matrix.edited(keep, new)


def _stack_sparse(rows: Sequence[SparseVector | None]) -> csr_matrix | None:
    present = [r for r in rows if r is not None and len(r.indices)]
    if not present:
        return None
    width = int(max(int(r.indices.max()) for r in present)) + 1
    indptr = np.cumsum([0] + [len(r.indices) if r is not None else 0 for r in rows])
    indices = np.concatenate([r.indices for r in rows if r is not None])
    values = np.concatenate([r.values for r in rows if r is not None])
    return csr_matrix((values, indices, indptr), shape=(len(rows), width), dtype=np.float32)
