"""Chunk id -> position in a snapshot, kept up to date at the cost of an edit, not of the snapshot.

Numbering every id again after each delta cost ~29 ms at 100,000 chunks (a Python loop),
paid by every reader after every write. So each id keeps the number it was given when
first seen (a dict shared by successive snapshots, plus a small one for the ids added
since), and a numpy array maps numbers to current positions (-1: dropped); an edit only
renumbers that array (vectorised) and adds the new ids. Once the ids added since pass
RENUMBER_SHARE of the shared dict, the next edit numbers everything afresh.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence

import numpy as np

RENUMBER_SHARE = 0.1  # ids added since the last numbering, as a share of it, before everything is numbered again


class Positions(Mapping[str, int]):
    """A read-only id -> position mapping; never changed once built (questions may still read an older one)."""

    def __init__(self, numbered: dict[str, int], added: dict[str, int], now: np.ndarray, size: int) -> None:
        self._numbered = numbered  # id -> number, at the last numbering (shared, never changed)
        self._added = added  # id -> number, for ids (re-)added since (they take precedence)
        self._now = now  # number -> current position, -1 once dropped
        self._size = size

    @classmethod
    def of(cls, ids: Sequence[str]) -> Positions:
        """The positions of these ids, in order (numbers = positions)."""
        return cls({id_: i for i, id_ in enumerate(ids)}, {}, np.arange(len(ids), dtype=np.int64), len(ids))

    def edited(self, keep: np.ndarray, added: Sequence[str], ids: Sequence[str]) -> Positions:
        """After dropping the positions where `keep` is false and appending `added`; `ids`: all ids after the edit.

        `ids` is only read when everything is numbered again (every ~10 % of changes).
        """
        if len(self._added) + len(added) > RENUMBER_SHARE * len(self._numbered):
            return Positions.of(ids)
        shifted = np.cumsum(keep, dtype=np.int64) - 1  # a kept position's new place
        alive = self._now >= 0
        now = np.full(len(self._now) + len(added), -1, np.int64)
        now[: len(self._now)][alive] = np.where(keep[self._now[alive]], shifted[self._now[alive]], -1)
        now[len(self._now) :] = np.arange(len(added)) + int(np.count_nonzero(keep))
        fresh = dict(self._added)
        fresh.update(zip(added, range(len(self._now), len(now))))
        return Positions(self._numbered, fresh, now, int(np.count_nonzero(keep)) + len(added))

    def __getitem__(self, id_: str) -> int:
        position = self._position(id_)
        if position < 0:
            raise KeyError(id_)
        return position

    def __contains__(self, id_: object) -> bool:
        return isinstance(id_, str) and self._position(id_) >= 0

    def _position(self, id_: str) -> int:
        number = self._added.get(id_, self._numbered.get(id_))
        return -1 if number is None else int(self._now[number])

    def __iter__(self) -> Iterator[str]:
        for id_ in self._numbered:
            if id_ not in self._added and self._now[self._numbered[id_]] >= 0:
                yield id_
        for id_, number in self._added.items():
            if self._now[number] >= 0:
                yield id_

    def __len__(self) -> int:
        return self._size
