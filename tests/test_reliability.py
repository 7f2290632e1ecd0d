"""Issue 12: lose nothing, hang never, one line never a traceback — each item reproduced.

Releases are small fictional texts written by the tests (helpers.fiction).
"""
from __future__ import annotations

import os
import time
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from helpers.fiction import write_release
from helpers.indexing import make_settings
from helpers.unprivileged import chown_tree, run_cli_unprivileged, unprivileged_dir

pytestmark = pytest.mark.e2e


def _releases(status_stdout: str) -> int:
    line = next(line for line in status_stdout.splitlines() if line.startswith("releases:"))
    return int(line.split()[1])


# --------------------------------------------------------------------------- 1. unreadable folders and files


@pytest.fixture
def shared_tmp() -> Iterator[Path]:
    """A fresh folder under /tmp that an unprivileged user can reach (tmp_path's parents are root-only)."""
    path = Path(tempfile.mkdtemp(prefix="communique-rel-")).resolve()
    os.chmod(path, 0o755)
    unprivileged_dir(path)
    try:
        yield path
    finally:
        for root, dirs, _ in os.walk(path):
            for name in dirs:
                os.chmod(Path(root) / name, 0o755)
        shutil.rmtree(path, ignore_errors=True)


def test_unreadable_folder_or_file_is_a_failure_and_keeps_what_it_held(shared_tmp: Path) -> None:
    folder = shared_tmp / "releases"
    write_release(folder / "top.txt", 1)
    sub = folder / "sub"
    write_release(sub / "one.txt", 2)
    write_release(sub / "two.txt", 3)
    settings = make_settings(shared_tmp / "home")
    chown_tree(shared_tmp)
    first = run_cli_unprivileged(["build", folder], settings)
    assert first.returncode == 0, first.stderr
    assert first.summary == "added 3, updated 0, unchanged 0, removed 0, failed 0"

    os.chmod(sub, 0)
    for command in (["build", folder], ["update", folder, "--prune"]):
        result = run_cli_unprivileged(command, settings)
        assert result.returncode == 1, (command, result.stdout, result.stderr)
        assert result.failures == [f"failed {sub}: permission denied"], result.stderr
        assert "removed 0" in result.summary
        assert _releases(run_cli_unprivileged(["status"], settings).stdout) == 3

    os.chmod(sub, 0o755)
    os.chmod(folder / "top.txt", 0)
    for command in (["build", folder], ["update", folder, "--prune"]):
        result = run_cli_unprivileged(command, settings)
        assert result.returncode == 1, (command, result.stdout, result.stderr)
        assert result.failures == [f"failed {folder / 'top.txt'}: permission denied"], result.stderr
        assert "removed 0" in result.summary
    assert _releases(run_cli_unprivileged(["status"], settings).stdout) == 3


# --------------------------------------------------------------------------- 2. records trusted over Chroma


def test_records_that_chroma_does_not_hold_are_detected_and_embedded_again(tmp_path: Path, run_cli) -> None:
    folder_a, folder_b = tmp_path / "a", tmp_path / "b"
    write_release(folder_a / "one.txt", 11)
    write_release(folder_a / "two.txt", 12)
    write_release(folder_b / "three.txt", 13)
    home_a, home_b = make_settings(tmp_path / "home-a"), make_settings(tmp_path / "home-b")
    assert run_cli(["build", folder_a], home_a).returncode == 0
    assert run_cli(["build", folder_b], home_b).returncode == 0
    ok = run_cli(["status"], home_a)
    assert "records:    in step with Chroma" in ok.stdout, ok.stdout

    # a mismatched restore: home A's records beside home B's Chroma
    shutil.rmtree(home_a.chroma_path)
    shutil.copytree(home_b.chroma_path, home_a.chroma_path)
    status = run_cli(["status"], home_a)
    assert status.returncode == 0, status.stderr
    assert "records:    OUT OF STEP" in status.stdout and "python -m index update" in status.stdout, status.stdout

    result = run_cli(["update", folder_a], home_a)
    assert result.returncode == 0, result.stderr
    assert result.summary == "added 2, updated 0, unchanged 0, removed 0, failed 0", result.stdout
    assert any(line.startswith("warning: the record manager listed") for line in result.stderr.splitlines()), result.stderr
    after = run_cli(["status"], home_a)
    assert "records:    in step with Chroma" in after.stdout and _releases(after.stdout) == 3, after.stdout

    # Chroma's data lost altogether: build re-embeds instead of reporting "unchanged"
    shutil.rmtree(home_a.chroma_path)
    rebuilt = run_cli(["build", folder_a], home_a)
    assert rebuilt.returncode == 0, rebuilt.stderr
    assert rebuilt.summary == "added 2, updated 0, unchanged 0, removed 0, failed 0", rebuilt.stdout
    assert _releases(run_cli(["status"], home_a).stdout) == 2


