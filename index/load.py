"""Turn what a user names (files, folders, release URLs, RSS/Atom feeds) into parsed releases.

This module has one job: reading sources. It never raises for bad input: every
source that cannot be read becomes a :class:`Failure` with a one-line reason, so
that one broken file or dead link never stops the others from being indexed.

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

import codecs
import io
import os
import re
import time
import unicodedata
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, replace
from datetime import date as Date
from pathlib import Path, PurePosixPath
from typing import NamedTuple
from urllib.parse import urljoin, urlsplit

import charset_normalizer
import feedparser
import httpx
import trafilatura
from langdetect import DetectorFactory, LangDetectException, detect_langs
from pypdf import PdfReader

from index.release import Failure, Release

# langdetect is random unless seeded; a fixed seed makes detection deterministic.
DetectorFactory.seed = 0

SUPPORTED_SUFFIXES = (".txt", ".md", ".markdown", ".html", ".htm", ".pdf")
HOUSEKEEPING_STEMS = frozenset({"README", "SOURCES", "LICENSE", "CHANGELOG"})

_KIND_BY_SUFFIX = {
    ".txt": "text", ".md": "markdown", ".markdown": "markdown",
    ".html": "html", ".htm": "html", ".pdf": "pdf",
}
_MAX_TITLE_CHARS = 200
_LANG_SAMPLE_CHARS = 2000
_USER_AGENT = "Mozilla/5.0 (compatible; communique-bot/0.1; +release loader)"


class SourceError(Exception):
    """A source cannot be turned into a release; the message is the one-line reason."""


class FeedItem(NamedTuple):
    """One entry of an RSS/Atom feed: where the release page is, plus fallbacks for its metadata."""

    link: str
    title: str | None
    date: str | None


# --------------------------------------------------------------------------- sources


def is_url(source: str) -> bool:
    """True for http(s) URLs, the only remote sources we fetch."""
    parts = urlsplit(source.strip())
    return parts.scheme.lower() in ("http", "https") and bool(parts.netloc)


def list_release_files(folder: Path) -> list[Path]:
    """Release files under ``folder``, recursively and in a stable order.

    Hidden files and folders and housekeeping files (README, SOURCES, ...) are
    skipped: a corpus folder often documents itself, and those notes are not releases.
    """
    found: list[Path] = []
    for root, dirs, files in os.walk(folder):
        dirs[:] = [name for name in dirs if not name.startswith(".")]
        for name in files:
            path = Path(root) / name
            if (
                not name.startswith(".")
                and path.suffix.lower() in SUPPORTED_SUFFIXES
                and path.stem.upper() not in HOUSEKEEPING_STEMS
                and path.is_file()
            ):
                found.append(path)
    return sorted(found)


def read_sources(
    sources: Iterable[str],
    *,
    max_bytes: int = 20_000_000,
    timeout: float = 20.0,
    is_known: Callable[[str], bool] = lambda source: False,
) -> Iterator[Release | Failure]:
    """Yield one Release per release and one Failure per unreadable source, never raising.

    ``sources`` are what a user typed: files, folders, release page URLs or feed
    URLs. Feed items for which ``is_known(link)`` is true are skipped without
    being fetched, so re-reading a feed only downloads what is new.
    """
    seen: set[str] = set()
    with httpx.Client(
        follow_redirects=True, timeout=timeout, headers={"User-Agent": _USER_AGENT}
    ) as client:
        for raw in sources:
            source = str(raw).strip()  # a Path is accepted too
            if is_url(source):
                results = _read_url(client, source, timeout=timeout, max_bytes=max_bytes, is_known=is_known)
            else:
                results = _read_path(source, max_bytes=max_bytes)
            for result in results:
                if result.source not in seen:
                    seen.add(result.source)
                    yield result


def _read_path(source: str, *, max_bytes: int) -> Iterator[Release | Failure]:
    """A file, or every release file of a folder."""
    if not source:
        yield Failure("(empty)", "empty source name")
        return
    if re.match(r"^[A-Za-z][A-Za-z0-9+.-]*://", source):
        scheme = source.split(":", 1)[0]
        yield Failure(source, f"unsupported URL scheme '{scheme}' (only http and https)")
        return
    path = Path(source).expanduser().resolve()
    if path.is_dir():
        files = list_release_files(path)
        if not files:
            yield Failure(str(path), f"no release files in folder (looked for {', '.join(SUPPORTED_SUFFIXES)})")
        for file in files:
            yield _attempt(str(file.resolve()), lambda file=file: load_file(file, max_bytes=max_bytes))
    else:
        yield _attempt(str(path), lambda: load_file(path, max_bytes=max_bytes))


def _read_url(
    client: httpx.Client, url: str, *, timeout: float, max_bytes: int, is_known: Callable[[str], bool]
) -> Iterator[Release | Failure]:
    """A release page, or every new item of a feed; the URL itself is fetched once."""
    try:
        response = _fetch(client, url, timeout=timeout, max_bytes=max_bytes)
        items = _feed_items_if_feed(response)
    except SourceError as exc:
        yield _failure(url, exc)
        return
    if items is None:
        yield _attempt(url, lambda: _release_from_response(response, url))
        return
    for item in items:
        if is_known(item.link):
            continue
        yield _attempt(item.link, lambda item=item: _load_feed_item(client, item, timeout=timeout, max_bytes=max_bytes))


def _attempt(source: str, load: Callable[[], Release]) -> Release | Failure:
    """Run one loader, turning any error into a Failure so that the next source still runs."""
    try:
        return load()
    except SourceError as exc:
        return _failure(source, exc)
    except Exception as exc:  # a parser bug must not stop the other sources
        return _failure(source, f"unexpected error: {type(exc).__name__}: {exc}")


def _failure(source: str, reason: object) -> Failure:
    """A Failure whose reason is one line, and whose source can be printed (even an undecodable file name)."""
    text = " ".join(str(reason).split()) or "unknown error"
    printable = source.encode("utf-8", "surrogateescape").decode("utf-8", "replace")
    return Failure(printable, text)


# --------------------------------------------------------------------------- files


def load_file(path: Path, *, max_bytes: int) -> Release:
    """Parse one release file, chosen explicitly (so never skipped); raises SourceError."""
    path = Path(path).expanduser().resolve()
    _check_file(path, max_bytes)
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise SourceError(f"cannot read file ({_os_reason(exc)})") from None
    kind = _KIND_BY_SUFFIX[path.suffix.lower()]
    return _parse_document(kind, data, str(path), url=None, charset=_declared_html_charset(data, kind))


def _check_file(path: Path, max_bytes: int) -> None:
    """Reject what cannot be a release before reading a single byte (size comes from stat)."""
    try:
        info = path.stat()
    except FileNotFoundError:
        raise SourceError("no such file or directory") from None
    except OSError as exc:
        raise SourceError(f"cannot read file ({_os_reason(exc)})") from None
    if path.is_dir():
        raise SourceError("is a directory")
    if not path.is_file():
        raise SourceError("not a regular file")
    try:
        str(path).encode("utf-8")
    except UnicodeEncodeError:
        raise SourceError("file name is not valid UTF-8; rename the file") from None
    suffix = path.suffix.lower()
    if suffix not in SUPPORTED_SUFFIXES:
        found = f"'{path.suffix}'" if path.suffix else "(no suffix)"
        raise SourceError(f"unsupported file type {found} (supported: {', '.join(SUPPORTED_SUFFIXES)})")
    if info.st_size == 0:
        raise SourceError("empty file")
    if info.st_size > max_bytes:
        raise SourceError(f"file too large ({_mb(info.st_size)} MB, limit {_limit_mb(max_bytes)} MB)")


def _os_reason(exc: OSError) -> str:
    return (exc.strerror or type(exc).__name__).lower()


def _mb(size: int) -> str:
    """52_400_000 -> '52.4'; small sizes keep two significant digits."""
    megabytes = size / 1_000_000
    return f"{megabytes:.1f}" if megabytes >= 1 else f"{megabytes:.2g}"


def _limit_mb(size: int) -> str:
    """20_000_000 -> '20', 1_500_000 -> '1.5'."""
    return f"{size / 1_000_000:g}"


# --------------------------------------------------------------------------- URLs


@dataclass(frozen=True)
class _Response:
    """What a fetch brought back, reduced to what parsing needs."""

    url: str                # final URL, after redirects
    content_type: str       # media type, lower case, without parameters
    charset: str | None     # charset declared in the Content-Type header
    body: bytes


def load_url(url: str, *, timeout: float, max_bytes: int) -> Release:
    """Fetch and parse one release page (HTML, plain text, Markdown or PDF); raises SourceError."""
    with httpx.Client(follow_redirects=True, timeout=timeout, headers={"User-Agent": _USER_AGENT}) as client:
        response = _fetch(client, url, timeout=timeout, max_bytes=max_bytes)
    return _release_from_response(response, url)


def _fetch(client: httpx.Client, url: str, *, timeout: float, max_bytes: int) -> _Response:
    """GET ``url`` with a size cap and an overall deadline, mapping every error to a reason."""
    host = urlsplit(url).netloc
    deadline = time.monotonic() + timeout
    try:
        with client.stream("GET", url) as response:
            if response.status_code >= 400:
                phrase = response.reason_phrase or httpx.codes.get_reason_phrase(response.status_code)
                raise SourceError(f"HTTP {response.status_code} {phrase}".strip())
            if _content_length(response) > max_bytes:
                raise SourceError(f"response too large (more than {_limit_mb(max_bytes)} MB)")
            chunks: list[bytes] = []
            size = 0
            for chunk in response.iter_bytes():
                size += len(chunk)
                if size > max_bytes:
                    raise SourceError(f"response too large (more than {_limit_mb(max_bytes)} MB)")
                if time.monotonic() > deadline:
                    raise SourceError(f"timed out after {timeout:g} s")
                chunks.append(chunk)
            content_type = response.headers.get("content-type", "").split(";")[0].strip().lower()
            charset = response.charset_encoding
            final_url = str(response.url)
    except httpx.TimeoutException:
        raise SourceError(f"timed out after {timeout:g} s") from None
    except httpx.ConnectError as exc:
        raise SourceError(f"cannot reach {host} ({_network_reason(exc)})") from None
    except httpx.TooManyRedirects:
        raise SourceError("too many redirects") from None
    except (httpx.InvalidURL, httpx.UnsupportedProtocol) as exc:
        raise SourceError(f"invalid URL ({exc})") from None
    except httpx.HTTPError as exc:
        raise SourceError(f"download failed ({_network_reason(exc)})") from None
    body = b"".join(chunks)
    if not body.strip():
        raise SourceError("empty response")
    return _Response(final_url, content_type, charset, body)


def _content_length(response: httpx.Response) -> int:
    try:
        return int(response.headers.get("content-length", "0"))
    except ValueError:
        return 0


def _network_reason(exc: Exception) -> str:
    """'[Errno 111] Connection refused' -> 'connection refused'."""
    text = re.sub(r"^\[Errno -?\d+\]\s*", "", str(exc).strip()) or type(exc).__name__
    return text[:1].lower() + text[1:]


def _release_from_response(response: _Response, source: str) -> Release:
    """Parse a fetched release page according to what it is."""
    kind = _page_kind(response)
    charset = response.charset or _declared_html_charset(response.body, kind)
    return _parse_document(kind, response.body, source, url=source, charset=charset)


def _page_kind(response: _Response) -> str:
    """The parser for a fetched page: Content-Type first, then the URL suffix, then sniffing."""
    content_type = response.content_type
    if content_type in ("text/html", "application/xhtml+xml"):
        return "html"
    if content_type == "application/pdf" or response.body.startswith(b"%PDF-"):
        return "pdf"
    if content_type in ("text/markdown", "text/x-markdown"):
        return "markdown"
    if content_type == "text/plain":
        return "text"
    suffix = PurePosixPath(urlsplit(response.url).path).suffix.lower()
    if suffix in _KIND_BY_SUFFIX:
        return _KIND_BY_SUFFIX[suffix]
    head = response.body[:1024].lower()
    if b"<html" in head or b"<!doctype html" in head:
        return "html"
    if not content_type or content_type.startswith("text/"):
        return "text"
    raise SourceError(f"unsupported content type '{content_type}'")


def _load_feed_item(client: httpx.Client, item: FeedItem, *, timeout: float, max_bytes: int) -> Release:
    """Fetch a feed item's page; the feed's own date fills in when the page has none."""
    response = _fetch(client, item.link, timeout=timeout, max_bytes=max_bytes)
    release = _release_from_response(response, item.link)
    if release.date is None and item.date:
        release = replace(release, date=item.date)
    return release


# --------------------------------------------------------------------------- feeds

_FEED_TYPES = ("application/xml", "text/xml", "application/rdf+xml")


def _feed_items_if_feed(response: _Response) -> list[FeedItem] | None:
    """The feed's items if the response is a feed, None if it is a page."""
    declared = "rss" in response.content_type or "atom" in response.content_type or response.content_type in _FEED_TYPES
    head = response.body[:1024].lstrip(b"\xef\xbb\xbf \t\r\n").lower()
    sniffed = head.startswith(b"<?xml") or any(tag in head for tag in (b"<rss", b"<feed", b"<rdf:rdf"))
    if not (declared or sniffed):
        return None
    try:
        return parse_feed(response.body, response.url, response.content_type)
    except SourceError:
        if declared:
            raise
        return None  # e.g. an XHTML page: read it as a page


