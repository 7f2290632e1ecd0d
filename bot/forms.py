"""What a question asks for, and which things of that type a sentence holds — English and French.

Question side (read once, by bot.query): "who/qui" wants a person, "when/quand" a date,
"how many/combien/quel pourcentage" a number or amount, "where/où/which country/quel pays" a place,
"which/quel X" a named thing, "what is X / qu'est-ce que X" the definition of X.
Sentence side: the candidates of that type a sentence holds that the question does
not already name; the answer model reads whether there are any, and the short answer
is the candidate when there is exactly one.

Pure functions on text: no model, no index. The patterns are regexes on purpose:
they run on every candidate sentence of every question (30+ per answer, within a 50 ms
budget), where `dateparser.search` costs milliseconds per sentence; country names come
from pycountry's ISO 3166 tables (English and French) rather than a list of our own.
"""

from __future__ import annotations

import gettext
import re
from dataclasses import dataclass
from functools import lru_cache
from typing import Literal

from index.language import MONTHS
from index.words import CONTENT_STOPWORDS as _STOPWORDS
from index.words import content_words, stem

AskedKind = Literal["person", "date", "number", "place", "entity", "definition", "describe", "other"]


@dataclass(frozen=True)
class Asked:
    """What the question wants back."""

    kind: AskedKind
    term: str = ""  # the defined term, for "what is X"
    focus: str = ""  # the noun of "which committee …" (stemmed), for entity questions

    @property
    def typed(self) -> bool:
        """A question whose answer is one thing of a known type (the answer model reads if a sentence holds one)."""
        return self.kind in ("person", "date", "number", "place", "entity")

    @property
    def leads(self) -> bool:
        """A short answer may lead: a person, a date, a number or a place. A "which X" thing is found only as a
        capitalised name, which does not know what X is ("OTAN", "NATO's" for "which priorities"): in grouped
        cross-validation 1 of 6 such short answers was right, against 20 of 30 for the other kinds."""
        return self.kind in ("person", "date", "number", "place")


# Later in the question than its opening word (that one is read by _LEADING, in asked_for):
_WHO = re.compile(
    r"\b(which|what|quel|quelle|quels|quelles)\s+(\w+\s+){0,2}"
    r"(person|official|minister|president|general|admiral|ambassador|diplomat|secretary|chair|chairman|commander|"
    r"spokesperson|leader|ministre|président|présidente|général|amiral|ambassadeur|diplomate|officier|secrétaire|"
    r"personnalité|responsable|dirigeant)\b|\bwho\b",
    re.I,
)
_WHEN = re.compile(
    r"\b(what|which|quel|quelle)\s+(date|day|year|month|jour|année|mois)\b|"
    r"\bon what\b|\bin which year\b|\ben quelle année\b|\bà quelle date\b|\bwhen\b|\bquand\b",
    re.I,
)
_HOW_MANY = re.compile(
    r"\b(how many|how much|combien|what number|quel nombre|what percentage|quel pourcentage|what share|"
    r"what proportion|what amount|quel montant|what budget|quel budget|what figure)\b",
    re.I,
)
_WHERE = re.compile(  # "where", "in which place", and a place asked for by its kind: "which (partner) countries"
    r"\b(in|at|dans)\s+(which|what|quel|quelle)\s+(place|location|lieu)\b|"
    r"\b(which|what|quel|quelle|quels|quelles)\s+(?:\w+\s+)?(city|cities|country|countries|town|capital|ville|villes|"
    r"pays|capitale)\b|\bwhere\b|\boù\b",
    re.I,
)
_WHICH = re.compile(
    r"^\W*(?:and\s+|et\s+)?(?:\w+\s+){0,3}?(which|what|quel|quelle|quels|quelles|lequel|laquelle)\s+"
    r"(?!is\b|are\b|was\b|were\b|did\b|does\b|do\b|has\b|have\b|est\b|sont\b|était\b)\w+",
    re.I,
)
_DEFINE = re.compile(
    r"^\W*(what|who)\s+(is|are|was|were)\s+(?P<en>.+?)\s*\??$|"
    r"^\W*qu[’']est[- ]ce que\s+(?:l[’']|le |la |les )?(?P<fr>.+?)\s*\??$|"
    r"^\W*que (?:signifie|désigne)\s+(?P<fr2>.+?)\s*\??$|^\W*(?:qu[’']est|que sont)\s+(?P<fr3>.+?)\s*\??$",
    re.I,
)
_DESCRIBE = re.compile(
    r"\b(describe[sd]?|characteri[sz]e[sd]?|define[sd]?|call(?:s|ed)?|qualif\w+|décri\w+|caractéris\w+|défini\w+)\b",
    re.I,
)
_FOCUS = re.compile(
    r"\b(?:which|what|quel|quelle|quels|quelles)\s+(?:(?:est|était|sont|étaient)\s+(?:le|la|les|l’|l')\s*)?"
    r"(?:[\w-]+\s+){0,2}?([\w-]{4,})(?=\s+(?:did|does|do|was|were|is|are|has|have|had|will|would|can|could|of|de|du|des|"
    r"that|qui|que|à|in|on|at|for)\b|\s*\?)",
    re.I,
)


