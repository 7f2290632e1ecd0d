"""Turn a user's question (and the conversation so far) into what retrieval searches for.

Three things a plain embedding misses are read from the question here:
  * follow-ups lean on earlier turns ("Who presented it?"): the earlier question is folded in;
  * dates ("in May 2024", "en juin 2024", "on 21 February 2024") steer towards releases of
    that period, because recurring meetings differ mostly by date;
  * a named page language ("the French topic page", "la version anglaise") prefers releases in it.
It is also where the question is read once for everything later steps need: its language,
what it asks for (bot.forms.asked_for), the names, identifiers and years it mentions.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from index.language import MONTHS, STOPWORDS, detect_lang
from index.words import identifiers

from .forms import Asked, asked_for

MAX_QUESTION_CHARS = (
    2000  # longer questions are refused (the app, the CLI, the library): 99,000 characters took 37 s and 646 MB
)
_MONTH = "|".join(sorted(map(re.escape, MONTHS), key=len, reverse=True))
_DAY_MONTH_YEAR = re.compile(
    rf"\b(?:(\d{{1,2}})(?:er|st|nd|rd|th)?\s+)?({_MONTH})\.?\s+(?:of\s+)?((?:19|20)\d\d)\b", re.I
)
_MONTH_DAY_YEAR = re.compile(rf"\b({_MONTH})\.?\s+(\d{{1,2}})(?:st|nd|rd|th)?,?\s+((?:19|20)\d\d)\b", re.I)
_ISO = re.compile(r"\b((?:19|20)\d\d)-(\d\d)(?:-(\d\d))?\b")
YEAR = re.compile(r"\b(19[4-9]\d|20\d\d)\b")

# Words that make a question lean on the previous turn.
_PRONOUN = re.compile(
    r"\b(it|its|he|him|his|she|her|they|them|their|there|il|elle|ils|elles|lui|leur|leurs|celui|celle|cela|là)\b", re.I
)
_DEMONSTRATIVE = re.compile(
    r"\b(that|this|these|those|the same|ce|cette|cet|ces)\s+(meeting|commission|committee|summit|event|visit|"
    r"conference|session|programme|program|plan|release|statement|agreement|initiative|mission|fund|"
    r"day|year|time|réunion|commission|comité|sommet|visite|conférence|programme|plan|mission|initiative|fonds|"
    r"accord|déclaration|jour|année|date)\b",
    re.I,
)
_CONTINUATION = re.compile(r"^\s*(and|et|what about|how about|et pour|and for|and in|et en)\b", re.I)
_WORD = re.compile(r"[^\W\d_][\w’'-]*", re.U)
SELF_CONTAINED_WORDS = 7  # a question with this many content words rarely needs the previous turn

_LANG_HINTS = [
    (
        re.compile(
            r"\b(french|français|française)\s+(version|page|topic page|release|text|article|statement|site)\b|"
            r"\b(version|page|communiqué|article|texte)\s+(française|en français)\b|\bin french\b",
            re.I,
        ),
        "fr",
    ),
    (
        re.compile(
            r"\b(english)\s+(version|page|topic page|release|text|article|statement|site)\b|"
            r"\b(version|page|communiqué|article|texte)\s+(anglaise|en anglais)\b|\bin english\b",
            re.I,
        ),
        "en",
    ),
]


@dataclass(frozen=True)
class DateHint:
    """A date named in the question, as precise as it was given."""

    year: int
    month: int | None = None
    day: int | None = None

    def match(self, iso_date: str | None) -> float:
        """0 (no match) .. 1 (same day or month as asked) for a release's ISO date."""
        if not iso_date or len(iso_date) < 4 or int(iso_date[:4]) != self.year:
            return 0.0
        if self.month is None:
            return 0.5
        if len(iso_date) < 7 or int(iso_date[5:7]) != self.month:
            return 0.0
        if self.day is None or len(iso_date) < 10:
            return 1.0
        return 1.0 if int(iso_date[8:10]) == self.day else 0.75


@dataclass(frozen=True)
class Query:
    """What retrieval works with."""

    question: str  # as asked
    text: str  # what is searched: the question, with earlier turns folded in if it leans on them
    lang: str  # language of the question, for the reply
    dates: tuple[DateHint, ...] = ()
    lang_hint: str | None = None  # a page language the user asked for explicitly
    folded: tuple[str, ...] = field(default_factory=tuple)  # earlier questions folded in
    asks: Asked = Asked("other")  # what the question wants back (a person, a date, a definition …)
    terms: tuple[str, ...] = ()  # names, acronyms and years it mentions, as a release would write them
    identifiers: tuple[str, ...] = ()  # identifier-like tokens of the searched text (PAF-N, NSATU, 1325)

    @property
    def years(self) -> tuple[int, ...]:
        """Years the question names (its own, or those of the questions it follows)."""
        return tuple(dict.fromkeys(d.year for d in self.dates))