def parse_feed(data: bytes, base_url: str = "", content_type: str | None = None) -> list[FeedItem]:
    """The items of an RSS/Atom document, links made absolute; raises SourceError if it is no feed."""
    headers = {"content-location": base_url, "content-type": content_type or "application/xml"}
    # A stream, not bytes: feedparser would take some byte strings for a file name or URL.
    parsed = feedparser.parse(io.BytesIO(data), response_headers=headers)
    if not parsed.entries:
        unparsable = parsed.get("bozo") and not parsed.version
        detail = "cannot parse it as XML" if unparsable else "no items found"
        raise SourceError(f"not a valid RSS/Atom feed ({detail})")
    items: dict[str, FeedItem] = {}  # by link: an item listed twice is fetched once
    for entry in parsed.entries:
        link = entry.get("link") or next((ref.get("href") for ref in entry.get("links", []) if ref.get("href")), None)
        if not link:
            continue
        link = urljoin(base_url, link.strip())
        stamp = entry.get("published_parsed") or entry.get("updated_parsed")
        day = Date(stamp.tm_year, stamp.tm_mon, stamp.tm_mday).isoformat() if stamp else None
        items.setdefault(link, FeedItem(link, entry.get("title"), day))
    if not items:
        raise SourceError("not a valid RSS/Atom feed (no item has a link)")
    return list(items.values())


