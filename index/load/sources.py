"""What a user names (files, folders, release URLs, feeds) dispatched to the right loader.

Every source that cannot be read becomes one :class:`Failure`; nothing here
raises for bad input.
"""

from __future__ import annotations

import hashlib
import os
import re
import time
from collections.abc import Callable, Iterable, Iterator
from contextlib import ExitStack
from dataclasses import replace
from functools import partial
from pathlib import Path, PurePosixPath
from typing import TypeVar
from urllib.parse import urlsplit

import httpx

from index.release import Failure, FileState, Release, Skipped, Unchanged

from .decode import declared_html_charset
from .dedupe import Duplicates
from .errors import SourceError
from .fetch import USER_AGENT, FeedItem, Response, feed_items_if_feed, fetch, is_url, limit_mb
from .formats import parse_document

SUPPORTED_SUFFIXES = (".txt", ".md", ".markdown", ".html", ".htm", ".pdf")
HOUSEKEEPING_STEMS = frozenset({"README", "SOURCES", "LICENSE", "CHANGELOG"})

_Loaded = TypeVar("_Loaded", Release, Release | Unchanged)

_KIND_BY_SUFFIX = {
    ".txt": "text",
    ".md": "markdown",
    ".markdown": "markdown",
    ".html": "html",
    ".htm": "html",
    ".pdf": "pdf",
}


def list_release_files(folder: Path) -> list[Path]:
    """Release files under ``folder``, recursively and in a stable order.

    Hidden files and folders and housekeeping files (README, SOURCES, ...) are
    skipped: a corpus folder often documents itself, and those notes are not releases.
    """
    return walk_release_files(folder)[0]


def walk_release_files(folder: Path) -> tuple[list[Path], list[Path]]:
    """(release files, folders that could not be listed) under ``folder``.

    An unreadable folder must be reported, never taken for an empty one: what the
    index holds from under it would otherwise be dropped as gone.
    """
    found: list[Path] = []
    unreadable: list[Path] = []

    def not_listed(error: OSError) -> None:
        unreadable.append(Path(error.filename or folder))

    for root, dirs, files in os.walk(folder, onerror=not_listed):
        if not os.access(root, os.R_OK | os.X_OK):  # listed names but no access to the entries
            unreadable.append(Path(root))
            dirs[:] = []
            continue
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
    return sorted(found), sorted(set(unreadable))


def read_sources(
    sources: Iterable[str],
    *,
    max_bytes: int = 20_000_000,
    timeout: float = 20.0,
    is_known: Callable[[str], bool] = lambda source: False,
    indexed_copy: Callable[[Release], str | None] = lambda release: None,
    feed_budget: float = 300.0,
    refuse_private: bool = False,
    unchanged: Callable[[FileState], str | None] = lambda state: None,
) -> Iterator[Release | Failure | Unchanged]:
    """Yield one Release per release and one Failure per unreadable source, never raising.

    ``sources`` are what a user typed: files, folders, release page URLs or feed
    URLs. Feed items for which ``is_known(link)`` is true are skipped without
    being fetched, so re-reading a feed only downloads what is new. The new items of
    one feed get ``feed_budget`` seconds altogether (each item still ``timeout``). With
    ``refuse_private``, URLs leading to internal addresses fail (index.load.fetch). A file
    whose release was already read under another file name, or that ``indexed_copy``
    says the index holds under another one, yields a :class:`Skipped` naming it.
    Every file's bytes are hashed as read; when ``unchanged(state)`` names the release key
    the index holds for exactly these bytes, the file is not parsed: an :class:`Unchanged` is yielded.
    """
    seen: set[str] = set()
    duplicates = Duplicates(indexed_copy)
    with ExitStack() as stack:
        results: Iterator[Release | Failure | Unchanged]
        client: httpx.Client | None = None  # opened on the first URL: its TLS set-up costs ~20 ms
        for raw in sources:
            source = str(raw).strip()  # a Path is accepted too
            if is_url(source):
                if client is None:
                    client = stack.enter_context(
                        httpx.Client(follow_redirects=True, timeout=timeout, headers={"User-Agent": USER_AGENT})
                    )
                results = _read_url(
                    client,
                    source,
                    timeout=timeout,
                    max_bytes=max_bytes,
                    is_known=is_known,
                    feed_budget=feed_budget,
                    refuse_private=refuse_private,
                )
            else:
                results = _read_path(source, max_bytes=max_bytes, unchanged=unchanged)
            for result in results:
                if result.source not in seen:
                    seen.add(result.source)
                    original = (
                        duplicates.original_of(result)
                        if isinstance(result, Release)
                        else duplicates.original_of_unchanged(result)
                        if isinstance(result, Unchanged)
                        else None
                    )
                    yield Skipped(result.source, f"same release as {original}") if original else result


def _read_path(
    source: str, *, max_bytes: int, unchanged: Callable[[FileState], str | None] = lambda state: None
) -> Iterator[Release | Failure | Unchanged]:
    """A file, or every release file of a folder."""
    if not source:
        yield Failure("(empty)", "empty source name")
        return
    if re.match(r"^[A-Za-z][A-Za-z0-9+.-]*://", source):
        scheme = source.split(":", 1)[0]
        yield Failure(source, f"unsupported URL scheme '{scheme}' (only http and https)")
        return
    try:
        path = Path(source).expanduser().resolve()
    except (RuntimeError, OSError) as exc:  # a symlink loop: Path.resolve() raises outside any loader
        yield _failure(source, "symlink loop" if isinstance(exc, RuntimeError) else _os_reason(exc))
        return
    if path.is_dir():
        files, unreadable = walk_release_files(path)
        for folder in unreadable:
            yield _failure(str(folder), "permission denied")
        if not files and not unreadable:
            yield Failure(str(path), f"no release files in folder (looked for {', '.join(SUPPORTED_SUFFIXES)})")
        for file in files:
            yield _attempt(str(file.resolve()), partial(_load_if_changed, file, max_bytes, unchanged))
    else:
        yield _attempt(str(path), partial(_load_if_changed, path, max_bytes, unchanged))