# The question word that opens the question (or its main clause, after a leading "When she left…, "): it
# decides over a "when"/"where" later in the question ("Who was commanding … when SACEUR visited?").
_OPENING_CLAUSE = re.compile(
    r"^\W*(?:when|quand|lorsqu\w*|while|after|before|après|avant|as|in|en|at|à|on|during|pendant)\b[^,?]*,\s*"
    r"(?=(?:who|whom|whose|qui|when|quand|where|où|which|what|quel\w*|how|combien)\b)",
    re.I,
)
_LEADING = re.compile(
    r"^\W*(?:and\s+|et\s+|but\s+|mais\s+)?(?P<word>who|whom|whose|qui|when|quand|where|où|how many|how much|combien)\b",
    re.I,
)
_LEADING_KIND: dict[str, AskedKind] = {
    **dict.fromkeys(("who", "whom", "whose", "qui"), "person"),
    **dict.fromkeys(("when", "quand"), "date"),
    **dict.fromkeys(("where", "où"), "place"),
    **dict.fromkeys(("how many", "how much", "combien"), "number"),
}


def asked_for(question: str) -> Asked:
    """The type of thing the question asks for (checked most specific first)."""
    define = _DEFINE.match(question)
    term = next((define.group(g) for g in ("en", "fr", "fr2", "fr3") if define and define.group(g)), "")
    term = term.strip(" ?") if len(term.split()) <= 6 else ""
    if term and not _WHEN.search(question):
        return Asked("definition", term=term)
    opening = _OPENING_CLAUSE.match(question)
    main = question[opening.end() :] if opening else question
    leading = _LEADING.match(main)
    if leading:
        return Asked(_LEADING_KIND[" ".join(leading.group("word").lower().split())])
    # the main clause only: the "when" of a leading "When the Committee visited KFOR, which commander …" is not asked
    if _HOW_MANY.search(main):
        return Asked("number")
    if _WHEN.search(main):
        return Asked("date")
    if _WHERE.search(main):
        return Asked("place")
    if _WHO.search(main):
        return Asked("person")
    if _DESCRIBE.search(main):
        return Asked("describe")
    if _WHICH.search(main):
        focus = _FOCUS.search(main)
        return Asked("entity", focus=stem(focus.group(1)) if focus else "")
    return Asked("other")


# --------------------------------------------------------------------------- sentence side

