"""A local `chroma run` process: start it, wait until it answers, stop it without orphans.

For the benchmark and the tests, which measure and exercise server mode on 127.0.0.1.
Deployments run `chroma run` themselves (README, "Deploying").
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import httpx


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def chroma_executable() -> Path:
    """The `chroma` command installed with the chromadb package (FileNotFoundError without it)."""
    beside = Path(sys.executable).parent / "chroma"
    found = beside if beside.exists() else (Path(p) if (p := shutil.which("chroma")) else None)
    if found is None:
        raise FileNotFoundError("the `chroma` command is not installed (it comes with the chromadb package)")
    return found


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
    else:  # the leader is gone; make sure nothing it started is left in its group
        try:
            os.killpg(process.pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass


def die_with_parent() -> None:
    """In the child, before exec: get SIGKILL when the parent dies, even by SIGKILL (Linux)."""
    try:
        import ctypes

        ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        pass


@dataclass
class ChromaServer:
    """`chroma run --path PATH` on 127.0.0.1:PORT; can be stopped and started again on the same data."""

    path: Path
    port: int = field(default_factory=free_port)
    log: Path | None = None
    env: dict[str, str] | None = None
    process: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self, timeout: float = 60.0) -> ChromaServer:
        """Start it and wait for its heartbeat (RuntimeError, with the log's end, if it does not answer)."""
        assert self.process is None or self.process.poll() is not None, "already running"
        log = self.log or self.path.parent / "chroma-server.log"
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with open(log, "ab") as out:
            self.process = subprocess.Popen(
                [
                    str(chroma_executable()),
                    "run",
                    "--path",
                    str(self.path),
                    "--host",
                    "127.0.0.1",
                    "--port",
                    str(self.port),
                ],
                stdout=out,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                start_new_session=True,
                env=self.env,
                preexec_fn=die_with_parent if sys.platform == "linux" else None,
            )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"`chroma run` exited with status {self.process.returncode}:\n{_tail(log)}")
            try:
                if httpx.get(f"{self.url}/api/v2/heartbeat", timeout=2).status_code == 200:
                    return self
            except httpx.HTTPError:
                pass
            time.sleep(0.2)
        self.stop()
        raise RuntimeError(f"`chroma run` did not answer at {self.url} within {timeout:g} s:\n{_tail(log)}")

    def kill(self) -> None:
        """Stop it the hard way (SIGKILL, as in a crash)."""
        if self.process is not None and self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(timeout=30)

    def stop(self) -> None:
        if self.process is not None:
            stop_group(self.process)

    def __enter__(self) -> ChromaServer:
        return self.start() if self.process is None else self

    def __exit__(self, *exc: object) -> None:
        self.stop()


def _tail(path: Path, lines: int = 40) -> str:
    try:
        return "\n".join(path.read_text(encoding="utf-8", errors="replace").splitlines()[-lines:])
    except OSError:
        return f"(no log at {path})"
