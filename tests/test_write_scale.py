"""The write side at scale: unchanged files are not parsed again, and a write batch costs the same at any index size.

Fictional releases (helpers/releases.py), the hashing stack, an embedded index under tmp_path.
Speed itself is the bench's to measure (benchmarks/bench/); these tests check the structure
that makes it: what is parsed, and how many Chroma calls and rows a batch costs.
"""
from __future__ import annotations

import os
import shutil
from pathlib import Path

import chromadb.api.models.Collection as chroma_collection
import pytest

import index.file_records
import index.load.sources
from benchmarks.bench.synthetic import load_templates, write_synthetic_releases
from helpers.indexing import EmbeddingSpy, ids_by_source, make_settings
from helpers.releases import fiction, write_fictional_corpus
from index import changes
from index.settings import Settings
from index.store import open_collection
from index.update import build, remove, update

SLUGS = ["quartz-ferry-compact", "copper-kite-board", "reseau-bruine-argentee"]


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return make_settings(tmp_path / "home", collection="write-scale", embeddings="hashing")


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    write_fictional_corpus(tmp_path / "releases", slugs=SLUGS, extra_passages=2)
    return (tmp_path / "releases").resolve()


@pytest.fixture
def parsed(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The files index.load parses from now on (by path)."""
    calls: list[str] = []
    real = index.load.sources.parse_file

    def spy(path: Path, data: bytes):  # type: ignore[no-untyped-def]
        calls.append(str(path))
        return real(path, data)

    monkeypatch.setattr(index.load.sources, "parse_file", spy)
    return calls


def test_update_of_touched_but_unchanged_files_parses_nothing(settings: Settings, folder: Path, parsed: list[str],
                                                            embedding_spy: EmbeddingSpy) -> None:
    build([str(folder)], settings)
    before = ids_by_source(settings)
    for path in folder.iterdir():
        os.utime(path, ns=(1_000_000_000, 1_000_000_000))   # touched: another mtime, the same bytes
    parsed.clear()
    embedding_spy.reset()

    summary = update([str(folder)], settings)

    assert summary.line() == "added 0, updated 0, unchanged 3, removed 0, failed 0"
    assert parsed == [], "unchanged bytes are not parsed again"
    assert not embedding_spy.called
    assert ids_by_source(settings) == before


def test_a_change_that_keeps_size_and_mtime_is_caught_by_the_hash(settings: Settings, folder: Path,
                                                                 parsed: list[str]) -> None:
    build([str(folder)], settings)
    path = folder / fiction(SLUGS[0]).name
    raw = path.read_text(encoding="utf-8")
    stat = path.stat()
    edited = raw.replace("Allies", "Alliez", 1)
    assert edited != raw and len(edited.encode()) == len(raw.encode())
    path.write_text(edited, encoding="utf-8")
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns))   # mtime forged back
    assert (path.stat().st_size, path.stat().st_mtime_ns) == (stat.st_size, stat.st_mtime_ns)
    parsed.clear()

    summary = update([str(folder)], settings)

    assert summary.line() == "added 0, updated 1, unchanged 2, removed 0, failed 0"
    assert parsed == [str(path)]
    texts = open_collection(settings).get(where={"source": str(path)}, include=["documents"])["documents"]
    assert any("Alliez" in t for t in texts)


def test_new_parsing_code_reads_every_file_again_and_embeds_nothing(settings: Settings, folder: Path,
                                                                   parsed: list[str], embedding_spy: EmbeddingSpy,
                                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    build([str(folder)], settings)
    monkeypatch.setattr(index.file_records, "pipeline_fingerprint", lambda: "another-parser")
    parsed.clear()
    embedding_spy.reset()

    summary = update([str(folder)], settings)

    assert summary.line() == "added 0, updated 0, unchanged 3, removed 0, failed 0"
    assert len(parsed) == 3
    assert not embedding_spy.called, "same chunks: the record manager still skips them"
    parsed.clear()
    update([str(folder)], settings)
    assert parsed == [], "the rows were written again with the new fingerprint"


def test_build_of_unchanged_files_keeps_their_chunks_without_parsing(settings: Settings, folder: Path,
                                                                    parsed: list[str]) -> None:
    build([str(folder)], settings)
    before = ids_by_source(settings)
    parsed.clear()

    summary = build([str(folder)], settings)

    assert summary.line() == "added 0, updated 0, unchanged 3, removed 0, failed 0"
    assert parsed == []
    assert ids_by_source(settings) == before, "a build's cleanup keeps what was fed back from Chroma"


def test_a_copy_of_an_unchanged_file_under_another_name_is_still_skipped(settings: Settings, folder: Path) -> None:
    build([str(folder)], settings)
    original = folder / fiction(SLUGS[0]).name
    copy = folder / ("zz-" + original.name)
    shutil.copy2(original, copy)

    for run in (update, build):
        summary = run([str(folder)], settings)
        assert [s.source for s in summary.skipped] == [str(copy)], run.__name__
        assert summary.line().startswith("added 0, updated 0, unchanged 3, removed 0")


def test_chunks_lost_from_chroma_are_indexed_again_though_the_file_is_unchanged(settings: Settings,
                                                                               folder: Path) -> None:
    build([str(folder)], settings)
    before = ids_by_source(settings)
    source = str(folder / fiction(SLUGS[1]).name)
    open_collection(settings).delete(ids=sorted(before[source]))   # Chroma lost them; the records did not

    summary = update([str(folder)], settings)

    assert summary.warnings, "the records were out of step"
    assert ids_by_source(settings) == before


def test_a_removed_then_restored_file_is_indexed_again(settings: Settings, folder: Path, parsed: list[str]) -> None:
    build([str(folder)], settings)
    path = folder / fiction(SLUGS[2]).name
    assert remove([str(path)], settings).removed == 1
    parsed.clear()

    summary = update([str(folder)], settings)

    assert summary.line() == "added 1, updated 0, unchanged 2, removed 0, failed 0"
    assert parsed == [str(path)]


class _ChromaGets:
    """Counts Collection.get calls on the index (not on its changes log) and the rows they return."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.calls = self.rows = 0
        real = chroma_collection.Collection.get

        def counted(collection, *args, **kwargs):  # type: ignore[no-untyped-def]
            found = real(collection, *args, **kwargs)
            if not collection.name.endswith(changes.LOG_SUFFIX):  # the log: as many rows as writes since the file
                self.calls += 1
                self.rows += len(found["ids"])
            return found

        monkeypatch.setattr(chroma_collection.Collection, "get", counted)

    def reset(self) -> None:
        self.calls = self.rows = 0


def test_writing_copies_costs_the_same_chroma_reads_at_any_index_size(settings: Settings, tmp_path: Path,
                                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    corpus = write_fictional_corpus(tmp_path / "corpus")
    build([str(tmp_path / "corpus")], settings)
    templates = load_templates(corpus)
    gets = _ChromaGets(monkeypatch)
    costs = []
    # the records check reads a sample of at most 32 ids: the first step fills the index past that
    for step, copies in enumerate([range(0, 24), range(24, 36), range(36, 96), range(96, 108)]):
        folder = write_synthetic_releases(templates, tmp_path / f"copies-{step}", copies)[0].parent
        gets.reset()
        summary = update([str(folder)], settings)
        assert (summary.added, summary.chunks_embedded) == (len(copies), 0), "copies reuse the stored vectors"
        costs.append((gets.calls, gets.rows))

    assert costs[3] == costs[1], "12 copies cost the same reads with 36 or 96 copies indexed before"


@pytest.mark.e2e
def test_bundled_passages_embedded_on_worker_threads_equal_one_at_a_time() -> None:
    from threadpoolctl import threadpool_info

    from index.embed import BundledStack

    stack = BundledStack()
    texts = [fiction(slug).text[:600] for slug in SLUGS] + ["NATO Allies met in Examplestad."]

    together = stack.embed_passages(texts)

    alone = [stack.embed_passages([t]) for t in texts]
    assert together.sparse is not None
    for one, dense, sparse in zip(alone, together.dense, together.sparse):
        assert one.sparse is not None
        assert (one.sparse[0].indices == sparse.indices).all() and (one.sparse[0].values == sparse.values).all()
        assert abs(float(one.dense[0] @ dense) - 1.0) < 1e-5
    openmp = [i["num_threads"] for i in threadpool_info() if i["user_api"] == "openmp"]
    assert openmp and min(openmp) == int(os.environ.get("OMP_NUM_THREADS") or os.cpu_count() or 1), \
        "the worker threads' one-thread limit does not leak into this thread"


def test_a_run_reads_the_file_rows_of_its_own_sources_only(settings: Settings, folder: Path, tmp_path: Path) -> None:
    from index.file_records import FileRecords
    from index.store import record_manager

    other = tmp_path / "releases-2"   # a sibling whose name starts like the folder's
    write_fictional_corpus(other, slugs=["copper-kite-board"])
    build([str(folder), str(other)], settings)
    files = FileRecords(record_manager(settings))
    one = folder / fiction(SLUGS[0]).name

    assert set(files.load([one])) == {str(one)}
    assert set(files.load([folder])) == {str(p) for p in folder.iterdir()}
    assert len(files.load([Path("/")])) == 4


def _embed_two(stack: object, queue: object) -> None:
    queue.put(len(stack.embed_passages(["NATO Allies met.", "Les Alliés se sont réunis."]).sparse))  # type: ignore[attr-defined]


@pytest.mark.e2e
def test_bundled_passages_are_embedded_in_a_forked_child_too() -> None:
    import multiprocessing

    from index.embed import BundledStack

    stack = BundledStack()
    stack.embed_passages(["one", "two"])   # the parent's worker threads exist; a forked child has none of them
    context = multiprocessing.get_context("fork")
    queue = context.Queue()
    child = context.Process(target=_embed_two, args=(stack, queue))
    child.start()
    child.join(60)
    assert child.exitcode == 0 and queue.get(timeout=1) == 2


def test_sources_given_as_paths_take_the_shortcut_too(settings: Settings, folder: Path, parsed: list[str]) -> None:
    build([folder], settings)  # type: ignore[list-item]
    parsed.clear()

    assert update([folder, *folder.iterdir()], settings).unchanged == 3  # type: ignore[list-item]
    assert parsed == []
