"""Run `python -m index ...` as a real process, the way a user does."""
from __future__ import annotations

import os
import select
import signal
import subprocess
import sys
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import NamedTuple

from index.settings import Settings

PROJECT_ROOT = Path(__file__).resolve().parents[2]


class CliResult(NamedTuple):
    returncode: int
    stdout: str
    stderr: str

    @property
    def summary(self) -> str:
        """The last stdout line: `added A, updated U, unchanged S, removed R, failed F`."""
        lines = self.stdout.strip().splitlines()
        return lines[-1] if lines else ""

    @property
    def failures(self) -> list[str]:
        return [line for line in self.stderr.splitlines() if line.startswith("failed ")]

    @property
    def errors(self) -> list[str]:
        return [line for line in self.stderr.splitlines() if line.startswith("error:")]


def cli_env(settings: Settings | None = None, **extra: str) -> dict[str, str]:
    """The environment of a CLI process: the caller's, minus any COMMUNIQUE_* knob, plus `settings`."""
    env = {key: value for key, value in os.environ.items() if not key.startswith("COMMUNIQUE_")}
    env.update(HF_HUB_OFFLINE="1", TRANSFORMERS_OFFLINE="1", PYTHONUNBUFFERED="1")
    if settings is not None:
        env.update(COMMUNIQUE_HOME=str(settings.home), COMMUNIQUE_COLLECTION=settings.collection,
                   COMMUNIQUE_EMBEDDINGS=settings.embeddings)
        if settings.chroma_url:
            env["COMMUNIQUE_CHROMA_URL"] = settings.chroma_url
        if settings.records_url:
            env["COMMUNIQUE_RECORDS_URL"] = settings.records_url
    env.update(extra)
    return env


def index_command(*args: str | os.PathLike[str]) -> list[str]:
    return [sys.executable, "-m", "index", *map(str, args)]


def run_index_cli(args: Sequence[str | os.PathLike[str]], env: Settings | Mapping[str, str] | None = None,
                  *, timeout: float = 180) -> CliResult:
    """`python -m index ARGS` in the project root; `env` is a Settings or a full environment.

    A run longer than `timeout` is killed and fails the test (subprocess.TimeoutExpired).
    """
    environment = dict(env) if isinstance(env, Mapping) else cli_env(env)
    done = subprocess.run(index_command(*args), cwd=PROJECT_ROOT, env=environment, capture_output=True,
                          text=True, encoding="utf-8", errors="replace", timeout=timeout)
    return CliResult(done.returncode, done.stdout, done.stderr)


_HOLDER = (
    "import time\n"
    "from index.settings import get_settings\n"
    "from index.store import get_client\n"
    "get_client(get_settings())\n"
    "print('ready', flush=True)\n"
    "time.sleep(300)\n"
)


@contextmanager
def hold_index(settings: Settings, *, timeout: float = 60) -> Iterator[subprocess.Popen]:
    """Another process with the index open (like a running app), until the block ends."""
    process = subprocess.Popen([sys.executable, "-c", _HOLDER], cwd=PROJECT_ROOT, env=cli_env(settings),
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True)
    try:
        ready, _, _ = select.select([process.stdout], [], [], timeout)
        if not ready or process.stdout.readline().strip() != "ready":
            raise RuntimeError(f"the holder process did not open the index: {process.stderr.read() if process.poll() is not None else 'timed out'}")
        yield process
    finally:
        kill_group(process)


def kill_group(process: subprocess.Popen, sig: int = signal.SIGKILL) -> None:
    """Signal a process started with start_new_session=True, and its children; then reap it."""
    if process.poll() is None:
        try:
            os.killpg(process.pid, sig)
        except ProcessLookupError:
            pass
    process.wait(timeout=30)
    for stream in (process.stdout, process.stderr):
        if stream is not None:
            stream.close()
