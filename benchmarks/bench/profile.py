"""Which phases run, at which index sizes, in which order: the bench's profiles and the run through them.

Each mode (embedded Chroma under COMMUNIQUE_HOME, or a `chroma run` server started here on
127.0.0.1) gets one fresh temporary COMMUNIQUE_HOME (and collection) that grows through the
phases: corpus build -> N=1,000 -> N=10,000 -> N=30,000 (the default profile); the releases
added to measure "add 1" are removed again before the index grows further. Nothing is
written in the repo or in the user's index.

The profile is shaped to grow far within the time budget: a bulk load only writes the
synthetic copies new at that size (their vectors are reused, so no model runs), the
synthetic files of a size are written once and indexed by both modes, the answer phase
answers a fixed number of questions at every N, and a mode's index is deleted when the
mode is done. A size that, at the pace measured so far, would overrun the budget is
skipped and the report says so.
"""

from __future__ import annotations

import argparse
import json
import shutil
import tempfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..chroma_server import ChromaServer
from .errors import BenchError
from .instruments import disk_usage, peak_rss_mib, process_peak_rss_mib
from .machine import core_count, load_average, machine_info
from .phases import WARM_UP_QUESTIONS
from .runner import Runner, child_env
from .synthetic import load_templates, prepare_corpus, typical_release, write_synthetic_releases

FULL_SIZES = (1000, 10_000, 30_000)
QUICK_SIZES = (100,)
TINY_SIZES = (10,)
FULL_QUESTIONS = 30  # answered at every N in the full profile: the answer phase costs the same at any size
FULL_PASSES = 2  # the questions are answered this many times (latencies pooled) in the full profile
ADD_REPEATS = 3  # "add 1 release" is measured this many times per N (a different new release each time)
QUICK_QUESTIONS = 15
TINY_QUESTIONS = 4
TINY_FILES = 3
SERVER_START_TIMEOUT = 60.0
TIME_BUDGET = 15 * 60.0  # seconds; a size N >= BUDGETED_FROM is skipped if it would not finish within it
BUDGETED_FROM = 1000  # smaller sizes always run: they take seconds
BUDGET_MARGIN = 1.3  # a size runs if the time left is this many times its projected time
NEW_RELEASE_BASE = 50_000  # copy numbers of the releases added to measure "add 1" (never used by the bulk copies)


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


