"""What a question asks for, and whether a sentence holds it — for the offline answer.

Read from the question: "who" wants a person, "when" a date, "how many" a number,
"what is X" the definition of X, "which committee" a committee the question does not
name, "how does … describe" a characterisation ("is a …"). Read from a sentence: the
same things, counting only what the question does not already contain. English and
French. Pure functions on text: no model, no index.
"""
from __future__ import annotations

import re
import unicodedata
from typing import Any

from .query import STOPWORDS

_WHO = re.compile(r"^\s*(who|whom|whose|qui)\b|\b(which|what|quel|quelle|quels|quelles)\s+(\w+\s+){0,2}(person|official|minister|president|general|ambassador|diplomat|prime minister|secretary|chair|commander|ministre|président|général|ambassadeur|diplomate|officier|premier ministre|secrétaire)\b", re.I)
_WHEN = re.compile(r"^\s*(when|quand)\b|\b(what|which|quel|quelle)\s+(date|day|year|month|jour|année|mois)\b|\bon what\b|\bin which year\b|\ben quelle année\b|\bà quelle date\b", re.I)
_HOW_MANY = re.compile(r"\b(how many|how much|combien|what number|quel nombre|what percentage|quel pourcentage)\b", re.I)
_DEFINE = re.compile(r"^\s*(what|who)\s+(is|are|was|were)\s+(?P<en>.+?)\s*\??$|^\s*qu[’']est[- ]ce que\s+(?P<fr>.+?)\s*\??$|^\s*que (?:signifie|désigne)\s+(?P<fr2>.+?)\s*\??$", re.I)

_TITLES = (r"General|Gen\.|Admiral|Adm\.|Air Chief Marshal|Air Marshal|Marshal|Lieutenant General|Lt\. Gen\.|Major General|Colonel|Commander|"
           r"Minister|President|Prime Minister|Secretary General|Deputy Secretary General|Ambassador|Chancellor|King|Queen|Sheikh|"
           r"Mr\.?|Mrs\.?|Ms\.?|Dr\.?|Sir|Dame|Professor|"
           r"général|amiral|ministre|président|présidente|premier ministre|secrétaire général|ambassadeur|ambassadrice|M\.|Mme")
# A person: a title or honorific before a capitalised name, or two capitalised words that are not institution words.
_INSTITUTION_WORDS = set("""nato otan alliance allied allies committee council command commander defence defense ministers minister
secretary general military supreme transformation partnership partner partners programme program science peace security summit
conference development warfare force forces mission support initiative fund innovation north atlantic women headquarters prime
united states republic union european nations national international deputy special representative foreign affairs ukraine
resolute response cooperation istanbul interoperability platform climate change action plan policy guidelines strategic concept
the a an of and for on in le la les de du des et pour""".split())
_PERSON_TITLED = re.compile(rf"\b(?:{_TITLES})\s+[A-ZÀ-Ý][\w’'-]+")
_CAPITALISED_PAIR = re.compile(r"\b[A-ZÀ-Ý][a-zà-ÿ’'-]+(?:\s+[A-ZÀ-Ý][a-zà-ÿ’'-]+)+\b")


class _PersonPattern:
    """Finds person names (a regex alone would take "Supreme Allied" for a name)."""

    def finditer(self, text: str) -> list[re.Match[str]]:
        found = list(_PERSON_TITLED.finditer(text))
        for match in _CAPITALISED_PAIR.finditer(text):
            words = match.group(0).lower().split()
            if not any(w in _INSTITUTION_WORDS for w in words):
                found.append(match)
        return found

    def search(self, text: str) -> bool:
        return bool(self.finditer(text))


_PERSON = _PersonPattern()
_DATE = re.compile(r"\b\d{1,2}(?:er)?\s+(January|February|March|April|May|June|July|August|September|October|November|December|"
                   r"janvier|février|mars|avril|mai|juin|juillet|août|septembre|octobre|novembre|décembre)\b|\b(19|20)\d\d\b", re.I)
_NUMBER = re.compile(r"\b\d[\d,. ]*\b|\b(one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve|fifteen|twenty|hundred|thousand|"
                     r"deux|trois|quatre|cinq|six|sept|huit|neuf|dix|douze|quinze|vingt|cent|mille)\b", re.I)
