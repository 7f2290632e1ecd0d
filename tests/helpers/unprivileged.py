"""Run `python -m index` as a user that file permissions apply to, even when the tests run as root.

Root reads every file, so a permission test means nothing as root: there the CLI runs as
`nobody` through `setpriv`. The venv's interpreter may sit where `nobody` cannot go (pyenv
under /root); then the system's python of the same minor version runs it with the venv's
site-packages added. Without either, the test is skipped with the reason.
"""
from __future__ import annotations

import os
import shutil
import site
import subprocess
import sys
from collections.abc import Sequence
from functools import lru_cache
from pathlib import Path

import pytest

from helpers.cli import PROJECT_ROOT, CliResult, cli_env
from index.settings import Settings

_SETPRIV = ["setpriv", "--reuid=nobody", "--regid=nogroup", "--clear-groups"]


def is_root() -> bool:
    return os.geteuid() == 0


@lru_cache(maxsize=1)
def _interpreter() -> list[str] | None:
    """A command prefix that runs Python with the project's packages as `nobody`, or None."""
    if not shutil.which("setpriv"):
        return None
    site_dirs = [p for p in site.getsitepackages() if Path(p).is_dir()]
    setup = ("import runpy, site, sys\n"
             f"for d in {site_dirs!r}: site.addsitedir(d)\n"
             f"sys.path.insert(0, {str(PROJECT_ROOT)!r})\n")
    run = setup + "module = sys.argv[1]\nsys.argv = [module, *sys.argv[2:]]\nrunpy.run_module(module, run_name='__main__', alter_sys=True)\n"
    minor = f"python{sys.version_info.major}.{sys.version_info.minor}"
    for python in (sys.executable, shutil.which(minor) or f"/usr/bin/{minor}"):
        try:
            probe = subprocess.run([*_SETPRIV, python, "-c", setup + "import index.cli\n"],
                                   capture_output=True, text=True, cwd="/", timeout=60)
        except OSError:
            continue
        if probe.returncode == 0:
            return [*_SETPRIV, python, "-c", run]
    return None


def unprivileged_dir(path: Path) -> Path:
    """Make `path` (created) and its parents reachable by `nobody`; returns it. Use a fresh /tmp folder."""
    path.mkdir(parents=True, exist_ok=True)
    if is_root():
        shutil.chown(path, "nobody", "nogroup")
    return path


def run_cli_unprivileged(args: Sequence[str | os.PathLike[str]], settings: Settings, *, timeout: float = 180,
                         module: str = "index") -> CliResult:
    """`python -m MODULE ARGS` (index or bot) as a user file permissions apply to (skips when that is impossible)."""
    env = cli_env(settings, PYTHONDONTWRITEBYTECODE="1", HOME=str(settings.home.parent))
    if not is_root():
        command = [sys.executable, "-m", module]
    else:
        prefix = _interpreter()
        if prefix is None:
            pytest.skip("running as root and no interpreter can run as `nobody` (setpriv missing, or python unreachable)")
        command = [*prefix, module]
    done = subprocess.run([*command, *map(str, args)], cwd=PROJECT_ROOT, env=env,
                          capture_output=True, text=True, encoding="utf-8", errors="replace", timeout=timeout)
    return CliResult(done.returncode, done.stdout, done.stderr)


def chown_tree(path: Path) -> None:
    """Give `nobody` a tree written by root (no-op when not root)."""
    if not is_root():
        return
    for root, dirs, files in os.walk(path):
        for name in [*dirs, *files]:
            shutil.chown(Path(root) / name, "nobody", "nogroup")
    shutil.chown(path, "nobody", "nogroup")
