"""Shared indexing on real servers: concurrent `index update` workers, one `chroma run`, records in PostgreSQL.

Several workers on disjoint source sets must lose and duplicate nothing: afterwards the
chunk ids are exactly those of a single-process build of the same files, the record
manager holds one key per chunk, and an answering process finds every worker's releases.
The releases are small, plainly fictional texts written here; the model-free `hashing`
stack keeps the run fast.
"""
from __future__ import annotations

import re
import socket
import subprocess
import sys
import time
import uuid
from collections import Counter
from pathlib import Path

import pytest
from sqlalchemy.engine import make_url

from bot.answer import Bot
from helpers.cli import PROJECT_ROOT, cli_env, index_command, kill_group
from helpers.indexing import make_settings, stored_chunks
from helpers.releases import release_text
from index import store
from index.settings import Settings
from index.store import StoreError, indexed_sources, open_collection, record_manager
from index.update import build

pytestmark = [pytest.mark.server, pytest.mark.e2e]  # a real PostgreSQL cluster, worker processes

# One invented programme per worker, and what its releases are about: only that worker's releases name both.
PROGRAMMES = [("Saffron Abacus", "imaginary pebbles"), ("Cobalt Pinecone", "invented lighthouses"),
              ("Juniper Trombone", "fictional bridges")]
RELEASES_PER_WORKER = 72     # 2 chunks each: three batches of 64 per worker, so that the workers' writes interleave
FRENCH_EVERY = 4             # every 4th release is in French
WORKER_TIMEOUT = 300


def _release(programme: str, topic: str, worker: int, n: int) -> tuple[str, str]:
    """(file name, text) of one fictional release; every text differs (no two are the same release)."""
    year = 2090 + worker
    day = 1 + n % 28
    slug = programme.lower().replace(" ", "-")
    if n % FRENCH_EVERY == 0:
        title = f"Fixture de test : bulletin {n} du programme {programme}"
        body = [
            "Ce texte est une fixture de test écrite pour les tests de l'application ; ce n'est pas un vrai communiqué de l'OTAN.",
            f"Le programme {programme} est un programme fictif de l'OTAN. Dans son bulletin numéro {n}, l'équipe du programme "
            f"décrit des travaux imaginaires menés pendant la semaine {n + 1} dans la ville inventée de Villexemple-{worker}, "
            f"où personne n'a jamais habité et où les réunions se tiennent toujours le mardi.",
            f"Les membres de l'équipe {programme} ont aussi rédigé un rapport fictif de {100 + n} pages sur l'entretien "
            f"des {topic}, que le comité imaginaire examinera lors de sa prochaine séance, sans aucune décision réelle.",
            f"Au cours de la semaine {n + 1}, les équipes du programme {programme} ont également visité {n + 3} ateliers "
            f"inventés, noté la couleur de chaque porte et compté les chaises de la salle de réunion, qui étaient {20 + n}.",
            f"Le bulletin {n} se termine par une liste imaginaire de {n + 4} questions sans réponse sur les {topic}, "
            f"rédigée seulement pour que cette fixture ait plusieurs passages de texte à indexer pendant les tests.",
        ]
        return f"{year}-06-{day:02d}-fr-{slug}-{n:02d}.txt", release_text(title, f"{day:02d} juin {year}", body)
    title = f"Test fixture: {programme} bulletin {n}"
    body = [
        "This text is a test fixture written for the app's tests; it is not a real NATO release.",
        f"The {programme} programme is an invented NATO programme. Its bulletin number {n} reports imaginary work on "
        f"{topic} carried out during week {n + 1} in the fictional town of Examplestad-{worker}, where nobody has ever lived "
        f"and where the programme's meetings are always held on a Tuesday afternoon.",
        f"In bulletin {n} the {programme} team counted {1000 + 37 * n} {topic}, repainted {n + 2} of them and measured "
        f"each one at {40 + n} metres, which the imaginary committee will discuss at its next meeting without deciding anything.",
        f"During week {n + 1} the {programme} teams also visited {n + 3} invented workshops, wrote down the colour of "
        f"every door and counted the chairs in the meeting room, of which there were {20 + n} in bulletin {n}.",
        f"Bulletin {n} ends with an imaginary list of {n + 4} unanswered questions about {topic}, written only so that "
        f"this fixture has several passages of text to index during the tests, and signed by nobody in particular.",
    ]
    return f"{year}-03-{day:02d}-en-{slug}-{n:02d}.txt", release_text(title, f"{day:02d} Mar. {year}", body)