_WHICH = re.compile(r"^\s*(which|what|quel|quelle|quels|quelles|où|where)\s+(?!is\b|are\b|was\b|were\b|did\b|does\b|do\b|est\b)\w+", re.I)
_ENTITY = re.compile(r"(?<![\w-])(?:[A-ZÀ-Ý][\w’'-]+(?:\s+(?:of|de|du|des|and|et|the|la|le)?\s*[A-ZÀ-Ý][\w’'-]+)*)(?![\w-])")
# The noun a which/what question asks about: "Which older committee did…" -> committee,
# "Quel était le thème de…" -> thème.
_FOCUS = re.compile(r"^\s*(?:which|what|quel|quelle|quels|quelles)\s+(?:(?:est|était|sont|étaient)\s+(?:le|la|les|l’|l')\s*)?"
                    r"(?:[\w-]+\s+){0,2}?([\w-]{4,})(?=\s+(?:did|does|do|was|were|is|are|has|have|had|will|would|can|could|of|de|du|des|that|qui|que|à|in|on|at|for)\b|\s*\?)", re.I)
_DESCRIBE = re.compile(r"\b(describe[sd]?|characteri[sz]e[sd]?|define[sd]?|call(?:s|ed)?|qualif\w+|décri\w+|caractéris\w+|défini\w+)\b", re.I)
_COPULA = re.compile(r"\b(is|are|was|remains|constitutes|est|sont|reste|constitue)\s+(a|an|the|one of|un|une|le|la|l’|l')\b", re.I)
_WORD = re.compile(r"[^\W_][\w’'-]*", re.U)
_STOPWORDS = STOPWORDS | set("about into over under after before during than then also not no nato otan pas plus".split())


def wants(question: str) -> dict[str, Any]:
    """What kind of thing the question asks for."""
    define = _DEFINE.match(question)
    term = next((define.group(g) for g in ("en", "fr", "fr2") if define and define.group(g)), "")
    term = term.strip(" ?") if len(term.split()) <= 6 else ""
    focus = _FOCUS.search(question)
    return {
        "who": bool(_WHO.search(question)) and not term,
        "which": bool(_WHICH.search(question)),
        "focus": _stem(focus.group(1)) if focus else "",
        "when": bool(_WHEN.search(question)),
        "count": bool(_HOW_MANY.search(question)),
        "describe": bool(_DESCRIBE.search(question)),
        "term": term,
    }


def _new(pattern: Any, sentence: str, question: str) -> bool:
    """Does the sentence hold a match of `pattern` that the question does not already contain (as whole words)?"""
    return any(not re.search(rf"(?<![\w-]){re.escape(m.group(0).strip())}(?![\w-])", question, re.I)
               for m in pattern.finditer(sentence) if m.group(0).strip())


def _new_entities(sentence: str, question: str) -> list[str]:
    """Capitalised names in the sentence (leading articles dropped) that the question does not contain."""
    found = []
    for match in _ENTITY.finditer(sentence):
        name = re.sub(r"^(?:The|A|An|Le|La|Les|L’|L')\s*", "", match.group(0)).strip()
        if name and not re.search(rf"(?<![\w-]){re.escape(name)}(?![\w-])", question, re.I):
            found.append(name)
    return found


def form_score(wants: dict[str, Any], sentence: str, question: str) -> float:
    """0 when the sentence holds nothing the question asks for; higher the more it does."""
    score = 0.0
    if wants["who"]:
        score += float(_new(_PERSON, sentence, question))
    elif wants["which"]:
        entities = _new_entities(sentence, question)
        if entities:
            score += 1.0
            if wants["focus"] and any(wants["focus"] in content_words(e) for e in entities):
                score += 0.5   # "Which committee…?" -> a committee the question does not name
    if wants["when"] and _new(_DATE, sentence, question):
        score += 1.0
    if wants["count"] and _new(_NUMBER, sentence, question):
        score += 1.0
    if wants["describe"] and _COPULA.search(sentence):
        score += 1.0
    term = wants["term"]
    if term:
        core = re.sub(r"^(the|a|an|le|la|les|l’|l')\s*|^NATO[’']s\s+", "", term, flags=re.I)
        if re.search(re.escape(core), sentence, re.I):
            score += 1.0
            if re.search(rf"\({re.escape(core)}\)|{re.escape(core)}\s*(\([^)]*\)\s*)?(is|are|was|est|sont|:|,|\()", sentence, re.I):
                score += 1.0
    return score


def content_words(text: str) -> set[str]:
    """Stemmed, accent-folded words that carry meaning (no stopwords, no possessive 's)."""
    words = (re.sub(r"[’']s$", "", w) for w in _WORD.findall(text))
    return {_stem(w) for w in words if w.lower() not in _STOPWORDS and len(w) > 2}


def _stem(word: str) -> str:
    word = unicodedata.normalize("NFKD", word.lower()).encode("ascii", "ignore").decode()
    for suffix in ("ing", "ies", "es", "s", "ed", "e"):
        if len(word) > 4 and word.endswith(suffix):
            return word[: -len(suffix)]
    return word