_TITLES = (
    r"General|Gen\.|Admiral|Adm\.|Vice Admiral|Rear Admiral|Air Chief Marshal|Air Marshal|Marshal|Lieutenant General|"
    r"Lt\.? Gen\.|Major General|Maj\.? Gen\.|Brigadier General|Colonel|Col\.|Commander|Minister|President|"
    r"Prime Minister|"
    r"Secretary General|Deputy Secretary General|Secretary|Ambassador|Chancellor|King|Queen|Prince|Sheikh|Mr\.?|Mrs\.?|"
    r"Ms\.?|Dr\.?|Sir|Dame|Professor|Prof\.|"
    r"général|Général|amiral|Amiral|ministre|Ministre|président|Président|présidente|Présidente|premier ministre|"
    r"Premier ministre|secrétaire général|Secrétaire général|ambassadeur|Ambassadeur|ambassadrice|"
    r"M\.|Mme|Monsieur|Madame"
)
_NAME_WORD = (
    r"[A-ZÀ-Ý][a-zà-ÿ’'-]+|[A-ZÀ-Ý]\.|[A-ZÀ-Ý][A-ZÀ-Ý]+(?=\s)|(?:van|von|de|da|di|der|den|du|le|la)(?=\s+[A-ZÀ-Ý])"
)
_PERSON_TITLED = re.compile(rf"\b(?:{_TITLES})\s+(?P<name>(?:{_NAME_WORD})(?:\s+(?:{_NAME_WORD})){{0,3}})")
_CAPITALISED_RUN = re.compile(r"\b[A-ZÀ-Ý][a-zà-ÿ’'-]+(?:\s+(?:[A-ZÀ-Ý]\.\s+)?[A-ZÀ-Ý][a-zà-ÿ’'-]+){1,3}\b")
# Words that make a capitalised run an institution, a place or an event rather than a person's name.
_NOT_NAME_WORDS = set(
    """nato otan alliance allied allies committee council command commander defence defense ministers minister
secretary general military supreme transformation partnership partner partners programme program science peace
security summit conference development warfare force forces mission support initiative fund innovation north
atlantic women headquarters prime united states republic union european nations national international deputy
special representative foreign affairs ukraine resolute response cooperation interoperability platform climate
change action plan policy guidelines strategic concept centre center agency office staff college school university
group team day week year declaration statement meeting chiefs chief
the a an of and for on in le la les de du des et pour this that these those we our his her their it
monday tuesday wednesday thursday friday saturday sunday lundi mardi mercredi jeudi vendredi samedi dimanche""".split()
) | set(MONTHS)
_MONTH = "|".join(sorted(map(re.escape, MONTHS), key=len, reverse=True))
_DATE = re.compile(
    rf"\b(?:\d{{1,2}}(?:er|st|nd|rd|th)?(?:\s*[-–]\s*\d{{1,2}}(?:er|st|nd|rd|th)?)?\s+(?:{_MONTH})\.?(?:\s+(?:19|20)\d\d)?|"
    rf"(?:{_MONTH})\.?\s+\d{{1,2}}(?:st|nd|rd|th)?(?:,?\s+(?:19|20)\d\d)?|"
    rf"(?:{_MONTH})\s+(?:19|20)\d\d|(?:19|20)\d\d-\d\d-\d\d|(?:in|en|since|depuis)\s+(?:19|20)\d\d)\b",
    re.I,
)
_NUMBER_WORDS = (
    "one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve|thirteen|fourteen|fifteen|sixteen|seventeen|"
    "eighteen|nineteen|twenty|thirty|forty|fifty|hundred|thousand|million|billion|deux|trois|quatre|cinq|six|sept|"
    "huit|neuf|dix|onze|douze|treize|quatorze|quinze|seize|vingt|trente|quarante|cinquante|cent|mille|million|milliard"
)
_NUMBER = re.compile(
    rf"(?:[$€£]\s?)?\b(?:\d[\d,.\u202f\u00a0 ]*\d|\d|{_NUMBER_WORDS})\b(?:\s?(?:%|per cent|percent|pour cent|"
    rf"million|billion|milliards?|millions?|euros?|dollars?|USD|EUR))?",
    re.I,
)
_NOUN_AFTER = re.compile(r"\s+((?:[a-zà-ÿ][\w’'-]+\s+){0,2}?[a-zà-ÿ][\w’'-]+)")
_ENTITY = re.compile(
    r"(?<![\w-])(?:[A-ZÀ-Ý][\w’'-]+(?:\s+(?:of|de|du|des|and|et|the|la|le|for|pour|on|sur)?\s*[A-ZÀ-Ý][\w’'-]+)*)(?![\w-])"
)
_COPULA = re.compile(
    r"\b(is|are|was|remains|constitutes|est|sont|reste|constitue)\s+(a|an|the|one of|un|une|le|la|l’|l')\b", re.I
)