# --------------------------------------------------------------------------- bytes to text


def _parse_document(kind: str, data: bytes, source: str, *, url: str | None, charset: str | None) -> Release:
    """Dispatch raw bytes to the parser of their format."""
    if kind == "pdf":
        return _parse_pdf(data, source, url=url)
    text = _text_from_bytes(data, charset)
    if kind == "html":
        return _parse_html(text, source, url=url)
    if kind == "markdown":
        return _parse_markdown(text, source, url=url)
    return parse_release_text(text, source, url=url)


def _text_from_bytes(data: bytes, charset: str | None) -> str:
    """Decode a text source, refusing binary content and empty text."""
    if b"\x00" in data and not data.startswith(_WIDE_BOMS):
        raise SourceError("binary file, not text")
    text = decode_bytes(data, hint=charset)
    if len(_CONTROL_CHARS.findall(text)) > 0.2 * len(text):
        raise SourceError("binary file, not text")
    if not text.strip():
        raise SourceError("empty file (only whitespace)")
    return text


# C0/C1 control characters other than whitespace, and the replacement character.
_CONTROL_CHARS = re.compile(r"[\x00-\x08\x0e-\x1f\x7f-\x9f\ufffd]")
_BOMS = (
    (b"\xff\xfe\x00\x00", "utf-32-le"), (b"\x00\x00\xfe\xff", "utf-32-be"),
    (b"\xff\xfe", "utf-16-le"), (b"\xfe\xff", "utf-16-be"),
)
_WIDE_BOMS = tuple(bom for bom, _ in _BOMS)


