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
    from bot.search import forget_searchers
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
            forget_searchers()
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
