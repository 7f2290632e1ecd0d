"""Retrieval without the real models: reciprocal rank fusion, per-language z-scoring, filters and
steering (plain numpy), then the Searcher on the fictional corpus with the hashing stack, and the
citation check that ends every answer. No ../shared, no model: all of it runs in well under a second.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from bot.citations import Passage, verify_citations
from bot.query import DateHint, prepare
from bot.search import (
    CANDIDATES,
    DATE_BOOST,
    LANG_HINT_BOOST,
    MIN_LANGUAGE_GROUP,
    RRF_K,
    Filters,
    Searcher,
    _fuse,
    _per_language_z,
)
from helpers.releases import fiction, fictional_releases
from index.settings import Settings
from index.store import DERIVED_KEYS


# --------------------------------------------------------------------------- reciprocal rank fusion


def rrf(*ranks: int) -> float:
    return sum(1.0 / (RRF_K + r + 1) for r in ranks)


def test_fusion_sums_reciprocal_ranks_and_keeps_the_rank_in_each_signal() -> None:
    fused = _fuse({"dense": [7, 3, 5], "sparse": [3, 9]})

    assert set(fused) == {7, 3, 5, 9}
    assert fused[3] == (pytest.approx(rrf(1, 0)), {"dense": 1, "sparse": 0})
    assert fused[7] == (pytest.approx(rrf(0)), {"dense": 0})
    assert fused[9] == (pytest.approx(rrf(1)), {"sparse": 1})
    order = sorted(fused, key=lambda pos: -fused[pos][0])
    assert order == [3, 7, 9, 5], "found by both signals beats first in one; rank decides within one signal"


def test_fusion_of_nothing_is_empty_and_of_one_signal_keeps_its_order() -> None:
    assert _fuse({}) == {} and _fuse({"dense": [], "sparse": []}) == {}
    fused = _fuse({"dense": [4, 2, 8]})
    assert sorted(fused, key=lambda pos: -fused[pos][0]) == [4, 2, 8]


def test_fusion_scores_depend_on_ranks_only() -> None:
    """The same ranks give the same fused score, whatever the signal or chunk: raw scores never mix."""
    a = _fuse({"dense": [1, 2], "sparse": [2, 1]})
    assert a[1][0] == pytest.approx(a[2][0]) == pytest.approx(rrf(0, 1))


# --------------------------------------------------------------------------- per-language z-scores


def test_each_language_is_standardised_on_its_own() -> None:
    """French chunks scoring high only because they share function words with each other do not bury English."""
    english = np.array([1.0, 2.0, 3.0, 4.0, 5.0])
    french = english * 10 + 100                    # the same spread, inflated and shifted
    scores = np.concatenate([english, french])
    langs = np.array(["en"] * 5 + ["fr"] * 5)

    out = _per_language_z(scores, langs)

    assert np.allclose(out[:5], out[5:]), "the same rank within its language, the same score"
    assert out.min() > 0, "positive: '> 0' still means 'has a score'"
    assert list(np.argsort(out[:5])) == list(np.argsort(english)), "order within a language is kept"


def test_a_language_with_too_few_chunks_is_scaled_with_the_global_statistics() -> None:
    scores = np.array([1.0, 2.0, 3.0, 4.0, 5.0, 50.0, 60.0])
    langs = np.array(["en"] * 5 + ["fr"] * 2)
    assert (langs == "fr").sum() < MIN_LANGUAGE_GROUP

    out = _per_language_z(scores, langs)

    global_z = (scores - scores.mean()) / scores.std()
    english_z = (scores[:5] - scores[:5].mean()) / scores[:5].std()
    shift = out[0] - english_z[0]
    assert np.allclose(out[:5] - shift, english_z)
    assert np.allclose(out[5:] - shift, global_z[5:]), "the small French group keeps its global z-score"


def test_z_scoring_degenerate_inputs() -> None:
    one = np.array([0.7])
    assert _per_language_z(one, np.array(["en"])) is one, "a single score is left alone"
    flat = _per_language_z(np.full(6, 3.0), np.array(["en"] * 6))
    assert np.all(np.isfinite(flat)) and np.allclose(flat, flat[0]) and flat[0] > 0


# --------------------------------------------------------------------------- filters and steering


def test_filters_build_the_chroma_where_clause_and_admit_the_same_chunks() -> None:
    assert Filters().where() is None and not Filters().active
    assert Filters(lang="fr").where() == {"lang": "fr"}
    both = Filters(lang="en", date_from="2093", date_to="2094-06").where()
    assert both == {"$and": [{"lang": "en"}, {"date_int": {"$gte": 20930101}}, {"date_int": {"$lte": 20940630}}]}

    window = Filters(date_from="2093-02-01", date_to="2093-02-28")
    assert window.admits({"lang": "fr", "date_int": 20930208})
    assert not window.admits({"lang": "fr", "date_int": 20930301})
    assert not window.admits({"lang": "en"}), "an undated chunk is outside any date range"
    assert Filters(lang="en").admits({"lang": "en"}) and not Filters(lang="en").admits({"lang": "fr"})


def test_steering_rewards_the_named_period_and_an_asked_for_language() -> None:
    query = prepare("What did the Allies decide in June 2094?")
    assert query.dates == (DateHint(2094, 6),)
    same_month = Searcher._steering(query, {"date": "2094-06-11", "lang": "fr"})
    other_month = Searcher._steering(query, {"date": "2094-01-02", "lang": "fr"})
    assert same_month == pytest.approx(1 + DATE_BOOST) and other_month == 1.0
    assert Searcher._steering(query, {"lang": "fr"}) == 1.0, "an undated chunk is neither boosted nor punished"

    year = prepare("What did the Allies decide in 2094?")
    same_year = Searcher._steering(year, {"date": "2094-01-02"})
    assert 1.0 < same_year <= 1 + DATE_BOOST and Searcher._steering(year, {"date": "2093-12-31"}) == 1.0

    asked = prepare("What does the French release say about VKR-N?")
    assert asked.lang_hint == "fr"
    assert Searcher._steering(asked, {"lang": "fr"}) == pytest.approx(1 + LANG_HINT_BOOST)
    assert Searcher._steering(asked, {"lang": "en"}) == 1.0


# --------------------------------------------------------------------------- the Searcher on the fictional corpus (hashing stack)


@pytest.fixture(scope="module")
def searcher(fictional_index: Settings) -> Searcher:
    return Searcher(fictional_index)


def names(hits) -> list[str]:
    return [Path(h.metadata["source"]).name for h in hits]


def test_an_exact_identifier_puts_its_release_first_even_in_another_language(searcher: Searcher) -> None:
    hits = searcher.search(prepare("What is VKR-N?"), k=5)

    assert names(hits)[0] == fiction("cadre-vivier-kepis").name
    assert set(hits[0].signals) == {"dense", "sparse"}, "a stack with sparse vectors: two signals"
    assert [h.score for h in hits] == sorted((h.score for h in hits), reverse=True)


def test_identifiers_are_acronyms_codes_and_ordinals_as_their_number() -> None:
    from index.words import identifiers

    text = "At the 190th session (le 190e, then the 191st), VKR-N and F-35 under 1325 — in 2024, for 12,000 troops."
    assert identifiers(text) == ["190", "190", "191", "VKR-N", "F-35", "1325"]
    assert prepare("Qui a présidé la 176e session ?").identifiers == ("176",)


def test_every_hit_carries_the_evidence_behind_its_rank(searcher: Searcher) -> None:
    hits = searcher.search(prepare("Who presented the Amber Lighthouse Fund?"), k=3)

    assert names(hits)[0] == fiction("amber-lighthouse-fund").name
    for hit in hits:
        assert hit.signals and all(0 <= rank < CANDIDATES for rank in hit.signals.values())
        assert -1.0 <= hit.dense <= 1.0 and hit.sparse >= 0
        document = hit.to_document()
        assert document.page_content == hit.text and document.metadata["score"] == hit.score
        assert not set(DERIVED_KEYS) & set(document.metadata), "stored vectors stay hidden"


def test_hard_filters_limit_every_signal(searcher: Searcher) -> None:
    french = searcher.search(prepare("Who presented the Amber Lighthouse Fund?"), k=5, filters=Filters(lang="fr"))
    assert french and all(h.metadata["lang"] == "fr" for h in french)

    old = searcher.search(prepare("What is VKR-N?"), k=5, filters=Filters(date_to="2092-12-31"))
    assert old and all(h.metadata["date"] <= "2092-12-31" for h in old)
    assert fiction("cadre-vivier-kepis").name not in names(old)


def test_a_date_in_the_question_steers_towards_that_period(searcher: Searcher) -> None:
    """Two committees' releases, one of 2094; the year tips the balance towards it."""
    plain = searcher.search(prepare("Quel comité conseille les Alliés ?"), k=12)
    dated = searcher.search(prepare("Quel comité conseille les Alliés en juin 2094 ?"), k=12)
    lanterne = fiction("comite-lanterne-bleue").name
    assert names(dated)[0] == lanterne
    assert names(dated).index(lanterne) <= names(plain).index(lanterne)


