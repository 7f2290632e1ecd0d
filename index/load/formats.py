"""Release documents by format: plain text and Markdown (text_layout), HTML (trafilatura) and PDF (pypdf)."""

from __future__ import annotations

import io
import re
from collections.abc import Mapping
from typing import Any

import trafilatura
from lxml import etree
from lxml import html as lxml_html
from pypdf import PdfReader

from index.release import Release

from .assemble import make_release, normalise, title_and_rest
from .dates import dateline_date, to_iso
from .decode import text_from_bytes
from .errors import SourceError
from .html_meta import html_meta
from .nato_layout import iso_date, split_header
from .pdf_text import Page, document_text, page_lines
from .text_layout import parse_release_text


def parse_document(kind: str, data: bytes, source: str, *, url: str | None, charset: str | None) -> Release:
    """Dispatch raw bytes to the parser of their format."""
    if kind == "pdf":
        return _parse_pdf(data, source, url=url)
    text = text_from_bytes(data, charset)
    if kind == "html":
        return _parse_html(text, source, url=url)
    return parse_release_text(text, source, url=url, markdown=kind == "markdown")


def _parse_html(html: str, source: str, *, url: str | None) -> Release:
    """A release from an HTML page: trafilatura's main text (site furniture removed), the page's metadata."""
    text = trafilatura.extract(
        _without_link_lists(html),
        url=url,
        output_format="txt",
        include_comments=False,
        include_tables=True,
        with_metadata=False,
        favor_recall=True,
    )
    if not text or not text.strip():
        raise SourceError("no text found in HTML")
    # trafilatura puts one block (paragraph, list item, heading) per line
    lines = [line.strip() for line in normalise(text).split("\n") if line.strip()]
    text = "\n\n".join(line for line in lines if not _TEASER_OR_CREDIT.match(line)) or "\n\n".join(lines)
    meta = html_meta(html, url)
    url = url or meta.url  # a saved page's canonical address
    return _release_from_extracted(
        text,
        source,
        meta_title=meta.title,
        meta_date=meta.date,
        meta_updated=meta.updated,
        meta_source="html_meta",
        url=url,
        lang_hint=meta.lang,
    )


def _without_link_lists(html: str) -> str:
    """The page without its lists of links: "Related news", "More on this topic", "Documents".

    A list whose every item is only a link (and the heading right before it) lists other pages:
    trafilatura drops such lists in menus and sidebars, but keeps one set inside the article.
    The page is returned as is when it has none, or when lxml cannot parse it.
    """
    try:
        tree = lxml_html.fromstring(html)
    except (ValueError, etree.ParserError):  # e.g. a str with an XML encoding declaration
        return html
    lists = [node for node in tree.iter("ul", "ol") if _only_links(node)]
    if not lists:
        return html
    for node in lists:
        heading = node.getprevious()
        if heading is not None and heading.tag in ("h2", "h3", "h4", "h5", "h6") and not (heading.tail or "").strip():
            heading.drop_tree()
        node.drop_tree()
    return str(lxml_html.tostring(tree, encoding="unicode"))


def _only_links(node: lxml_html.HtmlElement) -> bool:
    """Whether a list has two items or more, each of them nothing but the text of its links."""
    items = [child for child in node if child.tag == "li"]
    if len(items) < 2:
        return False
    for item in items:
        text = " ".join(item.text_content().split())
        linked = " ".join(" ".join(a.text_content().split()) for a in item.iter("a"))
        if not text or len(linked) < 0.9 * len(text):
            return False
    return True


# A teaser for another article set inside the article's text ("Read also: <headline>", "À lire aussi : …"),
# or a photo credit ("Photo: Example picture library"): sites put these between paragraphs, where
# trafilatura keeps them; a teaser is another release's headline, a credit names no fact of the release.
_TEASER_OR_CREDIT = re.compile(
    r"^(?:(?:read\s+(?:also|more)|see\s+also|also\s+read|related(?:\s+(?:article|story|news))?|more\s+on\s+this"
    r"|lire\s+aussi|[àa]\s+lire\s+(?:aussi|également)|voir\s+aussi|sur\s+le\s+même\s+sujet)\s*:\s*\S(?:\S*\s+){0,24}\S*"
    r"|(?:photo|image|picture|photo\s+credit|cr[ée]dit\s+photo|cr[ée]dits?)s?\s*:\s*\S(?:\S*\s+){0,5}\S*)$",
    re.IGNORECASE,
)


