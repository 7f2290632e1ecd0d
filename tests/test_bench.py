"""`python -m benchmarks.bench`: its synthetic releases, its statistics, its report, and one tiny end-to-end run."""
from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from benchmarks import bench
from helpers.releases import write_fictional_corpus
from index.chunk import chunk_release
from index.load import load_file
from index.release import Release

PROJECT_ROOT = Path(__file__).resolve().parents[1]

EN_BODY = ("NATO Allies agreed on Tuesday to launch a new training mission. The mission will start on 1 January.\n\n"
           "\u201cThis is a significant moment for us\u201d, the Secretary General said. Around 12,000 troops will take part.\n\n"
           "The European Union High Representative also attended the meeting.")
FR_BODY = ("Les ministres des Affaires \u00e9trang\u00e8res de l\u2019OTAN ont d\u00e9cid\u00e9 de lancer la mission. "
           "Elle commencera le 1er janvier.\n\n"
           "\u00ab C\u2019est un moment important pour nous \u00bb, a d\u00e9clar\u00e9 le secr\u00e9taire g\u00e9n\u00e9ral.")


def _templates() -> list[Release]:
    return [
        Release(source="/corpus/2014-12-02-en-mission-launch.txt", title="NATO launches a new training mission",
                text=EN_BODY, lang="en", date="2014-12-02"),
        Release(source="/corpus/undated-fr-lancement-mission.txt", title="L\u2019OTAN lance une nouvelle mission",
                text=FR_BODY, lang="fr", date=None),
    ]


# --------------------------------------------------------------------------- synthetic releases


def test_copies_keep_title_and_text_and_vary_source_and_date(tmp_path: Path) -> None:
    templates = _templates()
    paths = bench.write_synthetic_releases(templates, tmp_path, range(6))
    releases = [load_file(p, max_bytes=1_000_000) for p in paths]

    assert len({r.source for r in releases}) == 6                      # distinct sources
    assert len({r.date for r in releases}) == 6                        # dates varied, undated templates get one too
    assert all(r.date for r in releases)
    for k, release in enumerate(releases):
        template = templates[k % 2]
        assert release.title == template.title                        # identical titles
        assert release.text == template.text                          # identical body text
        assert release.lang == template.lang
        assert release.date == bench.synthetic_date(k).isoformat()
        assert Path(release.source).name.startswith(f"synthetic-{k:05d}-")


def test_copies_embed_the_same_texts_so_stored_vectors_are_reused(tmp_path: Path) -> None:
    """What the models read (title + chunk text) is hash-identical between copies: no model call for a copy."""
    paths = bench.write_synthetic_releases(_templates(), tmp_path, range(4))
    chunks = [[c.text_hash for c in chunk_release(load_file(p, max_bytes=1_000_000))] for p in paths]
    assert chunks[0] == chunks[2] and chunks[1] == chunks[3]
    assert chunks[0] != chunks[1]
    originals = [[c.text_hash for c in chunk_release(t)] for t in _templates()]
    assert chunks[:2] == originals


def test_unique_copies_have_new_text_in_every_chunk(tmp_path: Path) -> None:
    templates = _templates()
    plain = bench.write_synthetic_releases(templates, tmp_path / "plain", range(2))
    unique = bench.write_synthetic_releases(templates, tmp_path / "unique", [50_000, 50_001], unique_text=True)
    for k, path in zip([50_000, 50_001], unique):
        release = load_file(path, max_bytes=1_000_000)
        paragraphs = release.text.split("\n\n")
        assert all(p.startswith(f"[synthetic copy {k}] ") for p in paragraphs)
        assert release.title == templates[k % 2].title
    known = {c.text_hash for p in plain for c in chunk_release(load_file(p, max_bytes=1_000_000))}
    new = [c.text_hash for p in unique for c in chunk_release(load_file(p, max_bytes=1_000_000))]
    assert new and not known & set(new)


def test_synthetic_dates_are_distinct_over_a_thousand_copies() -> None:
    days = [bench.synthetic_date(k) for k in range(1000)]
    assert len(set(days)) == 1000
    assert min(days).year >= 1990 and max(days).year <= 2026


def test_date_line_is_read_back_by_the_loader() -> None:
    from index.load import parse_date

    for k in range(0, 400, 7):
        day = bench.synthetic_date(k)
        line = bench.nato_date_line(day)
        assert parse_date(line.strip(" •-")) == day.isoformat()


