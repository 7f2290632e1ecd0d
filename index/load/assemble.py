"""Assemble a Release from a title, a body and metadata, whatever format they came from.

Cleans the text, clips or invents the title, drops a first body line that only
repeats the title (the title is metadata, not an answer sentence), and guesses
the language when no format said it.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from pathlib import PurePosixPath
from urllib.parse import urlsplit

from index.release import Release

from .dates import dateline_date
from .errors import SourceError
from .fetch import is_url
from .language import guess_lang

_MAX_TITLE_CHARS = 200


def normalise(text: str) -> str:
    """One newline convention, no trailing spaces or stray controls, paragraphs split by one blank line."""
    text = text.replace("\r\n", "\n").replace("\r", "\n").replace("\f", "\n").replace("\v", "\n")
    text = text.replace("\ufeff", "")
    text = re.sub(r"[\x00-\x08\x0e-\x1f\x7f]", "", text)
    text = "\n".join(line.rstrip() for line in text.split("\n"))
    text = re.sub(r"\n{3,}", "\n\n", text)
    return text.strip("\n")


def title_and_rest(text: str) -> tuple[str, str]:
    """For text without the layout: first line as title, the rest as body.

    A first line too long to be a title stays in the body too, so that no text is lost.
    """
    lines = text.strip("\n").split("\n")
    first = lines[0].strip()
    rest = "\n".join(lines[1:]).strip("\n")
    if len(first) > _MAX_TITLE_CHARS or not rest.strip():
        return _clip_title(first), text
    return first, rest


def _clip_title(title: str) -> str:
    title = " ".join(title.split())
    if len(title) <= _MAX_TITLE_CHARS:
        return title
    return title[:_MAX_TITLE_CHARS].rsplit(" ", 1)[0].rstrip(" ,;:") + "…"


def _fallback_title(source: str) -> str:
    name = PurePosixPath(urlsplit(source).path if is_url(source) else source.replace("\\", "/")).stem
    return name.replace("-", " ").replace("_", " ").strip() or source


def make_release(
    source: str,
    title: str | None,
    body: str,
    *,
    dates: Sequence[tuple[str | None, str | None]] = (),
    guess_date: bool = True,
    updated: str | None = None,
    url: str | None = None,
    lang: str | None = None,
    lang_hint: str | None = None,
) -> Release:
    """The Release, once body and metadata are known; refuses an empty body.

    ``dates`` are (date, what gave it) in the order the format trusts them: the first
    given wins, else the body's dateline, unless ``guess_date`` is off (the file said
    its date is unknown). One fallback for every format, so that they date alike.
    ``lang`` is a declaration the user wrote (header, front matter) and wins;
    ``lang_hint`` (``<html lang>``, often a site template's) only wins when the
    text is not detected as English or French.
    """
    date, date_source = next(((d, s) for d, s in dates if d), (None, None))
    if date is None and guess_date:
        date, date_source = dateline_date(body), "dateline"
    body = normalise(body)
    if not body.strip():
        raise SourceError("no body text (only a title or header)")
    title = _clip_title(title or "") or _fallback_title(source)
    body = _without_repeated_title(body, title)
    if not lang:
        detected = guess_lang(f"{title}\n\n{body}")
        lang = detected if detected in ("en", "fr") or not lang_hint else lang_hint
        lang = lang or "en"
    return Release(
        source=source,
        title=title,
        text=body,
        lang=lang,
        date=date,
        updated=updated,
        url=url,
        date_source=date_source if date else None,
    )


def _without_repeated_title(body: str, title: str) -> str:
    """The body without a first line that is the title again (re-posts and the dev2 files repeat it)."""
    first, _, rest = body.partition("\n")
    if rest.strip() and " ".join(first.split()).casefold() == " ".join(title.split()).casefold():
        return rest.strip("\n")
    return body