def _write_worker_sources(root: Path) -> list[Path]:
    """One folder of releases per worker."""
    folders = []
    for worker, (programme, topic) in enumerate(PROGRAMMES):
        folder = root / f"worker-{worker}"
        folder.mkdir(parents=True)
        for n in range(RELEASES_PER_WORKER):
            name, text = _release(programme, topic, worker, n)
            (folder / name).write_text(text, encoding="utf-8")
        folders.append(folder.resolve())
    return folders


# `python -m index ARGS`, started in step: each worker imports the CLI, waits at a barrier, then runs the
# module exactly as `-m` does (runpy), so that the workers' writes overlap instead of following their start-up times.
_IN_STEP = (
    "import os, pathlib, runpy, sys, time\n"
    "import index.cli\n"
    "barrier = pathlib.Path(os.environ['TEST_BARRIER'])\n"
    "(barrier / f'ready-{os.getpid()}').touch()\n"
    "deadline = time.monotonic() + 120\n"
    "while not (barrier / 'go').exists():\n"
    "    if time.monotonic() > deadline:\n"
    "        sys.exit('error: the test never said go')\n"
    "    time.sleep(0.005)\n"
    "runpy.run_module('index', run_name='__main__', alter_sys=True)\n"
)


def _run_workers(folders: list[Path], settings: Settings, logs: Path) -> list[tuple[int, str, str]]:
    """`python -m index update FOLDER` for every folder at once; (returncode, stdout, stderr) of each, also kept under `logs`."""
    barrier = logs / f"round-{uuid.uuid4().hex[:8]}"
    barrier.mkdir()
    env = cli_env(settings, TEST_BARRIER=str(barrier))
    processes: list[subprocess.Popen[str]] = []
    results: list[tuple[int, str, str]] = []
    try:
        for folder in folders:
            processes.append(subprocess.Popen([sys.executable, "-c", _IN_STEP, "update", str(folder)], cwd=PROJECT_ROOT,
                                              env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                                              encoding="utf-8", errors="replace", start_new_session=True))
        deadline = time.monotonic() + 120
        while len(list(barrier.glob("ready-*"))) < len(processes):
            assert all(p.poll() is None for p in processes), "a worker died before the barrier"
            assert time.monotonic() < deadline, "the workers did not start within 120 s"
            time.sleep(0.02)
        (barrier / "go").touch()
        for process in processes:
            out, err = process.communicate(timeout=WORKER_TIMEOUT)
            results.append((process.returncode, out, err))
    finally:
        for process in processes:
            kill_group(process)
    for i, (_, out, err) in enumerate(results):
        (barrier / f"worker-{i}.log").write_text(out + "\n--- stderr\n" + err, encoding="utf-8")
    return results


def _summary(stdout: str) -> str:
    lines = stdout.strip().splitlines()
    return lines[-1] if lines else ""


def _status(settings: Settings) -> dict[str, str]:
    """`python -m index status` as {field: value}."""
    done = subprocess.run(index_command("status"), cwd=PROJECT_ROOT, env=cli_env(settings), capture_output=True,
                          text=True, timeout=120, check=False)
    assert done.returncode == 0, done.stderr
    return {k.strip(): v.strip() for k, v in (line.split(":", 1) for line in done.stdout.splitlines() if ":" in line)}


