"""The learned answer model, as a user would notice it: what it prefers, and what it never gives as an answer.

Fast: the shipped coefficients on hand-made feature rows, and a tiny index of team-written,
plainly fictional releases built with the model-free `hashing` stack (no real models).
"""
from __future__ import annotations

from pathlib import Path

import pytest

from bot import Bot
from bot.answer_model import MODEL_FILE, AnswerModel, load_model
from bot.sentences import FEATURES, Candidate
from helpers.indexing import make_settings

BASE = {"meaning": 0.45, "meaning_gap": -0.05, "meaning_rank": 0.5, "overlap": 0.4, "overlap_gap": -0.1,
        "rare_overlap": 0.4, "coverage": 0.6, "typed_found": 0.0, "typed_missing": 0.0, "definition": 0.0,
        "retrieval": 1.0, "rank": 1.0, "lead": 0.0, "heading": 0.0, "fragment": 0.0, "date_agree": 0.0,
        "date_conflict": 0.0, "missing": 0.0, "same_lang": 1.0, "other_release": 0.0}


def candidate(**changes: float) -> Candidate:
    values = {**BASE, **changes}
    assert set(values) == set(FEATURES)
    return Candidate(hit=0, start=0, end=10, text="a sentence", typed=(), features=tuple(values[f] for f in FEATURES))


@pytest.fixture(scope="module")
def model() -> AnswerModel:
    return load_model()


def test_the_shipped_model_file_matches_the_features_the_code_computes(model):
    assert MODEL_FILE.is_file() and model.features == FEATURES
    assert 0.0 <= model.abstain_below < 1.0 and 0.0 < model.second_ratio <= 1.0 and 0.0 < model.short_above <= 1.0


def test_a_sentence_holding_the_asked_type_beats_one_that_only_repeats_the_question(model):
    repeats = candidate(overlap=0.6, overlap_gap=0.0, rare_overlap=0.6, typed_missing=1.0)
    holds = candidate(overlap=0.3, overlap_gap=-0.3, rare_overlap=0.3, typed_found=1.0)
    p_repeats, p_holds = model.probabilities([repeats, holds])
    assert p_holds > p_repeats


def test_a_year_the_release_contradicts_lowers_the_probability(model):
    same, other = model.probabilities([candidate(date_agree=1.0), candidate(date_conflict=1.0)])
    assert other < same


def test_a_heading_is_less_probable_than_the_same_words_in_a_sentence(model):
    sentence, heading = model.probabilities([candidate(), candidate(heading=1.0, fragment=1.0)])
    assert heading < sentence


def test_a_near_miss_lowers_the_chance_that_the_question_is_answerable(model):
    on_topic = candidate(typed_found=1.0)
    near_miss = candidate(typed_missing=1.0, coverage=0.2, missing=1.0)
    p = float(model.probabilities([on_topic])[0])
    assert model.answerable(near_miss, p, 0.0) < model.answerable(on_topic, p, 0.0)


# --------------------------------------------------------------------------- a tiny index, no real models

RELEASES = {
    "lighthouse-council-en.txt": """Lighthouse Council meets in Port Avalon
date: 2031-03-03
lang: en

Lighthouse Council meets in Port Avalon

PORT AVALON, 3 March 2031 - The Lighthouse Council of the fictional Republic of Westmarch met today in Port Avalon to review \
the safety of coastal lights.

The meeting was chaired by Admiral Jane Quill, who leads the Council.

Members agreed that twelve new lighthouses will be built along the northern coast before the winter storms.
""",
    "harbour-board-en.txt": """Harbour Board publishes its yearly report
date: 2030-11-20
lang: en

The Harbour Board of the fictional Republic of Westmarch published its yearly report on harbour dredging.

The report covers dredging, buoys and the tides of the southern harbours in great detail.
""",
}


@pytest.fixture(scope="module")
def tiny_bot(tmp_path_factory: pytest.TempPathFactory) -> Bot:
    from index.update import build

    corpus = tmp_path_factory.mktemp("releases")
    for name, text in RELEASES.items():
        (corpus / name).write_text(text, encoding="utf-8")
    settings = make_settings(tmp_path_factory.mktemp("home") / "home", embeddings="hashing")
    summary = build([str(corpus)], settings)
    assert not summary.failures, summary.failures
    bot = Bot(settings)
    yield bot
    bot.close()


def test_a_title_repeated_in_the_body_is_never_the_answer(tiny_bot):
    result = tiny_bot.answer("Where does the Lighthouse Council meet?")
    assert result.citations, result.text
    for citation in result.citations:
        for start, end in citation.quotes:
            assert citation.text[start:end].strip() != "Lighthouse Council meets in Port Avalon"


def test_the_answer_cites_the_release_that_holds_the_fact(tiny_bot):
    result = tiny_bot.answer("Who chaired the meeting of the Lighthouse Council?")
    assert result.found
    assert Path(result.citations[0].source).name == "lighthouse-council-en.txt"
    assert "Jane Quill" in result.text


def test_every_marker_points_at_a_cited_passage(tiny_bot):
    result = tiny_bot.answer("How many new lighthouses will be built?")
    assert result.found
    assert all(f"[{c.n}]" in result.text for c in result.citations)


def test_a_stack_whose_sentences_share_the_dense_space_embeds_the_question_once(tiny_bot):
    from index.embed import HashingStack

    class Counting(HashingStack):
        sentence_queries = 0

        def embed_sentence_queries(self, texts):
            Counting.sentence_queries += len(texts)
            return super().embed_sentence_queries(texts)

    class Separate(Counting):
        sentences_in_dense_space = False

    questions = ["Who chaired the meeting of the Lighthouse Council?", "How many new lighthouses will be built?"]
    answers = {}
    for stack in (Counting(), Separate()):
        Counting.sentence_queries = 0
        bot = Bot(tiny_bot.settings, stack=stack)
        try:
            answers[type(stack).__name__] = [bot.answer(q).text for q in questions]
            follow_up = bot.answer("Who chaired it?", [{"role": "user", "content": questions[0]}])
        finally:
            bot.close()
        assert follow_up.found
        # one text a question, two for a follow-up (the folded text and the question); reused: only the latter
        expected = len(questions) + 2 if isinstance(stack, Separate) else 1
        assert Counting.sentence_queries == expected, type(stack).__name__
    assert answers["Counting"] == answers["Separate"], "the same vector either way"
