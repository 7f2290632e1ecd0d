"""`python -m benchmarks.eval`: the metrics it reports, its input errors, and one real run on a few releases."""
from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from langchain_core.documents import Document

from benchmarks.baselines import Baseline
from benchmarks.eval import (
    ALL, CROSS_LANG, EvalError, Outcome, Question, aggregate, answer_order, evaluate_baseline, format_report, hit_at,
    load_questions, main, mrr_at, percentile, recall_at, release_name, release_ranking,
)

PROJECT_ROOT = Path(__file__).resolve().parents[1]
SHARED = Path(__file__).resolve().parents[2] / "shared"


# --------------------------------------------------------------------------- metrics


def test_chunks_of_one_release_count_once_at_their_best_rank():
    sources = ["/c/a.txt", "/c/a.txt", "/other/b.txt", "/c/a.txt", "https://www.nato.int/cps/en/c.htm", "/c/b.txt"]
    assert release_ranking(sources) == ["a.txt", "b.txt", "c.htm"]


def test_release_names_are_basenames_of_paths_and_urls():
    assert release_name("/work/shared/corpus/2019-x.txt") == "2019-x.txt"
    assert release_name("2019-x.txt") == "2019-x.txt"
    assert release_name("https://www.nato.int/cps/en/natohq/news_1.htm?lang=en") == "news_1.htm"


def test_hit_at_1_is_whether_the_first_release_is_relevant():
    assert hit_at(["a", "b"], {"a"}) == 1.0
    assert hit_at(["b", "a"], {"a"}) == 0.0
    assert hit_at([], {"a"}) == 0.0
    assert hit_at(["b", "a"], {"a"}, k=2) == 1.0


def test_recall_at_5_is_the_share_of_relevant_releases_in_the_top_5():
    ranking = ["x", "a", "y", "z", "w", "b"]
    assert recall_at(ranking, {"a", "b"}) == 0.5
    assert recall_at(ranking, {"a"}) == 1.0
    assert recall_at(ranking, {"q"}) == 0.0
    with pytest.raises(ValueError):
        recall_at(ranking, set())


def test_mrr_at_10_is_the_reciprocal_rank_of_the_first_relevant_release_within_10():
    ranking = [f"r{i}" for i in range(1, 13)]
    assert mrr_at(ranking, {"r1"}) == 1.0
    assert mrr_at(ranking, {"r4", "r2"}) == 0.5
    assert mrr_at(ranking, {"r10"}) == pytest.approx(0.1)
    assert mrr_at(ranking, {"r11"}) == 0.0


def test_percentiles_interpolate_like_numpy():
    values = [10.0, 20.0, 30.0, 40.0, 1000.0]
    assert percentile(values, 50) == 30.0
    assert percentile(values, 95) == pytest.approx(40 + 0.8 * 960)
    assert percentile([5.0], 95) == 5.0
    assert percentile([], 50) is None
    assert percentile([4.0, 1.0, 3.0, 2.0], 50) == 2.5


def _outcome(kind="factoid", relevant=("a",), contains=("17",), answer="17 Allies", cited=("a",), found=True,
             ranking=("a", "b"), latency=10.0, cross_lang=False):
    q = Question(id="q", question="?", kind=kind, relevant=tuple(relevant), answer_contains=tuple(contains))
    return Outcome(q, list(ranking), answer, list(cited), found, latency, cross_lang)


def test_answer_metrics_apply_only_where_they_mean_something():
    answered = _outcome().scores()
    assert answered["contains"] == 1.0 and answered["cites"] == 1.0 and answered["false_abstain"] == 0.0
    assert answered["abstain"] is None
    missed = _outcome(answer="seventeen", cited=("b",), found=False).scores()
    assert missed["contains"] == 0.0 and missed["cites"] == 0.0 and missed["false_abstain"] == 1.0
    unanswerable = _outcome(kind="unanswerable", relevant=(), contains=(), cited=(), found=False).scores()
    assert unanswerable["abstain"] == 1.0
    assert unanswerable["hit@1"] is None and unanswerable["cites"] is None and unanswerable["false_abstain"] is None


