"""The text layout of nato.int release pages: title line, date bullets, body; and its dates.

Release pages on nato.int share a layout that survives copy-paste into plain
text (and trafilatura's HTML extraction)::

    NATO Secretary General concludes visit to Australia and New Zealand

      • 05 Aug. 2019 - 08 Aug. 2019
      • |
      • Last updated: 08 Aug. 2019 12:28

    NATO Secretary General Jens Stoltenberg paid his respects ...

The title and the bullet lines are parsed into ``Release`` fields and removed
from the body, whatever the format the text came from.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date as Date

from index.language import month_number

_DAY_MONTH_YEAR = r"\d{1,2}(?:er|st|nd|rd|th)?\.?\s+[^\W\d_]+\.?,?\s+\d{4}"
_MONTH_DAY_YEAR = r"[^\W\d_]+\.?\s+\d{1,2}(?:st|nd|rd|th)?,?\s+\d{4}"
_ISO = r"\d{4}-\d{2}-\d{2}"
_DATE = rf"(?:{_DAY_MONTH_YEAR}|{_MONTH_DAY_YEAR}|{_ISO})"
_BULLET = r"\s*(?:[•·*\-–]\s*)?"
_UPDATED_WORDS = r"(?:last\s+updated|updated|last\s+modified|mis\s+[àa]\s+jour\s+le|derni[èe]re\s+mise\s+[àa]\s+jour)"
_TIME = r"(?:\s*[-,]?\s*\d{1,2}[:h]\d{2})?"
# Other sites' and converters' date lines: "Published: 11 June 2024", "Publié le 11 juin 2024",
# "Date: 2024-06-11", optionally with the update on the same line ("… | Last updated: 20 June 2024").
_PUBLISHED_WORDS = r"(?:(?:published|posted|date|publi[ée]e?|date\s+de\s+publication)(?:\s+(?:on|le))?\s*:?\s*)?"
_PUBLISHED_LINE = re.compile(
    rf"^{_BULLET}{_PUBLISHED_WORDS}(?P<date>{_DATE}){_TIME}(?:\s*[-–]\s*(?:{_DATE})?)?"
    rf"(?:\s*[|·•,;–-]\s*{_UPDATED_WORDS}\s*:?\s*(?P<updated>{_DATE}){_TIME})?\s*$",
    re.IGNORECASE,
)
_UPDATED_LINE = re.compile(rf"^{_BULLET}{_UPDATED_WORDS}\s*:?\s*(?P<date>{_DATE}){_TIME}\s*$", re.IGNORECASE)
_SEPARATOR_LINE = re.compile(rf"^{_BULLET}\|?\s*$")


def parse_date(text: str) -> str | None:
    """ISO date (YYYY-MM-DD) from '11 Jun. 2024', '1er décembre 2014', 'June 11, 2024' or ISO; else None."""
    text = text.strip()
    iso = re.match(r"(\d{4})-(\d{2})-(\d{2})", text)
    if iso:
        return iso_date(int(iso[1]), int(iso[2]), int(iso[3]))
    match = re.match(r"(\d{1,2})(?:er|st|nd|rd|th)?\.?\s+([^\W\d_]+)\.?,?\s+(\d{4})", text)
    if match:
        day, month_name, year = match.groups()
    else:
        match = re.match(r"([^\W\d_]+)\.?\s+(\d{1,2})(?:st|nd|rd|th)?,?\s+(\d{4})", text)
        if not match:
            return None
        month_name, day, year = match.groups()
    month = month_number(month_name)
    return iso_date(int(year), month, int(day)) if month else None


def iso_date(year: int, month: int, day: int) -> str | None:
    """'YYYY-MM-DD' if the three numbers make a real calendar day, else None."""
    try:
        return Date(year, month, day).isoformat()
    except ValueError:
        return None


@dataclass(frozen=True)
class _Header:
    """A text split into its nato.int header fields and its body."""

    title: str | None
    date: str | None
    updated: str | None
    body: str
    found: bool  # whether any date/updated/separator bullet line was found


def _header_line(line: str) -> list[tuple[str, str | None]] | None:
    """[('published'|'updated'|'separator', ISO date), …] for a header bullet line, else None."""
    if not line.strip():
        return None
    if match := _PUBLISHED_LINE.match(line):
        fields = [("published", parse_date(match["date"]))]
        return fields + [("updated", parse_date(match["updated"]))] if match["updated"] else fields
    if match := _UPDATED_LINE.match(line):
        return [("updated", parse_date(match["date"]))]
    if _SEPARATOR_LINE.match(line):
        return [("separator", None)]
    return None


def split_header(text: str, *, title_line: bool = True) -> _Header:
    """Take the title line (if ``title_line``) and the bullet lines after it off the top of ``text``."""
    lines = text.split("\n")
    start = next((i for i, line in enumerate(lines) if line.strip()), len(lines))
    title = None
    if title_line and start < len(lines) and _header_line(lines[start]) is None:
        title = lines[start].strip()
        start += 1
    published = updated = None
    found = False
    end = start
    while end < len(lines):
        if lines[end].strip():
            field = _header_line(lines[end])
            if field is None:
                break
            found = True
            for kind, day in field:
                if kind == "published" and published is None:
                    published = day
                elif kind == "updated" and updated is None:
                    updated = day
        end += 1
    body = "\n".join(lines[end if found else start :])
    return _Header(title, published, updated, body, found)
