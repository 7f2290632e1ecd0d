"""A chunk x term matrix that takes a small edit at the cost of the edit, not of the matrix.

Re-slicing and stacking a 33,000-row CSC matrix to drop one row and append three cost
~0.2-0.4 s, paid by every running reader after every write by another process. So the
matrix is kept LSM-style: an immutable `base` (shared by successive snapshots), a small
`delta` of rows appended since, and a mask of the rows still alive; the logical matrix is
the alive base rows in order, then the alive delta rows in order — the rows a full rebuild
would hold, in the same order. A lookup reads the base's and the delta's columns and maps
their rows through the mask. Once the delta and the dropped rows pass COMPACT_SHARE of
the base, the next edit folds them into a new base (one full rebuild, as before, but only
every ~10 % of changes).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from scipy.sparse import csc_matrix, csr_matrix, vstack

COMPACT_SHARE = 0.1  # delta rows + dropped base rows past this share of the base: rebuilt as one matrix


@dataclass(frozen=True)
class LayeredMatrix:
    """Base + appended delta + alive mask; never changed once built (questions may still read an older one)."""

    base: csc_matrix
    delta: csc_matrix  # rows appended since the base was built, the dropped ones included
    alive: np.ndarray | None = None  # per physical row (base, then delta): still in the matrix; None: all are
    width: int = 0  # columns of the logical matrix (new terms widen it; the base keeps its own width)
    logical: np.ndarray | None = field(default=None, repr=False)  # physical row -> logical row, where alive

    @classmethod
    def of(cls, matrix: csc_matrix | csr_matrix) -> LayeredMatrix:
        """One matrix as the base, nothing appended or dropped."""
        base = csc_matrix(matrix)
        return cls(base, csc_matrix((0, base.shape[1]), dtype=base.dtype), None, int(base.shape[1]))

    @property
    def shape(self) -> tuple[int, int]:
        """The logical matrix's shape."""
        rows = self.base.shape[0] + self.delta.shape[0] if self.alive is None else int(np.count_nonzero(self.alive))
        return rows, self.width

    def __len__(self) -> int:
        return self.shape[0]

    @property
    def dtype(self) -> np.dtype:
        return self.base.dtype

    # -- editing
    def edited(self, keep: np.ndarray | None, added: csr_matrix | csc_matrix) -> LayeredMatrix:
        """The rows where `keep` is true (all if None), then the `added` rows: O(added + delta), not O(base).

        The base is shared, not copied; the dropped rows are only masked until the next compaction.
        """
        physical = self.base.shape[0] + self.delta.shape[0]
        alive = np.ones(physical, bool) if self.alive is None else self.alive.copy()
        if keep is not None and not keep.all():
            alive[np.flatnonzero(alive)[~keep]] = False
        rows = int(added.shape[0])
        delta = self.delta
        if rows:
            width = max(delta.shape[1], added.shape[1])
            delta = vstack([_widened(delta, width), _widened(added, width)], format="csc", dtype=self.dtype)
            alive = np.concatenate([alive, np.ones(rows, bool)])
        out = _layered(self.base, delta, None if alive.all() else alive, max(self.width, int(added.shape[1])))
        return out.compacted() if out._compaction_due() else out

    def compacted(self) -> LayeredMatrix:
        """The same matrix as one base (what a full rebuild gives)."""
        return LayeredMatrix.of(self.tocsc()) if self.alive is not None or self.delta.shape[0] else self

    def tocsc(self) -> csc_matrix:
        """The logical matrix as one CSC matrix, indices sorted (what the snapshot file stores)."""
        if self.alive is None and not self.delta.shape[0]:
            return _widened(self.base, self.width)
        b = self.base.shape[0]
        alive = np.ones(b + self.delta.shape[0], bool) if self.alive is None else self.alive
        parts = [
            _widened(part[np.flatnonzero(mask)], self.width)
            for part, mask in ((self.base, alive[:b]), (self.delta, alive[b:]))
        ]
        out = vstack(parts, format="csc", dtype=self.dtype)
        out.sort_indices()
        return out

    def _compaction_due(self) -> bool:
        base = self.base.shape[0]
        dropped = 0 if self.alive is None else base - int(np.count_nonzero(self.alive[:base]))
        return self.delta.shape[0] + dropped > COMPACT_SHARE * base

    # -- lookups
    def column(self, j: int) -> np.ndarray:
        """The logical rows holding column `j`, ascending (int32): the cost of that column, not of the matrix."""
        base = _column(self.base, j)
        if self.alive is None and not self.delta.shape[0]:
            return base
        rows = np.concatenate([base, _column(self.delta, j) + self.base.shape[0]])
        if self.alive is not None:
            assert self.logical is not None
            rows = self.logical[rows[self.alive[rows]]]
        return rows.astype(np.int32, copy=False)

    def column_count(self, j: int) -> int:
        """How many logical rows hold column `j`."""
        if self.alive is None:
            return _count(self.base, j) + _count(self.delta, j)
        return len(self.column(j))

    def dot(self, columns: np.ndarray, values: np.ndarray) -> np.ndarray:
        """Each logical row's dot product with a sparse vector (float32): only the vector's columns are read.

        Each row sums its terms in the vector's order, as one matrix's product would, so the
        scores are those of a full rebuild bit for bit.
        """
        scores = _dot(self.base, columns, values)
        if self.delta.shape[0]:
            scores = np.concatenate([scores, _dot(self.delta, columns, values)])
        return scores if self.alive is None else scores[self.alive]


def _layered(base: csc_matrix, delta: csc_matrix, alive: np.ndarray | None, width: int) -> LayeredMatrix:
    logical = None if alive is None else (np.cumsum(alive, dtype=np.int32) - 1)
    return LayeredMatrix(base, delta, alive, width, logical)


def _column(matrix: csc_matrix, j: int) -> np.ndarray:
    if j >= matrix.shape[1]:
        return np.zeros(0, np.int32)
    return matrix.indices[matrix.indptr[j] : matrix.indptr[j + 1]]


def _count(matrix: csc_matrix, j: int) -> int:
    return int(matrix.indptr[j + 1] - matrix.indptr[j]) if j < matrix.shape[1] else 0


def _dot(matrix: csc_matrix, columns: np.ndarray, values: np.ndarray) -> np.ndarray:
    inside = columns < matrix.shape[1]  # a term newer than this part: none of its rows holds it
    return np.asarray(matrix[:, columns[inside]] @ values[inside]).ravel()


def _widened(matrix: csc_matrix | csr_matrix, width: int) -> csc_matrix:
    """The same rows with `width` columns (new terms have no rows yet), as CSC."""
    matrix = csc_matrix(matrix)
    if matrix.shape[1] == width:
        return matrix
    indptr = np.concatenate([matrix.indptr, np.full(width - matrix.shape[1], matrix.indptr[-1], matrix.indptr.dtype)])
    return csc_matrix((matrix.data, matrix.indices, indptr), shape=(matrix.shape[0], width))
