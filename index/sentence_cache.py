"""Sentence vectors by text hash, so that no sentence is embedded twice.

A sentence's vector depends on its text alone (the model reads each sentence on its own, and
the bundled engine gives the same bits whatever the batch or thread: checked when this was
written), so a sentence met again — boilerplate ("(As delivered)", "Ladies and gentlemen,",
a re-posting site's footer) in another release, the unchanged sentences of an edited
passage — takes the vector already computed or stored. Rows are kept as stored: float16
(`index.stored_vectors`), so a reused row encodes to the same bytes as a fresh one.
"""

from __future__ import annotations

import hashlib
import json
from collections import OrderedDict
from collections.abc import Iterable, Sequence

import numpy as np

RECENT_SENTENCES = 20_000  # rows kept (~0.9 KB each with a 384-float vector): ~18 MiB at most


def sentence_key(text: str) -> bytes:
    return hashlib.sha256(text.encode("utf-8")).digest()


class SentenceCache:
    """A bounded LRU of float16 sentence vectors, keyed by the sha256 of the sentence text."""

    def __init__(self, dim: int, size: int = RECENT_SENTENCES) -> None:
        self.dim = dim
        self.size = size
        self._rows: OrderedDict[bytes, np.ndarray] = OrderedDict()

    def __len__(self) -> int:
        return len(self._rows)

    def known(self, texts: Iterable[str]) -> dict[bytes, np.ndarray]:
        """The rows held for these texts, by `sentence_key` (a text without one is left out)."""
        found: dict[bytes, np.ndarray] = {}
        for text in texts:
            key = sentence_key(text)
            row = self._rows.get(key)
            if row is not None:
                self._rows.move_to_end(key)
                found[key] = row
        return found

    def put(self, texts: Sequence[str], matrix: np.ndarray) -> dict[bytes, np.ndarray]:
        """Remember one row per text, kept as float16 (as stored); the rows by key."""
        rows = {sentence_key(text): row for text, row in zip(texts, np.asarray(matrix, "<f2"))}
        for key, row in rows.items():
            self._put(key, row)
        return rows

    def remember_stored(self, text: str, spans_json: object, rows: np.ndarray) -> None:
        """The sentence vectors a stored chunk holds (its text, `sentences` spans, decoded rows), when they agree."""
        try:
            spans = json.loads(str(spans_json))
        except (ValueError, TypeError):
            return
        if len(rows) != len(spans):
            return
        for (start, end), row in zip(spans, np.asarray(rows, "<f2")):  # stored as float16: back to the same bits
            self._put(sentence_key(text[start:end]), row)

    def _put(self, key: bytes, row: np.ndarray) -> None:
        self._rows[key] = row
        self._rows.move_to_end(key)
        while len(self._rows) > self.size:
            self._rows.popitem(last=False)