def decode_bytes(data: bytes, hint: str | None = None) -> str:
    """Decode text whatever its encoding: UTF-8, a BOM, a declared charset, else a careful guess.

    Releases copied on Windows arrive in cp1252 or Latin-1; those must come back
    exactly, curly quotes and € included, so Western text that decodes cleanly as
    cp1252 wins over charset_normalizer's guess (which often picks cp1250 for
    short French text). Other scripts are left to charset_normalizer.
    """
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        pass
    for bom, encoding in _BOMS:
        if data.startswith(bom):
            try:
                return data[len(bom):].decode(encoding)
            except UnicodeDecodeError:
                break
    if hint:
        try:
            return data.decode(_whatwg_encoding(hint))
        except (LookupError, UnicodeDecodeError):
            pass
    western = _decode_or_none(data, "cp1252")
    if western is not None and _looks_western(western):
        return western
    best = charset_normalizer.from_bytes(data).best()
    if best is not None and not best.encoding.startswith(("utf_16", "utf_32")):
        return str(best)
    return data.decode("cp1252", errors="replace")


def _whatwg_encoding(label: str) -> str:
    """Servers and pages that say ISO-8859-1 or ASCII mean windows-1252 (as browsers assume)."""
    try:
        name = codecs.lookup(label).name
    except LookupError:
        return label
    return "cp1252" if name in ("iso8859-1", "ascii") else name


