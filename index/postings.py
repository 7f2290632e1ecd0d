"""Inverted indexes over the snapshot's chunks: which chunks hold a term, at the cost of that term's postings.

A question touches a few terms; looking each up here costs its postings, not the number
of chunks. Stored as a chunk x term 0/1 matrix in CSC form (scipy), so that a term's
chunks are one column slice, and rows (chunks) can be dropped or appended when the index
changes without re-reading any text — at the cost of the rows changed, since the matrix
is layered (index/layered_matrix.py).
"""

from __future__ import annotations

from array import array
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

import numpy as np
from scipy.sparse import csc_matrix, csr_matrix

from .layered_matrix import LayeredMatrix

_EMPTY = np.zeros(0, np.int32)


@dataclass(frozen=True)
class Postings:
    """Term -> positions of the chunks that hold it (ascending); document frequencies for free."""

    vocab: dict[str, int] = field(default_factory=dict)  # term -> column
    rows: LayeredMatrix = field(default_factory=lambda: LayeredMatrix.of(csc_matrix((0, 0), dtype=np.uint8)))

    @classmethod
    def of(cls, rows: Sequence[Iterable[str]]) -> Postings:
        """Postings of chunks given as their terms, in chunk order."""
        return cls().edited(None, rows)

    @classmethod
    def of_matrix(cls, vocab: dict[str, int], matrix: csc_matrix) -> Postings:
        """Postings read back as their vocabulary and chunk x term matrix (index/snapshot_file.py)."""
        return cls(vocab, LayeredMatrix.of(matrix))

    def __len__(self) -> int:
        """Chunks covered."""
        return len(self.rows)

    @property
    def matrix(self) -> csc_matrix:
        """The chunk x term 0/1 matrix as one CSC matrix (what the snapshot file stores)."""
        return self.rows.tocsc()

    def chunks(self, term: str) -> np.ndarray:
        """Positions of the chunks holding `term`, ascending (int32)."""
        column = self.vocab.get(term)
        return _EMPTY if column is None else self.rows.column(column)

    def get(self, term: str, default: int = 0) -> int:
        """How many chunks hold `term` (a dict-like document frequency)."""
        column = self.vocab.get(term)
        return default if column is None else self.rows.column_count(column)

    def edited(self, keep: np.ndarray | None, added: Iterable[Iterable[str]]) -> Postings:
        """A new Postings: the chunks where `keep` is true (all if None), then the `added` chunks, in order."""
        vocab = dict(self.vocab)
        columns = array("i")
        ends = array("q", [0])
        for terms in added:  # one chunk's terms at a time: a full read never holds every chunk's words at once
            distinct = set(terms)
            for term in distinct.difference(vocab):  # only terms not seen before are looked at in Python
                vocab[term] = len(vocab)
            columns.extend(map(vocab.__getitem__, distinct))
            ends.append(len(columns))
        indices = np.frombuffer(columns, np.int32) if len(columns) else np.zeros(0, np.int32)
        indptr = np.frombuffer(ends, np.int64)
        new = csr_matrix(
            (np.ones(len(indices), np.uint8), indices, indptr),
            shape=(len(ends) - 1, len(vocab)),
        )
        return Postings(vocab, self.rows.edited(keep, new))