def spread(items: Sequence[Any], count: int | None) -> list[Any]:
    """`count` items taken evenly across `items` (all of them when count is None or larger)."""
    if count is None or count >= len(items):
        return list(items)
    return [items[(i * len(items)) // count] for i in range(count)]


@dataclass
class Pace:
    """What a size is expected to cost, from what was measured: the earlier mode's stage, this mode's last one."""

    budget_left: Callable[[], float]
    estimates: dict[int, float] = field(default_factory=dict)  # seconds per size, the slowest mode so far
    last: dict[str, float] | None = None  # this mode's last grown stage: seconds per release and fixed seconds

    def start_mode(self) -> None:
        self.last = None

    def projected(self, n: int, current: int) -> float:
        """Seconds the stage to N should take: the bulk load linear in the copies, the no-op in N, the rest as last."""
        guesses = [self.estimates.get(n, 0.0)]
        if self.last is not None:
            last = self.last
            guesses.append(last["grow_per_copy"] * (n - current) + last["noop_per_release"] * n + last["fixed"])
        return max(guesses)

    def allows(self, n: int, current: int) -> bool:
        return n < BUDGETED_FROM or self.budget_left() >= BUDGET_MARGIN * self.projected(n, current)

    def record(self, n: int, entry: dict[str, Any]) -> None:
        self.estimates[n] = max(self.estimates.get(n, 0.0), entry["seconds"])
        grow, noop = entry.get("grow"), entry.get("noop")
        if grow and grow.get("copies"):
            noop_s = noop["process_wall_s"] if noop else 0.0
            self.last = {
                "grow_per_copy": grow["process_wall_s"] / grow["copies"],
                "noop_per_release": noop_s / n,
                "fixed": max(entry["seconds"] - grow["process_wall_s"] - noop_s, 0.0),
            }


@dataclass
class Corpus:
    """What every mode indexes: the corpus files, the releases copies are made of, the release added at each N."""

    files: list[Path]
    templates: list[Any]
    new_template: Any
    workdir: Path

    def copies(self, start: int, stop: int) -> Path:
        """The folder of synthetic copies start..stop-1, written on first use and shared by the modes."""
        folder = self.workdir / "synthetic" / f"copies-{start}-to-{stop}"
        if not folder.is_dir():
            partial = folder.with_name(folder.name + ".partial")
            shutil.rmtree(partial, ignore_errors=True)
            write_synthetic_releases(self.templates, partial, range(start, stop))
            partial.rename(folder)
        return folder


def run_mode(
    mode: str,
    runner: Runner,
    *,
    corpus: Corpus,
    chroma_dir: Path,
    sizes: Sequence[int],
    questions: list[str],
    passes: int,
    repeats: int,
    chroma_url: str | None,
    pace: Pace,
    lean: bool = False,
) -> dict[str, Any]:
    """Every phase for one storage mode, in one fresh home (and collection) that grows.

    `lean` (--tiny, for the e2e test) skips what only repeats other phases at another size: answer and add at
    the corpus size and the no-op update at N. Every phase process costs ~3 s of start-up and model load.
    """
    home = runner.workdir / mode / "home"
    base = {"home": str(home), "chroma_url": chroma_url, "collection": f"bench-{mode}"}
    sources = [str(f) for f in corpus.files]
    corpus_n = len(corpus.files)
    out: dict[str, Any] = {"mode": mode, "chroma_url": chroma_url, "sizes": {}}
    say = runner.say
    pace.start_mode()
    say(f"[{mode}] build the corpus ({corpus_n} releases)")
    out["build"] = runner.run(
        "build",
        {**base, "sources": sources, "model_reference": mode == "embedded"},
        label=f"{mode}: build {corpus_n} releases",
    )
    out["noop"] = runner.run("noop", {**base, "sources": sources}, label=f"{mode}: no-op update")
    new_k = NEW_RELEASE_BASE + (0 if mode == "embedded" else 10_000)
    current, chunks = corpus_n, out["noop"]["chunks"]
    grown: list[Path] = []
    for n in ([] if lean and sizes else [corpus_n]) + list(sizes):
        if n < current:
            continue
        entry: dict[str, Any] = {}
        started = runner.elapsed()
        if n > current:
            if not pace.allows(n, current):
                say(f"[{mode}] N={n}: skipped (would not finish within the time budget)")
                out["sizes"][str(n)] = {"skipped": "time budget"}
                continue
            say(f"[{mode}] grow the index to N={n} releases with {n - current} synthetic copies")
            step = corpus.copies(current - corpus_n, n - corpus_n)
            entry["grow"] = runner.run("grow", {**base, "sources": [str(step)]}, label=f"{mode}: grow to N={n}")
            entry["grow"]["copies"] = n - current
            chunks = entry["grow"]["chunks"]
            grown.append(step)
            if not lean:
                entry["noop"] = runner.run(
                    "noop",
                    {**base, "sources": [str(runner.workdir / "corpus"), *map(str, grown)]},
                    label=f"{mode}: no-op update at N={n}",
                )
        entry["disk"] = disk_usage(chroma_dir, chunks)
        entry["answer"] = runner.run(
            "answer",
            {**base, "questions": questions, "passes": passes, "warm_up": 1 if lean else WARM_UP_QUESTIONS},
            label=f"{mode}: answer at N={n}",
        )
        new_dir = runner.workdir / mode / f"new-at-{n}"
        # always the same release (new text each time), so that "add 1" compares like with like across N
        new_files = write_synthetic_releases(
            [corpus.new_template], new_dir, range(new_k, new_k + repeats), unique_text=True
        )
        new_k += repeats
        entry["add"] = runner.run(
            "add", {**base, "files": [str(f) for f in new_files]}, label=f"{mode}: add 1 release at N={n}"
        )
        entry["seconds"] = runner.elapsed() - started
        pace.record(n, entry)
        out["sizes"][str(n)] = entry
        current = n
    return out


def run(args: argparse.Namespace, say: Callable[[str], None]) -> dict[str, Any]:
    """The whole bench as the command line asks: every mode, every size; the report's figures."""
    corpus_dir = Path(args.corpus).expanduser().resolve()
    questions_path = Path(args.questions).expanduser().resolve()
    if not corpus_dir.is_dir():
        raise BenchError(f"corpus folder not found: {corpus_dir} (give one with --corpus DIR)")
    if not questions_path.is_file():
        raise BenchError(f"questions file not found: {questions_path} (give one with --questions PATH)")
    profile = "tiny" if args.tiny else "quick" if args.quick else "full"
    sizes = args.sizes or {"tiny": TINY_SIZES, "quick": QUICK_SIZES, "full": FULL_SIZES}[profile]
    default_count = {"tiny": TINY_QUESTIONS, "quick": QUICK_QUESTIONS, "full": FULL_QUESTIONS}[profile]
    question_count = args.max_questions or default_count
    repeats = args.repeats or (1 if profile == "tiny" else ADD_REPEATS)
    passes = args.passes or (FULL_PASSES if profile == "full" else 1)
    modes = args.modes or ["embedded", "server"]
    threads = args.threads or core_count()
    questions = spread(load_question_texts(questions_path), question_count)
    meta = machine_info()
    meta.update(
        profile=profile,
        corpus=str(corpus_dir),
        questions_file=str(questions_path),
        questions=len(questions),
        passes=passes,
        indexing_omp_num_threads=threads,
        answering_omp_num_threads=None,
        add_repeats=repeats,
        budget_s=args.budget,
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
        from index.chunk import chunk_release

        files = prepare_corpus(corpus_dir, workdir / "corpus", TINY_FILES if args.tiny else None)
        templates = load_templates(files)
        corpus = Corpus(files, templates, typical_release(templates), workdir)
        meta["corpus_releases"] = len(files)
        sizes = sorted({int(n) for n in sizes if int(n) > len(files)})
        meta["sizes"] = sizes
        meta["new_release"] = {
            "template": Path(corpus.new_template.source).name,
            "chunks": len(chunk_release(corpus.new_template)),
        }
        pace = Pace(budget_left=lambda: args.budget - runner.elapsed())
        common = dict(
            corpus=corpus, sizes=sizes, questions=questions, passes=passes, repeats=repeats, pace=pace, lean=args.tiny
        )
        for mode in modes:
            report["modes"][mode] = _run_one_mode(mode, runner, common, keep=args.keep)
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
        meta["loadavg_end"] = load_average()
        if args.keep:
            say(f"bench: kept {workdir}")
        else:
            shutil.rmtree(workdir, ignore_errors=True)
    return report


def _run_one_mode(mode: str, runner: Runner, common: dict[str, Any], *, keep: bool) -> dict[str, Any]:
    """One mode, its server started and stopped around it in server mode; its index deleted after (unless kept)."""
    workdir = runner.workdir
    try:
        if mode != "server":
            return run_mode(mode, runner, chroma_url=None, chroma_dir=workdir / mode / "home" / "chroma", **common)
        try:
            server = ChromaServer(workdir / "server" / "chroma", env=child_env(indexing=False, threads=1)).start(
                SERVER_START_TIMEOUT
            )
        except (RuntimeError, FileNotFoundError) as exc:
            raise BenchError(str(exc)) from exc
        with server:
            pid = server.process.pid if server.process else None
            runner.say(f"[server] `chroma run` listening at {server.url} (pid {pid})")
            result = run_mode(mode, runner, chroma_url=server.url, chroma_dir=workdir / "server" / "chroma", **common)
            result["server_peak_rss_mib"] = process_peak_rss_mib(pid) if pid else None
            result["server_pid"] = pid
            return result
    finally:
        if not keep:  # an index of N=30,000 takes gigabytes: do not keep one per mode
            shutil.rmtree(workdir / mode / "home", ignore_errors=True)
            if mode == "server":
                shutil.rmtree(workdir / "server", ignore_errors=True)
