"""Dates as people write them (header values, front matter, datelines) to ISO, in English and French.

Parsing is dateparser's job (month names and abbreviations in both languages,
'1er', ordinals, numeric forms); this module only decides *which* words to
hand it, so that a weekday, "today" or a day and month without a year never
become a date.
"""

from __future__ import annotations

import re
from datetime import date as Date
from datetime import datetime

import dateparser

from .nato_layout import parse_date

_LANGUAGES = ["en", "fr"]
# A full date or nothing: "14 mars" or "mardi" alone must stay unknown.
_SETTINGS = {"REQUIRE_PARTS": ["day", "month", "year"], "DATE_ORDER": "DMY", "PREFER_DATES_FROM": "past"}
_OPENING_CHARS = 400  # a dateline sits in the first sentence or two; later dates are about other events
_OPENING_LINES = 3


def to_iso(value: object) -> str | None:
    """ISO date (YYYY-MM-DD) of a declared date: a date object, ISO text, or free text like '16 May 2024'.

    None for what is no full date ('unknown', '2024', 'mardi').
    """
    if isinstance(value, datetime):
        return value.date().isoformat()
    if isinstance(value, Date):
        return value.isoformat()
    if not isinstance(value, str) or not value.strip():
        return None
    text = value.strip()
    iso = parse_date(text)  # the fast path: ISO and the nato.int forms
    if iso or not re.search(r"\d{4}", text):
        return iso
    parsed = dateparser.parse(text, languages=_LANGUAGES, settings=_SETTINGS)
    return parsed.date().isoformat() if parsed else None


# Where dateparser's own search (dateparser.search.search_dates) would take "today", "Tuesday" or a bare
# number for dates, these patterns only find day-month-year phrases, written either way round, with a
# range's first day kept ("20-21 March 2023", "du 13 au 15 septembre 2024", "30 June - 1 July 2024").
_DAY = r"\d{1,2}(?:er|st|nd|rd|th)?"
_MONTH = r"[^\W\d_]{3,}\.?"
_YEAR = r"(?:19|20)\d{2}"
_TO = r"\s*(?:-|–|—|/|&|and|et|to|au|à)\s*"
_DATE_PHRASES = [
    re.compile(rf"\b(?P<day>{_DAY}){_TO}{_DAY}\s+(?P<month>{_MONTH}),?\s+(?P<year>{_YEAR})\b", re.IGNORECASE),
    re.compile(
        rf"\b(?P<day>{_DAY})\s+(?P<month>{_MONTH}){_TO}{_DAY}\s+{_MONTH},?\s+(?P<year>{_YEAR})\b", re.IGNORECASE
    ),
    re.compile(rf"\b(?P<day>{_DAY})\s+(?P<month>{_MONTH}),?\s+(?P<year>{_YEAR})\b", re.IGNORECASE),
    re.compile(rf"\b(?P<month>{_MONTH})\s+(?P<day>{_DAY}){_TO}{_DAY},?\s+(?P<year>{_YEAR})\b", re.IGNORECASE),
    re.compile(rf"\b(?P<month>{_MONTH})\s+(?P<day>{_DAY}),?\s+(?P<year>{_YEAR})\b", re.IGNORECASE),
    re.compile(r"\b(?P<iso>(?:19|20)\d{2}-\d{2}-\d{2})\b"),
]


def dateline_date(body: str) -> str | None:
    """The date of a body's dateline or first explicit date in its opening lines, as ISO; else None.

    "BRUSSELS, 16 May 2024 -", "Le 11 juin 2024, …", "On 20-21 March 2023, …", "Ce mardi (14 mars 2023)".
    """
    lines = [line for line in body.split("\n") if line.strip()][:_OPENING_LINES]
    opening = "\n".join(lines)[:_OPENING_CHARS]
    candidates: list[tuple[int, str]] = []
    for pattern in _DATE_PHRASES:
        for match in pattern.finditer(opening):
            iso = _phrase_date(match)
            if iso:
                candidates.append((match.start(), iso))
                break
    return min(candidates)[1] if candidates else None


def _phrase_date(match: re.Match[str]) -> str | None:
    if match.groupdict().get("iso"):
        return parse_date(match["iso"])
    day = re.sub(r"\D", "", match["day"])
    parsed = dateparser.parse(f"{day} {match['month']} {match['year']}", languages=_LANGUAGES, settings=_SETTINGS)
    return parsed.date().isoformat() if parsed else None