def test_a_copy_that_would_not_parse_back_is_refused(tmp_path: Path) -> None:
    # a body whose first line looks like a date bullet would be eaten by the header parser
    bad = Release(source="/corpus/x.txt", title="A title", text="  • 01 Jan. 2020 -\n\nBody text here.", lang="en")
    with pytest.raises(bench.BenchError, match="does not parse back"):
        bench.write_synthetic_releases([bad], tmp_path, range(1))


# --------------------------------------------------------------------------- statistics and helpers


@pytest.mark.parametrize("values", [[5.0], [3.0, 1.0], [12.5, 3.0, 7.0, 1.0, 9.0], list(np.random.default_rng(0).random(57) * 100)])
@pytest.mark.parametrize("p", [0, 25, 50, 95, 100])
def test_percentile_matches_numpy(values: list[float], p: float) -> None:
    assert bench.percentile(values, p) == pytest.approx(float(np.percentile(values, p)))


def test_percentile_edge_cases() -> None:
    assert bench.percentile([], 50) is None
    assert bench.percentile([2, 4], 50) == 3.0
    with pytest.raises(ValueError):
        bench.percentile([1.0], 101)


def test_latency_summary() -> None:
    summary = bench.latency_summary([10.0, 20.0, 30.0, 40.0])
    assert summary == {"n": 4, "p50_ms": 25.0, "p95_ms": pytest.approx(38.5), "mean_ms": 25.0, "max_ms": 40.0}
    assert bench.latency_summary([])["p50_ms"] is None


def test_spread_takes_items_evenly() -> None:
    items = list(range(57))
    assert bench.spread(items, None) == items
    assert bench.spread(items, 100) == items
    picked = bench.spread(items, 15)
    assert len(picked) == 15 and picked[0] == 0 and picked == sorted(set(picked)) and picked[-1] >= 50


def test_question_texts_only(tmp_path: Path) -> None:
    path = tmp_path / "q.jsonl"
    path.write_text('{"id": "a", "question": " What is PAF-N? ", "relevant": ["x.txt"]}\n\n{"question": "Qui ?"}\n',
                    encoding="utf-8")
    assert bench.load_question_texts(path) == ["What is PAF-N?", "Qui ?"]
    path.write_text("not json\n", encoding="utf-8")
    with pytest.raises(bench.BenchError, match="q.jsonl:1"):
        bench.load_question_texts(path)


