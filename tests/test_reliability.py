"""Issue 12: lose nothing, hang never, one line never a traceback — each item reproduced.

Releases are small fictional texts written by the tests (helpers.fiction).
"""
from __future__ import annotations

import os
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
