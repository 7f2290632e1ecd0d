"""What a user of `from bot import answer, retrieve` notices: answers, citations, follow-ups, abstention."""
from __future__ import annotations

import os
from pathlib import Path

import pytest
from langchain_core.documents import Document

from bot import Answer, CommuniqueRetriever, answer, retrieve
from bot.citations import Passage, verify_citations
from bot.query import DateHint, find_dates, leans_on_context, named_terms, prepare

from helpers.releases import fiction

PAF_N = "2024-06-11-fr-reunion-virtuelle-chefs-etat-major-partenaires.txt"   # real, development corpus
VKR_N = fiction("cadre-vivier-kepis")     # fictional, French, 2093-02-08: defines VKR-N
ALF = fiction("amber-lighthouse-fund")    # fictional, English, 2093-09-30: defines ALF-1


def _name(source: str) -> str:
    return os.path.basename(source)


# --------------------------------------------------------------------------- unit: reading the question

@pytest.mark.parametrize("text, expected", [
    ("Who presided over the June 2024 meeting?", (DateHint(2024, 6),)),
    ("Qui présidait la réunion de juin 2024 ?", (DateHint(2024, 6),)),
    ("the meeting on 21 February 2024", (DateHint(2024, 2, 21),)),
    ("le 1er décembre 2014", (DateHint(2014, 12, 1),)),
    ("What happened in 2012?", (DateHint(2012),)),
    ("What is PAF-N?", ()),
])
def test_dates_named_in_a_question_are_read_in_both_languages(text, expected):
    assert find_dates(text) == expected


def test_a_date_hint_matches_releases_of_that_period_more_than_of_that_year():
    hint = DateHint(2024, 6)
    assert hint.match("2024-06-11") > hint.match("2024-02-21") == 0.0
    assert DateHint(2024).match("2024-02-21") > DateHint(2024).match("2023-06-15")


@pytest.mark.parametrize("question, follows", [
    ("Who presented it?", True),
    ("Who chaired the committee that held that meeting?", True),
    ("Which older committee did it take over from?", True),
    ("And in 2019?", True),
    ("What is PAF-N?", False),
    ("Which Ally offered to provide the legal framework for the new Innovation Fund and to help pay its set-up costs?", False),
])
def test_follow_ups_are_told_apart_from_standalone_questions(question, follows):
    assert leans_on_context(question) is follows


def test_a_follow_up_is_searched_with_the_question_it_follows():
    history = [{"role": "user", "content": "What is PAF-N?"}, {"role": "assistant", "content": "A framework [1]"}]
    query = prepare("Who presented it?", history)
    assert query.text == "What is PAF-N? Who presented it?"
    assert prepare("What is PAF-N?", history).text == "What is PAF-N?"


def test_invented_markers_are_dropped_and_the_rest_renumbered_by_first_use():
    passages = [Passage(n, f"id{n}", f"passage {n}", {"source": f"s{n}", "title": f"t{n}", "lang": "en"}, 1.0) for n in (1, 2, 3)]
    text, citations = verify_citations("First [3]. Second [9] and [1]. Again [3].", passages)
    assert text == "First [1]. Second and [2]. Again [1]."
    assert [c.source for c in citations] == ["s3", "s1"]
    assert [c.n for c in citations] == [1, 2]


def test_names_a_question_asks_about_are_found_for_the_coverage_check():
    assert "Steadfast Noon" in named_terms("How much did the Steadfast Noon nuclear deterrence exercise cost in 2023?")
    assert "BALTOPS" in named_terms("How many ships took part in BALTOPS 2019?")


def test_the_capitalised_first_word_of_a_question_is_not_read_as_part_of_a_name():
    assert named_terms("Besides Walrus Council members, who else came?") == ["Walrus Council"]
    assert named_terms("Besides Ukraine's chief, who came?") == []
    assert "Quartz Ferry Compact" in named_terms("Which admiral signed the Quartz Ferry Compact?")


# --------------------------------------------------------------------------- behaviour: the fictional index, hashing stack (no model)