def _read_url(
    client: httpx.Client,
    url: str,
    *,
    timeout: float,
    max_bytes: int,
    is_known: Callable[[str], bool],
    feed_budget: float = 300.0,
    refuse_private: bool = False,
) -> Iterator[Release | Failure]:
    """A release page, or every new item of a feed; the URL itself is fetched once."""
    try:
        response = fetch(client, url, timeout=timeout, max_bytes=max_bytes, refuse_private=refuse_private)
        items = feed_items_if_feed(response)
    except SourceError as exc:
        yield _failure(url, exc)
        return
    if items is None:
        yield _attempt(url, lambda: _release_from_response(response, url))
        return
    new = [item for item in items if not is_known(item.link)]
    spent_by = time.monotonic() + feed_budget  # one feed must not hold the index (and the app's write lock) for hours
    for done, item in enumerate(new):
        left = spent_by - time.monotonic()
        if left <= 0:
            yield _failure(
                url,
                f"feed budget of {feed_budget:g} s spent after {done} of {len(new)} new items "
                f"(COMMUNIQUE_FEED_BUDGET); run the update again to fetch the rest",
            )
            return
        yield _attempt(
            item.link,
            partial(
                _load_feed_item,
                client,
                item,
                timeout=min(timeout, left),
                max_bytes=max_bytes,
                refuse_private=refuse_private,
            ),
        )


def _attempt(source: str, load: Callable[[], _Loaded]) -> _Loaded | Failure:
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


def load_file(path: Path, *, max_bytes: int) -> Release:
    """Parse one release file, chosen explicitly (so never skipped); raises SourceError."""
    path, data = read_file(path, max_bytes=max_bytes)
    return parse_file(path, data)


def read_file(path: Path, *, max_bytes: int) -> tuple[Path, bytes]:
    """The resolved path and bytes of a release file, checked first (size, type); raises SourceError."""
    path = Path(path).expanduser().resolve()
    _check_file(path, max_bytes)
    try:
        return path, path.read_bytes()
    except PermissionError:
        raise SourceError("permission denied") from None
    except OSError as exc:
        raise SourceError(f"cannot read file ({_os_reason(exc)})") from None


def parse_file(path: Path, data: bytes) -> Release:
    """A release from a file's bytes, by the file's suffix."""
    kind = _KIND_BY_SUFFIX[path.suffix.lower()]
    return parse_document(kind, data, str(path), url=None, charset=declared_html_charset(data, kind))


def _load_if_changed(path: Path, max_bytes: int, unchanged: Callable[[FileState], str | None]) -> Release | Unchanged:
    """Parse a file unless its bytes are those the index holds (hashing ~10 KB costs ~20 µs, parsing ~10 ms).

    The bytes are always read and hashed: a size and mtime check alone would miss an edit
    that keeps both (mtime preserved by a copy or an archive, or forged).
    """
    path, data = read_file(path, max_bytes=max_bytes)
    key = unchanged(FileState(str(path), len(data), hashlib.sha256(data).hexdigest()))
    return Unchanged(str(path), key) if key is not None else parse_file(path, data)


def _check_file(path: Path, max_bytes: int) -> None:
    """Reject what cannot be a release before reading a single byte (size comes from stat)."""
    try:
        info = path.stat()
    except FileNotFoundError:
        raise SourceError("no such file or directory") from None
    except PermissionError:
        raise SourceError("permission denied") from None
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
        raise SourceError(f"file too large ({_mb(info.st_size)} MB, limit {limit_mb(max_bytes)} MB)")


def _os_reason(exc: OSError) -> str:
    return (exc.strerror or type(exc).__name__).lower()


def _mb(size: int) -> str:
    """52_400_000 -> '52.4'; small sizes keep two significant digits."""
    megabytes = size / 1_000_000
    return f"{megabytes:.1f}" if megabytes >= 1 else f"{megabytes:.2g}"


def load_url(url: str, *, timeout: float, max_bytes: int) -> Release:
    """Fetch and parse one release page (HTML, plain text, Markdown or PDF); raises SourceError."""
    with httpx.Client(follow_redirects=True, timeout=timeout, headers={"User-Agent": USER_AGENT}) as client:
        response = fetch(client, url, timeout=timeout, max_bytes=max_bytes)
    return _release_from_response(response, url)


def _release_from_response(response: Response, source: str) -> Release:
    """Parse a fetched release page according to what it is."""
    kind = _page_kind(response)
    charset = response.charset or declared_html_charset(response.body, kind)
    return parse_document(kind, response.body, source, url=source, charset=charset)


def _page_kind(response: Response) -> str:
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


def _load_feed_item(
    client: httpx.Client, item: FeedItem, *, timeout: float, max_bytes: int, refuse_private: bool = False
) -> Release:
    """Fetch a feed item's page; the feed's own date fills in when the page has none."""
    response = fetch(client, item.link, timeout=timeout, max_bytes=max_bytes, refuse_private=refuse_private)
    release = _release_from_response(response, item.link)
    if release.date is None and item.date:
        release = replace(release, date=item.date)
    return release
