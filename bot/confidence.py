"""When to say "not in the releases" instead of answering.

The answer model's question model (bot.answer_model) decides: when the best candidate
sentence does not look like it holds what was asked — the right type, the right entity,
the right period — the bot abstains. Its threshold was chosen on the training data so that false
abstentions stay at most 5 % (README, "Evaluation"). One input it needs is read here
from the whole index: whether the question names something (an acronym, a multi-word
name, a year after the newest release) with a word no release uses — "BALTOPS",
"Steadfast Noon", "2031".
"""

from __future__ import annotations

import numpy as np

from index.snapshot import Snapshot

from .answer_model import AnswerModel
from .extractive import Scored
from .query import Query
from .search import Filters

ABSTAIN_TEXT = {
    "en": "I could not find this in the indexed releases.",
    "fr": "Je n’ai pas trouvé cette information dans les communiqués indexés.",
}


def missing_terms(query: Query, snapshot: Snapshot, filters: Filters | None = None) -> list[str]:
    """Named terms with a word that no release uses; years later than every release and not mentioned.

    A word, not the whole phrase: a name is often written otherwise in the release that answers — in
    the other language ("Enhanced Opportunities" / « nouvelles opportunités »), with another rank or
    title before it — while a word that no release uses at all ("BALTOPS", "Trident Juncture") means
    the index does not hold the thing asked about. On both development sets the phrase test flagged 6
    answerable questions of 118 (5 %) and the word test 2, for 7 and 6 of the 14 unanswerable ones; with
    a name's initials counted as its word, 1 of the 105 answerable questions that stand alone, still 6.
    With filters (the app's language or date range), only the releases they admit count: "What is
    PAF-N?" asked of the English releases names something none of them mentions.
    """
    admitted = filters.mask(snapshot) if filters is not None and filters.active else None
    latest = snapshot.latest_year()
    missing = []
    for term in query.terms:
        if term.isdigit() and int(term) <= latest:  # an earlier year may be covered by an undated page
            continue
        if snapshot.unknown_words(term, admitted) and not _known_by_initials(term, snapshot, admitted):
            missing.append(term)
    return missing


def _known_by_initials(term: str, snapshot: Snapshot, admitted: np.ndarray | None) -> bool:
    """A name of three or more words whose initials the index uses as a word: "Partnership Auxiliary Forces"
    asked in English, answered by a French release that only writes "PAF-N" (its own words are all French)."""
    words = term.split()
    if len(words) < 3 or not all(w[:1].isupper() for w in words):
        return False
    return not snapshot.unknown_words("".join(w[0] for w in words), admitted)


def should_abstain(scored: list[Scored], model: AnswerModel) -> bool:
    """The releases do not seem to answer the question (scored: the candidates that may be given, best first)."""
    if not scored:
        return True
    runner_up = scored[1].probability if len(scored) > 1 else 0.0
    return model.answerable(scored[0].candidate, scored[0].probability, runner_up) < model.abstain_below
