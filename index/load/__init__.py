"""Reading sources: turn what a user names (files, folders, release URLs, RSS/Atom feeds) into releases.

:func:`read_sources` is the entry point. It must never raise for bad input:
every source that cannot be read (missing, binary, empty, too large, HTTP
error, broken feed, damaged PDF, ...) becomes exactly one
:class:`~index.release.Failure` with a one-line reason, so that one broken file
or dead link never stops the others from being indexed. The single-source
helpers (``load_file``, ``load_url``, ``parse_feed``, ``parse_release_text``)
report bad input as :class:`SourceError`, which ``read_sources`` turns into a
Failure.

Modules, one job each (imports only go down this list):

- ``sources``: dispatch what the user typed; list folders; build Failures; load one file or page
- ``dedupe``: the same release under a second file name is skipped, not indexed twice
- ``formats``: HTML (trafilatura) and PDF (pypdf, info and XMP) to a Release; text to ``text_layout``
- ``pdf_text``: a PDF's lines as paragraphs (running headers/footers out, wrapped lines and hyphens re-joined)
- ``text_layout``: plain text and Markdown to a Release, trying each metadata layout in order
- ``front_matter``: YAML front matter (PyYAML)
- ``header``: ``key: value`` header lines (title, date, updated, url/source, lang)
- ``html_meta``: an HTML page's title, dates (htmldate, markup only) and ``<html lang>``
- ``dates``: declared dates and datelines to ISO (dateparser, EN and FR)
- ``nato_layout``: the nato.int title/date/"last updated" header, and dates
- ``assemble``: a Release from title, body and metadata (text clean-up, titles, language)
- ``fetch``: HTTP downloads with size and time limits; RSS/Atom feeds
- ``decode``: bytes to text (encodings, binary detection)
- ``language``: language detection
- ``errors``: ``SourceError``
"""

from __future__ import annotations

from .decode import decode_bytes
from .errors import SourceError
from .fetch import FeedItem, is_url, parse_feed
from .language import detect_lang
from .nato_layout import parse_date
from .sources import (
    HOUSEKEEPING_STEMS,
    SUPPORTED_SUFFIXES,
    list_release_files,
    load_file,
    load_url,
    read_sources,
)
from .text_layout import parse_release_text

__all__ = [
    "HOUSEKEEPING_STEMS",
    "SUPPORTED_SUFFIXES",
    "FeedItem",
    "SourceError",
    "decode_bytes",
    "detect_lang",
    "is_url",
    "list_release_files",
    "load_file",
    "load_url",
    "parse_date",
    "parse_feed",
    "parse_release_text",
    "read_sources",
]