def _decode_or_none(data: bytes, encoding: str) -> str | None:
    try:
        return data.decode(encoding)
    except UnicodeDecodeError:
        return None


_NON_ASCII_INSIDE_WORD = re.compile(r"(?<=[^\W\d_])[^\x00-\x7f](?=[^\W\d_])")
_WORD_PUNCTUATION = "’‘–—·"


def _looks_western(text: str) -> bool:
    """Mostly ASCII letters, and no symbol wedged inside a word.

    Text in another single-byte code page also decodes as cp1252, but gives
    itself away: cp1251 Russian turns into nothing but accented letters, and
    cp1250 Polish into words like 'mo¿e' or 'w³adze'.
    """
    sample = text[:100_000]
    letters = [char for char in sample if char.isalpha()]
    non_ascii = sum(1 for char in letters if not char.isascii())
    if non_ascii > 0.3 * len(letters):
        return False
    return all(
        match.group().isalpha() or match.group() in _WORD_PUNCTUATION
        for match in _NON_ASCII_INSIDE_WORD.finditer(sample)
    )


def _declared_html_charset(data: bytes, kind: str) -> str | None:
    """The charset an HTML document declares in a <meta> tag, if any."""
    if kind != "html":
        return None
    match = re.search(rb"""<meta[^>]+charset\s*=\s*["']?([\w.:-]+)""", data[:4096], re.IGNORECASE)
    return match.group(1).decode("ascii") if match else None


# --------------------------------------------------------------------------- languages


def detect_lang(text: str) -> str:
    """ISO 639-1 code of the text's language (deterministic); "en" when it cannot tell."""
    return _guess_lang(text) or "en"


def _guess_lang(text: str) -> str | None:
    sample = text[:_LANG_SAMPLE_CHARS]
    try:
        guesses = detect_langs(sample)
    except LangDetectException:  # no letters to go on
        return None
    return guesses[0].lang.split("-")[0] if guesses else None


# --------------------------------------------------------------------------- the nato.int layout

