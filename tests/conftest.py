"""Fixtures shared by every test file.

* the development corpus (read in place, copied to a tmp dir at run time, never into the repo);
* `built_index`: that corpus indexed once per session with the bundled models (reuse it read-only);
* `chroma_server`: a real `chroma run` server for the server-mode tests;
* `postgres_url`: a database in a throw-away PostgreSQL cluster, for the record manager;
* `run_cli`: `python -m index ...` as a subprocess.
"""
from __future__ import annotations

import shutil
import sys
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

PROJECT_ROOT = Path(__file__).resolve().parents[1]
if str(PROJECT_ROOT) not in sys.path:  # the project is not installed in the venv
    sys.path.insert(0, str(PROJECT_ROOT))

from helpers.cli import CliResult, run_index_cli  # noqa: E402
from helpers.indexing import EmbeddingSpy, make_settings  # noqa: E402
from helpers.postgres import PostgresMissing, postgres_cluster, require_postgres  # noqa: E402
from benchmarks.chroma_server import ChromaServer, chroma_executable  # noqa: E402
from index.settings import Settings  # noqa: E402

SHARED_CORPUS = Path(__file__).resolve().parents[2] / "shared" / "corpus"
SERVER_START_TIMEOUT = 30.0


# --------------------------------------------------------------------------- corpus


@pytest.fixture(scope="session")
def shared_corpus() -> Path:
    """The development corpus (38 real NATO releases, EN+FR), read-only; skips when absent."""
    if not SHARED_CORPUS.is_dir() or not any(SHARED_CORPUS.glob("*.txt")):
        pytest.skip(f"development corpus not found in {SHARED_CORPUS}")
    return SHARED_CORPUS


@pytest.fixture(scope="session")
def corpus_copy(shared_corpus: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A tmp copy of the corpus release files (.txt only, not SOURCES.md); do not modify it."""
    dest = tmp_path_factory.mktemp("corpus")
    for path in sorted(shared_corpus.glob("*.txt")):
        shutil.copy2(path, dest / path.name)
    return dest.resolve()


@pytest.fixture(scope="session")
def built_index(corpus_copy: Path, tmp_path_factory: pytest.TempPathFactory) -> Settings:
    """Settings of an embedded index holding the whole corpus copy (bundled models), built once.

    Read-only for every test. This process holds its home's lock, so a subprocess
    must work on a copy (helpers.indexing.copy_index).
    """
    from index.update import build

    settings = make_settings(tmp_path_factory.mktemp("built-index") / "home")
    summary = build([str(corpus_copy)], settings)
    assert not summary.failures, summary.failures
    return settings


# --------------------------------------------------------------------------- Chroma server


@pytest.fixture(scope="session")
def chroma_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """URL (http://127.0.0.1:PORT) of a `chroma run` server for this session.

    Tests share it: each uses its own collection name (and its own COMMUNIQUE_HOME for the records).
    """
    data = tmp_path_factory.mktemp("chroma-server")
    try:
        chroma_executable()
    except FileNotFoundError as exc:
        pytest.skip(str(exc))
    with ChromaServer(data / "db", log=data / "server.log").start(SERVER_START_TIMEOUT) as server:
        yield server.url


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str]:
    """SQLAlchemy URL of a database in a new PostgreSQL cluster on 127.0.0.1, dropped after the session.

    Tests share it: the record manager's namespace follows the collection, so each test uses its own collection.
    Skips when PostgreSQL's programs or the psycopg driver are missing (`./setup.sh --services`).
    """
    try:
        require_postgres()
    except PostgresMissing as exc:
        pytest.skip(str(exc))
    with postgres_cluster() as cluster:
        yield cluster.url


# --------------------------------------------------------------------------- fresh indexes


@pytest.fixture(params=["embedded", pytest.param("server", marks=pytest.mark.server)])
def index_settings(request: pytest.FixtureRequest, tmp_path: Path) -> Settings:
    """Settings of a fresh, empty index, once embedded (under tmp_path) and once on the Chroma server.

    On the server each test gets its own collection; the record manager lives under tmp_path either way.
    """
    chroma_url = request.getfixturevalue("chroma_server") if request.param == "server" else None
    return make_settings(tmp_path / "home", chroma_url=chroma_url, collection=f"test-{uuid.uuid4().hex[:12]}")


@pytest.fixture
def embedding_spy(monkeypatch: pytest.MonkeyPatch) -> EmbeddingSpy:
    """Records every text that index.update's runs in this test embed (the real models still embed them)."""
    import index.update

    spy = EmbeddingSpy()
    real_load_stack = index.update.load_stack
    monkeypatch.setattr(index.update, "load_stack", lambda spec: spy.wrap(real_load_stack(spec)))
    return spy


# --------------------------------------------------------------------------- the CLI


@pytest.fixture(scope="session")
def run_cli() -> Callable[..., CliResult]:
    """`run_cli(args, env, timeout=180)` -> (returncode, stdout, stderr) of `python -m index ARGS`.

    `env` is a Settings (turned into COMMUNIQUE_* variables) or a complete environment
    (see helpers.cli.cli_env); the process runs in the project root with this interpreter.
    """
    return run_index_cli
