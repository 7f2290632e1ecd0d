"""ISO date bounds (YYYY, YYYY-MM or YYYY-MM-DD), the one parser for date filters.

Used by the bot's filters (bot.search), the app's filters and the release list.
"""

from __future__ import annotations

import calendar
import re
from datetime import date

ISO_PREFIX = re.compile(r"\d{4}(?:-\d{2}(?:-\d{2})?)?")


def date_bound(text: str, end: bool = False) -> date:
    """First (or, with `end`, last) day that a YYYY[-MM[-DD]] date covers; ValueError when it is no such date."""
    value = str(text).strip()
    if not ISO_PREFIX.fullmatch(value):
        raise ValueError(f"not an ISO date: {text!r} (use YYYY, YYYY-MM or YYYY-MM-DD)")
    parts = [int(p) for p in value.split("-")]
    year = parts[0]
    month = parts[1] if len(parts) > 1 else (12 if end else 1)
    if not 1 <= month <= 12:
        raise ValueError(f"no month {month} in {text!r}")
    day = parts[2] if len(parts) > 2 else (calendar.monthrange(year, month)[1] if end else 1)
    return date(year, month, day)


def date_int(text: str, end: bool = False) -> int:
    """The bound as YYYYMMDD, the number the index stores as `date_int` (Chroma compares numbers)."""
    bound = date_bound(text, end)
    return bound.year * 10000 + bound.month * 100 + bound.day