_MONTHS = {
    # English, full and abbreviated (nato.int uses "Jun." even on French pages)
    "jan": 1, "january": 1, "feb": 2, "february": 2, "mar": 3, "march": 3, "apr": 4, "april": 4,
    "may": 5, "jun": 6, "june": 6, "jul": 7, "july": 7, "aug": 8, "august": 8,
    "sep": 9, "sept": 9, "september": 9, "oct": 10, "october": 10, "nov": 11, "november": 11,
    "dec": 12, "december": 12,
    # French, accents removed before lookup
    "janvier": 1, "janv": 1, "fevrier": 2, "fevr": 2, "fev": 2, "mars": 3, "avril": 4, "avr": 4,
    "mai": 5, "juin": 6, "juillet": 7, "juil": 7, "aout": 8, "septembre": 9,
    "octobre": 10, "novembre": 11, "decembre": 12,
}
_DAY_MONTH_YEAR = r"\d{1,2}(?:er|st|nd|rd|th)?\.?\s+[^\W\d_]+\.?,?\s+\d{4}"
_MONTH_DAY_YEAR = r"[^\W\d_]+\.?\s+\d{1,2}(?:st|nd|rd|th)?,?\s+\d{4}"
_ISO = r"\d{4}-\d{2}-\d{2}"
_DATE = rf"(?:{_DAY_MONTH_YEAR}|{_MONTH_DAY_YEAR}|{_ISO})"
_BULLET = r"\s*(?:[•·*\-–]\s*)?"
_PUBLISHED_LINE = re.compile(rf"^{_BULLET}(?P<date>{_DATE})(?:\s*[-–]\s*(?:{_DATE})?)?\s*$", re.IGNORECASE)
_UPDATED_LINE = re.compile(
    rf"^{_BULLET}(?:last\s+updated|updated|mis\s+[àa]\s+jour\s+le|derni[èe]re\s+mise\s+[àa]\s+jour)"
    rf"\s*:?\s*(?P<date>{_DATE})(?:\s*[-,]?\s*\d{{1,2}}[:h]\d{{2}})?\s*$",
    re.IGNORECASE,
)
_SEPARATOR_LINE = re.compile(rf"^{_BULLET}\|?\s*$")


def parse_date(text: str) -> str | None:
    """ISO date (YYYY-MM-DD) from '11 Jun. 2024', '1er décembre 2014', 'June 11, 2024' or ISO; else None."""
    text = text.strip()
    match = re.match(r"(\d{4})-(\d{2})-(\d{2})", text)
    if match:
        year, month, day = (int(part) for part in match.groups())
        return _iso(year, month, day)
    match = re.match(r"(\d{1,2})(?:er|st|nd|rd|th)?\.?\s+([^\W\d_]+)\.?,?\s+(\d{4})", text)
    if match:
        day, month_name, year = match.groups()
    else:
        match = re.match(r"([^\W\d_]+)\.?\s+(\d{1,2})(?:st|nd|rd|th)?,?\s+(\d{4})", text)
        if not match:
            return None
        month_name, day, year = match.groups()
    month = _MONTHS.get(_fold(month_name))
    return _iso(int(year), month, int(day)) if month else None


def _iso(year: int, month: int, day: int) -> str | None:
    try:
        return Date(year, month, day).isoformat()
    except ValueError:
        return None


def _fold(word: str) -> str:
    """Lower case without accents: 'Décembre' -> 'decembre'."""
    decomposed = unicodedata.normalize("NFKD", word.lower())
    return "".join(char for char in decomposed if not unicodedata.combining(char))


@dataclass(frozen=True)
class _Header:
    """A text split into its nato.int header fields and its body."""

    title: str | None
    date: str | None
    updated: str | None
    body: str
    found: bool          # whether any date/updated/separator bullet line was found


def _header_line(line: str) -> tuple[str, str | None] | None:
    """('published'|'updated'|'separator', ISO date) for a header bullet line, else None."""
    if not line.strip():
        return None
    if match := _PUBLISHED_LINE.match(line):
        return "published", parse_date(match["date"])
    if match := _UPDATED_LINE.match(line):
        return "updated", parse_date(match["date"])
    if _SEPARATOR_LINE.match(line):
        return "separator", None
    return None


def _split_header(text: str, *, title_line: bool = True) -> _Header:
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
            kind, day = field
            if kind == "published" and published is None:
                published = day
            elif kind == "updated" and updated is None:
                updated = day
        end += 1
    body = "\n".join(lines[end if found else start:])
    return _Header(title, published, updated, body, found)


def _normalise(text: str) -> str:
    """One newline convention, no trailing spaces or stray controls, paragraphs split by one blank line."""
    text = text.replace("\r\n", "\n").replace("\r", "\n").replace("\f", "\n").replace("\v", "\n")
    text = text.replace("\ufeff", "")
    text = re.sub(r"[\x00-\x08\x0e-\x1f\x7f]", "", text)
    text = "\n".join(line.rstrip() for line in text.split("\n"))
    text = re.sub(r"\n{3,}", "\n\n", text)
    return text.strip("\n")


def _title_and_rest(text: str) -> tuple[str, str]:
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


