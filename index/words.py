"""Words as both sides count them: the snapshot's postings (index/) and the answering rules (bot/) must agree.

`content_words` (stemmed, accent-folded words that carry meaning) and `IDENTIFIER` (tokens
that look like identifiers or acronyms) are what a question is matched on and what the
snapshot's postings list per chunk, so they are defined once, here, for both.
"""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache

from .language import STOPWORDS

WORD = re.compile(r"[^\W_][\w’'-]*", re.U)
CONTENT_STOPWORDS = STOPWORDS | set("about into over under after before during than then also not no pas plus".split())
# Tokens that look like identifiers or acronyms: PAF-N, NSATU, MCCS, F-35, SACEUR, 1325, and ordinals of three
# digits or more ("190th", "190e" session) as their number. Years are left to the date steering.
_ORDINAL_SUFFIX = r"(?:st|nd|rd|th|e|er|ème|eme)"
IDENTIFIER = re.compile(
    r"(?<![\w,.-])(?:[A-Z][A-Z0-9]*[A-Z0-9](?:[-/][A-Z0-9]+)*|[A-Z]+-[A-Z0-9]+|"
    rf"(?!(?:19|20)\d\d(?!\d))\d{{3,}}{_ORDINAL_SUFFIX}?)(?![\w-])"
)
_ORDINAL = re.compile(rf"(?<=\d){_ORDINAL_SUFFIX}$")


def identifiers(text: str) -> list[str]:
    """The identifier tokens of a text, in order; an ordinal as its number, so "190e" finds "190th"."""
    return [_ORDINAL.sub("", token) for token in IDENTIFIER.findall(text)]


def content_words(text: str) -> set[str]:
    """Stemmed, accent-folded words that carry meaning (no stopwords, no possessive 's)."""
    words = (re.sub(r"[’']s$", "", w) for w in WORD.findall(text))
    return {stem(w) for w in words if w.lower() not in CONTENT_STOPWORDS and len(w) > 2}


@lru_cache(maxsize=65536)  # the same words recur in every candidate sentence
def stem(word: str) -> str:
    """A crude shared stem for English and French ("meetings" ~ "meeting", "réunions" ~ "reunion")."""
    word = unicodedata.normalize("NFKD", word.lower()).encode("ascii", "ignore").decode()
    for suffix in ("ing", "ies", "es", "s", "ed", "e"):
        if len(word) > 4 and word.endswith(suffix):
            return word[: -len(suffix)]
    return word
