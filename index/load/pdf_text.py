"""A PDF page's text as paragraphs: running headers and footers out, wrapped lines re-joined.

pypdf gives one line of text per printed line: a sentence wrapped over three lines
becomes three lines, a word hyphenated at a line end two halves, and the page header
("Press release · 19 May 2022"), footer ("Page 2 of 3", the page's URL, a print
stamp) sit between the sentences of a paragraph that runs over a page break. Indexed
like that, passages cut sentences apart and quote furniture.

pypdf's own extraction is kept (its spacing between words is right); its visitor only
tells where each line sits (baseline and font size), which is what decides here:

- **furniture**: the lines nearest the top and bottom edge of a page, inside the page's
  margin band, when they recur on another page (digits aside: page numbers change), are
  set smaller than the body text, or look like furniture on their own (a page number, a
  URL, a date or a time stamp);
- **paragraphs**: a line starts a new paragraph after a vertical gap wider than the
  page's usual line spacing, when the font size changes (title, date line, body), or
  after a line well short of a full one (wrapped prose fills its lines);
  a bullet starts a new one; a paragraph runs on over a page break unless its last line
  ends a sentence;
- **hyphens**: a word cut at a line end ("deter-" / "rence") is joined without its hyphen,
  unless the document writes the hyphenated form elsewhere ("non-" / "combat" when
  "non-combat" occurs) or the part before the hyphen ends in a capital or a digit ("NATO-led").
"""

from __future__ import annotations

import math
import re
from collections import Counter
from dataclasses import dataclass
from statistics import median
from typing import Any

_BAND = 0.09  # share of the page height, top and bottom, where running headers and footers sit
_EDGE_LINES = 2  # at most this many lines from each edge are furniture
_MIN_FULL_LINE = 30  # characters: a shorter line is never the wrapped part of a paragraph

_PAGE_NUMBER = re.compile(
    r"^(?:(?:page|p\.)\s*)?[-–(\[]?\s*\d{1,4}\s*(?:(?:/|of|sur|de)\s*\d{1,4})?\s*[-–)\]]?$", re.IGNORECASE
)
_PAGE_WORD = re.compile(
    r"\b(?:page|p\.)\s*\d{1,4}(?:\s*(?:/|of|sur|de)\s*\d{1,4})?\b|\b\d{1,4}\s*/\s*\d{1,4}\s*$", re.I
)
_URL = re.compile(r"\b(?:https?://|www\.)\S+", re.IGNORECASE)
_STAMP = re.compile(
    r"\b\d{1,2}[/.]\d{1,2}[/.]\d{2,4}\b|\b\d{4}-\d{2}-\d{2}\b|\b\d{1,2}:\d{2}\b"
    r"|\b\d{1,2}(?:er|st|nd|rd|th)?\.?\s+[^\W\d_]{3,}\.?,?\s+\d{4}\b|\b[^\W\d_]{3,}\.?\s+\d{1,2},?\s+\d{4}\b"
)
_BULLET = re.compile(r"^\s*[•·▪◦‣○●■□➢►✓*–-](?:\s|$)")
_SENTENCE_END = re.compile(r"[.!?:;…\"”»)\]]\s*$")


@dataclass
class Line:
    text: str
    y: float | None  # baseline, in points from the bottom of the page (None when pypdf gave no position)
    size: float


@dataclass
class Page:
    lines: list[Line]
    height: float


def page_lines(page: Any) -> Page:
    """The page's lines as pypdf extracts them, each with the baseline and font size of its first text."""
    pieces: list[tuple[str, float | None, float]] = []

    def visit(text: str, cm: Any, tm: Any, font: Any, size: float) -> None:
        y = None
        if tm is not None and cm is not None and (tm[4] or tm[5]):
            y = float(tm[4] * cm[1] + tm[5] * cm[3] + cm[5])
            size = float(size) * (abs(float(cm[3])) or 1.0)
        pieces.append((text, y, float(size or 0)))

    page.extract_text(visitor_text=visit)
    lines: list[Line] = []
    text, y, size = "", None, 0.0
    for piece, piece_y, piece_size in pieces:
        parts = piece.split("\n")
        for i, part in enumerate(parts):
            if i:
                lines.append(Line(text, y, size))
                text, y, size = "", None, 0.0
            if part.strip() and y is None:
                y, size = piece_y, piece_size
            text += part
    lines.append(Line(text, y, size))
    try:
        height = float(page.mediabox.height)
    except Exception:  # a page without a usable media box: no band, so no furniture found by position
        height = 0.0
    return Page([line for line in lines if line.text.strip()], height)


def _shape(text: str) -> str:
    """A line with its digits masked: 'Page 2 of 3' and 'Page 3 of 3' are the same furniture."""
    return re.sub(r"\d+", "#", " ".join(text.split()).casefold())


def _looks_like_furniture(text: str) -> bool:
    text = " ".join(text.split())
    return bool(_PAGE_NUMBER.match(text) or _PAGE_WORD.search(text) or _URL.search(text) or _STAMP.search(text))


def _edge_indexes(page: Page) -> list[int]:
    """Indexes of the lines nearest the top and bottom edges that lie inside the margin bands."""
    found: list[int] = []
    if page.height <= 0:
        return found
    top, bottom = page.height * (1 - _BAND), page.height * _BAND
    for i, line in enumerate(page.lines[:_EDGE_LINES]):
        if line.y is None or line.y < top:
            break
        found.append(i)
    for j in range(len(page.lines) - 1, max(len(page.lines) - 1 - _EDGE_LINES, -1), -1):
        line = page.lines[j]
        if line.y is None or line.y > bottom or j in found:
            break
        found.append(j)
    return found


