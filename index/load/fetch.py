"""HTTP(S) sources: downloads with a size cap and a deadline, and RSS/Atom feeds.

Every network or HTTP error becomes a :class:`SourceError` with a one-line reason.
"""

from __future__ import annotations

import io
import ipaddress
import re
import socket
import threading
from dataclasses import dataclass
from datetime import date as Date
from typing import NamedTuple
from urllib.parse import urljoin, urlsplit

import feedparser
import httpx

from .errors import SourceError

USER_AGENT = "Mozilla/5.0 (compatible; communique-bot/0.1; +release loader)"


def is_url(source: str) -> bool:
    """True for http(s) URLs, the only remote sources we fetch."""
    parts = urlsplit(source.strip())
    return parts.scheme.lower() in ("http", "https") and bool(parts.netloc)


def limit_mb(size: int) -> str:
    """20_000_000 -> '20', 1_500_000 -> '1.5'."""
    return f"{size / 1_000_000:g}"


@dataclass(frozen=True)
class Response:
    """What a fetch brought back, reduced to what parsing needs."""

    url: str  # final URL, after redirects
    content_type: str  # media type, lower case, without parameters
    charset: str | None  # charset declared in the Content-Type header
    body: bytes


class _Deadline:
    """Cuts the connections of one fetch when its time is up, whatever phase they are in.

    httpx's timeouts are per read: a server trickling one header byte every few seconds
    never trips them. This shuts the sockets down from a timer thread instead, so the
    deadline runs from connect to the last byte (redirect hops included).
    """

    def __init__(self, seconds: float, *, refuse_private: bool = False) -> None:
        self.seconds = seconds
        self.expired = False
        self.refuse_private = refuse_private
        self.refused: str | None = None  # the private address a connection reached, when refused
        self._sockets: list[socket.socket] = []
        self._lock = threading.Lock()
        self._timer = threading.Timer(max(seconds, 0.0), self._expire)
        self._timer.daemon = True

    def __enter__(self) -> _Deadline:
        self._timer.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._timer.cancel()

    def trace(self, event: str, info: dict) -> None:
        """httpcore's trace hook: remember every socket this fetch connects, and check where it leads."""
        if event in ("connection.connect_tcp.complete", "connection.start_tls.complete"):
            stream = info.get("return_value")
            sock = stream.get_extra_info("socket") if stream is not None else None
            if sock is not None:
                with self._lock:
                    self._sockets.append(sock)
                    address = _private_peer(sock) if self.refuse_private else None
                    if address is not None:
                        self.refused = address
                    if self.expired or address is not None:
                        _shut(sock)

    def _expire(self) -> None:
        with self._lock:
            self.expired = True
            for sock in self._sockets:
                _shut(sock)


def _private_peer(sock: socket.socket) -> str | None:
    """The peer's address if it is loopback, private, link-local (cloud metadata), reserved or multicast.

    Checked on the connected socket, so after DNS resolution and on every redirect hop:
    a name that resolves (or re-resolves) to an internal address is caught too.
    """
    try:
        address = ipaddress.ip_address(sock.getpeername()[0])
    except (OSError, ValueError, IndexError):
        return None
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    internal = (
        address.is_private
        or address.is_loopback
        or address.is_link_local
        or address.is_reserved
        or address.is_multicast
        or address.is_unspecified
    )
    return str(address) if internal else None


def _shut(sock: socket.socket) -> None:
    try:
        sock.shutdown(socket.SHUT_RDWR)
    except OSError:
        pass


def fetch(client: httpx.Client, url: str, *, timeout: float, max_bytes: int, refuse_private: bool = False) -> Response:
    """GET ``url`` with a size cap and one overall deadline (connect to last byte), mapping every error to a reason.

    With ``refuse_private`` (an app open beyond localhost), internal addresses are refused.
    """
    with _Deadline(timeout, refuse_private=refuse_private) as deadline:
        try:
            return _fetch(client, url, timeout=timeout, max_bytes=max_bytes, deadline=deadline)
        except SourceError:
            if deadline.refused:
                raise SourceError(
                    f"refused: the URL leads to the internal address {deadline.refused} "
                    f"(set COMMUNIQUE_ALLOW_PRIVATE_URLS=1 to allow it)"
                ) from None
            if deadline.expired:
                raise SourceError(f"timed out after {timeout:g} s") from None
            raise


def _fetch(client: httpx.Client, url: str, *, timeout: float, max_bytes: int, deadline: _Deadline) -> Response:
    host = urlsplit(url).netloc
    # A fresh connection per fetch ("Connection: close"), so that the deadline sees its socket.
    try:
        with client.stream(
            "GET", url, headers={"Connection": "close"}, extensions={"trace": deadline.trace}
        ) as response:
            if response.status_code >= 400:
                phrase = response.reason_phrase or httpx.codes.get_reason_phrase(response.status_code)
                raise SourceError(f"HTTP {response.status_code} {phrase}".strip())
            if _content_length(response) > max_bytes:
                raise SourceError(f"response too large (more than {limit_mb(max_bytes)} MB)")
            chunks: list[bytes] = []
            size = 0
            for chunk in response.iter_bytes():
                size += len(chunk)
                if size > max_bytes:
                    raise SourceError(f"response too large (more than {limit_mb(max_bytes)} MB)")
                if deadline.expired:
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
    return Response(final_url, content_type, charset, body)


def _content_length(response: httpx.Response) -> int:
    try:
        return int(response.headers.get("content-length", "0"))
    except ValueError:
        return 0


def _network_reason(exc: Exception) -> str:
    """'[Errno 111] Connection refused' -> 'connection refused'."""
    text = re.sub(r"^\[Errno -?\d+\]\s*", "", str(exc).strip()) or type(exc).__name__
    return text[:1].lower() + text[1:]


class FeedItem(NamedTuple):
    """One entry of an RSS/Atom feed: where the release page is, plus fallbacks for its metadata."""

    link: str
    title: str | None
    date: str | None


_FEED_TYPES = ("application/xml", "text/xml", "application/rdf+xml")


def feed_items_if_feed(response: Response) -> list[FeedItem] | None:
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