# --------------------------------------------------------------------------- 4. a stalled Chroma server


def test_a_chroma_server_that_never_answers_gives_one_error_line_in_time(tmp_path: Path, run_cli) -> None:
    from helpers.cli import cli_env
    from helpers.stall import stalling_server

    release = write_release(tmp_path / "r" / "one.txt", 21)
    with stalling_server() as server:
        env = cli_env(make_settings(tmp_path / "home", chroma_url=server.url), COMMUNIQUE_CHROMA_TIMEOUT="2")
        for command in (["status"], ["update", release]):
            started = time.monotonic()
            result = run_cli(command, env, timeout=60)
            assert time.monotonic() - started < 40, command
            assert result.returncode == 1, (command, result.stderr)
            assert result.errors == [f"error: cannot reach the Chroma server at {server.url}: no answer within "
                                     f"COMMUNIQUE_CHROMA_TIMEOUT (2 s); check that it is running and answering"], result.stderr
            assert "Traceback" not in result.stderr


@pytest.mark.server
def test_concurrent_questions_fail_fast_together_when_the_server_stalls(chroma_server: str, tmp_path: Path) -> None:
    import uuid
    from concurrent.futures import ThreadPoolExecutor
    from urllib.parse import urlparse

    from bot import answer
    from bot import close_all
    from helpers.stall import stalling_server
    from index.store import release_clients
    from index.update import build

    target = urlparse(chroma_server)
    write_release(tmp_path / "r" / "one.txt", 22)
    write_release(tmp_path / "r" / "two.txt", 23)
    with stalling_server((target.hostname, target.port)) as proxy:
        settings = make_settings(tmp_path / "home", chroma_url=proxy.url, collection=f"stall-{uuid.uuid4().hex[:8]}")
        settings = settings.model_copy(update={"chroma_timeout": 2.0, "refresh_seconds": 0.0})
        try:
            assert not build([str(tmp_path / "r")], settings).failures
            assert answer("What did the Walrus Council agree on?", settings=settings).mode != "error"
            proxy.stalled.set()
            started = time.monotonic()
            with ThreadPoolExecutor(4) as pool:
                done = list(pool.map(lambda _: (answer("Where did the Walrus Council meet?", settings=settings),
                                                time.monotonic() - started), range(4)))
            for result, elapsed in done:
                assert result.mode == "error" and result.text.startswith("The index is unavailable right now"), result.text
                assert elapsed < 5, [e for _, e in done]   # one deadline (2 s) for all, not 2 / 4 / 6 / 8 s
        finally:
            close_all()
            release_clients()


# --------------------------------------------------------------------------- 5. fetch deadlines


def test_a_url_has_one_deadline_from_connect_to_last_byte() -> None:
    from helpers.stall import trickling_server
    from index.load import read_sources
    from index.release import Failure

    with trickling_server(every=0.3) as url:
        started = time.monotonic()
        results = list(read_sources([f"{url}/release.html"], timeout=2.0))
        elapsed = time.monotonic() - started
    assert elapsed < 6, elapsed
    assert [str(r) for r in results] == [f"failed {url}/release.html: timed out after 2 s"]
    assert isinstance(results[0], Failure)