def test_concurrent_workers_with_postgres_records_lose_and_duplicate_nothing(
        chroma_server: str, postgres_url: str, tmp_path: Path) -> None:
    folders = _write_worker_sources(tmp_path / "releases")
    everything = [str(f) for f in folders]
    shared = make_settings(tmp_path / "home", chroma_url=chroma_server, collection=f"pg-{uuid.uuid4().hex[:8]}",
                           embeddings="hashing").model_copy(update={"records_url": postgres_url})

    # The reference: one process building all the sources (embedded default record manager, SQLite).
    reference = make_settings(tmp_path / "reference", chroma_url=chroma_server, collection=f"ref-{uuid.uuid4().hex[:8]}",
                              embeddings="hashing")
    summary = build(everything, reference)
    assert (summary.added, summary.failures) == (len(folders) * RELEASES_PER_WORKER, [])
    expected = stored_chunks(reference)
    expected_ids = sorted(c.id for c in expected)
    assert len(expected_ids) > 3 * 64, "enough chunks for several batches per worker"

    # Three workers at once, no collection yet: they race to create it, the record table, and write.
    results = _run_workers(folders, shared, tmp_path)
    for returncode, out, err in results:
        assert returncode == 0, err
        assert "Traceback" not in err
        assert _summary(out) == f"added {RELEASES_PER_WORKER}, updated 0, unchanged 0, removed 0, failed 0", (out, err)

    chunks = stored_chunks(shared)
    ids = [c.id for c in chunks]
    assert sorted(ids) == expected_ids, "exactly the chunks of a single-process build: none lost, none extra"
    assert not [key for key, n in Counter((c.source, c.metadata["chunk"]) for c in chunks).items() if n > 1], "no duplicate passage"
    assert open_collection(shared).count() == len(expected_ids)
    manager = record_manager(shared)
    assert manager.dialect == "postgresql"
    keys = manager.list_keys()
    assert sorted(keys) == expected_ids, "the record manager holds one key per stored chunk"
    assert indexed_sources(manager) == {c.source for c in expected}
    spans = _write_spans(manager, folders)
    origin = min(a for a, _ in spans.values())
    print("record writes per worker, s:", {w: (round(a - origin, 2), round(b - origin, 2)) for w, (a, b) in sorted(spans.items())})
    assert any(spans[i][0] < spans[j][1] and spans[j][0] < spans[i][1] for i in spans for j in spans if i < j), \
        "workers were writing at the same time"

    french = sum(1 for n in range(RELEASES_PER_WORKER) if n % FRENCH_EVERY == 0) * len(folders)
    status = _status(shared)
    assert status["releases"] == str(len(folders) * RELEASES_PER_WORKER)
    assert status["chunks"] == str(len(expected_ids))
    assert status["languages"] == f"en {len(folders) * RELEASES_PER_WORKER - french}, fr {french}"
    assert status["embeddings"] == "hashing:v1"

    # A second round of the same workers: everything is known, nothing is embedded or written.
    stamp = store.generation(open_collection(shared))
    for returncode, out, err in _run_workers(folders, shared, tmp_path):
        assert returncode == 0, err
        assert _summary(out) == f"added 0, updated 0, unchanged {RELEASES_PER_WORKER}, removed 0, failed 0", (out, err)
        assert "chunks embedded" not in err, err
    assert store.generation(open_collection(shared)) == stamp, "an unchanged update writes nothing"
    assert sorted(c.id for c in stored_chunks(shared)) == expected_ids

    # An answering process (this one) on the same settings finds every worker's releases.
    bot = Bot(shared)
    try:
        for folder, (programme, topic) in zip(folders, PROGRAMMES):
            # the hashing stack counts words, stopwords included: a query of the telling words only
            question = f"{programme} {topic}"
            hits = bot.retrieve(question, k=3)
            found = [Path(h.metadata["source"]) for h in hits]
            # the top hit, not all three: HNSW is approximate, and the order of the workers' writes varies
            assert found and found[0].parent == folder, (question, [path.name for path in found])
            assert programme in hits[0].page_content
        assert bot.searcher.cache.last_refresh in ("file", "delta"), "the workers left a file: no full read"
    finally:
        bot.close()