def candidates(kind: AskedKind, sentence: str, question: str) -> list[str]:
    """Things of the asked type in the sentence that the question does not already name, in order of appearance."""
    if kind == "person":
        found = persons(sentence)
    elif kind == "date":
        found = [
            m.group(0) for m in _DATE.finditer(sentence) if not re.match(r"(?:in|en|since|depuis)\s", m.group(0), re.I)
        ]
        found = found or [m.group(0) for m in _DATE.finditer(sentence)]
    elif kind == "number":
        found = numbers(sentence)
    elif kind == "place":
        found = places(sentence)
    elif kind == "entity":
        found = entities(sentence)
    else:
        return []
    found = [f for f in dict.fromkeys(x.strip(" ,.;:") for x in found) if f]
    if kind == "number":  # "40 ships" is new for "How many ships…?": only the figure must be new
        return [f for f in found if not _named_in(f.split()[0], question)]
    if kind == "date":  # "May 2025" is new for "… in 2025?" or after "… in March 2025?": only the whole date counts
        return [f for f in found if not _named_in(f, question, whole=True)]
    if kind == "place":  # "Estonia" is named by "… à Ämari, en Estonie ?": the same country in the other language
        named = {_country_codes()[m.group(1)] for m in _country_pattern().finditer(question)}
        found = [f for f in found if _country_codes().get(f) not in named]
    return [f for f in found if not _named_in(f, question)]


def persons(sentence: str) -> list[str]:
    """Names after a title or honorific, then capitalised runs that are not institution words."""
    found = []
    for match in _PERSON_TITLED.finditer(sentence):
        name = re.sub(r"[’']s$", "", match.group("name"))
        if not any(w.lower().strip(".") in _NOT_NAME_WORDS or w.endswith(("'s", "’s")) for w in name.split()):
            title = match.group(0)[: match.start("name") - match.start()]
            found.append(f"{title[0].upper()}{title[1:]}{name}")  # "Général Cavoli"
    for match in _CAPITALISED_RUN.finditer(sentence):
        run = re.sub(r"[’']s$", "", match.group(0))
        words = run.lower().replace("’", "'").split()
        if (
            len(words) > 1
            and not any(w.strip(".") in _NOT_NAME_WORDS or w.endswith("'s") for w in words)
            and not _country(run)
        ):
            if not any(run in f or f in run for f in found):
                found.append(run)
    return found


def numbers(sentence: str) -> list[str]:
    """Numbers and amounts, each with the few words naming what is counted ("22 participating nations").

    Years are dates."""
    found = []
    for match in _NUMBER.finditer(sentence):
        text = match.group(0).strip()
        if (
            re.fullmatch(r"(?:19|20)\d\d", text)
            or re.fullmatch(r"\d{1,2}", text)
            and _DATE.match(sentence, match.start())
        ):
            continue
        noun = _NOUN_AFTER.match(sentence, match.end())
        if noun and not text.endswith("%"):
            words = [w for w in noun.group(1).split()]
            kept = []
            for w in words:
                if w.lower() in _STOPWORDS:
                    break
                kept.append(w)
            if kept:
                text = f"{text} {' '.join(kept)}"
        found.append(text)
    return found


