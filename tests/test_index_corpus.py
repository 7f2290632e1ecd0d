"""A whole corpus, indexed once: what `status` reports and what every chunk carries.

Read-only checks, on two corpora: the generated fictional one (`fictional_index`, hashing stack:
runs anywhere) and the development corpus of real releases (`built_index`, bundled models: e2e,
skipped when ../shared is absent). What is checked is the loader's and chunker's work on each
file, plus, for the development corpus, its known size and dates.
"""
from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from helpers.indexing import CORPUS_NAME, HEADER_BULLET, copy_index, stored_chunks
from index.chunk import chunk_release
from index.embed import BundledStack, HashingStack
from index.load import read_sources
from index.release import Release
from index.settings import Settings
from index.status import index_status


@dataclass(frozen=True)
class Indexed:
    name: str
    folder: Path                   # the release files (date-lang-slug.txt)
    settings: Settings             # their index, read-only
    stack: str                     # the embedding stack it was built with
    known: dict | None = None      # facts known of this corpus beyond its file names


DEVELOPMENT = {"releases": 38, "dates": ("2012-06-04", "2024-07-10"), "min_header_lines": 30}


@pytest.fixture(scope="module", params=["fictional", pytest.param("development", marks=pytest.mark.e2e)])
def corpus(request: pytest.FixtureRequest) -> Indexed:
    if request.param == "fictional":
        return Indexed("fictional", request.getfixturevalue("fictional_corpus"), request.getfixturevalue("fictional_index"),
                       HashingStack.name)
    return Indexed("development", request.getfixturevalue("corpus_copy"), request.getfixturevalue("built_index"),
                   BundledStack.name, DEVELOPMENT)


@pytest.fixture(scope="module")
def releases(corpus: Indexed) -> dict[str, Release]:
    """The corpus as the loader reads it, by source."""
    items = list(read_sources([str(corpus.folder)]))
    assert all(isinstance(item, Release) for item in items), [str(i) for i in items if not isinstance(i, Release)]
    return {item.source: item for item in items}


@pytest.fixture(scope="module")
def expected(corpus: Indexed, releases: dict[str, Release]) -> dict:
    """What status must say, from the corpus file names (date-lang-slug.txt) and the chunker."""
    names = [CORPUS_NAME.match(path.name) for path in sorted(corpus.folder.glob("*.txt"))]
    assert all(names), "every corpus file is named YYYY-MM-DD-ll-... or undated-ll-..."
    dates = sorted(m["date"] for m in names if m["date"] != "undated")
    return {
        "releases": len(names),
        "chunks": sum(len(chunk_release(r)) for r in releases.values()),
        "languages": dict(Counter(m["lang"] for m in names)),
        "first_date": dates[0],
        "last_date": dates[-1],
    }


def test_status_describes_the_whole_corpus(corpus: Indexed, expected: dict) -> None:
    status = index_status(corpus.settings)

    assert status.releases == expected["releases"]
    assert status.chunks == expected["chunks"]
    assert status.languages == expected["languages"]
    assert set(status.languages) == {"en", "fr"}
    assert (status.first_date, status.last_date) == (expected["first_date"], expected["last_date"])
    if corpus.known:
        assert status.releases == corpus.known["releases"]
        assert (status.first_date, status.last_date) == corpus.known["dates"]
    assert status.embeddings == corpus.stack
    updated = datetime.fromisoformat(status.updated_at)
    assert timedelta(0) <= datetime.now(timezone.utc) - updated < timedelta(hours=1)


@pytest.mark.e2e   # a process of its own
def test_status_command_prints_the_same_report(corpus: Indexed, expected: dict, tmp_path: Path, run_cli) -> None:
    copy = copy_index(corpus.settings, tmp_path / "home")   # this process holds the original's lock

    result = run_cli(["status"], copy, timeout=60)

    assert result.returncode == 0, result.stderr
    report = dict(line.split(":", 1) for line in result.stdout.strip().splitlines())
    report = {key.strip(): value.strip() for key, value in report.items()}
    assert report["releases"] == str(expected["releases"])
    assert report["chunks"] == str(expected["chunks"])
    assert report["languages"] == f"en {expected['languages']['en']}, fr {expected['languages']['fr']}"
    assert report["dates"] == f"{expected['first_date']} to {expected['last_date']}"
    assert report["embeddings"] == corpus.stack
    assert report["updated"] == index_status(corpus.settings).updated_at
    assert report["index"] == str(copy.home.resolve())


def test_every_chunk_is_an_exact_cited_span_of_its_release(corpus: Indexed, releases: dict[str, Release]) -> None:
    chunks = stored_chunks(corpus.settings)
    assert {c.source for c in chunks} == set(releases)

    for chunk in chunks:
        meta = chunk.metadata
        release = releases[chunk.source]
        assert {"source", "doc_id", "title", "lang", "chunk", "start", "end"} <= set(meta), meta.keys()
        assert meta["doc_id"] == release.doc_id
        assert meta["title"] == release.title
        assert meta["lang"] == release.lang
        assert meta.get("date") == release.date
        assert release.text[meta["start"]:meta["end"]] == chunk.text, (chunk.source, meta["chunk"])
        assert chunk.text.strip(), "no empty chunk"

    for source, release in releases.items():
        spans = sorted((c.metadata["start"], c.metadata["end"]) for c in chunks if c.source == source)
        numbers = sorted(c.metadata["chunk"] for c in chunks if c.source == source)
        assert numbers == list(range(len(spans))), f"{source}: chunks numbered 0..n-1"
        covered = set().union(*(range(a, b) for a, b in spans))
        lost = [i for i, char in enumerate(release.text) if not char.isspace() and i not in covered]
        assert not lost, f"{source}: text outside every chunk: {release.text[lost[0]:lost[0] + 60]!r}"


def test_dates_and_languages_match_the_corpus_file_names(corpus: Indexed) -> None:
    for chunk in stored_chunks(corpus.settings):
        name = CORPUS_NAME.match(Path(chunk.source).name)
        assert chunk.metadata["lang"] == name["lang"], chunk.source
        if name["date"] == "undated":
            assert "date" not in chunk.metadata, chunk.source
        else:
            assert chunk.metadata["date"] == name["date"], chunk.source


def test_no_chunk_contains_the_page_header(corpus: Indexed) -> None:
    header_lines = {
        line.strip()
        for path in corpus.folder.glob("*.txt")
        for line in path.read_text(encoding="utf-8").splitlines()[:8]
        if HEADER_BULLET.match(line)
    }
    dated = sum(1 for path in corpus.folder.glob("*.txt") if not path.name.startswith("undated"))
    assert len(header_lines) >= (corpus.known or {}).get("min_header_lines", dated), \
        "most corpus files start with nato.int header bullet lines"

    for chunk in stored_chunks(corpus.settings):
        bullets = [line for line in chunk.text.splitlines() if HEADER_BULLET.match(line)]
        assert not bullets, (chunk.source, bullets)
        assert not header_lines & {line.strip() for line in chunk.text.splitlines()}, chunk.source
