"""The same release under two sources (a file uploaded twice under two names): index it once.

Two releases are the same when their title, publication date and body text match
once case and whitespace are set aside. An English/French pair differs in all
three; a copy with another date is another release (the benchmark's synthetic
copies stay distinct).
"""
from __future__ import annotations

import hashlib

from index.release import Release


def release_key(release: Release) -> str:
    """A fingerprint of what makes two releases the same: title, date and body, normalised."""
    parts = (_fold(release.title), release.date or "", _fold(release.text))
    return hashlib.sha256("\x00".join(parts).encode("utf-8")).hexdigest()


def _fold(text: str) -> str:
    return " ".join(text.split()).casefold()


class Duplicates:
    """Remembers the releases read so far, to name the first source of a repeated one."""

    def __init__(self) -> None:
        self._first: dict[str, str] = {}

    def original_of(self, release: Release) -> str | None:
        """The source that already holds this release under another name, else None (and remember it)."""
        key = release_key(release)
        first = self._first.setdefault(key, release.source)
        return first if first != release.source else None