def test_a_feed_gets_one_budget_and_says_when_it_is_spent() -> None:
    from helpers.stall import stalling_server
    from helpers.webserver import serve
    from index.load import read_sources

    with stalling_server() as stalled:
        items = "".join(f"<item><title>Item {i}</title><link>{stalled.url}/item-{i}.html</link></item>" for i in range(6))
        feed = f"<?xml version='1.0'?><rss version='2.0'><channel><title>Walrus news</title>{items}</channel></rss>".encode()
        with serve({"/feed.xml": (200, "application/rss+xml", feed)}) as base:
            started = time.monotonic()
            lines = [str(r) for r in read_sources([f"{base}/feed.xml"], timeout=1.0, feed_budget=2.5)]
            elapsed = time.monotonic() - started
    assert elapsed < 6, elapsed
    assert lines[-1].startswith(f"failed {base}/feed.xml: feed budget of 2.5 s spent after ")
    assert lines[-1].endswith("of 6 new items (COMMUNIQUE_FEED_BUDGET); run the update again to fetch the rest")
    assert 2 <= len(lines) - 1 <= 4 and all("timed out" in line for line in lines[:-1]), lines


# --------------------------------------------------------------------------- 6. a symlink loop


def test_a_symlink_loop_is_one_failure_and_the_other_sources_are_indexed(tmp_path: Path, run_cli) -> None:
    good = write_release(tmp_path / "r" / "good.txt", 31)
    loop = tmp_path / "loop"
    loop.symlink_to(loop)
    settings = make_settings(tmp_path / "home")
    result = run_cli(["build", loop, good], settings)
    assert result.returncode == 1 and "Traceback" not in result.stderr, result.stderr
    assert result.failures == [f"failed {loop}: symlink loop"]
    assert result.summary == "added 1, updated 0, unchanged 0, removed 0, failed 1"
    removed = run_cli(["remove", loop], settings)
    assert removed.returncode == 1 and "Traceback" not in removed.stderr, removed.stderr
    assert removed.failures == [f"failed {loop}: symlink loop"]
    assert _releases(run_cli(["status"], settings).stdout) == 1


# --------------------------------------------------------------------------- 7. a per-release chunk cap


def test_a_release_over_the_chunk_cap_is_refused_with_one_line_and_keeps_its_old_version(tmp_path: Path, run_cli) -> None:
    from helpers.cli import cli_env

    small = write_release(tmp_path / "r" / "small.txt", 41)
    huge = write_release(tmp_path / "r" / "huge.txt", 42, paragraphs=60)
    env = cli_env(make_settings(tmp_path / "home"), COMMUNIQUE_MAX_CHUNKS_PER_RELEASE="5")
    result = run_cli(["build", tmp_path / "r"], env)
    assert result.returncode == 1, result.stderr
    [line] = result.failures
    assert line.startswith(f"failed {huge}: too many passages (") and line.endswith(
        ", limit 5, COMMUNIQUE_MAX_CHUNKS_PER_RELEASE): split the file or raise the limit"), line
    assert result.summary == "added 1, updated 0, unchanged 0, removed 0, failed 1"

    write_release(small, 41, paragraphs=60)   # an indexed release that grows past the cap keeps its old version
    for command in (["build", tmp_path / "r"], ["update", tmp_path / "r", "--prune"]):
        again = run_cli(command, env)
        assert again.returncode == 1 and len(again.failures) == 2, again.stderr
        assert "unchanged 0" in again.summary and "removed 0" in again.summary and "updated 0" in again.summary
    assert _releases(run_cli(["status"], env).stdout) == 1


# --------------------------------------------------------------------------- 11. one line, never a traceback


def _one_error_line(result, code: int) -> str:
    assert result.returncode == code, (result.returncode, result.stdout, result.stderr)
    assert "Traceback" not in result.stderr, result.stderr
    assert len(result.errors) == 1, result.stderr
    return result.errors[0]


def test_disk_full_is_one_line_and_the_next_run_finishes(tmp_path: Path) -> None:
    import resource
    import signal
    import subprocess

    from helpers.cli import PROJECT_ROOT, CliResult, cli_env, index_command

    folder = tmp_path / "r"
    for n in range(3):
        write_release(folder / f"r{n}.txt", 50 + n)
    settings = make_settings(tmp_path / "home")

    def small_disk() -> None:   # writes past 200 kB fail as on a full disk (EFBIG instead of ENOSPC)
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
        resource.setrlimit(resource.RLIMIT_FSIZE, (200_000, 200_000))

    done = subprocess.run(index_command("build", folder), cwd=PROJECT_ROOT, env=cli_env(settings, PYTHONDONTWRITEBYTECODE="1"),
                          capture_output=True, text=True, timeout=180, preexec_fn=small_disk)
    line = _one_error_line(CliResult(done.returncode, done.stdout, done.stderr), 1)
    assert "the disk may be full: free space, then run the same command again" in line, line
    again = subprocess.run(index_command("build", folder), cwd=PROJECT_ROOT, env=cli_env(settings),
                           capture_output=True, text=True, timeout=180)
    assert again.returncode == 0, again.stderr
    assert again.stdout.strip().splitlines()[-1] == "added 3, updated 0, unchanged 0, removed 0, failed 0"