def test_a_row_averages_each_metric_over_the_questions_it_applies_to():
    rows = [_outcome(latency=10), _outcome(ranking=("b", "a"), latency=30),
            _outcome(kind="unanswerable", relevant=(), contains=(), cited=(), found=True, latency=20)]
    row = aggregate(rows)
    assert row["n"] == 3
    assert row["hit@1"] == 0.5 and row["mrr@10"] == 0.75 and row["recall@5"] == 1.0
    assert row["abstain"] == 0.0 and row["false_abstain"] == 0.0
    assert row["p50_ms"] == 20.0


# --------------------------------------------------------------------------- question files


def _write_questions(path: Path, rows: list[dict]) -> Path:
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8")
    return path


def test_follow_ups_are_answered_after_the_question_they_follow(tmp_path):
    path = _write_questions(tmp_path / "q.jsonl", [
        {"id": "f", "question": "Who hosted him there?", "kind": "followup", "follows": "a", "relevant": ["x.txt"]},
        {"id": "a", "question": "Who chaired it?", "kind": "who", "relevant": ["/some/where/x.txt"]},
    ])
    questions = load_questions(path)
    assert [q.id for q in answer_order(questions)] == ["a", "f"]
    assert questions[1].relevant == ("x.txt",)


@pytest.mark.parametrize("content, expected", [
    ('{"id": "a", "question": "Q?", "kind": "who"}\n{"id": "b", "question": \n', "q.jsonl:2: malformed JSON"),
    ('{"id": "a", "kind": "who"}\n', "q.jsonl:1: field 'question'"),
    ('{"id": "a", "question": "Q?", "kind": "who"}\n{"id": "a", "question": "Q?", "kind": "who"}\n', "q.jsonl:2: duplicate id"),
    ('{"id": "a", "question": "Q?", "kind": "who", "follows": "zz"}\n', "q.jsonl:1: a follows unknown id 'zz'"),
    ('{"id": "a", "question": "Q?", "kind": "who", "relevant": "x.txt"}\n', "q.jsonl:1: field 'relevant'"),
])
def test_a_bad_question_file_is_refused_naming_the_file_and_line(tmp_path, content, expected):
    path = tmp_path / "q.jsonl"
    path.write_text(content, encoding="utf-8")
    with pytest.raises(EvalError, match=expected):
        load_questions(path)


def test_bad_input_exits_2_with_one_line(tmp_path, capsys):
    bad = tmp_path / "q.jsonl"
    bad.write_text('{"id": "a", "question": "Q?", "kind": "who"}\nnot json\n', encoding="utf-8")
    corpus = tmp_path / "corpus"
    corpus.mkdir()

    assert main([str(tmp_path / "missing.jsonl"), "--corpus", str(corpus)]) == 2
    err = capsys.readouterr().err
    assert "missing.jsonl" in err and len(err.strip().splitlines()) == 1

    assert main([str(bad), "--corpus", str(corpus)]) == 2
    err = capsys.readouterr().err
    assert f"{bad}:2: malformed JSON" in err and len(err.strip().splitlines()) == 1

    good = _write_questions(tmp_path / "good.jsonl", [{"id": "a", "question": "Q?", "kind": "who"}])
    assert main([str(good), "--corpus", str(tmp_path / "nowhere")]) == 2
    assert "corpus folder not found" in capsys.readouterr().err


# --------------------------------------------------------------------------- baselines, with a fake retriever


