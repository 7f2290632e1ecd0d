"""What an answer is, and the check that every [n] in it points at a passage that was given.

Both answer modes (extractive and LLM) end here: markers that match no provided passage
are removed, and only passages actually cited are listed, renumbered in order of first use.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Literal

AnswerMode = Literal["extractive", "llm", "abstain", "error"]

_MARKER = re.compile(r"\[(\d{1,3})\]")
# Bidirectional embeddings, overrides and isolates (and the Arabic letter mark): in a release they could
# make displayed text read differently from what it is ("Trojan source"); marks of direction alone stay.
_BIDI_CONTROLS = dict.fromkeys(map(ord, "\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069\u061c"))


def neutralise_bidi(text: object) -> str:
    """Displayed text without bidi override/embedding/isolate controls, so it reads as it is stored."""
    return str(text).translate(_BIDI_CONTROLS)


@dataclass(frozen=True)
class Passage:
    """A retrieved chunk offered to the answer step as [n]."""

    n: int
    id: str
    text: str
    metadata: dict
    score: float


@dataclass(frozen=True)
class Citation:
    """A cited passage, as the user sees it beside the answer."""

    n: int
    source: str
    title: str
    date: str | None
    lang: str
    url: str | None
    text: str  # the whole cited passage
    score: float
    chunk_id: str = ""
    quotes: tuple[tuple[int, int], ...] = ()  # spans of `text` the answer relies on (for highlighting)


@dataclass
class Answer:
    """The bot's reply."""

    question: str
    text: str
    found: bool
    citations: list[Citation] = field(default_factory=list)
    lang: str = "en"
    mode: AnswerMode = "extractive"
    error: str | None = None  # a user-facing message when the index could not be searched
    short: str | None = None  # the short answer that leads the text ("General Cavoli"), when there is one


def verify_citations(
    text: str, passages: list[Passage], quotes: dict[int, list[tuple[int, int]]] | None = None
) -> tuple[str, list[Citation]]:
    """Drop markers with no passage behind them and renumber the rest by first use."""
    by_n = {p.n: p for p in passages}
    order: list[int] = []

    def renumber(match: re.Match[str]) -> str:
        n = int(match.group(1))
        if n not in by_n:
            return "\x00"
        if n not in order:
            order.append(n)
        return f"[{order.index(n) + 1}]"

    cleaned = _MARKER.sub(renumber, text)
    cleaned = re.sub(r"[ \t]*\x00", "", cleaned)  # a dropped marker takes its space with it
    cleaned = re.sub(r"(\[\d+\])(?:\s*\1)+", r"\1", cleaned)  # "[1] [1]" -> "[1]"
    cleaned = cleaned.strip()
    citations = [_citation(i + 1, by_n[n], (quotes or {}).get(n, [])) for i, n in enumerate(order)]
    return cleaned, citations


def _citation(n: int, passage: Passage, quotes: list[tuple[int, int]]) -> Citation:
    meta = passage.metadata
    return Citation(
        n=n,
        source=str(meta.get("source", "")),
        title=str(meta.get("title", "")),
        date=meta.get("date"),
        lang=str(meta.get("lang", "")),
        url=meta.get("url"),
        text=passage.text,
        score=passage.score,
        chunk_id=passage.id,
        quotes=tuple(quotes),
    )
