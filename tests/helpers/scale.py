"""Real processes for the scale tests: a `chroma run` server, `python app.py`, and asking it through /chat.

Every process is started in its own session (process group) and stopped as a group,
so nothing outlives a test, even when it fails. Every wait is bounded in time.
"""
from __future__ import annotations

import subprocess
import sys
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from helpers.cli import PROJECT_ROOT, cli_env
from benchmarks.chroma_server import ChromaServer, stop_group
from index.settings import Settings

APP_START_TIMEOUT = 150.0    # imports gradio and reads the index: slow on a loaded machine
CHAT_TIMEOUT = 120.0         # one /chat answer (the first one loads the models)


def tail(path: Path, lines: int = 40) -> str:
    """The end of a log file, for assertion messages."""
    try:
        return "\n".join(path.read_text(encoding="utf-8", errors="replace").splitlines()[-lines:])
    except OSError:
        return f"(no log at {path})"


# --------------------------------------------------------------------------- Chroma server


@contextmanager
def running_chroma(path: Path, port: int, log: Path) -> Iterator[ChromaServer]:
    with ChromaServer(path, port, log) as server:
        yield server


# --------------------------------------------------------------------------- the app


def app_env(settings: Settings, home: Path, **extra: str) -> dict[str, str]:
    """The environment of one app process: the index of `settings`, its own COMMUNIQUE_HOME for uploads."""
    env = cli_env(settings, COMMUNIQUE_HOME=str(home), COMMUNIQUE_CORPUS=str(home / "no-corpus"),
                  GRADIO_ANALYTICS_ENABLED="False")
    env.update(extra)
    return env


@dataclass
class AppProcess:
    """`python app.py --port PORT` in its own process group."""

    process: subprocess.Popen
    port: int
    log: Path
    _client: Any = field(default=None, repr=False)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/"

    @property
    def client(self) -> Any:
        """This test's gradio_client.Client of the app, for questions asked one at a time."""
        if self._client is None:
            self._client = self.new_client()
        return self._client

    def new_client(self) -> Any:
        """A Client of its own, e.g. one per thread: gradio_client (2.7) shares one event stream per Client,
        and concurrent predictions through one Client can come back as CancelledError when the server
        closes that stream between two submissions; real users each have their own session anyway."""
        from gradio_client import Client

        return Client(self.url, verbose=False)

    def chat(self, question: str, client: Any = None, *, timeout: float = CHAT_TIMEOUT, **filters: str) -> dict:
        """The /chat answer (webapp.present.answer_dict); TimeoutError if it takes longer than `timeout`."""
        return (client or self.client).submit(question, api_name="/chat", **filters).result(timeout=timeout)

    def describe(self) -> str:
        return f"app on port {self.port} (exit {self.process.poll()}):\n{tail(self.log)}"


def start_app(port: int, env: Mapping[str, str], log: Path) -> AppProcess:
    with open(log, "ab") as out:
        process = subprocess.Popen([sys.executable, "app.py", "--port", str(port)], cwd=PROJECT_ROOT, env=dict(env),
                                   stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, start_new_session=True)
    return AppProcess(process, port, log)


def wait_ready(app: AppProcess, timeout: float = APP_START_TIMEOUT) -> None:
    """Until the app serves its page (or fail with its log)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if app.process.poll() is not None:
            raise RuntimeError(f"the app exited before serving: {app.describe()}")
        try:
            if httpx.get(app.url, timeout=2).status_code == 200:
                app.client   # noqa: B018 (connects: reads the API description)
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.3)
    raise RuntimeError(f"the app did not serve within {timeout:g} s: {app.describe()}")


@contextmanager
def running_apps(envs: list[Mapping[str, str]], ports: list[int], logs: list[Path]) -> Iterator[list[AppProcess]]:
    """Start the apps together (their start-ups overlap), wait until each serves; stop them all at the end."""
    apps: list[AppProcess] = []
    try:
        for env, port, log in zip(envs, ports, logs):
            apps.append(start_app(port, env, log))
        for app in apps:
            wait_ready(app)
        yield apps
    finally:
        for app in apps:
            stop_group(app.process)


def poll(check: Any, *, timeout: float, interval: float = 0.5) -> tuple[Any, float]:
    """Call `check()` until it returns something truthy; (that value, seconds waited). Fails after `timeout`."""
    started = time.monotonic()
    last = None
    while True:
        last = check()
        waited = time.monotonic() - started
        if last:
            return last, waited
        if waited > timeout:
            raise AssertionError(f"not reached within {timeout:g} s; last result: {last!r}")
        time.sleep(interval)
