"""Plain text and Markdown to a Release, whatever layout the metadata comes in.

Tried in this order, the first that gives a field wins, and ``date_source``
says which one gave the date:

1. YAML front matter (``front_matter``), in .md and .txt alike;
2. ``key: value`` header lines (``header``), with or without a bare title line above them;
3. Markdown's first ``# `` heading, for the title only;
4. the nato.int layout (``nato_layout``): date and "Last updated" bullets under the title;
5. the dateline or first explicit date of the body's opening lines (``dateline``),
   unless a header or front matter said the date is unknown.

Only the body is indexed: header lines and front matter never reach ``Release.text``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from index.release import Release

from .assemble import make_release, normalise, title_and_rest
from .dates import to_iso
from .errors import SourceError
from .fetch import is_url
from .front_matter import split_front_matter
from .header import split_key_header
from .language import declared_lang
from .nato_layout import split_header

# What people write for "no date": the file says so, and no date is guessed from the body.
_UNKNOWN = {"unknown", "inconnu", "inconnue", "n/a", "na", "none", "null", "-", "?", "undated", "non daté", "non datée"}


@dataclass(frozen=True)
class Declared:
    """Metadata a file declares about itself (front matter or header lines), not found in its body."""

    title: str | None = None
    date: str | None = None
    updated: str | None = None
    url: str | None = None
    lang: str | None = None
    date_unknown: bool = False  # the date field is there and says "unknown"
    source: str | None = None  # 'front_matter' or 'header'


# Front matter key names in use (Jekyll, Hugo, Pelican, Zola, schema.org-minded exports), first found wins.
_DATE_KEYS = ("date", "published", "pubdate", "publishdate", "publish_date", "date_published", "datepublished")
_UPDATED_KEYS = ("updated", "modified", "lastmod", "last_modified", "date_modified", "datemodified", "last_updated")
_URL_KEYS = ("url", "source", "link", "source_url", "canonical_url", "canonical", "original_url", "permalink")


def _first(fields: dict[str, Any], keys: tuple[str, ...]) -> Any:
    return next((fields[key] for key in keys if fields.get(key) not in (None, "")), None)


def _declared(fields: dict[str, Any], title_line: str | None, source: str) -> Declared:
    date = _first(fields, _DATE_KEYS)
    raw_url = next((value for key in _URL_KEYS if isinstance(value := fields.get(key), str) and is_url(value)), None)
    title = fields.get("title")
    return Declared(
        title=str(title).strip() if title not in (None, "") else title_line,
        date=to_iso(date),
        updated=to_iso(_first(fields, _UPDATED_KEYS)),
        url=raw_url.strip() if isinstance(raw_url, str) and is_url(raw_url) else None,
        lang=declared_lang(fields.get("lang", fields.get("language"))),
        date_unknown=any(key in fields for key in _DATE_KEYS)
        and (date is None or (isinstance(date, str) and date.strip().lower() in _UNKNOWN)),
        source=source,
    )


def split_declared(text: str) -> tuple[Declared, str]:
    """Front matter or `key: value` header of a normalised text, and the text after it."""
    front = split_front_matter(text)
    if front is not None:
        fields, rest = front
        return _declared(fields, None, "front_matter"), rest
    header = split_key_header(text)
    if header is not None:
        return _declared(header.fields, header.title_line, "header"), header.body
    return Declared(), text


def parse_release_text(text: str, source: str, *, url: str | None = None, markdown: bool = False) -> Release:
    """A release from plain text or Markdown in any of the layouts above."""
    text = normalise(text)
    if not text.strip():
        raise SourceError("no text")
    declared, text = split_declared(text)
    title = declared.title
    link, text = _closing_source_link(text)
    if markdown:
        title, text = _markdown_title(text, title)
        text = _strip_markdown(text)
    # a body that opens with the title again (re-posts, the dev2 files) may still carry the nato.int date bullets
    nato = split_header(text, title_line=not title or _opens_with(text, title))
    if nato.found:
        title, body = title or nato.title, nato.body
    elif title:
        body = text
    else:
        title, body = title_and_rest(text)
    return make_release(
        source,
        title,
        body,
        dates=[(declared.date, declared.source), (nato.date, "nato_layout")],
        guess_date=not declared.date_unknown,
        updated=declared.updated or nato.updated,
        url=url or declared.url or link,
        lang=declared.lang,
    )


def _opens_with(text: str, title: str) -> bool:
    first = next((line for line in text.split("\n") if line.strip()), "")
    return " ".join(first.split()).casefold() == " ".join(title.split()).casefold()


# A last line that only names where the release comes from: "Source: <https://…>", "[Source](https://…)",
# "Lien : https://…", "Read the original: …", or a bare URL. It is the release's URL, not body text.
_SOURCE_LABEL = r"(?:source|sources|original|original\s+article|read\s+the\s+original|lien|link|source\s+originale)"
_CLOSING_LINK = re.compile(
    rf"^\s*(?:\[(?:{_SOURCE_LABEL})\]\((?P<md>https?://[^)\s]+)\)"
    rf"|(?:(?:\*\*|__)?{_SOURCE_LABEL}(?:\*\*|__)?\s*:?\s*(?:\*\*|__)?\s*)?<?(?P<plain>https?://[^\s>]+)>?)\s*$",
    re.IGNORECASE,
)


def _closing_source_link(text: str) -> tuple[str | None, str]:
    """(URL, text without it) when the text's last line only gives the source's address; else (None, text)."""
    stripped = text.rstrip()
    head, _, last = stripped.rpartition("\n")
    match = _CLOSING_LINK.match(last)
    if not match or not head.strip():
        return None, text
    return (match["md"] or match["plain"]).rstrip(".,;"), head


_H1 = re.compile(r"^#[ \t]+(?P<title>.+?)[ \t#]*$", re.MULTILINE)
_SETEXT_H1 = re.compile(r"\A\s*(?P<title>[^\n]*\S[^\n]*)\n[ \t]{0,3}=+[ \t]*$", re.MULTILINE)


def _markdown_title(text: str, title: str | None) -> tuple[str | None, str]:
    """The first '# ' heading (or a Setext title, underlined '===', opening the text) as title, taken out
    of the text, unless a declared title differs from it."""
    heading = _SETEXT_H1.match(text) or _H1.search(text)
    if heading and (not title or heading["title"].strip() == title):
        return title or heading["title"].strip(), text[: heading.start()] + text[heading.end() :]
    return title, text


def _strip_markdown(text: str) -> str:
    """Remove the Markdown syntax that would pollute the indexed text; keep the words.

    Regexes rather than a Markdown renderer: only inline marks go, the line structure
    (which the nato.int layout and the chunker rely on) stays exactly as written.
    """
    text = re.sub(r"!\[[^\]]*\]\([^)]*\)", "", text)  # images
    text = re.sub(r"\[([^\]]+)\]\([^)]*\)", r"\1", text)  # links -> their text
    text = re.sub(r"^[ \t]{0,3}#{1,6}[ \t]+(.*?)[ \t#]*$", r"\1", text, flags=re.MULTILINE)  # headings
    text = re.sub(
        r"(?<=\S)([ \t]*)\n[ \t]{0,3}(?:=+|-{2,})[ \t]*$", r"\1", text, flags=re.MULTILINE
    )  # Setext underlines
    text = re.sub(r"(\*\*|__)(?=\S)(.+?)(?<=\S)\1", r"\2", text)  # bold
    text = re.sub(r"(?<![*\w])\*(?=\S)(.+?)(?<=\S)\*(?![*\w])", r"\1", text)  # *italic*
    text = re.sub(r"(?<![_\w])_(?=\S)(.+?)(?<=\S)_(?![_\w])", r"\1", text)  # _italic_
    text = re.sub(r"`([^`\n]+)`", r"\1", text)  # inline code
    return text
