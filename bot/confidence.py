"""When to say "not in the releases" instead of answering.

Two signals, calibrated on ../shared/dev-questions.jsonl (README, "Evaluation"):
  * support  — the best candidate sentence's score (bot.extractive): how well anything
               retrieved reads as an answer to this question;
  * coverage — named things the question asks about (identifiers, multi-word names,
               years) that appear nowhere in the index: "Steadfast Noon", "BALTOPS",
               "2031". One absent name lowers the bar a sentence must clear.
"""
from __future__ import annotations

import re

from .extractive import Evidence
from .query import Query
from .snapshot import Snapshot

MIN_SUPPORT = 0.45             # below this, nothing retrieved reads as an answer
MIN_SUPPORT_IF_MISSING = 0.75  # ... and this when the question names something the index never mentions

_QUESTION_WORDS = r"(?:Which|What|Who|Whom|Whose|When|Where|How|Why|Quel|Quelle|Quels|Quelles|Qui|Quand|Où|Comment|Combien|Pourquoi|Dans|In|On|At|According|Selon|D'après|For|Since|After|Before)"
_MONTHS = set("january february march april may june july august september october november december janvier février mars avril mai juin juillet août septembre octobre novembre décembre".split())
_ACRONYM = re.compile(r"(?<![\w-])[A-Z][A-Z0-9]+(?:-[A-Z0-9]+)*(?![\w-])")
_NAME = re.compile(r"(?<![\w-])[A-ZÀ-Ý][\w’'-]+(?:\s+[A-ZÀ-Ý][\w’'-]+)+(?![\w-])")
_YEAR = re.compile(r"\b(19[4-9]\d|20\d\d)\b")

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
            words = [w for w in words if w.lower() not in _MONTHS]
            if len(words) >= 2:
                terms.append(" ".join(words))
    terms += _YEAR.findall(question)
    return terms


def missing_terms(question: str, snapshot: Snapshot) -> list[str]:
    """Named terms found in no release text, title or date."""
    haystack = snapshot.lowered_text()
    years = snapshot.years()
    missing = []
    for term in named_terms(question):
        if term.isdigit():
            if term not in years and term not in haystack:
                missing.append(term)
        elif term.lower() not in haystack:
            missing.append(term)
    return missing


def should_abstain(query: Query, evidence: list[Evidence], snapshot: Snapshot) -> bool:
    if not evidence:
        return True
    best = evidence[0].score
    if best < MIN_SUPPORT:
        return True
    return best < MIN_SUPPORT_IF_MISSING and bool(missing_terms(query.question, snapshot))