def test_a_read_only_home_still_shows_status_and_answers_but_refuses_writes(shared_tmp: Path) -> None:
    release = write_release(shared_tmp / "r" / "one.txt", 61)
    settings = make_settings(shared_tmp / "home")
    chown_tree(shared_tmp)
    assert run_cli_unprivileged(["build", release], settings).returncode == 0
    for root, dirs, files in os.walk(settings.home):
        for name in files:
            os.chmod(Path(root) / name, 0o444)
        for name in dirs:
            os.chmod(Path(root) / name, 0o555)
    os.chmod(settings.home, 0o555)
    status = run_cli_unprivileged(["status"], settings)
    assert status.returncode == 0 and _releases(status.stdout) == 1, status.stderr
    asked = run_cli_unprivileged(["Where did the Walrus Council meet?"], settings, module="bot")
    assert asked.returncode == 0 and "Brambleton" in asked.stdout, (asked.stdout, asked.stderr)
    refused = run_cli_unprivileged(["update", release], settings)
    assert _one_error_line(refused, 1) == (f"error: COMMUNIQUE_HOME={settings.home} is read-only: status and questions "
                                           f"still work; to change the index, make it writable or point COMMUNIQUE_HOME "
                                           f"at a writable copy")
    os.chmod(settings.home, 0o755)


@pytest.mark.parametrize("variable, value, message", [
    ("COMMUNIQUE_HOME", "FILE/home", "is under"),
    ("COMMUNIQUE_CHROMA_URL", "http://127.0.0.1:eighty", "has an invalid port"),
    ("COMMUNIQUE_MAX_FILE_MB", "nan", "error: COMMUNIQUE_MAX_FILE_MB: "),
    ("COMMUNIQUE_MAX_FILE_MB", "inf", "error: COMMUNIQUE_MAX_FILE_MB: "),
    ("COMMUNIQUE_MAX_FILE_MB", "-1", "error: COMMUNIQUE_MAX_FILE_MB: "),
    ("COMMUNIQUE_FETCH_TIMEOUT", "-5", "error: COMMUNIQUE_FETCH_TIMEOUT: "),
    ("COMMUNIQUE_MAX_CHUNKS_PER_RELEASE", "0", "error: COMMUNIQUE_MAX_CHUNKS_PER_RELEASE: "),
])
def test_a_setting_that_cannot_work_is_one_line_and_exit_2(variable: str, value: str, message: str, tmp_path: Path,
                                                           run_cli) -> None:
    from helpers.cli import cli_env

    release = write_release(tmp_path / "r" / "one.txt", 71)
    (tmp_path / "FILE").write_text("a file, not a folder\n", encoding="utf-8")
    env = cli_env(make_settings(tmp_path / "home"), **{variable: value.replace("FILE", str(tmp_path / "FILE"))})
    for command in (["status"], ["update", release]):
        line = _one_error_line(run_cli(command, env, timeout=120), 2)
        assert message in line, line


