"""The indexed releases as `python -m index list` and `status --undated` print them: one line each, or JSON."""

from __future__ import annotations

import json
import re
from argparse import ArgumentTypeError

from .catalog import ReleaseInfo

_TITLE_CHARS = 70
_DATE_PREFIX = re.compile(r"\d{4}(-\d{2}(-\d{2})?)?")  # a prefix of an ISO date, not a date to parse


def date_prefix(value: str) -> str:
    """An argparse type for --from/--to: YYYY, YYYY-MM or YYYY-MM-DD (what list_releases compares as a prefix)."""
    if not _DATE_PREFIX.fullmatch(value.strip()):
        raise ArgumentTypeError(f"'{value}' is not a date (expected YYYY, YYYY-MM or YYYY-MM-DD)")
    return value.strip()


def release_lines(releases: list[ReleaseInfo]) -> list[str]:
    """A table a person can scan: date, where the date came from, language, chunks, title, source."""
    rows = [
        (r.date or "undated", r.date_source or "-", r.lang, str(r.chunks), _short(r.title), r.source) for r in releases
    ]
    header = ("date", "date source", "lang", "chunks", "title", "source")
    widths = [max(len(row[i]) for row in [header, *rows]) for i in range(5)]
    lines = [
        "  ".join(
            cell.ljust(width) if i != 3 else cell.rjust(width) for i, (cell, width) in enumerate(zip(row, widths))
        )
        + "  "
        + row[5]
        for row in [header, *rows]
    ]
    undated = sum(1 for r in releases if r.date is None)
    lines.append(f"{len(releases)} releases, {undated} undated")
    return [line.rstrip() for line in lines]


def releases_json(releases: list[ReleaseInfo]) -> str:
    """The same releases for programs: a JSON list of ReleaseInfo fields."""
    return json.dumps([r.to_dict() for r in releases], ensure_ascii=False, indent=2)


def _short(title: str) -> str:
    title = " ".join(title.split())
    return title if len(title) <= _TITLE_CHARS else title[: _TITLE_CHARS - 1].rstrip() + "…"
