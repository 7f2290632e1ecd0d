"""Inverted indexes over the snapshot's chunks: which chunks hold a term, at the cost of that term's postings.

A question touches a few terms; looking each up here costs its postings, not the number
of chunks. Stored as a chunk x term 0/1 matrix in CSC form (scipy), so that a term's
chunks are one column slice, and rows (chunks) can be dropped or appended when the index
changes without re-reading any text.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from itertools import chain

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

    def edited(self, keep: np.ndarray | None, added: Sequence[Iterable[str]]) -> Postings:
        """A new Postings: the chunks where `keep` is true (all if None), then the `added` chunks, in order."""
        vocab = dict(self.vocab)
        rows = [set(terms) for terms in added]
        flat = list(chain.from_iterable(rows))
        for term in dict.fromkeys(flat):  # each distinct term once, not every occurrence (a full read: ~1M)
            if term not in vocab:
                vocab[term] = len(vocab)
        indices = np.fromiter(map(vocab.__getitem__, flat), np.int32, len(flat))
        indptr = np.concatenate([[0], np.cumsum([len(row) for row in rows], dtype=np.int64)])
        width = len(vocab)
        kept = self.matrix if keep is None else self.matrix[np.flatnonzero(keep)]
        kept = _widened(kept, width)
        new = csr_matrix(
            (np.ones(len(indices), np.uint8), indices, indptr),
            shape=(len(added), width),
        )
        matrix = vstack([kept, new], format="csc", dtype=np.uint8) if len(added) else kept.tocsc()
        matrix.sort_indices()
        return Postings(vocab, matrix)


def _widened(matrix: csc_matrix | csr_matrix, width: int) -> csc_matrix:
    """The same rows with `width` columns (new terms have no chunks yet)."""
    matrix = csc_matrix(matrix)
    if matrix.shape[1] == width:
        return matrix
    indptr = np.concatenate([matrix.indptr, np.full(width - matrix.shape[1], matrix.indptr[-1], matrix.indptr.dtype)])
    return csc_matrix((matrix.data, matrix.indices, indptr), shape=(matrix.shape[0], width))
