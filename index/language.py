"""Language facts both sides need — the index when it reads a release, the bot when it reads a question.

Kept apart from index.load so that answering never imports the loader's parsers
(trafilatura, pypdf, feedparser, httpx). Holds: deterministic language detection,
the one table of English and French month names, stopwords, and language names.
"""

from __future__ import annotations

import unicodedata

from langdetect import DetectorFactory, LangDetectException, detect_langs

# langdetect is random unless seeded; a fixed seed makes detection deterministic.
DetectorFactory.seed = 0

_LANG_SAMPLE_CHARS = 600  # enough for langdetect on a release; 2,000 made it most of a no-op update's cost


def _fold(word: str) -> str:
    return "".join(c for c in unicodedata.normalize("NFKD", word.lower()) if not unicodedata.combining(c))


_FULL = {
    "en": "january february march april may june july august september october november december",
    "fr": "janvier février mars avril mai juin juillet août septembre octobre novembre décembre",
}
_ABBREVIATIONS = {
    "jan": 1,
    "feb": 2,
    "mar": 3,
    "apr": 4,
    "jun": 6,
    "jul": 7,
    "aug": 8,
    "sep": 9,
    "sept": 9,
    "oct": 10,
    "nov": 11,
    "dec": 12,
    "janv": 1,
    "févr": 2,
    "fevr": 2,
    "fév": 2,
    "fev": 2,
    "avr": 4,
    "juil": 7,
}
# month name (lower case; French with and without accents; nato.int's abbreviations) -> month number
MONTHS: dict[str, int] = {**_ABBREVIATIONS}
for _names in _FULL.values():
    for _number, _name in enumerate(_names.split(), 1):
        MONTHS[_name] = MONTHS[_fold(_name)] = _number

STOPWORDS = frozenset(
    """a an the of in on at to for from by with and or but is are was were be been do does did has have had
what who whom whose when where which why how that this these those it its he him his she her they them their there
would could should will can may might shall
le la les un une des du de d l au aux et ou est sont été qui que quoi quel quelle quels quelles quand où comment
pourquoi combien il elle ils elles lui leur leurs ce cette cet ces en y à dans sur par pour avec a ont""".split()
)

# a language's name, in the language of the sentence that names it
LANG_NAMES = {"en": {"en": "English", "fr": "French"}, "fr": {"en": "anglais", "fr": "français"}}


def month_number(name: str) -> int | None:
    """1..12 for an English or French month name or abbreviation, any case or accents; else None."""
    word = name.lower().rstrip(".")
    return MONTHS.get(word) or MONTHS.get(_fold(word))


def detect_lang(text: str) -> str:
    """ISO 639-1 code of the text's language (deterministic); "en" when it cannot tell."""
    return guess_lang(text) or "en"


def guess_lang(text: str) -> str | None:
    """ISO 639-1 code of the text's language, or None when it has no letters to go on."""
    sample = text[:_LANG_SAMPLE_CHARS]
    try:
        guesses = detect_langs(sample)
    except LangDetectException:  # no letters to go on
        return None
    return guesses[0].lang.split("-")[0] if guesses else None
