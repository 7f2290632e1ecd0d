"""The measurements, each run in its own fresh process (`python -m benchmarks.bench --phase NAME PARAMS OUT`).

A fresh process per phase, so that models load the way they do for a user and each phase's
peak RSS is its own. Times are time.perf_counter() around the library call being measured
(index.update.build / update / remove, bot.answer), in a process whose models are already
loaded: model load is reported on its own.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from .errors import BenchError
from .instruments import Instruments, latency_summary, peak_rss_mib

WARM_UP_QUESTIONS = 2  # answered untimed after the first (cold) answer


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


def _timed_update(settings: Any, sources: list[str], tools: Instruments) -> tuple[Any, dict[str, Any]]:
    """index.update.update of `sources`, timed and split into model / Chroma / other."""
    from index.update import update

    start = time.perf_counter()
    summary = update(sources, settings)
    return summary, {**tools.split(time.perf_counter() - start), "chunks_embedded": summary.chunks_embedded}


def phase_build(params: dict[str, Any]) -> dict[str, Any]:
    """Build the corpus into a fresh home; then, models warm, the models alone on the same passages and sentences."""
    from index.chunk import chunk_release, sentence_spans
    from index.embed import load_stack
    from index.load import read_sources
    from index.update import build

    settings = _settings(params)
    stack = load_stack(settings.embeddings)
    load_s = _load_models(stack)
    tools = Instruments(stack)
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
        "sentences_embedded": summary.sentences_embedded,
        "releases_added": summary.added,
        **_index_size(settings),
    }
    if params.get("model_reference"):  # what the models alone take for the same passages and (distinct) sentences
        chunks = [c for r in read_sources(params["sources"]) if not hasattr(r, "reason") for c in chunk_release(r)]
        texts = list(dict.fromkeys(c.embed_text for c in chunks))
        sentences = list(dict.fromkeys(c.text[a:b] for c in chunks for a, b in sentence_spans(c.text)))
        start, cpu = time.perf_counter(), time.process_time()
        stack.embed_passages(texts)  # as indexing does: the passages, then their distinct sentences
        stack.embed_sentences(sentences)
        result["model_only_s"], result["model_only_cpu_s"] = time.perf_counter() - start, time.process_time() - cpu
        result["model_only_chunks"] = len(texts)
        result["model_only_sentences"] = len(sentences)
    return result


def phase_noop(params: dict[str, Any]) -> dict[str, Any]:
    """`update` of sources that are all indexed already: nothing to embed (models are not even loaded)."""
    from index.embed import load_stack

    settings = _settings(params)
    summary, timed = _timed_update(settings, params["sources"], Instruments(load_stack(settings.embeddings)))
    if summary.failures or summary.added or summary.updated:
        raise BenchError(f"the no-op update was not one: {summary.line()}")
    return {**timed, "summary": summary.line(), **_index_size(settings)}


def phase_grow(params: dict[str, Any]) -> dict[str, Any]:
    """Add the synthetic copies (identical texts: stored vectors are reused) with `update`."""
    from index.embed import load_stack

    settings = _settings(params)
    tools = Instruments(load_stack(settings.embeddings))  # models load only if a copy is not identical (then it shows)
    summary, timed = _timed_update(settings, params["sources"], tools)
    if summary.failures:
        raise BenchError("growing the index failed for: " + "; ".join(map(str, summary.failures[:3])))
    return {**timed, "releases_added": summary.added, **_index_size(settings)}


def phase_add(params: dict[str, Any]) -> dict[str, Any]:
    """Add one genuinely new release with `update([file])`, `repeats` times; then remove each one again."""
    from index.embed import load_stack
    from index.update import remove

    settings = _settings(params)
    stack = load_stack(settings.embeddings)
    load_s = _load_models(stack)
    tools = Instruments(stack)
    before = _index_size(settings)
    adds, removes = [], []
    for file in params["files"]:
        tools.reset()
        summary, timed = _timed_update(settings, [file], tools)
        if summary.added != 1 or summary.failures:
            raise BenchError(f"adding {file} did not add one release: {summary.line()}")
        adds.append(timed)
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
    from bot.answer import answer, default_bot

    settings = _settings(params)
    questions = params["questions"]
    start = time.perf_counter()
    first = answer(questions[0], settings=settings)
    cold_s = time.perf_counter() - start
    started_from = default_bot(settings).searcher.cache.last_refresh  # the snapshot file, + a log delta, or Chroma
    for question in questions[1 : 1 + params.get("warm_up", WARM_UP_QUESTIONS)]:
        answer(question, settings=settings)
    latencies: list[float] = []
    modes: dict[str, int] = {}
    errors: list[str | None] = []
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
        "cold_snapshot": started_from,
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
