"""What one parsed communiqué is, independent of where it came from or how it is stored."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass


@dataclass(frozen=True)
class Release:
    """A communiqué's body text and metadata, ready to be chunked.

    ``text`` holds the body only: the nato.int header (title and date lines) is
    parsed into the fields and never indexed as body text.
    """

    source: str  # absolute file path, or the URL as given
    title: str
    text: str
    lang: str  # ISO 639-1 code, detected from the text ("en", "fr", ...)
    date: str | None = None  # ISO publication date (YYYY-MM-DD)
    updated: str | None = None  # ISO date of "Last updated" / "Mis à jour le", if any
    url: str | None = None  # link to the original page, when known
    date_source: str | None = (
        None  # where `date` came from: header, front_matter, html_meta, pdf_info, dateline, nato_layout
    )

    @property
    def doc_id(self) -> str:
        """Stable id: the same source always maps to the same release."""
        return hashlib.sha256(self.source.encode("utf-8")).hexdigest()[:16]

    @property
    def release_key(self) -> str:
        """What makes two sources the same release: title, date and body, case and spacing aside.

        An EN/FR pair differs in all three, a copy with another date in one; both stay distinct.
        """
        parts = (" ".join(self.title.split()).casefold(), self.date or "", " ".join(self.text.split()).casefold())
        return hashlib.sha256("\x00".join(parts).encode("utf-8")).hexdigest()[:16]


@dataclass(frozen=True)
class Failure:
    """A source that could not be read, with a one-line reason for the user."""

    source: str
    reason: str

    def __str__(self) -> str:
        return f"failed {printable_name(self.source)}: {self.reason}"


@dataclass(frozen=True)
class Skipped(Failure):
    """A source not indexed on purpose (e.g. the same release as another source); not an error.

    A Failure subclass so that code that only knows Release and Failure still leaves it out.
    """

    def __str__(self) -> str:
        return f"skipped {printable_name(self.source)}: {self.reason}"


@dataclass(frozen=True)
class FileState:
    """A release file's bytes as read: what the no-op shortcut compares with what was indexed (index.file_records)."""

    source: str  # absolute path, as Release.source
    size: int
    sha256: str  # of the file's bytes


@dataclass(frozen=True)
class Unchanged:
    """A file whose bytes are exactly those already indexed: not parsed again (its chunks stay as they are)."""

    source: str
    release_key: str  # of the release indexed from these bytes (finds a second copy under another name)


def printable_name(source: str) -> str:
    """A source name fit for one line: quoted (repr) when it holds a newline or another control character."""
    if any(ord(c) < 32 or ord(c) == 127 for c in source):
        return repr(source)
    return source
