"""`key: value` header lines at the top of a text file (title, date, updated, url/source, lang).

Two layouts are common: the header alone ("title: …", "date: …", then the body),
and a bare title line followed by the header (the dev2 corpus:
"<title>" / "date: 2024-06-11" / "url: …" / "lang: fr", a blank line, the body).
The header ends at the first line that is not one of these keys.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from .fetch import is_url

# A header line is an identifier, a colon and a value; only these keys count (case-insensitive).
# A pattern, not a YAML parser: these lines have no fences, so YAML would have to guess where they
# end, and would reject or swallow the body ('Source: NATO', colons in the first sentence).
_KEY_LINE = re.compile(r"^\s*(?P<key>[A-Za-z_-]+)\s*:\s*(?P<value>.*?)\s*$")
_KEYS = {
    "title": "title",
    "date": "date",
    "published": "date",
    "updated": "updated",
    "modified": "updated",
    "url": "url",
    "source": "url",
    "link": "url",
    "lang": "lang",
    "language": "lang",
    "langue": "lang",
}


@dataclass(frozen=True)
class TextHeader:
    """The fields of a `key: value` header (values as written) and the text after it."""

    fields: dict[str, str]
    title_line: str | None  # a bare first line above the header, taken as the title
    body: str


def _field(line: str) -> tuple[str, str] | None:
    """(field, value) for a header line, else None; 'source: NATO' (no URL) is a credit line, not a header."""
    match = _KEY_LINE.match(line)
    if not match:
        return None
    key = _KEYS.get(match["key"].lower())
    if key is None or (key == "url" and match["value"] and not is_url(match["value"])):
        return None
    return key, match["value"]


def split_key_header(text: str) -> TextHeader | None:
    """The header at the top of ``text``, or None when the text does not start with one."""
    lines = text.split("\n")
    start = next((i for i, line in enumerate(lines) if line.strip()), len(lines))
    title_line = None
    if start + 1 < len(lines) and _field(lines[start]) is None and _field(lines[start + 1]) is not None:
        title_line = lines[start].strip()
        start += 1
    fields: dict[str, str] = {}
    end = start
    while end < len(lines) and (field := _field(lines[end])) is not None:
        fields.setdefault(*field)
        end += 1
    if not fields:
        return None
    return TextHeader(fields, title_line, "\n".join(lines[end:]))
