"""The releases an index holds, one entry per release: for `python -m index list|status` and the app's release list.

Read from Chroma itself (the source of truth), paging through large collections.
Never writes.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

from .settings import Settings
from .store import metadatas_of, open_collection

_PAGE = 5000
_FIELDS = ("source", "title", "date", "date_source", "updated", "lang", "url")


@dataclass(frozen=True)
class ReleaseInfo:
    """What a user sees of one indexed release."""

    source: str
    title: str
    date: str | None
    date_source: str | None
    updated: str | None
    lang: str
    url: str | None
    chunks: int

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def list_releases(
    settings: Settings, *, lang: str | None = None, date_from: str | None = None, date_to: str | None = None
) -> list[ReleaseInfo]:
    """Every indexed release (newest first, undated last), optionally one language and an inclusive ISO date range.

    A date range admits only dated releases; `date_from="2024"` and `date_to="2024-06"` are prefixes.
    """
    collection = open_collection(settings)
    first: dict[str, dict[str, Any]] = {}
    chunks: dict[str, int] = {}
    offset = 0
    while True:
        page = collection.get(include=["metadatas"], limit=_PAGE, offset=offset)
        for meta in metadatas_of(page):
            source = str(meta.get("source", ""))
            first.setdefault(source, meta)
            chunks[source] = chunks.get(source, 0) + 1
        if len(page["ids"]) < _PAGE:
            break
        offset += _PAGE
    releases = [
        ReleaseInfo(
            source=s,
            title=str(m.get("title", "")),
            date=m.get("date"),
            date_source=m.get("date_source"),
            updated=m.get("updated"),
            lang=str(m.get("lang", "")),
            url=m.get("url"),
            chunks=chunks[s],
        )
        for s, m in first.items()
    ]
    releases = [r for r in releases if _admits(r, lang, date_from, date_to)]
    releases.sort(key=lambda r: (r.date is None, "" if r.date is None else _negated(r.date), r.title.casefold()))
    return releases


def _admits(release: ReleaseInfo, lang: str | None, date_from: str | None, date_to: str | None) -> bool:
    if lang and release.lang != lang:
        return False
    if not (date_from or date_to):
        return True
    date = release.date
    if not date:
        return False
    if date_from and date[: len(date_from)] < date_from:
        return False
    if date_to and date[: len(date_to)] > date_to:
        return False
    return True


def _negated(iso: str) -> str:
    """A key that sorts ISO dates newest first."""
    return "".join(chr(0x10FFFF - ord(c)) for c in iso)