def _write_spans(manager: object, folders: list[Path]) -> dict[int, tuple[float, float]]:
    """When each worker's records were written (first and last, PostgreSQL's clock), by worker."""
    from langchain_classic.indexes._sql_record_manager import UpsertionRecord
    from sqlalchemy import func, select

    with manager._make_session() as session:   # type: ignore[attr-defined]
        rows = session.execute(select(UpsertionRecord.group_id, func.min(UpsertionRecord.updated_at),
                                      func.max(UpsertionRecord.updated_at))
                               .where(UpsertionRecord.namespace == manager.namespace)   # type: ignore[attr-defined]
                               .group_by(UpsertionRecord.group_id)).all()
    spans: dict[int, tuple[float, float]] = {}
    for source, first, last in rows:
        worker = next(i for i, f in enumerate(folders) if Path(source).parent == f)
        a, b = spans.get(worker, (first, last))
        spans[worker] = (min(a, first), max(b, last))
    return spans


# --------------------------------------------------------------------------- a bad COMMUNIQUE_RECORDS_URL


def _records_settings(tmp_path: Path, url: str) -> Settings:
    return make_settings(tmp_path / "home", embeddings="hashing").model_copy(update={"records_url": url})


def test_bad_records_urls_fail_in_one_line(postgres_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    url = make_url(postgres_url)
    with socket.socket() as closed:
        closed.bind(("127.0.0.1", 0))
        closed_port = closed.getsockname()[1]   # nothing listens once it is closed
    cases = {
        "wrong password": (url.set(password="not-the-password").render_as_string(hide_password=False), "password authentication failed"),
        "no such database": (url.set(database="no_such_db").render_as_string(hide_password=False), "does not exist"),
        "nothing listening": (url.set(port=closed_port).render_as_string(hide_password=False), "refused"),
        "unsupported database": ("mysql://user@127.0.0.1/communique", "needs a postgresql:// or sqlite:/// URL"),
        "not a URL": ("records.sqlite", "Could not parse"),
    }
    for name, (bad, says) in cases.items():
        with pytest.raises(StoreError) as caught:
            record_manager(_records_settings(tmp_path, bad))
        message = str(caught.value)
        assert "\n" not in message and says in message, (name, message)
        assert "not-the-password" not in message

    # A server that accepts the connection and never answers: bounded by the connect timeout.
    monkeypatch.setattr(store, "RECORDS_CONNECT_TIMEOUT", 1)
    with socket.socket() as silent:
        silent.bind(("127.0.0.1", 0))
        silent.listen(4)
        started = time.monotonic()
        with pytest.raises(StoreError) as caught:
            record_manager(_records_settings(tmp_path, url.set(port=silent.getsockname()[1]).render_as_string(hide_password=False)))
        assert time.monotonic() - started < 15, "a silent server must not hang the record manager"
        assert "\n" not in str(caught.value)


def test_cli_reports_an_unreachable_records_url_in_one_line(postgres_url: str, tmp_path: Path) -> None:
    bad = make_url(postgres_url).set(password="not-the-password").render_as_string(hide_password=False)
    release = tmp_path / "2099-01-01-en-quartz.txt"
    release.write_text(release_text("Test fixture: Quartz bulletin", "01 Jan. 2099",
                                    ["This text is a test fixture; it is not a real NATO release."]), encoding="utf-8")
    env = cli_env(make_settings(tmp_path / "home", embeddings="hashing"), COMMUNIQUE_RECORDS_URL=bad)
    done = subprocess.run(index_command("update", release), cwd=PROJECT_ROOT, env=env, capture_output=True, text=True,
                          timeout=120, check=False)

    assert done.returncode == 1
    assert "Traceback" not in done.stderr
    errors = [line for line in done.stderr.splitlines() if line.startswith("error:")]
    assert len(errors) == 1 and "cannot open the record manager (COMMUNIQUE_RECORDS_URL)" in errors[0], done.stderr
    assert re.search(r"password authentication failed", errors[0]), errors