@pytest.mark.parametrize("value", ["yesterday", "2024-13-01", "2024-02-30"])
def test_python_m_bot_with_a_bad_date_is_a_usage_error(value: str) -> None:
    import subprocess
    import sys

    from helpers.cli import PROJECT_ROOT, cli_env

    done = subprocess.run([sys.executable, "-m", "bot", "Who met?", "--from", value], cwd=PROJECT_ROOT, env=cli_env(),
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 2 and "Traceback" not in done.stderr, done.stderr
    assert done.stderr.strip().splitlines()[-1] == (f"python -m bot: error: argument --from: {value!r} is not a date: "
                                                    f"use YYYY, YYYY-MM or YYYY-MM-DD, e.g. 2024-06-30")


# --------------------------------------------------------------------------- 12. minor


def test_a_newline_in_a_file_name_keeps_the_failure_on_one_line(tmp_path: Path, run_cli) -> None:
    folder = tmp_path / "r"
    write_release(folder / "good.txt", 81)
    bad = folder / "bad\nname.txt"
    bad.write_bytes(b"")
    result = run_cli(["build", folder], make_settings(tmp_path / "home"))
    assert result.returncode == 1, result.stderr
    assert result.failures == [f"failed {str(bad)!r}: empty file"], result.stderr
    assert not any(line.startswith("name.txt") for line in result.stderr.splitlines())


def test_questions_over_the_cap_are_refused_by_the_cli_and_the_library(tmp_path: Path) -> None:
    import subprocess
    import sys

    from bot import answer, retrieve
    from bot.query import MAX_QUESTION_CHARS
    from helpers.cli import PROJECT_ROOT, cli_env

    from webapp import handlers
    assert handlers.MAX_QUESTION_CHARS == MAX_QUESTION_CHARS == 2000
    long_question = "Where did the walrus meet " * 100
    settings = make_settings(tmp_path / "home")
    for ask in (lambda: answer(long_question, settings=settings), lambda: retrieve(long_question, settings=settings)):
        with pytest.raises(ValueError, match=r"the question is too long \(2599 characters; at most 2000\)"):
            ask()
    done = subprocess.run([sys.executable, "-m", "bot", long_question], cwd=PROJECT_ROOT, env=cli_env(settings),
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 2 and "Traceback" not in done.stderr, done.stderr
    assert done.stderr.strip() == "error: the question is too long (2599 characters; at most 2000)"


def test_bidi_controls_are_neutralised_in_displayed_answers() -> None:
    from webapp import present
    from bot.citations import Answer

    spoof = "The budget is \u202e0001\u202c euros \u2066[1]\u2069"
    shown = [present.escape_markdown(spoof), present.escape_html(spoof),
             present.answer_plain_text(Answer(question="q", text=spoof, found=True, lang="en", mode="extractive"))]
    for text in shown:
        assert not any(c in text for c in "\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069"), ascii(text)
    assert present.neutralise_bidi(spoof) == "The budget is 0001 euros [1]"


# --------------------------------------------------------------------------- 3. re-uploading a corrected release


def test_a_corrected_release_uploaded_again_replaces_the_stale_one(tmp_path: Path) -> None:
    from webapp.uploads import store_upload
    from helpers.indexing import stored_chunks
    from index.store import release_clients
    from index.update import update

    settings = make_settings(tmp_path / "home")
    draft = write_release(tmp_path / "first" / "walrus.txt", 91)
    corrected = tmp_path / "second" / "walrus.txt"
    corrected.parent.mkdir()
    corrected.write_text(draft.read_text(encoding="utf-8").replace("Year of the Blue Otter", "Year of the Red Heron"),
                         encoding="utf-8")
    try:
        stored = store_upload(draft, settings.uploads_dir, 1_000_000)
        assert update([str(stored)], settings).added == 1
        again = store_upload(corrected, settings.uploads_dir, 1_000_000)
        assert again == stored
        summary = update([str(again)], settings)
        assert (summary.added, summary.updated) == (0, 1)
        texts = " ".join(c.text for c in stored_chunks(settings))
        assert "Red Heron" in texts and "Blue Otter" not in texts
    finally:
        release_clients()


# --------------------------------------------------------------------------- 9. URLs fetched on behalf of others


def test_urls_leading_to_internal_addresses_are_refused_for_others(tmp_path: Path) -> None:
    from helpers.webserver import serve
    from index.load import read_sources
    from index.release import Failure, Release
    from index.settings import Settings
    from index.update import update

    page = b"<html><head><title>Walrus Council</title></head><body><p>" + b"The Walrus Council met. " * 20 + b"</p></body></html>"
    with serve({"/r.html": (200, "text/html", page), "/hop": (200, "text/html", page)}) as base:
        [refused] = read_sources([f"{base}/r.html"], refuse_private=True)
        assert isinstance(refused, Failure)
        assert refused.reason == ("refused: the URL leads to the internal address 127.0.0.1 "
                                  "(set COMMUNIQUE_ALLOW_PRIVATE_URLS=1 to allow it)")
        [allowed] = read_sources([f"{base}/r.html"])   # the CLI and a localhost app fetch what their user names
        assert isinstance(allowed, Release)
        settings = make_settings(tmp_path / "home")
        summary = update([f"{base}/r.html"], settings, refuse_private_urls=True)
        assert [f.reason.split(" (")[0] for f in summary.failures] == ["refused: the URL leads to the internal address 127.0.0.1"]
        opened = Settings(**{**settings.model_dump(), "allow_private_urls": True})
        assert update([f"{base}/r.html"], opened, refuse_private_urls=True).added == 1
    from index.store import release_clients
    release_clients()


# --------------------------------------------------------------------------- 8. Host and Origin on the localhost app


def _add_releases_over_http(base: str, headers: dict[str, str]) -> str:
    """Call the app's /add_releases through Gradio's HTTP API with these headers; the first output (the message)."""
    import json

    import httpx

    with httpx.Client(base_url=base, timeout=30, headers=headers) as client:
        started = client.post("/gradio_api/call/add_releases", json={"data": [None, "not a url", ""]})
        started.raise_for_status()
        event = started.json()["event_id"]
        with client.stream("GET", f"/gradio_api/call/add_releases/{event}") as stream:
            kind = None
            for line in stream.iter_lines():
                if line.startswith("event:"):
                    kind = line.split(":", 1)[1].strip()
                elif line.startswith("data:") and kind in ("complete", "error"):
                    data = json.loads(line.split(":", 1)[1])
                    return data[0] if kind == "complete" else f"error: {data}"
    raise AssertionError("no result")


def test_without_a_password_only_localhost_pages_may_add_releases(tmp_path: Path) -> None:
    from app import build_app, launch
    from helpers.webserver import free_port

    settings = make_settings(tmp_path / "home")
    app = build_app(settings, host="127.0.0.1", initial_build=False)
    port = free_port()
    launch(app, settings, host="127.0.0.1", port=port, prevent_thread_lock=True, quiet=True)
    base = f"http://127.0.0.1:{port}"
    try:
        refused = "Refused: without COMMUNIQUE_ADMIN_PASSWORD, releases can only be added from a page served on localhost."
        for headers in ({"Host": f"evil.example:{port}", "Origin": f"http://evil.example:{port}"},   # DNS rebinding
                        {"Host": f"127.0.0.1:{port}", "Origin": "http://evil.example"},              # a foreign page
                        {"Host": f"127.0.0.1:{port}", "X-Forwarded-For": "203.0.113.7"}):            # a proxy in front
            assert _add_releases_over_http(base, headers) == refused, headers
        for headers in ({}, {"Origin": base}, {"Host": f"localhost:{port}", "Origin": f"http://localhost:{port}"}):
            assert "failed not a url: not an http(s) URL" in _add_releases_over_http(base, headers), headers
    finally:
        app.close()


# --------------------------------------------------------------------------- 10. wrong admin passwords


def test_wrong_admin_passwords_back_off_per_client_and_are_logged(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    import logging

    from gradio_client import Client

    from app import build_app, launch
    from helpers.webserver import free_port

    settings = make_settings(tmp_path / "home").model_copy(update={"admin_password": "walrus-s3cret"})
    app = build_app(settings, host="0.0.0.0", initial_build=False)
    port = free_port()
    launch(app, settings, host="127.0.0.1", port=port, prevent_thread_lock=True, quiet=True)
    try:
        client = Client(f"http://127.0.0.1:{port}/", verbose=False)
        with caplog.at_level(logging.WARNING, logger="communique.app"):
            first, _, _ = client.predict(None, "not a url", "guess-1", api_name="/add_releases")
            second, _, _ = client.predict(None, "not a url", "walrus-s3cret", api_name="/add_releases")
        assert first == "Wrong admin password: releases were not added."
        assert second == "Too many wrong admin passwords: try again in 1 s."   # even the right one, until the back-off ends
        assert [r.getMessage() for r in caplog.records if "wrong admin password" in r.getMessage()] == [
            "wrong admin password from 127.0.0.1 (1 in a row)"]
        time.sleep(1.1)
        third, _, _ = client.predict(None, "not a url", "walrus-s3cret", api_name="/add_releases")
        assert "failed not a url: not an http(s) URL" in third
        assert app.delete_cache == (3600, 3600)
    finally:
        app.close()


def test_rejected_new_uploads_are_not_kept_and_paths_are_hidden_from_anonymous_users(tmp_path: Path) -> None:
    import httpx
    from gradio_client import Client, handle_file

    from app import build_app, launch
    from helpers.webserver import free_port

    empty = tmp_path / "in" / "empty.txt"
    empty.parent.mkdir()
    empty.write_bytes(b"")
    from index.store import release_clients
    from index.update import update

    release = write_release(tmp_path / "in" / "walrus.txt", 95)
    for password, host in ((None, "127.0.0.1"), ("walrus-s3cret", "0.0.0.0")):
        settings = make_settings(tmp_path / f"home-{host}").model_copy(update={"admin_password": password})
        assert update([str(release)], settings).added == 1   # the status panel then names the index's location
        app = build_app(settings, host=host, initial_build=False)
        port = free_port()
        launch(app, settings, host="127.0.0.1", port=port, prevent_thread_lock=True, quiet=True)
        try:
            base = f"http://127.0.0.1:{port}"
            result, _, _ = Client(f"{base}/", verbose=False).predict([handle_file(str(empty))], "", password or "",
                                                                     api_name="/add_releases")
            assert "failed empty.txt: empty file" in result, result
            assert not (settings.uploads_dir / "empty.txt").exists()
            config = httpx.get(f"{base}/config", timeout=30).text
            assert (f"/{settings.home.name}" in config) == (password is None), "the path only on localhost"
        finally:
            app.close()
    release_clients()


def test_workers_creating_the_record_stamp_at_once_do_not_fail(tmp_path: Path) -> None:
    """Two `index update` runs that start together both create the stamp table (a race seen in CI)."""
    import threading

    from index.records import read_stamp
    from index.store import record_manager

    settings = make_settings(tmp_path / "home")
    managers = [record_manager(settings) for _ in range(6)]
    start, errors = threading.Barrier(len(managers)), []

    def race(manager: object) -> None:
        start.wait()
        try:
            read_stamp(manager)
        except Exception as exc:  # noqa: BLE001 - the test reports whatever it was
            errors.append(exc)

    threads = [threading.Thread(target=race, args=(m,)) for m in managers]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert not errors, errors


@pytest.mark.server
def test_a_chroma_server_killed_mid_update_is_one_error_line_and_the_next_run_finishes(tmp_path: Path) -> None:
    import subprocess
    import uuid

    import chromadb

    from benchmarks.chroma_server import ChromaServer, chroma_executable
    from helpers.cli import PROJECT_ROOT, cli_env, index_command, kill_group
    from helpers.releases import write_fictional_corpus

    try:
        chroma_executable()
    except FileNotFoundError as exc:
        pytest.skip(str(exc))
    write_fictional_corpus(tmp_path / "releases", extra_passages=6)   # enough passages to be mid-way when it dies
    server = ChromaServer(tmp_path / "db", log=tmp_path / "server.log").start(60)
    settings = make_settings(tmp_path / "home", chroma_url=server.url, collection=f"killed-{uuid.uuid4().hex[:8]}")
    env = cli_env(settings)
    try:
        update = subprocess.Popen(index_command("update", tmp_path / "releases"), cwd=PROJECT_ROOT, env=env, text=True,
                                  stdout=subprocess.PIPE, stderr=subprocess.PIPE, start_new_session=True)
        try:
            deadline = time.monotonic() + 120
            while time.monotonic() < deadline and update.poll() is None:   # wait until passages are being written
                collections = [c.name for c in chromadb.HttpClient(port=server.port).list_collections()]
                if settings.collection in collections:
                    break
                time.sleep(0.2)
            time.sleep(1.0)
            server.kill()
            _, err = update.communicate(timeout=180)
        finally:
            kill_group(update)
        lines = [line for line in err.replace("\r", "\n").splitlines() if line.strip() and "release/s" not in line
                 and "%|" not in line]
        assert update.returncode == 1, err
        assert "Traceback" not in err and len(lines) == 1 and lines[0].startswith("error: "), lines
        server.start(60)
        again = subprocess.run(index_command("update", tmp_path / "releases"), cwd=PROJECT_ROOT, env=env, text=True,
                               capture_output=True, timeout=600)
        assert again.returncode == 0, again.stderr
    finally:
        server.stop()
