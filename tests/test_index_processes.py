"""Several processes and a crash: an update killed half-way, an embedded index in use, a shared server.

On fictional releases (helpers/releases.py). The killed update uses the bundled models, slow
enough to be killed between two batches; the other tests use the hashing stack.
"""
from __future__ import annotations

import re
import signal
import subprocess
import time
import uuid
from pathlib import Path

import pytest

from bot.snapshot_cache import SnapshotCache
from helpers.cli import PROJECT_ROOT, cli_env, hold_index, index_command, kill_group
from helpers.indexing import ids_by_source, make_settings, record_count, stored_chunks
from helpers.releases import write_fictional_corpus
from index.chunk import chunk_release
from index.embed import HashingStack
from index.load import read_sources
from index.settings import Settings
from index import stored_vectors
from index.store import open_collection, record_manager
from index.status import index_status

pytestmark = pytest.mark.e2e

BATCH = 64   # index.update writes chunks in batches of 64: stored, then recorded, batch by batch
SHORT_EN, SHORT_FR = "copper-kite-board", "reseau-bruine-argentee"   # fictional slugs
EXTRA_PASSAGES = 6   # the 12 fictional releases then hold ~85 chunks: more than one batch


def _releases_for_two_batches(corpus: Path) -> tuple[list[Path], int]:
    """The first files of `corpus` holding a bit more than one batch of chunks, and their chunk count."""
    chosen, total = [], 0
    for item in read_sources([str(corpus)]):
        chosen.append(Path(item.source))
        total += len(chunk_release(item))
        if total >= BATCH + 6:
            return chosen, total
    pytest.skip("the corpus is too small for two batches")


def test_update_killed_midway_completes_exactly_when_run_again(index_settings: Settings, tmp_path: Path, run_cli) -> None:
    from index.update import build

    index_settings = index_settings.model_copy(update={"embeddings": "bundled"})   # slow enough to be killed
    write_fictional_corpus(tmp_path / "releases", extra_passages=EXTRA_PASSAGES)
    files, total = _releases_for_two_batches(tmp_path / "releases")
    # A clean build of the same files (same paths): chunk ids depend on text and metadata, not on the model.
    clean = make_settings(tmp_path / "reference-home", embeddings="hashing")
    assert build([str(f) for f in files], clean).added == len(files)
    reference = set().union(*ids_by_source(clean).values())
    assert len(reference) == total

    with open(tmp_path / "killed.stderr", "wb") as log:
        process = subprocess.Popen(index_command("update", *files), cwd=PROJECT_ROOT, env=cli_env(index_settings),
                                   stdout=subprocess.DEVNULL, stderr=log, start_new_session=True)
        try:
            deadline = time.monotonic() + 240
            while record_count(index_settings.home) == 0:   # until the first batch is stored and recorded
                assert process.poll() is None, "the update ended before it could be killed"
                assert time.monotonic() < deadline, "no batch was recorded within 240 s"
                time.sleep(0.05)
        finally:
            kill_group(process, signal.SIGKILL)
    assert process.returncode == -signal.SIGKILL
    recorded = record_count(index_settings.home)
    assert 0 < recorded < total, "killed half-way: some chunks recorded, not all"

    result = run_cli(["update", *files], index_settings, timeout=300)

    assert result.returncode == 0, result.stderr
    added, updated, unchanged, removed, failed = map(int, re.findall(r"\d+", result.summary))
    assert (added + unchanged, updated, removed, failed) == (len(files), 0, 0, 0), result.summary
    embedded = [int(n) for n in re.findall(r"(\d+) chunks embedded", result.stderr)]
    assert max(embedded, default=0) <= total - recorded, "what was stored before the kill is not embedded again"

    chunks = stored_chunks(index_settings)
    assert sorted(c.id for c in chunks) == sorted(reference), "no duplicate, no missing chunk"
    assert open_collection(index_settings).count() == total
    assert all(stored_vectors.complete(c.metadata, needs_sparse=True) for c in chunks), "every chunk has all its vectors"
    assert set(record_manager(index_settings).list_keys()) == reference


def test_embedded_index_in_use_fails_fast_naming_the_holder(tmp_path: Path, run_cli) -> None:
    settings = make_settings(tmp_path / "home", embeddings="hashing")
    (release,) = write_fictional_corpus(tmp_path / "releases", slugs=[SHORT_EN])

    with hold_index(settings) as holder:
        for args in (["update", release], ["status"]):
            started = time.monotonic()
            result = run_cli(args, settings, timeout=60)
            elapsed = time.monotonic() - started

            assert result.returncode != 0
            assert elapsed < 10, f"{args[0]} took {elapsed:.1f} s"
            assert "Traceback" not in result.stderr
            assert len(result.errors) == 1, result.stderr
            assert "in use by" in result.errors[0] and f"pid {holder.pid}" in result.errors[0], result.errors


@pytest.mark.server
def test_processes_share_a_chroma_server(chroma_server: str, tmp_path: Path, run_cli) -> None:
    settings = make_settings(tmp_path / "home", chroma_url=chroma_server, collection=f"shared-{uuid.uuid4().hex[:8]}",
                             embeddings="hashing")
    (english,), (french,) = (write_fictional_corpus(tmp_path / "releases", slugs=[slug]) for slug in (SHORT_EN, SHORT_FR))
    open_collection(settings, HashingStack.name, create=True)   # an index already exists on the server

    first = subprocess.Popen(index_command("update", english), cwd=PROJECT_ROOT, env=cli_env(settings), text=True,
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, start_new_session=True)
    try:   # both processes write to the same collection at once: no lock in server mode
        second = run_cli(["update", french], settings)
        first_out, first_err = first.communicate(timeout=180)
    finally:
        kill_group(first)

    assert (first.returncode, second.returncode) == (0, 0), (first_err, second.stderr)
    assert first_out.strip().splitlines()[-1] == "added 1, updated 0, unchanged 0, removed 0, failed 0"
    assert second.summary == "added 1, updated 0, unchanged 0, removed 0, failed 0"
    status = index_status(settings)
    assert (status.releases, status.languages) == (2, {"en": 1, "fr": 1})
    assert set(ids_by_source(settings)) == {str(english), str(french)}
    reader = SnapshotCache(settings, HashingStack.name)   # a new answering process after both writes
    assert set(reader.current().ids) == set(open_collection(settings).get(include=[])["ids"])
    assert reader.last_refresh in ("file", "delta"), "the writers left a file to start from: no full read"