def split_furniture(pages: list[Page]) -> tuple[list[list[Line]], list[str]]:
    """(each page's body lines, the furniture lines taken out) of a document."""
    edges = [_edge_indexes(page) for page in pages]
    sizes = [line.size for page in pages for line in page.lines if line.size]
    body_size = median(sizes) if sizes else 0.0
    shapes = Counter(_shape(pages[p].lines[i].text) for p, indexes in enumerate(edges) for i in set(indexes))
    bodies: list[list[Line]] = []
    furniture: list[str] = []
    for page, indexes in zip(pages, edges):
        drop = {
            i
            for i in indexes
            if (len(pages) > 1 and shapes[_shape(page.lines[i].text)] > 1)
            or _looks_like_furniture(page.lines[i].text)
            or 0 < page.lines[i].size < body_size - 1  # set smaller than the body text
        }
        if len(drop) == len(page.lines):  # a page of nothing but short lines: keep it rather than lose it
            drop = set()
        furniture += [page.lines[i].text.strip() for i in sorted(drop)]
        bodies.append([line for i, line in enumerate(page.lines) if i not in drop])
    return bodies, furniture


def typical_lengths(pages: list[list[Line]]) -> dict[int, float]:
    """By font size, the length (in characters) of a full line: the 80th percentile of the lines set in it."""
    by_size: dict[int, list[int]] = {}
    for lines in pages:
        for line in lines:
            by_size.setdefault(round(line.size), []).append(len(" ".join(line.text.split())))
    return {size: sorted(lengths)[math.ceil(0.8 * (len(lengths) - 1))] for size, lengths in by_size.items()}


def _ends_short(line: Line, following: Line, full: float) -> bool:
    """Whether ``line`` stops short of the text column: the next line's first word would have fitted on it.

    Wrapped prose only breaks a line when the next word does not fit; a line that is short
    (under 30 characters, or under 85 % of a full line with room left for that word) was
    ended on purpose. Characters stand in for widths, so 10 % is left for wide letters.
    """
    text = " ".join(line.text.split())
    if _HYPHEN_END.search(text):
        return False
    if len(text) < _MIN_FULL_LINE:
        return True
    next_word = (following.text.split() or [""])[0]
    return len(text) < 0.85 * full and len(text) + 1 + len(next_word) < 0.9 * full


def _paragraphs_of_page(lines: list[Line], full: dict[int, float]) -> list[list[Line]]:
    """Lines grouped into paragraphs by vertical gaps, font-size changes, bullets and short lines.

    Wrapped prose fills its lines: a line that stops short of a full one (``_ends_short``) ends a
    paragraph (a title, a date line, a paragraph's last line), whatever the spacing after it.
    """
    gaps: dict[float, list[float]] = {}  # line spacing by font size: a title is set wider than the body
    for a, b in zip(lines, lines[1:]):
        if a.y is not None and b.y is not None and a.y > b.y and abs(a.size - b.size) < 0.5:
            gaps.setdefault(round(a.size), []).append(a.y - b.y)
    spacings = {size: min(values) if len(values) < 3 else median(values) for size, values in gaps.items()}
    paragraphs: list[list[Line]] = []
    for line in lines:
        if not paragraphs:
            paragraphs.append([line])
            continue
        previous = paragraphs[-1][-1]
        new = False
        if _BULLET.match(line.text) or _ends_short(previous, line, full.get(round(previous.size), 0)):
            new = True
        elif previous.y is not None and line.y is not None:
            gap = previous.y - line.y
            size_changed = abs(previous.size - line.size) >= 0.5
            expected = spacings.get(round(line.size)) or max(previous.size, line.size) * 1.2
            new = size_changed or gap <= 0 or gap > expected * 1.35
        else:
            new = bool(_SENTENCE_END.search(previous.text))
        if new:
            paragraphs.append([line])
        else:
            paragraphs[-1].append(line)
    return paragraphs


_HYPHEN_END = re.compile(r"(\w*[^\W\d_])-$")
_TAIL_START = re.compile(r"^([^\W\d_]\w*)")


def _join_lines(texts: list[str], vocabulary: str) -> str:
    out = ""
    for text in (" ".join(t.split()) for t in texts):
        if not text:
            continue
        head = _HYPHEN_END.search(out)
        tail = _TAIL_START.match(text)
        if head and tail and tail.group(1)[0].islower():
            before, after = head.group(1), tail.group(1)
            compound = f"{before}-{after}".casefold() in vocabulary
            cut_word = f"{before}{after}".casefold() in vocabulary
            if before[-1].isupper() or (compound and not cut_word):
                out += text  # a real hyphen ("NATO-led", "non-combat")
            else:
                out = out[:-1] + text
        else:
            out = f"{out} {text}" if out else text
    return out


def document_text(pages: list[Page]) -> tuple[str, list[str]]:
    """(the document's body as paragraphs separated by blank lines, the furniture lines removed)."""
    bodies, furniture = split_furniture(pages)
    vocabulary = " ".join(line.text for lines in bodies for line in lines).casefold()
    paragraphs: list[list[str]] = []
    full = typical_lengths(bodies)
    for lines in bodies:
        for i, paragraph in enumerate(_paragraphs_of_page(lines, full)):
            texts = [line.text for line in paragraph]
            # the first paragraph of a page continues the last one when that one stopped mid-sentence
            if i == 0 and paragraphs and not _SENTENCE_END.search(paragraphs[-1][-1]):
                paragraphs[-1] += texts
            else:
                paragraphs.append(texts)
    return "\n\n".join(_join_lines(texts, vocabulary) for texts in paragraphs), furniture