def places(sentence: str) -> list[str]:
    """Countries (ISO 3166 names, English and French) and capitalised names after in/at/à/en."""
    found = [m.group(1) for m in _country_pattern().finditer(sentence)]
    for match in re.finditer(r"\b(?:in|at|à|au|en)\s+((?:[A-ZÀ-Ý][\w’'-]+)(?:[\s-]+[A-ZÀ-Ý][\w’'-]+){0,2})", sentence):
        name = match.group(1)
        if not any(w.lower() in _NOT_NAME_WORDS for w in name.split()):
            found.append(name)
    return found


def entities(sentence: str) -> list[str]:
    """Capitalised names (leading articles dropped), the sentence's first word only when it is not a plain word."""
    found = []
    for match in _ENTITY.finditer(sentence):
        words = match.group(0).split()
        while words and words[0].lower() in _STOPWORDS:  # "The", "In" (Oslo), "We": capitalised, not a name
            words.pop(0)
        name = re.sub(r"^(?:L’|L')", "", " ".join(words))  # the elided article is part of the word
        if match.start() == 0 and " " not in name and name.lower() in _STOPWORDS | {"nato", "otan"}:
            continue
        if name:
            found.append(name)
    return found


def defines(term: str, sentence: str) -> float:
    """0 .. 2: the sentence names the term (1), and reads as its definition ("X is …", "… (X)", "X: …") (2)."""
    core = re.sub(r"^(the|a|an|le|la|les|l’|l')\s*|^NATO[’']s\s+", "", term, flags=re.I)
    if not core or not re.search(re.escape(core), sentence, re.I):
        return 0.0
    if re.search(
        rf"\({re.escape(core)}\)|{re.escape(core)}\s*(\([^)]*\)\s*)?(is|are|was|est|sont|:|,|\(|–|-)", sentence, re.I
    ):
        return 2.0
    return 1.0


def characterises(sentence: str) -> bool:
    """A characterisation ("… is a …", "… est une …"), for "how does … describe" questions."""
    return bool(_COPULA.search(sentence))


def _named_in(thing: str, question: str, *, whole: bool = False) -> bool:
    """Does the question already name this (as whole words, or — unless `whole` — every content word of it)?"""
    if re.search(rf"(?<![\w-]){re.escape(thing)}(?![\w-])", question, re.I):
        return True
    if whole:
        return False
    words = content_words(thing)
    return bool(words) and words <= content_words(question)


def _country(name: str) -> bool:
    return name in _country_codes()


@lru_cache(maxsize=1)
def _country_pattern() -> re.Pattern[str]:
    """Every country name as a whole word, in one pass over the sentence (a search per name cost 1.4 ms a
    sentence, ~40 ms a "where" question); the lookahead finds a name inside another ("Guinea" in
    "Papua New Guinea") as the per-name searches did."""
    names = "|".join(re.escape(n) for n in sorted(_country_codes(), key=len, reverse=True))
    return re.compile(rf"(?<![\w-])(?=({names})(?![\w-]))")


@lru_cache(maxsize=1)
def _country_codes() -> dict[str, str]:
    """English and French short names of every ISO 3166 country, each to its alpha-2 code (pycountry's own tables
    and translations): "Estonia" and "Estonie" are one country."""
    import pycountry

    try:
        french = gettext.translation("iso3166-1", pycountry.LOCALES_DIR, languages=["fr"]).gettext
    except OSError:  # a pycountry build without its locales: English names only
        french = None
    codes: dict[str, str] = {}
    for country in pycountry.countries:
        names = {country.name, getattr(country, "common_name", country.name)}
        if french is not None:
            names.add(french(country.name))
        codes.update({n: country.alpha_2 for n in names if "," not in n and len(n) > 3})
    return codes
