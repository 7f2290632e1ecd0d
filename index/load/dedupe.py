"""The same release under two sources (a file uploaded twice under two names): index it once.

Two releases are the same when their title, publication date and body text match
once case and whitespace are set aside. An English/French pair differs in all
three; a copy with another date is another release (the benchmark's synthetic
copies stay distinct).

Only files are compared: a URL is the page's own name (a link that redirects to
a page already read is still fetched and kept as given, as feeds expect).
"""

from __future__ import annotations

from collections.abc import Callable

from index.release import Release, Unchanged

from .fetch import is_url


class Duplicates:
    """Remembers the releases read so far, to name the first source of a repeated one.

    ``indexed_copy(release)`` names a source the index already holds this release
    under (its own source first), so that uploading a file again under another
    name is caught across runs too.
    """

    def __init__(self, indexed_copy: Callable[[Release], str | None] = lambda release: None) -> None:
        self._first: dict[str, str] = {}
        self._indexed_copy = indexed_copy

    def original_of(self, release: Release) -> str | None:
        """The file that already holds this release under another name, else None (and remember it)."""
        if is_url(release.source):
            return None
        return self._original(release.source, release.release_key, lambda: self._indexed_copy(release))

    def original_of_unchanged(self, item: Unchanged) -> str | None:
        """As `original_of`, for a file the index holds as it is: under its own name, no need to ask the index."""
        return self._original(item.source, item.release_key, lambda: item.source)

    def _original(self, source: str, key: str, indexed_copy: Callable[[], str | None]) -> str | None:
        first = self._first.get(key)
        if first is None:
            indexed = indexed_copy()
            first = self._first[key] = indexed if indexed and not is_url(indexed) else source
        return first if first != source else None
