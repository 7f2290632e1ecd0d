"""What an HTML page says about itself: title, publication and modification dates, language, address.

Dates come from htmldate with ``extensive_search=False``: only the markup counts
(``article:published_time`` / ``modified_time``, ``<meta name="date">``, Dublin Core
``DC.date`` / ``dcterms.created``, ``<time datetime>``, JSON-LD ``datePublished``),
never a date guessed from the text or a footer's copyright year (trafilatura's
metadata search does that, and returns e.g. "2025-01-01" for "© 2025").
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import htmldate
import trafilatura

from .language import declared_lang
from .nato_layout import parse_date


@dataclass(frozen=True)
class HtmlMeta:
    """The metadata fields of one page, each None when the page does not declare it."""

    title: str | None
    date: str | None  # ISO publication date from the markup
    updated: str | None  # ISO modification date, when it differs from the publication date
    lang: str | None  # 'en' or 'fr' from <html lang>, else None
    url: str | None = None  # the page's own address: <link rel="canonical">, og:url


def html_meta(html: str, url: str | None = None) -> HtmlMeta:
    """The page's own metadata; every field None when the markup does not say."""
    metadata = trafilatura.extract_metadata(html, default_url=url)  # og:title, <title> without the site name, …
    title = ((metadata.title if metadata else None) or "").strip() or None
    published = _markup_date(html, original=True)
    modified = _markup_date(html, original=False)
    if published and published == modified and _MODIFIED_MARKUP.search(html) and not _PUBLISHED_MARKUP.search(html):
        published = None  # htmldate falls back on the modification date: a page that only says when it was updated
    return HtmlMeta(
        title=title,
        date=published,
        updated=modified if modified != published else None,
        lang=declared_lang(_html_lang(html)),
        url=_page_url(metadata.url if metadata else None),
    )


def _page_url(url: str | None) -> str | None:
    url = (url or "").strip()
    return url if re.match(r"https?://[^\s/]+", url) else None


# Markup that declares when a page was published, or only when it was last modified.
_PUBLISHED_MARKUP = re.compile(
    r"""published_time|datePublished|dateCreated|\bpubdate\b|["'](?:date|DC\.date(?:\.issued|\.created)?|dcterms\.(?:created|issued|date)|citation_(?:publication_)?date|publish[_-]?date|sailthru\.date)["']""",
    re.IGNORECASE,
)
_MODIFIED_MARKUP = re.compile(
    r"modified_time|dateModified|og:updated_time|last-modified|DC\.date\.modified", re.IGNORECASE
)


def _markup_date(html: str, *, original: bool) -> str | None:
    try:
        found = htmldate.find_date(html, extensive_search=False, original_date=original, outputformat="%Y-%m-%d")
    except Exception:  # htmldate on broken markup: no date rather than no release
        return None
    return parse_date(found) if found else None


def _html_lang(html: str) -> str | None:
    """The lang attribute of the <html> tag; a pattern on the first 5,000 characters is enough, no second parse."""
    match = re.search(
        r"""<html\b[^>]*?\blang\s*=\s*["']?([A-Za-z]{2,3}(?:[-_][A-Za-z0-9]+)?)""", html[:5000], re.IGNORECASE
    )
    return match.group(1) if match else None