def _release_from_extracted(
    text: str,
    source: str,
    *,
    meta_title: str | None,
    meta_date: str | None,
    meta_source: str,
    url: str | None,
    meta_updated: str | None = None,
    lang_hint: str | None = None,
    meta_date_is_weak: bool = False,
) -> Release:
    """Shared by HTML and PDF: a nato.int header wins, then the document's metadata, then the first line.

    The date: the header's, else the metadata's, else the body's dateline (make_release).
    ``meta_date_is_weak`` (a PDF's creation date: when the file was made) puts the body's
    dateline before the metadata's date.
    """
    header = split_header(text)
    if header.found:
        title, body = header.title or meta_title, header.body
    elif meta_title:  # a first line that repeats it is dropped by make_release
        title, body = meta_title, text
    else:
        title, body = title_and_rest(text)
    return make_release(
        source,
        title,
        body,
        dates=[
            (header.date, "nato_layout"),
            (dateline_date(body) if meta_date_is_weak else None, "dateline"),
            (meta_date, meta_source),
        ],
        updated=header.updated or meta_updated,
        url=url,
        lang_hint=lang_hint,
    )


def _parse_pdf(data: bytes, source: str, *, url: str | None) -> Release:
    """A release from a PDF: its paragraphs (index.load.pdf_text); document info or XMP title and date as fallbacks.

    The creation date is the day the file was made, not the day the release was published: a
    fallback only, after a dateline in the body, and none at all when the running header or
    footer shows it (a print stamp, "30/11/2026, 14:05" on every page a browser prints). A footer's URL (browsers
    print the page's address) is the release's URL when nothing else gives one.
    """
    pages, meta_title, created = _pdf_pages_and_metadata(data)
    text, furniture = document_text(pages)
    text = normalise(text)
    if not text.strip():
        raise SourceError("no extractable text in PDF (scanned image?)")
    if created and any(_shows_date(line, created) for line in furniture):
        created = None
    if url is None:
        urls = {match.rstrip(".,;)") for line in furniture for match in re.findall(r"https?://\S+", line)}
        url = urls.pop() if len(urls) == 1 else None
    return _release_from_extracted(
        text, source, meta_title=meta_title, meta_date=created, meta_source="pdf_info", url=url, meta_date_is_weak=True
    )


def _shows_date(line: str, iso: str) -> bool:
    """Whether a header or footer line shows this ISO date (numerically, or in words: 'printed 30 Nov 2026')."""
    year, month, day = (int(part) for part in iso.split("-"))
    numeric = [
        rf"\b0?{day}[/.]0?{month}[/.](?:{year}|{year % 100:02d})\b",
        rf"\b0?{month}/0?{day}/(?:{year}|{year % 100:02d})\b",
    ]
    if iso in line or any(re.search(pattern, line) for pattern in numeric):
        return True
    return any(
        dateline_date(part) == iso
        for part in re.findall(r"[^\W\d_]+\.?\s+\d{1,2},?\s+\d{4}|\d{1,2}\s+[^\W\d_]+\.?\s+\d{4}", line)
    )


def _pdf_pages_and_metadata(data: bytes) -> tuple[list[Page], str | None, str | None]:
    """(pages' lines, title, creation date as ISO) of a PDF; raises SourceError if it cannot be read.

    The document info dictionary first, then XMP (dc:title, xmp:CreateDate): some
    producers only write one of them.
    """
    if b"%PDF-" not in data[:1024]:
        raise SourceError("corrupt or unreadable PDF (no PDF header)")
    try:
        reader = PdfReader(io.BytesIO(data), strict=False)
        if reader.is_encrypted and not reader.decrypt(""):
            raise SourceError("encrypted PDF, cannot read it without the password")
        pages = [page_lines(page) for page in reader.pages]
        info: Mapping[str, Any] = reader.metadata or {}
        title = str(info.get("/Title") or "").strip() or None
        created = _pdf_date(str(info.get("/CreationDate") or ""))
    except SourceError:
        raise
    except Exception:  # pypdf raises many different errors on damaged files
        raise SourceError("corrupt or unreadable PDF") from None
    if title is None or created is None:
        xmp_title, xmp_created = _xmp_title_and_date(reader)
        title, created = title or xmp_title, created or xmp_created
    return pages, title, created


def _xmp_title_and_date(reader: PdfReader) -> tuple[str | None, str | None]:
    """dc:title and xmp:CreateDate of the XMP packet; (None, None) when it is missing or broken."""
    try:
        xmp = reader.xmp_metadata
        if xmp is None:
            return None, None
        titles = xmp.dc_title or {}
        title = next((str(value).strip() for value in titles.values() if str(value).strip()), None)
        created = xmp.xmp_create_date
    except Exception:  # a damaged XMP packet must not lose the text
        return None, None
    return title, to_iso(created)


def _pdf_date(value: str) -> str | None:
    """'D:20240611093000+02'00'' -> '2024-06-11'."""
    match = re.match(r"(?:D:)?(\d{4})(\d{2})(\d{2})", value.strip())
    return iso_date(*(int(part) for part in match.groups())) if match else None