def test_a_baseline_answers_with_its_first_chunk_and_never_abstains():
    chunks = {"fr": [Document("Le PAF-N ...", metadata={"source": "/c/fr.txt"}), Document("...", metadata={"source": "/c/fr.txt"}),
                     Document("Other", metadata={"source": "/c/en.txt"})]}
    baseline = Baseline("fake", "a fake retriever", lambda question, k: chunks["fr"][:k])
    questions = [Question("d1", "What is PAF-N?", "crosslingual", "en", ("fr.txt",), ("PAF-N",)),
                 Question("d2", "Which city in 2031?", "unanswerable", "en")]
    report = evaluate_baseline(questions, baseline, release_langs={"fr.txt": "fr", "en.txt": "en"})
    first, second = report["questions"]
    assert first["ranking"] == ["fr.txt", "en.txt"] and first["answer"] == "Le PAF-N ..." and first["cited"] == ["fr.txt"]
    assert first["hit@1"] == 1.0 and first["contains"] == 1.0 and first["cross_lang"] is True
    assert second["found"] is True and second["abstain"] == 0.0
    assert set(report["groups"]) == {"crosslingual", "unanswerable", CROSS_LANG, ALL}
    text = format_report({"meta": {"corpus": "c", "questions": 2, "releases": 2, "embeddings": "e", "date": "d",
                                   "processor": "x86_64", "cpus": 2}, "systems": [report]})
    assert "fake — a fake retriever" in text and "cross-lang" in text


# --------------------------------------------------------------------------- the real thing, on a few releases

E2E_IDS = ["d034", "d025", "d026", "d053", "d001"]
OTHER_RELEASES = ["2019-03-12-en-act-military-committee-visits-sact.txt", "undated-en-civil-emergency-planning.txt",
                  "2021-10-22-fr-fonds-otan-innovation.txt"]


@pytest.mark.e2e
def test_a_run_on_a_few_releases_reports_the_bot_and_both_baselines(tmp_path):
    questions_file, corpus = SHARED / "dev-questions.jsonl", SHARED / "corpus"
    if not questions_file.is_file() or not corpus.is_dir():
        pytest.skip(f"development questions or corpus not found in {SHARED}")
    rows = {row["id"]: row for row in map(json.loads, questions_file.read_text(encoding="utf-8").splitlines()) if row}
    picked = _write_questions(tmp_path / "questions.jsonl", [rows[i] for i in E2E_IDS])
    small = tmp_path / "corpus"
    small.mkdir()
    releases = {r for i in E2E_IDS for r in rows[i]["relevant"]} | set(OTHER_RELEASES)
    for name in releases:
        shutil.copy2(corpus / name, small / name)
    out = tmp_path / "report.json"

    done = subprocess.run([sys.executable, "-m", "benchmarks.eval", str(picked), "--corpus", str(small), "--json", str(out)],
                          cwd=PROJECT_ROOT, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr

    header = done.stdout.splitlines()[0]
    assert "5 questions" in header and f"{len(releases)} releases" in header and "bundled:" in header
    report = json.loads(out.read_text(encoding="utf-8"))
    systems = {s["name"]: s for s in report["systems"]}
    assert list(systems) == ["bot", "langchain-minilm", "bm25"]
    for name in systems:
        assert f"\n{name} — " in done.stdout

    bot = {q["id"]: q for q in systems["bot"]["questions"]}
    assert bot["d034"]["hit@1"] == 1.0                       # "What is PAF-N?" finds the French release first
    assert bot["d025"]["hit@1"] == 1.0 and bot["d025"]["contains"] == 1.0
    assert bot["d026"]["hit@1"] == 1.0                       # the follow-up is read with its conversation
    assert bot["d053"]["found"] is False                      # nothing about a 2031 summit
    groups = systems["bot"]["groups"]
    assert set(groups) >= {"crosslingual", "definition", "followup", "unanswerable", CROSS_LANG, ALL}
    assert groups[ALL]["n"] == 5 and groups[ALL]["p50_ms"] > 0 and groups[ALL]["p95_ms"] >= groups[ALL]["p50_ms"]
    for name in ("langchain-minilm", "bm25"):
        assert systems[name]["groups"]["unanswerable"]["abstain"] == 0.0   # baselines never abstain
        assert systems[name]["groups"][ALL]["false_abstain"] == 0.0
