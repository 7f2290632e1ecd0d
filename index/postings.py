"""Inverted indexes over the snapshot's chunks: which chunks hold a term, at the cost of that term's postings.

A question touches a few terms; looking each up here costs its postings, not the number
of chunks. Stored as a chunk x term 0/1 matrix in CSC form (scipy), so that a term's
chunks are one column slice, and rows (chunks) can be dropped or appended when the index
changes without re-reading any text.
"""

from __future__ import annotations

from array import array
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

import numpy as np
from scipy.sparse import csc_matrix, csr_matrix, vstack

_EMPTY = np.zeros(0, np.int32)


@dataclass(frozen=True)
class Postings:
    """Term -> positions of the chunks that hold it (ascending); document frequencies for free."""

    vocab: dict[str, int] = field(default_factory=dict)  # term -> column
    matrix: csc_matrix = field(default_factory=lambda: csc_matrix((0, 0), dtype=np.uint8))

    @classmethod
    def of(cls, rows: Sequence[Iterable[str]]) -> Postings:
        """Postings of chunks given as their terms, in chunk order."""
        return cls().edited(None, rows)

    def __len__(self) -> int:
        """Chunks covered."""
        return int(self.matrix.shape[0])

    def chunks(self, term: str) -> np.ndarray:
        """Positions of the chunks holding `term`, ascending (int32)."""
        column = self.vocab.get(term)
        if column is None or column >= self.matrix.shape[1]:
            return _EMPTY
        start, end = self.matrix.indptr[column], self.matrix.indptr[column + 1]
        return self.matrix.indices[start:end]

    def get(self, term: str, default: int = 0) -> int:
        """How many chunks hold `term` (a dict-like document frequency)."""
        column = self.vocab.get(term)
        if column is None or column >= self.matrix.shape[1]:
            return default
        return int(self.matrix.indptr[column + 1] - self.matrix.indptr[column])

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
        rows = len(ends) - 1
        width = len(vocab)
        kept = self.matrix if keep is None else self.matrix[np.flatnonzero(keep)]
        kept = _widened(kept, width)
        new = csr_matrix(
            (np.ones(len(indices), np.uint8), indices, indptr),
            shape=(rows, width),
        )
        matrix = vstack([kept, new], format="csc", dtype=np.uint8) if rows else kept.tocsc()
        matrix.sort_indices()
        return Postings(vocab, matrix)


def _widened(matrix: csc_matrix | csr_matrix, width: int) -> csc_matrix:
    """The same rows with `width` columns (new terms have no chunks yet)."""
    matrix = csc_matrix(matrix)
    if matrix.shape[1] == width:
        return matrix
    indptr = np.concatenate([matrix.indptr, np.full(width - matrix.shape[1], matrix.indptr[-1], matrix.indptr.dtype)])
    return csc_matrix((matrix.data, matrix.indices, indptr), shape=(matrix.shape[0], width))
