"""The Index tab's release list and coverage chart, as pandas frames built from index.catalog's ReleaseInfo."""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path, PurePath

import pandas as pd

from index.catalog import ReleaseInfo
from index.dates import date_int
from index.load import is_url

from .present import lang_name

COLUMNS = ["Title", "Date", "Language", "Chunks", "Source"]
CHART_COLUMNS = ["Year", "Language", "Releases"]


def release_key(release: ReleaseInfo) -> str:
    """A short opaque id of a release (the source path never reaches the page)."""
    return hashlib.sha256(release.source.encode("utf-8")).hexdigest()[:16]


def shown_source(release: ReleaseInfo, uploads_dir: Path) -> str:
    """The URL; an upload's stored name; another file by its name only (never the server's folders)."""
    if release.url:
        return release.url
    if is_url(release.source):
        return release.source
    path = PurePath(release.source.replace("\\", "/"))
    try:
        return "uploads/" + str(Path(release.source).resolve().relative_to(uploads_dir.resolve()))
    except (ValueError, OSError):
        return path.name or release.source


@dataclass(frozen=True)
class ReleaseFilter:
    """What the user typed above the list: text (in title or source), language code, inclusive date bounds."""

    text: str = ""
    lang: str | None = None
    date_from: str | None = None  # YYYY[-MM[-DD]], already checked
    date_to: str | None = None

    def admits(self, release: ReleaseInfo, source: str) -> bool:
        """True when the release passes every filter given (a date bound admits only dated releases)."""
        needle = self.text.strip().casefold()
        if needle and needle not in release.title.casefold() and needle not in source.casefold():
            return False
        if self.lang and release.lang != self.lang:
            return False
        if self.date_from or self.date_to:
            if not release.date:
                return False
            day = date_int(release.date[:10])
            if self.date_from and day < date_int(self.date_from):
                return False
            if self.date_to and day > date_int(self.date_to, end=True):
                return False
        return True


def release_table(
    releases: Sequence[ReleaseInfo], uploads_dir: Path, where: ReleaseFilter = ReleaseFilter()
) -> tuple[pd.DataFrame, list[tuple[str, str]]]:
    """The rows to show (COLUMNS) and, for the removal picker, (label, key) of the same releases."""
    rows, choices = [], []
    for release in releases:
        source = shown_source(release, uploads_dir)
        if not where.admits(release, source):
            continue
        rows.append([release.title or source, release.date or "", lang_name(release.lang), release.chunks, source])
        choices.append((choice_label(release, source), release_key(release)))
    return pd.DataFrame(rows, columns=COLUMNS), choices


def choice_label(release: ReleaseInfo, source: str) -> str:
    """How a release is named in the removal picker."""
    return f"{release.title or source} ({release.date or 'undated'}, {release.lang}) — {source}"


def key_of_row(releases: Sequence[ReleaseInfo], uploads_dir: Path, row: Sequence[object]) -> str | None:
    """The key of the release a clicked table row shows (matched on title, date and source), or None."""
    if not row or len(row) < len(COLUMNS):
        return None
    title, day, source = str(row[0]), str(row[1] or ""), str(row[4])
    for release in releases:
        shown = shown_source(release, uploads_dir)
        if shown == source and (release.title or shown) == title and (release.date or "") == day:
            return release_key(release)
    return None


def coverage_frame(releases: Sequence[ReleaseInfo]) -> pd.DataFrame:
    """Releases per year and language (CHART_COLUMNS); years without any release between the first and last get 0."""
    dated = [(r.date[:4], lang_name(r.lang)) for r in releases if r.date and r.date[:4].isdigit()]
    if not dated:
        return pd.DataFrame(columns=CHART_COLUMNS)
    langs = sorted({lang for _, lang in dated})
    years = range(min(int(y) for y, _ in dated), max(int(y) for y, _ in dated) + 1)
    counts = {(str(y), lang): 0 for y in years for lang in langs}
    for key in dated:
        counts[key] += 1
    return pd.DataFrame([[y, lang, n] for (y, lang), n in counts.items()], columns=CHART_COLUMNS)


def undated_count(releases: Sequence[ReleaseInfo]) -> int:
    """How many releases carry no date (they are not in the chart)."""
    return sum(1 for r in releases if not r.date)