def test_child_environment_mirrors_the_cli_and_the_bot(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OMP_NUM_THREADS", "7")
    monkeypatch.setenv("COMMUNIQUE_HOME", "/somewhere/else")
    indexing = bench.child_env(indexing=True, threads=2)
    answering = bench.child_env(indexing=False, threads=2)
    assert indexing["OMP_NUM_THREADS"] == "2"
    assert "OMP_NUM_THREADS" not in answering                         # the bot's own default decides
    assert not any(k.startswith("COMMUNIQUE_") for k in {**indexing, **answering})


def test_missing_corpus_is_one_error_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code = bench.main(["--corpus", str(tmp_path / "nope"), "--questions", str(tmp_path / "q.jsonl")])
    assert code == 1
    assert capsys.readouterr().err.strip().startswith(f"error: corpus folder not found: {tmp_path / 'nope'}")


def test_report_table_from_figures() -> None:
    add = {"seconds": 1.5, "model_s": 1.2, "chroma_s": 0.05, "other_s": 0.25, "chunks_embedded": 4}
    stage = lambda n: {  # noqa: E731
        "answer": {"p50_ms": 60.0, "p95_ms": 90.0, "chunks": 3 * n, "cold_first_answer_s": 1.5, "peak_rss_mib": 400.0},
        "add": {"adds": [add, add], "removes": [{"seconds": 0.05}], "peak_rss_mib": 410.0},
    }
    mode = {
        "build": {"seconds": 50.0, "chunks": 125, "releases": 38, "model_s": 48.0, "chroma_s": 0.5, "other_s": 1.5,
                  "model_passages_s": 43.0, "model_sentences_s": 5.0, "model_only_s": 42.0, "model_only_chunks": 125,
                  "cpu_s": 95.0, "model_only_cpu_s": 80.0,
                  "model_load_s": 1.0, "peak_rss_mib": 450.0, "loadavg_1min_at_start": 0.5},
        "noop": {"seconds": 1.2, "chunks_embedded": 0, "peak_rss_mib": 250.0, "loadavg_1min_at_start": 1.25},
        "sizes": {"38": stage(38), "100": {**stage(100), "grow": {"seconds": 2.0, "copies": 62, "chunks_embedded": 0},
                                           "noop": {"seconds": 2.5, "chunks_embedded": 0, "peak_rss_mib": 260.0}}},
    }
    report = {"meta": {"corpus_releases": 38, "sizes": [100], "add_repeats": 2, "questions": 57, "passes": 2},
              "modes": {"embedded": mode}}
    table = bench.format_table(report)
    assert table.splitlines()[0].startswith("| Measure ") and "embedded Chroma" in table.splitlines()[0]
    assert "| Build dev corpus (38 releases), models warm" in table and "50.0 s (125 chunks; CPU 95 s)" in table
    assert "2.50 passages/s, 0.76 releases/s" in table
    assert "Add 1 release at N=100, median of 2" in table and "1.50 s = model 1.20 + Chroma 0.05 + other 0.25 (4 chunks)" in table
    assert "Answer p50 / p95 at N=100 (ms, warm, 114 answers) | 60 / 90 (300 chunks)" in re.sub(r" +", " ", table)
    assert "42.0 s (2.98 passages/s; CPU 80 s)" in table
    assert "Load average (1 min) at phase starts, min–max | 0.5–1.2" in re.sub(r" +", " ", table)
    assert "—" not in table                         # every figure given was shown
    assert "No-op update at N=100" in table and "Bulk load to N=100" in table
    assert "Bulk load to N=38" not in table          # a row with no figure is left out
    widths = {len(line) for line in table.splitlines()}
    assert len(widths) == 1                         # an aligned Markdown table


def test_the_table_shows_throughput_and_the_models_share_of_passages_and_sentences() -> None:
    build = {"seconds": 16.0, "chunks": 125, "releases": 38, "model_s": 15.0, "chroma_s": 0.2, "other_s": 0.8,
             "model_passages_s": 10.5, "model_sentences_s": 4.5, "sentences_embedded": 367}
    table = bench.format_table({"meta": {"corpus_releases": 38, "sizes": []}, "modes": {"embedded": {"build": build}}})
    assert "7.81 passages/s, 2.38 releases/s" in table
    assert "10.5 + 4.5 s (367 sentences)" in table


def test_the_table_shows_bulk_load_per_release_and_bytes_per_chunk() -> None:
    from benchmarks.bench.report import format_table as table_of

    stage = {"grow": {"seconds": 9.0, "copies": 900, "chunks_embedded": 0},
             "disk": {"bytes": 3_000_000, "chunks": 3000, "bytes_per_chunk": 1000.0}}
    mode = {"sizes": {"1000": stage}}
    table = re.sub(r" +", " ", table_of({"meta": {"corpus_releases": 38, "sizes": [1000]}, "modes": {"embedded": mode}}))
    assert "Bulk load to N=1,000 (synthetic copies, vectors reused) | 9.0 s (+900 releases, 10.0 ms per release, 0 embedded)" in table
    assert "On disk at N=1,000: Chroma folder per chunk | 1.0 KB (3 MiB, 3,000 chunks)" in table


def test_disk_usage_counts_allocated_bytes_per_chunk(tmp_path: Path) -> None:
    from benchmarks.bench.instruments import disk_usage

    (tmp_path / "sub").mkdir()
    (tmp_path / "a.bin").write_bytes(b"x" * 10_000)
    (tmp_path / "sub" / "b.bin").write_bytes(b"y" * 5_000)
    usage = disk_usage(tmp_path, 3)
    assert usage["bytes"] >= 15_000 and usage["bytes_per_chunk"] == usage["bytes"] / 3
    assert disk_usage(tmp_path, 0)["bytes_per_chunk"] is None


def test_a_size_is_skipped_when_the_measured_pace_says_it_would_overrun() -> None:
    from benchmarks.bench.profile import Pace

    left = [1000.0]
    pace = Pace(budget_left=lambda: left[0])
    assert pace.allows(300, 100) and pace.allows(30_000, 10_000)   # nothing measured yet: it runs
    # this mode's stage to N=1,000: 0.02 s per copy, a no-op of 5 s, answer + add 20 s
    pace.record(1000, {"seconds": 43.0, "grow": {"process_wall_s": 18.0, "copies": 900},
                       "noop": {"process_wall_s": 5.0}})
    assert pace.projected(10_000, 1000) == pytest.approx(0.02 * 9000 + 0.005 * 10_000 + 20.0)
    assert pace.allows(10_000, 1000)                               # 250 s x 1.3 fits in 1,000 s
    left[0] = 300.0
    assert not pace.allows(10_000, 1000) and pace.allows(500, 100)  # small sizes always run
    pace.start_mode()                                              # the next mode: the first mode's times
    assert pace.projected(1000, 38) == 43.0


def test_synthetic_copies_of_a_size_are_written_once_for_both_modes(tmp_path: Path) -> None:
    from benchmarks.bench.profile import Corpus

    corpus = Corpus(files=[], templates=_templates(), new_template=None, workdir=tmp_path)
    folder = corpus.copies(0, 5)
    first = sorted(p.name for p in folder.iterdir())
    assert len(first) == 5 and corpus.copies(0, 5) == folder
    assert sorted(p.name for p in folder.iterdir()) == first and not list(tmp_path.glob("synthetic/*.partial"))


# --------------------------------------------------------------------------- one real run


@pytest.mark.e2e
@pytest.mark.server
@pytest.mark.timeout(200)
def test_tiny_bench_runs_both_modes_and_prints_the_table(tmp_path: Path) -> None:
    """~45 s on an idle 2-core machine, ~60-80 s when other processes load it (10 phase processes + a server).

    On three fictional releases (helpers/releases.py), with the bundled models the bench measures.
    """
    corpus = tmp_path / "corpus"
    write_fictional_corpus(corpus, slugs=["quartz-ferry-compact", "reseau-bruine-argentee", "copper-kite-board"])
    questions = tmp_path / "questions.jsonl"
    questions.write_text("\n".join(json.dumps({"question": q}) for q in [
        "What is the Quartz Ferry Compact?", "Who presented the Copper Kite Board?",
        "Where was the QFC-3 set up?", "Qu'est-ce que le réseau Bruine Argentée ?"]) + "\n", encoding="utf-8")
    out = tmp_path / "bench.json"
    env = {k: v for k, v in os.environ.items() if not k.startswith("COMMUNIQUE_")}
    start = time.monotonic()
    done = subprocess.run([sys.executable, "-m", "benchmarks.bench", "--tiny", "--corpus", str(corpus), "--questions", str(questions),
                           "--json", str(out)], cwd=PROJECT_ROOT, env=env, capture_output=True, text=True, timeout=180)
    elapsed = time.monotonic() - start
    assert done.returncode == 0, done.stderr[-3000:]
    print(f"--tiny bench: {elapsed:.0f} s, load average {os.getloadavg()}")

    text = done.stdout
    for expected in ["Machine: ", "Load average", "Embedding stack: bundled:", "OMP_NUM_THREADS=",
                     "| Measure", "embedded Chroma", "Chroma server",
                     "Build dev corpus (3 releases), models warm", "throughput", "model only: the same passages",
                     "Model load, once per process", "No-op update at N=3", "Bulk load to N=10",
                     "Add 1 release at N=10", "Remove 1 release at N=10", "Answer p50 / p95 at N=10",
                     "First answer in a new process at N=10", "Peak RSS: build", "Peak RSS: `chroma run` server",
                     "SYNTHETIC releases"]:
        assert expected in text, f"{expected!r} missing from:\n{text}"
    table_rows = [line for line in text.splitlines() if line.startswith("| ") and "Measure" not in line]
    for line in table_rows:
        cells = [c.strip() for c in line.strip("|").split("|")]
        if "model only" not in cells[0] and "server" not in cells[0]:
            assert "—" not in cells[1:], f"a figure is missing: {line}"

    report = json.loads(out.read_text(encoding="utf-8"))
    assert set(report["modes"]) == {"embedded", "server"}
    assert report["meta"]["cores"] >= 1 and report["meta"]["loadavg_start"]
    for mode in report["modes"].values():
        assert mode["build"]["releases"] == 3 and mode["build"]["chunks"] > 0 and mode["build"]["model_s"] > 0
        assert mode["noop"]["chunks_embedded"] == 0
        stage = mode["sizes"]["10"]
        assert stage["grow"]["chunks_embedded"] == 0 and stage["grow"]["releases"] == 10    # copies reuse vectors
        assert all(a["chunks_embedded"] > 0 and a["model_s"] > 0 for a in stage["add"]["adds"])  # the new release is embedded
        assert stage["answer"]["n"] == 4 and stage["answer"]["p95_ms"] >= stage["answer"]["p50_ms"] > 0
    assert report["modes"]["embedded"]["build"]["model_only_s"] > 0
    assert not Path(report["meta"]["workdir"]).exists()              # the temp folder is removed
    assert not Path(f"/proc/{report['modes']['server']['server_pid']}").exists()   # no orphan server
