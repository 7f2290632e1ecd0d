"""The offline answer: the sentence that holds the fact, led by the fact itself when it is one short thing.

No language model writes here. Candidate sentences (bot.sentences) are scored by the
learned answer model (bot.answer_model); then
  * the most probable sentence answers — never a title, heading, header line or caption
    on its own;
  * a second sentence joins only when the model finds it nearly as probable as the best
    (`second_ratio`, chosen in training to keep the median answer short): when the model
    cannot tell two sentences apart, both are given, each with its own [n];
  * for who / when / where / how many questions, when the chosen sentence holds
    exactly one thing of the asked type that the question does not name, that thing
    leads: "General Cavoli — “… presented …” [1]".
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from index.language import LANG_NAMES

from .answer_model import AnswerModel
from .sentences import Candidate

PASSAGES_READ = 6  # sentences are taken from this many top passages


@dataclass(frozen=True)
class Scored:
    """A candidate sentence with the model's probability that it holds the answer."""

    candidate: Candidate
    probability: float

    @property
    def hit(self) -> int:
        return self.candidate.hit


def score(candidates: list[Candidate], model: AnswerModel) -> list[Scored]:
    """Candidates, most probable first (ties keep ranking order)."""
    probabilities = model.probabilities(candidates)
    order = np.argsort(-probabilities, kind="stable")
    return [Scored(candidates[i], float(probabilities[i])) for i in order]


def givable(scored: list[Scored]) -> list[Scored]:
    """The candidates that may be given as an answer: body sentences, not titles, headings or header lines.

    A sentence the bot already gave in this conversation stays givable: a follow-up ("Who hosted him there?",
    "What role did he predict …?") is often answered by the very sentence quoted before (README, Evaluation).
    """
    return [s for s in scored if not s.candidate.feature("heading")]


def choose(scored: list[Scored], second_ratio: float) -> list[Scored]:
    """The best sentence, plus the next one when the model finds it nearly as probable (`second_ratio` of
    the best's probability; the training script replays this to choose that ratio).

    Two sentences of one release keep their order in the release; otherwise the best comes first.
    """
    if not scored:
        return []
    best = scored[0]
    chosen = [best]
    for other in scored[1:]:
        if other.probability < second_ratio * best.probability:
            break
        if _overlaps(other.candidate, best.candidate) or _same_text(other.candidate, best.candidate):
            continue
        chosen.append(other)
        break
    if len({s.hit for s in chosen}) == 1:
        chosen.sort(key=lambda s: s.candidate.start)
    return chosen


def short_answer(best: Scored, leads: bool, short_above: float) -> str | None:
    """The one thing of the asked type the chosen sentence holds, when the model is sure enough of the sentence
    (`AnswerModel.short_above`)."""
    things = best.candidate.typed
    if leads and len(things) == 1 and best.probability >= short_above and len(things[0]) <= 80:
        return things[0]
    return None


def _overlaps(a: Candidate, b: Candidate) -> bool:
    return a.hit == b.hit and a.start < b.end and b.start < a.end


def _same_text(a: Candidate, b: Candidate) -> bool:
    """The same sentence in two passages (a release re-posted elsewhere, overlapping chunks)."""
    return " ".join(a.text.split()).casefold() == " ".join(b.text.split()).casefold()


@dataclass(frozen=True)
class Quoted:
    """A sentence the answer gives, with what its wording depends on: its [n] and its release's language."""

    text: str
    n: int
    lang: str | None  # the release's language
    source: str  # its release: another language is announced once per release


def release_of(metadata: dict) -> tuple[str | None, str]:
    """What a sentence's wording takes from its passage's metadata: the release's language and source."""
    lang = metadata.get("lang")
    return (str(lang) if lang else None, str(metadata.get("source")))


def compose(question_lang: str, quoted: list[Quoted], short: str | None) -> str:
    """The answer as the user reads it: the short answer first, then each sentence with its [n] — quoted when a
    short answer leads or the release is in another language, which is announced once per release.

    The training script writes its answers here too, so that the answer length it keeps short is this one."""
    parts: list[str] = []
    announced: set[str] = set()
    for item in quoted:
        foreign = bool(item.lang) and item.lang != question_lang
        sentence = _quote(question_lang, item.text) if foreign or short else item.text
        if foreign and item.source not in announced:
            sentence = f"{_from_release_in(question_lang, item.lang or '')} {sentence}"
            announced.add(item.source)
        parts.append(f"{sentence} [{item.n}]")
    body = " ".join(parts)
    return f"{short} — {body}" if short else body


def _from_release_in(question_lang: str, release_lang: str) -> str:
    """Say briefly, in the question's language, that the quoted release is in another language."""
    names = LANG_NAMES.get(question_lang, LANG_NAMES["en"])
    other = names.get(release_lang, release_lang)
    return f"D’après le communiqué en {other} :" if question_lang == "fr" else f"From the {other} release:"


def _quote(question_lang: str, sentence: str) -> str:
    return f"« {sentence} »" if question_lang == "fr" else f"“{sentence}”"