def test_an_empty_index_gives_no_hit_rather_than_an_error(tmp_path: Path) -> None:
    from helpers.indexing import make_settings
    from index.embed import HashingStack
    from index.store import open_collection

    empty = make_settings(tmp_path / "home", embeddings="hashing")
    open_collection(empty, HashingStack.name, create=True)
    ranking = Searcher(empty).rank(prepare("What is VKR-N?"))
    assert ranking.hits == [] and ranking.query_vector.shape == (HashingStack.dim,)


def test_the_fictional_corpus_is_what_the_fixtures_say() -> None:
    """Guards the generated corpus the behaviour tests rely on (12 releases, EN and FR, several years, one undated)."""
    releases = fictional_releases()
    assert len(releases) == 12 and len({r.name for r in releases}) == 12
    assert {r.lang for r in releases} == {"en", "fr"} and sum(r.lang == "fr" for r in releases) == 5
    assert len({r.date[:4] for r in releases if r.date}) >= 6 and sum(r.date is None for r in releases) == 1
    assert all("test fixture" in r.text.lower() or "fixture de test" in r.text.lower() for r in releases)
    assert len({r.acronym for r in releases}) == 12


# --------------------------------------------------------------------------- citations


def passages(*ns: int) -> list[Passage]:
    return [Passage(n, f"id{n}", f"passage {n}", {"source": f"/srv/s{n}.txt", "title": f"t{n}", "lang": "fr",
                                                  "date": "2093-02-08", "url": None}, 0.1 * n) for n in ns]


