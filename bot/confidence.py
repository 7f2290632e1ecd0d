"""When to say "not in the releases" instead of answering.

Three signals, calibrated on ../shared/dev-questions.jsonl (README, "Evaluation"):
  * support  — the best candidate sentence's score (bot.extractive): how well anything
               retrieved reads as an answer to this question;
  * coverage — named things the question asks about (identifiers, multi-word names,
               years after the newest release) that appear nowhere in the index:
               "Steadfast Noon", "BALTOPS", "2031". One absent name lowers the bar a sentence must clear;
  * topicality — when the question and the best release share a language, the share
               (IDF-weighted) of the question's words that release uses at all. A
               question most of whose distinctive words the release never uses
               ("board of directors", "operational domain") is about something else.
               (Across languages words cannot be compared, so this one is skipped.)
"""
from __future__ import annotations

import math
import re

from .extractive import Evidence
from .forms import content_words
from .query import MONTHS, YEAR, Query
from .search import Hit
from .snapshot import Snapshot

MIN_SUPPORT = 0.35             # below this, nothing retrieved reads as an answer
MIN_SUPPORT_IF_MISSING = 0.7   # ... and this when the question names something the index never mentions
MIN_TOPICALITY = 0.3           # share of the question's word weight found in the best release (same language)
MAX_SUPPORT_FOR_TOPICALITY = 0.75   # a sentence this good answers even an off-topic-looking question

_QUESTION_WORDS = r"(?:Which|What|Who|Whom|Whose|When|Where|How|Why|Quel|Quelle|Quels|Quelles|Qui|Quand|Où|Comment|Combien|Pourquoi|Dans|In|On|At|According|Selon|D'après|For|Since|After|Before)"
_ACRONYM = re.compile(r"(?<![\w-])[A-Z][A-Z0-9]+(?:-[A-Z0-9]+)*(?![\w-])")
_NAME = re.compile(r"(?<![\w-])[A-ZÀ-Ý][\w’'-]+(?:\s+[A-ZÀ-Ý][\w’'-]+)+(?![\w-])")

ABSTAIN_TEXT = {
    "en": "I could not find this in the indexed releases.",
    "fr": "Je n’ai pas trouvé cette information dans les communiqués indexés.",
}


def named_terms(question: str) -> list[str]:
    """Acronyms, multi-word names and years the question names, as they would be written in a release."""
    terms = [t for t in _ACRONYM.findall(question) if len(t) >= 3]
    for name in _NAME.findall(question):
        for part in re.split(r"[’']s\b", name):   # "NATO's Science" names two things
            words = part.split()
            words = words[1:] if words and re.fullmatch(_QUESTION_WORDS, words[0]) else words
            words = [w for w in words if w.lower() not in MONTHS]
            if len(words) >= 2:
                terms.append(" ".join(words))
    terms += YEAR.findall(question)
    return terms


def missing_terms(question: str, snapshot: Snapshot) -> list[str]:
    """Named terms found in no release text or title; years later than every release and not mentioned."""
    haystack = snapshot.lowered_text()
    latest = max((int(y) for y in snapshot.years()), default=0)
    missing = []
    for term in named_terms(question):
        if term.isdigit():   # an earlier year may be covered by an undated page; a later one cannot be
            if int(term) > latest and term not in haystack:
                missing.append(term)
        elif term.lower() not in haystack:
            missing.append(term)
    return missing


def topicality(query: Query, hits: list[Hit], snapshot: Snapshot) -> float | None:
    """IDF-weighted share of the question's words used by the best release's retrieved passages; None across languages."""
    if not hits or hits[0].metadata.get("lang") != query.lang:
        return None
    source = hits[0].metadata.get("source")
    used = set().union(*(content_words(f"{h.metadata.get('title', '')} {h.text}") for h in hits if h.metadata.get("source") == source))
    asked = content_words(query.text)
    df = snapshot.word_chunks()
    n = max(len(snapshot), 1)
    weight = {w: math.log(1 + n / (1 + df.get(w, 0))) for w in asked}
    total = sum(weight.values())
    return sum(weight[w] for w in asked if w in used) / total if total else None


def should_abstain(query: Query, hits: list[Hit], evidence: list[Evidence], snapshot: Snapshot) -> bool:
    if not evidence:
        return True
    best = max(e.support for e in evidence[:5])
    if best < MIN_SUPPORT:
        return True
    if best < MIN_SUPPORT_IF_MISSING and missing_terms(query.question, snapshot):
        return True
    share = topicality(query, hits, snapshot)
    return share is not None and share < MIN_TOPICALITY and best < MAX_SUPPORT_FOR_TOPICALITY