def prepare(question: str, history: list[dict] | None = None) -> Query:
    """Read a question in the context of the conversation (ValueError when it is longer than MAX_QUESTION_CHARS)."""
    question = " ".join(question.split())
    if len(question) > MAX_QUESTION_CHARS:
        raise ValueError(f"the question is too long ({len(question)} characters; at most {MAX_QUESTION_CHARS})")
    earlier = [m["content"] for m in (history or []) if m.get("role") == "user" and isinstance(m.get("content"), str)]
    folded = _context_for(question, earlier)
    text = " ".join([*folded, question])
    dates = find_dates(question) or tuple(d for q in folded for d in find_dates(q))
    return Query(
        question=question,
        text=text,
        lang=question_lang(question),
        dates=dates,
        lang_hint=_lang_hint(question),
        folded=tuple(folded),
        asks=asked_for(question),
        terms=tuple(named_terms(question)),
        identifiers=tuple(dict.fromkeys(identifiers(text))),
    )


_QUESTION_WORDS = re.compile(
    r"(?:Which|What|Who|Whom|Whose|When|Where|How|Why|Quel|Quelle|Quels|Quelles|Qui|Quand|Où|Comment|"
    r"Combien|Pourquoi|Dans|In|On|At|According|Selon|D'après|For|Since|After|Before|And|Et)"
)
_ACRONYM = re.compile(r"(?<![\w-])[A-Z][A-Z0-9]+(?:-[A-Z0-9]+)*(?![\w-])")
_NAME = re.compile(r"(?<![\w-])[A-ZÀ-Ý][\w’'-]+(?:\s+[A-ZÀ-Ý][\w’'-]+)+(?![\w-])")


def named_terms(question: str) -> list[str]:
    """Acronyms, multi-word names and years the question names, as they would be written in a release."""
    terms = [t for t in _ACRONYM.findall(question) if len(t) >= 3]
    for found in _NAME.finditer(question):
        for n, part in enumerate(re.split(r"[’']s\b", found.group())):  # "NATO's Science" names two things
            words = part.split()
            # the question's first word is capitalised as the start of a sentence, not as a name ("Besides Ukraine")
            opening = n == 0 and not question[: found.start()].strip()
            words = words[1:] if words and (opening or _QUESTION_WORDS.fullmatch(words[0])) else words
            words = [w for w in words if w.lower() not in MONTHS]
            if len(words) >= 2:
                terms.append(" ".join(words))
    terms += YEAR.findall(question)
    return list(dict.fromkeys(terms))


def leans_on_context(question: str) -> bool:
    """A follow-up starts with "and", points back ("that meeting"),
    or is short and uses a pronoun ("Who presented it?")."""
    if _CONTINUATION.search(question) or _DEMONSTRATIVE.search(question):
        return True
    content = [w for w in _WORD.findall(question) if w.lower() not in STOPWORDS]
    return bool(_PRONOUN.search(question)) and len(content) < SELF_CONTAINED_WORDS


def _context_for(question: str, earlier: list[str]) -> list[str]:
    """Earlier user questions this one depends on, oldest first (a chain of follow-ups is followed back)."""
    if not earlier or not leans_on_context(question):
        return []
    chain: list[str] = []
    for previous in reversed(earlier[-3:]):
        chain.insert(0, previous)
        if not leans_on_context(previous):
            break
    return chain


def find_dates(text: str) -> tuple[DateHint, ...]:
    """Dates named in text, most precise forms first; bare years only when nothing more precise is there."""
    found: list[DateHint] = []
    for m in _DAY_MONTH_YEAR.finditer(text):
        found.append(DateHint(int(m.group(3)), MONTHS[m.group(2).lower()], int(m.group(1)) if m.group(1) else None))
    for m in _MONTH_DAY_YEAR.finditer(text):
        found.append(DateHint(int(m.group(3)), MONTHS[m.group(1).lower()], int(m.group(2))))
    for m in _ISO.finditer(text):
        found.append(DateHint(int(m.group(1)), int(m.group(2)), int(m.group(3)) if m.group(3) else None))
    if not found:
        found = [DateHint(int(y)) for y in YEAR.findall(text)]
    return tuple(dict.fromkeys(d for d in found if d.month is None or 1 <= d.month <= 12))


def _lang_hint(question: str) -> str | None:
    for pattern, lang in _LANG_HINTS:
        if pattern.search(question):
            return lang
    return None


_FRENCH_WORDS = {
    "qui",
    "que",
    "quoi",
    "quel",
    "quelle",
    "quels",
    "quelles",
    "est",
    "sont",
    "le",
    "la",
    "les",
    "des",
    "du",
    "où",
    "quand",
    "combien",
    "comment",
    "pourquoi",
    "qu",
    "a",
    "ont",
    "il",
    "elle",
    "de",
    "et",
    "en",
    "au",
    "aux",
    "dans",
    "pour",
}
_ENGLISH_WORDS = {
    "what",
    "who",
    "when",
    "where",
    "which",
    "how",
    "why",
    "is",
    "are",
    "was",
    "the",
    "did",
    "does",
    "do",
    "of",
    "it",
    "and",
    "in",
    "to",
    "for",
    "on",
    "at",
    "by",
    "with",
}


def question_lang(question: str) -> str:
    """The question's language. Function words decide first: a statistical detector misreads
    short questions made mostly of names ("What is Exercise Quartz Lantern?")."""
    words = [w.lower() for w in re.findall(r"[^\W\d_]+", question)]
    french = sum(w in _FRENCH_WORDS for w in words)
    english = sum(w in _ENGLISH_WORDS for w in words)
    if french != english and max(french, english) >= 2 * min(french, english):
        return "fr" if french > english else "en"
    return detect_lang(question)