def test_citations_carry_what_the_user_sees_and_the_quoted_spans() -> None:
    text, citations = verify_citations("A [2]. B [1].", passages(1, 2), quotes={2: [(0, 7)], 1: [(3, 5)]})

    assert text == "A [1]. B [2]."
    first = citations[0]
    assert (first.n, first.source, first.title, first.date, first.lang, first.url) == (1, "/srv/s2.txt", "t2", "2093-02-08", "fr", None)
    assert (first.text, first.score, first.chunk_id, first.quotes) == ("passage 2", pytest.approx(0.2), "id2", ((0, 7),))
    assert citations[1].quotes == ((3, 5),)


@pytest.mark.parametrize(("raw", "expected", "cited"), [
    ("No marker at all.", "No marker at all.", []),
    ("Only invented [7] [8].", "Only invented.", []),
    ("Repeated [1] [1] [1].", "Repeated [1].", [1]),
    ("Adjacent [2][1] and again [2].", "Adjacent [1][2] and again [1].", [2, 1]),
    ("Spaces around [3]  ", "Spaces around [1]", [3]),
    ("Not a marker: [1a], [ 1 ], (1).", "Not a marker: [1a], [ 1 ], (1).", []),
])
def test_markers_are_verified_deduplicated_and_renumbered(raw: str, expected: str, cited: list[int]) -> None:
    text, citations = verify_citations(raw, passages(1, 2, 3))
    assert text == expected
    assert [c.chunk_id for c in citations] == [f"id{n}" for n in cited]
    assert [c.n for c in citations] == list(range(1, len(cited) + 1))
    assert all(f"[{c.n}]" in text for c in citations), "every listed source is cited in the text"
