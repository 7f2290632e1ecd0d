"""Cut a release into passages that can be embedded, retrieved and cited on their own.

Chunks follow paragraphs, then sentences, never cutting inside a word, and are
sized for the bundled models (USE and e5-small read ~128-512 tokens well). Each
chunk knows its release's title and its character span in the release text, so a
citation can point back at the exact passage.
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass

from langchain_core.documents import Document

from .release import Release

MAX_CHARS = 700  # tuned on the dev set: smaller chunks lost acronym definitions, larger ones blurred ranking

_PARAGRAPH = re.compile(r"\n\s*\n")
_LINE = re.compile(r"\n+")
# A sentence ends at . ! ? (optionally closed by a quote or bracket) followed by space and an upper-case
# letter or quote.
# The boundary is the space only: the closing quote stays with its sentence.
_SENTENCE_END = re.compile(
    r"(?<=[.!?])(?<!\b[A-Z]\.)(?<!\bMr\.)(?<!\bMrs\.)(?<!\bMs\.)(?<!\bDr\.)(?<!\bSt\.)(?<!\bGen\.)(?<!\bLt\.)(?<!\bNo\.)(?<!\bMme\.)"
    r"[»”\"')\]]?(?P<gap>\s+)(?=[«“\"(\[]?[A-ZÀ-ÖØ-Þ0-9])"
)  # not after "Mr." or an initial


@dataclass(frozen=True)
class Chunk:
    """One retrievable passage of a release."""

    release: Release
    n: int  # position in the release, from 0
    text: str
    start: int  # character span of `text` in `release.text`
    end: int

    @property
    def embed_text(self) -> str:
        """What the models read: the title gives every passage its release's context."""
        return embed_text(self.release.title, self.text)

    @property
    def text_hash(self) -> str:
        return text_hash(self.release.title, self.text)

    def to_document(self) -> Document:
        """The LangChain form stored in Chroma; None values are left out (Chroma rejects them)."""
        r = self.release
        metadata = {
            "source": r.source,
            "doc_id": r.doc_id,
            "title": r.title,
            "lang": r.lang,
            "date": r.date,
            "date_source": r.date_source,
            "updated": r.updated,
            "url": r.url,
            "chunk": self.n,
            "start": self.start,
            "end": self.end,
            "text_hash": self.text_hash,
            "sentences": json.dumps(sentence_spans(self.text)),
            "date_int": int(r.date.replace("-", "")) if r.date else None,  # Chroma compares numbers, not date strings
            "release_key": r.release_key,  # finds the same release indexed under another source
        }
        return Document(page_content=self.text, metadata={k: v for k, v in metadata.items() if v is not None})


def embed_text(title: str, text: str) -> str:
    """The text the models embed for a passage: its title, a blank line, the passage."""
    return f"{title}\n\n{text}"


def text_hash(title: str, text: str) -> str:
    """Cache key of a passage's vectors: identical embedded text, identical vectors."""
    return hashlib.sha256(embed_text(title, text).encode("utf-8")).hexdigest()


def chunk_release(release: Release) -> list[Chunk]:
    """Split a release's body into title-aware chunks with exact character spans.

    Hand-rolled rather than LangChain's RecursiveCharacterTextSplitter: that splitter
    rejoins pieces with its own separator, so the spans we cite could not be
    recovered exactly. Here every chunk is a slice of the release text.
    """
    text = release.text
    chunks: list[Chunk] = []
    run_start: int | None = None
    run_end = 0  # read only while a run is open (run_start is not None)
    for start, end in _units(text):
        if run_start is not None and end - run_start > MAX_CHARS:
            chunks.append(Chunk(release, len(chunks), text[run_start:run_end], run_start, run_end))
            run_start = None
        if run_start is None:
            run_start = start
        run_end = end
    if run_start is not None:
        chunks.append(Chunk(release, len(chunks), text[run_start:run_end], run_start, run_end))
    return chunks


def _units(text: str) -> list[tuple[int, int]]:
    """Spans of paragraphs; a paragraph longer than MAX_CHARS is cut at sentence ends, then at spaces."""
    units: list[tuple[int, int]] = []
    for para in _spans(text, _PARAGRAPH, 0, len(text)):
        if para[1] - para[0] <= MAX_CHARS:
            units.append(para)
            continue
        for sent in _spans(text, _SENTENCE_END, *para):
            if sent[1] - sent[0] <= MAX_CHARS:
                units.append(sent)
            else:  # a sentence longer than a chunk: cut between words
                units.extend(_word_windows(text, *sent))
    return units


def sentence_spans(text: str) -> list[tuple[int, int]]:
    """Sentences of a passage as (start, end) offsets: the units an extractive answer cites."""
    return [s for line in _spans(text, _LINE, 0, len(text)) for s in _spans(text, _SENTENCE_END, *line)]


def _spans(text: str, boundary: re.Pattern[str], start: int, end: int) -> list[tuple[int, int]]:
    """Non-blank spans of text[start:end] between matches of `boundary`, trimmed of whitespace."""
    spans, pos = [], start
    for match in boundary.finditer(text, start, end):
        # a boundary with a "gap" group cuts there only (a sentence keeps its closing quote)
        spans.append((pos, match.start("gap") if "gap" in boundary.groupindex else match.start()))
        pos = match.end()
    spans.append((pos, end))
    return [_trim(text, a, b) for a, b in spans if text[a:b].strip()]


def _word_windows(text: str, start: int, end: int) -> list[tuple[int, int]]:
    windows, pos = [], start
    while end - pos > MAX_CHARS:
        cut = text.rfind(" ", pos, pos + MAX_CHARS)
        cut = cut if cut > pos else pos + MAX_CHARS
        windows.append(_trim(text, pos, cut))
        pos = cut
    windows.append(_trim(text, pos, end))
    return [w for w in windows if w[1] > w[0]]


def _trim(text: str, start: int, end: int) -> tuple[int, int]:
    while start < end and text[start].isspace():
        start += 1
    while end > start and text[end - 1].isspace():
        end -= 1
    return start, end