def test_an_identifier_is_answered_from_the_release_that_defines_it_and_its_language_is_said(fictional_index):
    # Which sentence of the release defines it is a matter of meaning, which the hashing stack does not
    # have (the answer model is trained on the bundled stack's): test_what_is_paf_n_is_answered_from_the_french_release
    # checks it with the real models.
    result = answer("What is VKR-N?", settings=fictional_index)
    assert isinstance(result, Answer) and result.found and result.mode == "extractive"
    assert _name(result.citations[0].source) == VKR_N.name
    assert "VKR-N" in result.text and "French release" in result.text
    assert "[1]" in result.text and all(f"[{c.n}]" in result.text for c in result.citations)
    first = result.citations[0]
    assert (first.lang, first.date, first.title) == ("fr", "2093-02-08", VKR_N.title)
    start, end = first.quotes[0]
    assert "VKR-N" in first.text[start:end]


def test_a_follow_up_is_answered_from_the_release_of_the_conversation(fictional_index):
    first = answer("What is ALF-1?", settings=fictional_index)
    history = [{"role": "user", "content": "What is ALF-1?"}, {"role": "assistant", "content": first.text}]
    result = answer("Who presented it?", history=history, settings=fictional_index)
    assert result.found and _name(result.citations[0].source) == ALF.name
    assert ALF.person in result.text


def test_a_follow_up_answered_by_the_sentence_already_quoted_gets_it_again(fictional_index):
    first = answer("Who presented the ALF-1?", settings=fictional_index)
    history = [{"role": "user", "content": "Who presented the ALF-1?"}, {"role": "assistant", "content": first.text}]
    result = answer("What kind of meeting was it?", history=history, settings=fictional_index)
    assert result.found and "virtual meeting" in result.text   # the quoted sentence holds it: no other one instead
    assert _name(result.citations[0].source) == ALF.name


@pytest.mark.parametrize("question", [
    "How many ships took part in BALTOPS 2019?",
    "Which city will host the NATO Summit in 2031?",
    "Combien de soldats ont participé à l'exercice Trident Juncture 2018 ?",
])
def test_questions_the_fictional_releases_do_not_answer_are_declined(fictional_index, question):
    result = answer(question, settings=fictional_index)
    assert not result.found and not result.citations and result.mode == "abstain"
    assert result.text in ("I could not find this in the indexed releases.",
                           "Je n’ai pas trouvé cette information dans les communiqués indexés.")


def test_retrieve_gives_documents_best_first_with_their_metadata_and_filters(fictional_index):
    documents = retrieve("What is VKR-N?", k=5, settings=fictional_index)
    assert 1 <= len(documents) <= 5 and all(isinstance(d, Document) for d in documents)
    assert _name(documents[0].metadata["source"]) == VKR_N.name
    scores = [d.metadata["score"] for d in documents]
    assert scores == sorted(scores, reverse=True)
    for key in ("source", "doc_id", "title", "date", "lang", "chunk", "start", "end"):
        assert key in documents[0].metadata

    english = retrieve("What is VKR-N?", k=5, lang="en", settings=fictional_index)
    assert english and all(d.metadata["lang"] == "en" for d in english)
    window = retrieve("invented NATO body", k=5, date_from="2095-01-01", date_to="2096-12-31", settings=fictional_index)
    assert window and all("2095-01-01" <= d.metadata["date"] <= "2096-12-31" for d in window)


def test_the_retriever_composes_with_langchain_on_fiction(fictional_index):
    retriever = CommuniqueRetriever(k=3, settings=fictional_index)
    assert _name(retriever.invoke("What is VKR-N?")[0].metadata["source"]) == VKR_N.name
    both = retriever.batch(["What is VKR-N?", "What is the Amber Lighthouse Fund?"])
    assert [_name(docs[0].metadata["source"]) for docs in both] == [VKR_N.name, ALF.name]


@pytest.mark.e2e
def test_python_m_bot_prints_the_answer_and_its_sources_on_fiction(fictional_index, tmp_path):
    """A process of its own (hashing stack): e2e for the time it takes, but no ../shared needed."""
    import subprocess
    import sys

    from helpers.cli import cli_env
    from helpers.indexing import copy_index

    copy = copy_index(fictional_index, tmp_path / "home")   # this process holds the original's lock
    done = subprocess.run([sys.executable, "-m", "bot", "What is VKR-N?"], cwd=Path(__file__).resolve().parents[1],
                          env=cli_env(copy), capture_output=True, text=True, timeout=180)
    assert done.returncode == 0, done.stderr
    assert "VKR-N" in done.stdout and VKR_N.name in done.stdout


