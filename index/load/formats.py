"""Release documents by format: plain text, Markdown, HTML (trafilatura) and PDF (pypdf)."""
from __future__ import annotations

import io
import re

import trafilatura
from pypdf import PdfReader

from index.release import Release

from .assemble import make_release, normalise, title_and_rest
from .decode import text_from_bytes
from .errors import SourceError
from .nato_layout import iso_date, parse_date, parse_release_text, split_header


def parse_document(kind: str, data: bytes, source: str, *, url: str | None, charset: str | None) -> Release:
    """Dispatch raw bytes to the parser of their format."""
    if kind == "pdf":
        return _parse_pdf(data, source, url=url)
    text = text_from_bytes(data, charset)
    if kind == "html":
        return _parse_html(text, source, url=url)
    if kind == "markdown":
        return _parse_markdown(text, source, url=url)
    return parse_release_text(text, source, url=url)


_FRONT_MATTER = re.compile(r"\A---[ \t]*\n(?P<block>.*?)\n(?:---|\.\.\.)[ \t]*(?:\n|\Z)", re.DOTALL)
_H1 = re.compile(r"^#[ \t]+(?P<title>.+?)[ \t#]*$", re.MULTILINE)


def _parse_markdown(text: str, source: str, *, url: str | None) -> Release:
    """A release from Markdown: front matter or first '# ' heading as title, light syntax removed."""
    text = normalise(text)
    meta, text = _split_front_matter(text)
    title = meta.get("title")
    heading = _H1.search(text)
    if heading and (not title or heading["title"].strip() == title):
        title = title or heading["title"].strip()
        text = text[: heading.start()] + text[heading.end():]
    text = _strip_markdown(text)
    header = split_header(text, title_line=not title)
    if header.found:
        title, body = title or header.title, header.body
    elif title:
        body = text
    else:
        title, body = title_and_rest(text)
    lang = meta.get("lang", "").lower()[:2] or None
    return make_release(
        source, title, body,
        date=parse_date(meta.get("date", "")) or header.date,
        updated=parse_date(meta.get("updated", "")) or header.updated,
        url=url or meta.get("url") or None,
        lang=lang if lang and lang.isalpha() else None,
    )


def _split_front_matter(text: str) -> tuple[dict[str, str], str]:
    """Simple 'key: value' front matter between '---' lines, and the text after it."""
    match = _FRONT_MATTER.match(text)
    if not match:
        return {}, text
    meta: dict[str, str] = {}
    for line in match["block"].split("\n"):
        key, colon, value = line.partition(":")
        if colon and key.strip() and not key.startswith((" ", "\t", "#")):
            meta[key.strip().lower()] = value.strip().strip("\"'")
    return meta, text[match.end():]


def _strip_markdown(text: str) -> str:
    """Remove the Markdown syntax that would pollute the indexed text; keep the words."""
    text = re.sub(r"!\[[^\]]*\]\([^)]*\)", "", text)                     # images
    text = re.sub(r"\[([^\]]+)\]\([^)]*\)", r"\1", text)                  # links -> their text
    text = re.sub(r"^[ \t]{0,3}#{1,6}[ \t]+(.*?)[ \t#]*$", r"\1", text, flags=re.MULTILINE)  # headings
    text = re.sub(r"(\*\*|__)(?=\S)(.+?)(?<=\S)\1", r"\2", text)          # bold
    text = re.sub(r"(?<![*\w])\*(?=\S)(.+?)(?<=\S)\*(?![*\w])", r"\1", text)  # *italic*
    text = re.sub(r"(?<![_\w])_(?=\S)(.+?)(?<=\S)_(?![_\w])", r"\1", text)    # _italic_
    text = re.sub(r"`([^`\n]+)`", r"\1", text)                            # inline code
    return text


def _parse_html(html: str, source: str, *, url: str | None) -> Release:
    """A release from an HTML page: trafilatura's main text, its title and date as fallbacks."""
    text = trafilatura.extract(
        html, url=url, output_format="txt", include_comments=False,
        include_tables=True, with_metadata=False, favor_recall=True,
    )
    if not text or not text.strip():
        raise SourceError("no text found in HTML")
    # trafilatura puts one block (paragraph, list item, heading) per line
    text = "\n\n".join(line.strip() for line in normalise(text).split("\n") if line.strip())
    metadata = trafilatura.extract_metadata(html, default_url=url)
    meta_title = (metadata.title or "").strip() or None
    meta_date = parse_date(metadata.date or "")
    return _release_from_extracted(
        text, source, meta_title=meta_title, meta_date=meta_date, url=url, lang_hint=_html_lang(html)
    )


def _release_from_extracted(
    text: str, source: str, *, meta_title: str | None, meta_date: str | None, url: str | None,
    lang_hint: str | None = None,
) -> Release:
    """Shared by HTML and PDF: a nato.int header wins, then the document's metadata, then the first line."""
    header = split_header(text)
    if header.found:
        return make_release(
            source, header.title or meta_title, header.body,
            date=header.date or meta_date, updated=header.updated, url=url, lang_hint=lang_hint,
        )
    if meta_title:
        first, _, rest = text.strip("\n").partition("\n")
        body = rest if _same_title(first, meta_title) and rest.strip() else text
        return make_release(source, meta_title, body, date=meta_date, url=url, lang_hint=lang_hint)
    title, body = title_and_rest(text)
    return make_release(source, title, body, date=meta_date, url=url, lang_hint=lang_hint)


def _same_title(line: str, title: str) -> bool:
    return " ".join(line.split()).casefold() == " ".join(title.split()).casefold()


def _html_lang(html: str) -> str | None:
    """The primary language of <html lang="fr-FR">, used only when the text cannot tell."""
    match = re.search(r"""<html\b[^>]*?\blang\s*=\s*["']?([A-Za-z]{2,3})\b""", html[:5000], re.IGNORECASE)
    return match.group(1).lower() if match else None


def _parse_pdf(data: bytes, source: str, *, url: str | None) -> Release:
    """A release from a PDF: extracted text, /Title and /CreationDate as fallbacks."""
    text, meta_title, created = _pdf_text_and_metadata(data)
    text = normalise(text)
    if not text.strip():
        raise SourceError("no extractable text in PDF (scanned image?)")
    return _release_from_extracted(text, source, meta_title=meta_title, meta_date=created, url=url)


def _pdf_text_and_metadata(data: bytes) -> tuple[str, str | None, str | None]:
    """(text, /Title, /CreationDate as ISO) of a PDF; raises SourceError if it cannot be read."""
    if b"%PDF-" not in data[:1024]:
        raise SourceError("corrupt or unreadable PDF (no PDF header)")
    try:
        reader = PdfReader(io.BytesIO(data), strict=False)
        if reader.is_encrypted and not reader.decrypt(""):
            raise SourceError("encrypted PDF, cannot read it without the password")
        pages = [page.extract_text() or "" for page in reader.pages]
        info = reader.metadata or {}
        title = str(info.get("/Title") or "").strip() or None
        created = _pdf_date(str(info.get("/CreationDate") or ""))
    except SourceError:
        raise
    except Exception:  # pypdf raises many different errors on damaged files
        raise SourceError("corrupt or unreadable PDF") from None
    return "\n\n".join(pages), title, created


def _pdf_date(value: str) -> str | None:
    """'D:20240611093000+02'00'' -> '2024-06-11'."""
    match = re.match(r"(?:D:)?(\d{4})(\d{2})(\d{2})", value.strip())
    return iso_date(*(int(part) for part in match.groups())) if match else None