def _make_release(
    source: str,
    title: str | None,
    body: str,
    *,
    date: str | None = None,
    updated: str | None = None,
    url: str | None = None,
    lang: str | None = None,
    lang_hint: str | None = None,
) -> Release:
    """The Release, once body and metadata are known; refuses an empty body."""
    body = _normalise(body)
    if not body.strip():
        raise SourceError("no body text (only a title or header)")
    title = _clip_title(title or "") or _fallback_title(source)
    lang = lang or _guess_lang(f"{title}\n\n{body}") or lang_hint or "en"
    return Release(source=source, title=title, text=body, lang=lang, date=date, updated=updated, url=url)


def parse_release_text(text: str, source: str, *, url: str | None = None) -> Release:
    """A release from plain text as copied from nato.int (title line, date bullets, body).

    Text without that layout still makes a release: first line as title, rest as body.
    """
    text = _normalise(text)
    if not text.strip():
        raise SourceError("no text")
    header = _split_header(text)
    if header.found:
        return _make_release(source, header.title, header.body, date=header.date, updated=header.updated, url=url)
    title, body = _title_and_rest(text)
    return _make_release(source, title, body, url=url)


# --------------------------------------------------------------------------- Markdown

_FRONT_MATTER = re.compile(r"\A---[ \t]*\n(?P<block>.*?)\n(?:---|\.\.\.)[ \t]*(?:\n|\Z)", re.DOTALL)
_H1 = re.compile(r"^#[ \t]+(?P<title>.+?)[ \t#]*$", re.MULTILINE)


def _parse_markdown(text: str, source: str, *, url: str | None) -> Release:
    """A release from Markdown: front matter or first '# ' heading as title, light syntax removed."""
    text = _normalise(text)
    meta, text = _split_front_matter(text)
    title = meta.get("title")
    heading = _H1.search(text)
    if heading and (not title or heading["title"].strip() == title):
        title = title or heading["title"].strip()
        text = text[: heading.start()] + text[heading.end():]
    text = _strip_markdown(text)
    header = _split_header(text, title_line=not title)
    if header.found:
        title, body = title or header.title, header.body
    elif title:
        body = text
    else:
        title, body = _title_and_rest(text)
    lang = meta.get("lang", "").lower()[:2] or None
    return _make_release(
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


# --------------------------------------------------------------------------- HTML


def _parse_html(html: str, source: str, *, url: str | None) -> Release:
    """A release from an HTML page: trafilatura's main text, its title and date as fallbacks."""
    text = trafilatura.extract(
        html, url=url, output_format="txt", include_comments=False,
        include_tables=True, with_metadata=False, favor_recall=True,
    )
    if not text or not text.strip():
        raise SourceError("no text found in HTML")
    # trafilatura puts one block (paragraph, list item, heading) per line
    text = "\n\n".join(line.strip() for line in _normalise(text).split("\n") if line.strip())
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
    header = _split_header(text)
    if header.found:
        return _make_release(
            source, header.title or meta_title, header.body,
            date=header.date or meta_date, updated=header.updated, url=url, lang_hint=lang_hint,
        )
    if meta_title:
        first, _, rest = text.strip("\n").partition("\n")
        body = rest if _same_title(first, meta_title) and rest.strip() else text
        return _make_release(source, meta_title, body, date=meta_date, url=url, lang_hint=lang_hint)
    title, body = _title_and_rest(text)
    return _make_release(source, title, body, date=meta_date, url=url, lang_hint=lang_hint)


def _same_title(line: str, title: str) -> bool:
    return " ".join(line.split()).casefold() == " ".join(title.split()).casefold()


def _html_lang(html: str) -> str | None:
    """The primary language of <html lang="fr-FR">, used only when the text cannot tell."""
    match = re.search(r"""<html\b[^>]*?\blang\s*=\s*["']?([A-Za-z]{2,3})\b""", html[:5000], re.IGNORECASE)
    return match.group(1).lower() if match else None


# --------------------------------------------------------------------------- PDF


def _parse_pdf(data: bytes, source: str, *, url: str | None) -> Release:
    """A release from a PDF: extracted text, /Title and /CreationDate as fallbacks."""
    text, meta_title, created = _pdf_text_and_metadata(data)
    text = _normalise(text)
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
    return _iso(*(int(part) for part in match.groups())) if match else None