# --------------------------------------------------------------------------- quality, end to end: the development corpus and the real models

@pytest.mark.e2e
def test_what_is_paf_n_is_answered_from_the_french_release(built_index):
    result = answer("What is PAF-N?", settings=built_index)
    assert isinstance(result, Answer) and result.found
    assert _name(result.citations[0].source) == PAF_N
    assert "forces partenaires d’appoint pour l’OTAN" in result.text      # the defining sentence
    assert "French release" in result.text                                # the language is said
    assert "[1]" in result.text and all(f"[{c.n}]" in result.text for c in result.citations)
    first = result.citations[0]
    assert first.lang == "fr" and first.date == "2024-06-11" and first.title.startswith("Réunion virtuelle")
    start, end = first.quotes[0]
    assert "PAF-N" in first.text[start:end]


@pytest.mark.e2e
def test_who_presented_it_follows_the_conversation(built_index):
    first = answer("What is PAF-N?", settings=built_index)
    history = [{"role": "user", "content": "What is PAF-N?"}, {"role": "assistant", "content": first.text}]
    result = answer("Who presented it?", history=history, settings=built_index)
    assert result.found
    assert _name(result.citations[0].source) == PAF_N
    assert result.short and "Cavoli" in result.short and result.text.startswith(result.short)   # the name leads


@pytest.mark.e2e
def test_a_near_miss_about_a_figure_the_release_does_not_give_is_declined(built_index):
    result = answer("How much funding was allocated to PAF-N in 2024?", settings=built_index)
    assert not result.found and not result.citations


@pytest.mark.e2e
@pytest.mark.parametrize("question", [
    "How many ships took part in BALTOPS 2019?",
    "Which city will host the NATO Summit in 2031?",
    "Combien de soldats ont participé à l'exercice Trident Juncture 2018 ?",
])
def test_questions_the_releases_do_not_answer_are_declined(built_index, question):
    result = answer(question, settings=built_index)
    assert not result.found and not result.citations
    assert result.text in ("I could not find this in the indexed releases.",
                           "Je n’ai pas trouvé cette information dans les communiqués indexés.")


@pytest.mark.e2e
def test_a_french_question_finds_an_english_release_and_answers_in_french(built_index):
    result = answer("Qui a pris ses fonctions de représentante spéciale de l'OTAN pour les femmes, la paix et la sécurité "
                    "en janvier 2018 ?", settings=built_index)
    assert result.found and result.lang == "fr"
    assert _name(result.citations[0].source) == "2018-01-08-en-wps-special-representative-takes-office.txt"
    assert "Hutchinson" in result.text and "communiqué en anglais" in result.text


@pytest.mark.e2e
def test_retrieve_returns_documents_best_first_with_indexed_metadata(built_index):
    documents = retrieve("What is PAF-N?", k=5, settings=built_index)
    assert 1 <= len(documents) <= 5 and all(isinstance(d, Document) for d in documents)
    assert _name(documents[0].metadata["source"]) == PAF_N
    scores = [d.metadata["score"] for d in documents]
    assert scores == sorted(scores, reverse=True)
    for key in ("source", "doc_id", "title", "date", "lang", "chunk", "start", "end"):
        assert key in documents[0].metadata


@pytest.mark.e2e
def test_filters_limit_language_and_dates(built_index):
    english = retrieve("What is PAF-N?", k=5, lang="en", settings=built_index)
    assert english and all(d.metadata["lang"] == "en" for d in english)
    old = retrieve("Resolute Support", k=5, date_from="2014-01-01", date_to="2014-12-31", settings=built_index)
    assert old and all("2014-01-01" <= d.metadata["date"] <= "2014-12-31" for d in old)


@pytest.mark.e2e
def test_a_date_in_the_question_steers_towards_releases_of_that_period(built_index):
    documents = retrieve("Which Georgian prime minister did Stoltenberg receive at NATO Headquarters on 21 February 2024?",
                         k=3, settings=built_index)
    assert documents[0].metadata["date"] == "2024-02-21"


@pytest.mark.e2e
def test_the_retriever_composes_with_langchain(built_index):
    retriever = CommuniqueRetriever(k=3, settings=built_index)
    documents = retriever.invoke("What is PAF-N?")
    assert _name(documents[0].metadata["source"]) == PAF_N
    assert len(retriever.batch(["What is PAF-N?", "What is NATO's Resilience Committee?"])) == 2


