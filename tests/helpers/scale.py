"""Real processes for the scale tests: a `chroma run` server, `python app.py`, and asking it through /chat.

Every process is started in its own session (process group) and stopped as a group,
so nothing outlives a test, even when it fails. Every wait is bounded in time.
"""
from __future__ import annotations

import os
import signal
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
from index.settings import Settings

CHROMA_START_TIMEOUT = 60.0
APP_START_TIMEOUT = 150.0    # imports gradio and reads the index: slow on a loaded machine
CHAT_TIMEOUT = 120.0         # one /chat answer (the first one loads the models)


def stop_group(process: subprocess.Popen, *, grace: float = 10.0) -> None:
    """SIGTERM the process group, SIGKILL it if it lingers, and reap the process."""
    if process.poll() is None:
        for sig, wait in ((signal.SIGTERM, grace), (signal.SIGKILL, 30.0)):
            try:
                os.killpg(process.pid, sig)
            except ProcessLookupError:
                break
            try:
                process.wait(timeout=wait)
                break
            except subprocess.TimeoutExpired:
                continue
    else:   # the leader is gone; make sure nothing it started is left in its group
        try:
            os.killpg(process.pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass


def tail(path: Path, lines: int = 40) -> str:
    """The end of a log file, for assertion messages."""
    try:
        return "\n".join(path.read_text(encoding="utf-8", errors="replace").splitlines()[-lines:])
    except OSError:
        return f"(no log at {path})"


# --------------------------------------------------------------------------- Chroma server


def chroma_executable() -> Path:
    for candidate in (Path(sys.executable).parent / "chroma", PROJECT_ROOT / ".venv" / "bin" / "chroma"):
        if candidate.exists():
            return candidate
    raise FileNotFoundError("the `chroma` command is not installed in the virtualenv")


@dataclass
class ChromaServer:
    """A dedicated `chroma run` on 127.0.0.1 that a test may stop and start again (same port, same data)."""

    path: Path
    port: int
    log: Path
    process: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self, timeout: float = CHROMA_START_TIMEOUT) -> None:
        assert self.process is None or self.process.poll() is not None, "already running"
        with open(self.log, "ab") as log:
            self.process = subprocess.Popen(
                [str(chroma_executable()), "run", "--path", str(self.path), "--host", "127.0.0.1", "--port", str(self.port)],
                stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, start_new_session=True,
            )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"`chroma run` exited with {self.process.returncode}:\n{tail(self.log)}")
            try:
                if httpx.get(f"{self.url}/api/v2/heartbeat", timeout=2).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.2)
        self.stop()
        raise RuntimeError(f"`chroma run` did not answer at {self.url} within {timeout:g} s:\n{tail(self.log)}")

    def kill(self) -> None:
        """Stop it the hard way (SIGKILL, as in a crash or an OOM kill)."""
        if self.process is not None and self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(timeout=30)

    def stop(self) -> None:
        if self.process is not None:
            stop_group(self.process)


@contextmanager
def running_chroma(path: Path, port: int, log: Path) -> Iterator[ChromaServer]:
    server = ChromaServer(path, port, log)
    try:
        server.start()
        yield server
    finally:
        server.stop()


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
        """The /chat answer (bot.present.answer_dict); TimeoutError if it takes longer than `timeout`."""
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