@pytest.mark.e2e
def test_python_m_bot_prints_the_answer_and_its_sources(built_index, tmp_path):
    import subprocess
    import sys

    root = Path(__file__).resolve().parents[1]
    # the embedded index is held by this test process, so the CLI reads a copy of it
    import shutil
    home = tmp_path / "home"
    shutil.copytree(built_index.home, home, ignore=shutil.ignore_patterns("index.lock*"))
    env = {**os.environ, "COMMUNIQUE_HOME": str(home)}
    done = subprocess.run([sys.executable, "-m", "bot", "What is PAF-N?"], cwd=root, env=env,
                          capture_output=True, text=True, timeout=180)
    assert done.returncode == 0, done.stderr
    assert "PAF-N" in done.stdout and PAF_N in done.stdout


@pytest.mark.parametrize("question, kind", [
    ("Who presented the PAF-N framework?", "person"),
    ("Which Afghan president took part in the meeting?", "person"),
    ("Qui a présidé la réunion ?", "person"),
    ("On what date did the Military Committee meet?", "date"),
    ("Quand le Comité s’est-il réuni ?", "date"),
    ("How many nations took part?", "number"),
    ("Combien de soldats ont participé ?", "number"),
    ("Quel pourcentage du PIB ?", "number"),
    ("Where will the next meeting be held?", "place"),
    ("Et où se tiendra la prochaine ?", "place"),
    # a leading "when …" clause sets the scene; the main clause says what is asked
    ("When the Council met in Velmora, which commander gave the briefing?", "person"),
    ("Lorsque le comité s'est réuni à Velmora, combien de navires étaient présents ?", "number"),
    ("When the Council met in Velmora, what did it decide?", "other"),
    ("Which committee replaced it?", "entity"),
    ("Which partner countries sent their chiefs?", "place"),
    ("Quel pays a négocié l'accord ?", "place"),
    ("What place does the plan give to climate?", "entity"),
    ("How do the guidelines characterise terrorism?", "describe"),
    ("What is PAF-N?", "definition"),
    ("Qu’est-ce que le PAF-N ?", "definition"),
])
def test_the_kind_of_answer_a_question_wants_is_read_in_both_languages(question, kind):
    from bot.forms import asked_for

    assert asked_for(question).kind == kind


def test_a_sentence_holds_what_the_question_wants_only_when_the_question_does_not_already_say_it():
    from bot.forms import asked_for, candidates, defines

    question = "Who presented the PAF-N framework?"
    assert candidates("person", "General Jane Quill presented the new framework.", question) == ["General Jane Quill"]
    assert candidates("person", "The framework was discussed at length.", question) == []
    assert candidates("person", "General Jane Quill spoke.", "What did General Jane Quill present?") == []
    assert candidates("date", "They met on 3 March 2031 in Port Avalon.", "When did they meet?") == ["3 March 2031"]
    # a date is named only as a whole: the year alone does not make "May 2031" known
    assert candidates("date", "They meet again in May 2031.", "After the March 2031 talks, when do they meet?") == [
        "May 2031"
    ]
    assert candidates("date", "They met on 3 March 2031.", "What did they agree on 3 March 2031?") == []
    assert candidates("number", "Twelve harbours and 40 ships took part.", "How many ships took part?")[-1] == "40 ships"
    assert candidates("place", "The council met in Port Avalon, Portugal.", "Where did the council meet?")[:1] == ["Portugal"]
    # a name that begins with "A" keeps it (the article "A" is a word of its own), a capitalised opening word goes
    assert candidates("entity", "Admiral Quill chaired the Avalon Forum.", "Which forum met?") == [
        "Admiral Quill",
        "Avalon Forum",
    ]
    assert candidates("entity", "In Port Avalon, the Allies agreed.", "Which town hosted them?") == ["Port Avalon", "Allies"]
    # a country the question names in the other language is not an answer
    assert candidates("place", "Jets flew over Estonia with crews from Germany.", "Quel pays envoie des avions en Estonie ?") == [
        "Germany"
    ]
    term = asked_for("What is PAF-N?").term
    assert term == "PAF-N"
    assert defines(term, "the new framework of partner forces (PAF-N), a mechanism") == 2
    assert defines(term, "Nothing about it here.") == 0
