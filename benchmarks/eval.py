"""Measure the bot on a question file, side by side with two baselines.

    python -m benchmarks.eval QUESTIONS.jsonl --corpus DIR [--json PATH] [--no-baselines]
    python -m benchmarks.eval --set dev QUESTIONS.jsonl DIR --set dev2 QUESTIONS.jsonl DIR [...]

DIR is indexed into a temporary COMMUNIQUE_HOME that is deleted afterwards: the user's
index is never opened. For each system the report gives, per question kind, for the
questions whose relevant releases are all in another language than the question
("cross-lang"), and overall:
  * retrieval, at release level (a release = a source file, compared by basename with
    the question's `relevant`; the chunks of one release count once, at their best rank):
    hit@1, recall@5, MRR@10 — over the answerable questions;
  * answers: `contains` (one of `answer_contains` is a substring of the answer text),
    `cites` (a citation points to a relevant release), `abstain` (unanswerable questions
    answered "not found"), `false-abst` (answerable questions answered "not found");
  * `length`: the median answer length in characters (answered questions only);
  * `short`: how often a short answer ("General Cavoli") leads the answer, over answered
    answerable questions, and `short-ok`: how often that short answer holds an expected phrase
    (precision: a wrong short answer is worse than none);
  * latency p50/p95 in ms of one warm answer (for a baseline: one retrieval call).
A question with `follows` is asked with the conversation so far (Gradio messages: the
followed question and the bot's answer to it); the baselines just search its own text.

This module only reads: it builds its own index and never writes to the user's.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import sys
import tempfile
import textwrap
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path, PurePosixPath
from typing import Any
from urllib.parse import urlsplit

from index.errors import CommuniqueError

from .stats import percentile

CHUNKS_SEARCHED = 30  # chunks asked for, so that 10 distinct releases are ranked
KIND_ORDER = ("factoid", "who", "when", "definition", "crosslingual", "followup", "unanswerable")
CROSS_LANG = "cross-lang"  # row: every relevant release is in another language than the question
ALL = "all"
WARM_UP_QUESTION = "What is NATO?"
METRICS = (
    "hit@1",
    "recall@5",
    "mrr@10",
    "contains",
    "cites",
    "abstain",
    "false_abstain",
    "short",
    "short_ok",
    "length",
    "p50_ms",
    "p95_ms",
)
_MEANS = METRICS[:9]
_COLUMNS = [
    ("n", "n", 4),
    ("hit@1", "hit@1", 6),
    ("recall@5", "R@5", 6),
    ("mrr@10", "MRR@10", 7),
    ("contains", "contains", 9),
    ("cites", "cites", 6),
    ("abstain", "abstain", 8),
    ("false_abstain", "false-abst", 11),
    ("short", "short", 6),
    ("short_ok", "short-ok", 9),
    ("length", "length", 7),
    ("p50_ms", "p50 ms", 8),
    ("p95_ms", "p95 ms", 8),
]

_NOTES = (
    "length: median characters of the answers given; short: share of answered questions led by a short answer; "
    "short-ok: share of those short answers that hold an expected phrase. "
    "Retrieval is scored at release level over the answerable questions (R@5, MRR@10 over the top 10 distinct "
    "releases). contains: an expected phrase is in the answer; cites: a citation is a relevant release; abstain: "
    "unanswerable questions answered 'not found'; false-abst: answerable ones answered so; cross-lang: questions "
    "whose relevant releases are all in another language. Latency: one warm answer (baselines: one retrieval "
    "call). Baselines answer with their first chunk, never abstain, and search follow-ups without the conversation."
)

Progress = Callable[[str], None]


class EvalError(CommuniqueError):
    """Bad input (questions file, corpus folder) or a broken run: the message is the one line shown to the user."""

    def __init__(self, message: str, exit_code: int = 2) -> None:
        super().__init__(message)
        self.exit_code = exit_code


# --------------------------------------------------------------------------- questions


@dataclass(frozen=True)
class Question:
    """One line of the question file."""

    id: str
    question: str
    kind: str
    lang: str = ""
    relevant: tuple[str, ...] = ()  # release file basenames
    answer_contains: tuple[str, ...] = ()
    follows: str | None = None

    @property
    def answerable(self) -> bool:
        return bool(self.relevant)


def load_questions(path: str | Path) -> list[Question]:
    """Parse a JSONL question file; EvalError names the file and line of the first problem."""
    path = Path(path)
    if not path.is_file():
        raise EvalError(f"questions file not found: {path}")
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError) as exc:
        raise EvalError(f"cannot read questions file {path}: {exc}") from exc
    questions: list[Question] = []
    line_of: dict[str, int] = {}
    for lineno, line in enumerate(lines, 1):
        if not line.strip():
            continue
        where = f"{path}:{lineno}"
        try:
            raw = json.loads(line)
        except json.JSONDecodeError as exc:
            raise EvalError(f"{where}: malformed JSON: {exc.msg} (column {exc.colno})") from None
        question = _question_from(raw, where)
        if question.id in line_of:
            raise EvalError(f"{where}: duplicate id {question.id!r} (first on line {line_of[question.id]})")
        line_of[question.id] = lineno
        questions.append(question)
    if not questions:
        raise EvalError(f"{path}: no questions")
    by_id = {q.id: q for q in questions}
    for q in questions:
        seen = {q.id}
        current = q
        while current.follows is not None:
            if current.follows not in by_id:
                raise EvalError(f"{path}:{line_of[current.id]}: {current.id} follows unknown id {current.follows!r}")
            current = by_id[current.follows]
            if current.id in seen:
                raise EvalError(f"{path}:{line_of[q.id]}: {q.id} is part of a follow-up cycle")
            seen.add(current.id)
    return questions


def _question_from(raw: Any, where: str) -> Question:
    if not isinstance(raw, dict):
        raise EvalError(f"{where}: expected a JSON object, got {type(raw).__name__}")
    for name in ("id", "question", "kind"):
        if not isinstance(raw.get(name), str) or not raw[name].strip():
            raise EvalError(f"{where}: field {name!r} must be a non-empty string")
    lists = {}
    for name in ("relevant", "answer_contains"):
        value = raw.get(name, [])
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise EvalError(f"{where}: field {name!r} must be a list of strings")
        lists[name] = tuple(value)
    follows = raw.get("follows")
    if follows is not None and not isinstance(follows, str):
        raise EvalError(f"{where}: field 'follows' must be a question id")
    lang = raw.get("lang", "")
    if not isinstance(lang, str):
        raise EvalError(f"{where}: field 'lang' must be a string")
    return Question(
        id=raw["id"],
        question=raw["question"],
        kind=raw["kind"],
        lang=lang,
        relevant=tuple(release_name(r) for r in lists["relevant"]),
        answer_contains=lists["answer_contains"],
        follows=follows or None,
    )


def answer_order(questions: Sequence[Question]) -> list[Question]:
    """The questions in file order, except that a followed question always comes before its follow-ups."""
    by_id = {q.id: q for q in questions}
    done: set[str] = set()
    order: list[Question] = []

    def visit(q: Question) -> None:
        if q.id in done:
            return
        if q.follows:
            visit(by_id[q.follows])
        done.add(q.id)
        order.append(q)

    for q in questions:
        visit(q)
    return order


# --------------------------------------------------------------------------- metrics


def release_name(source: str) -> str:
    """A release's name for comparisons: the basename of its file (or of its URL's path)."""
    source = str(source).strip()
    parts = urlsplit(source)
    if parts.scheme in ("http", "https") and parts.netloc:
        return PurePosixPath(parts.path).name or parts.netloc
    return Path(source).name


def release_ranking(sources: Iterable[str]) -> list[str]:
    """Chunk sources, best first -> distinct releases, each at the rank of its best chunk."""
    return list(dict.fromkeys(release_name(s) for s in sources))


def hit_at(ranking: Sequence[str], relevant: Iterable[str], k: int = 1) -> float:
    relevant = set(relevant)
    return 1.0 if any(r in relevant for r in ranking[:k]) else 0.0


def recall_at(ranking: Sequence[str], relevant: Iterable[str], k: int = 5) -> float:
    relevant = set(relevant)
    if not relevant:
        raise ValueError("recall needs at least one relevant release")
    return len(relevant & set(ranking[:k])) / len(relevant)


def mrr_at(ranking: Sequence[str], relevant: Iterable[str], k: int = 10) -> float:
    """Reciprocal rank of the first relevant release within the top k (0 when none is)."""
    relevant = set(relevant)
    for rank, name in enumerate(ranking[:k], 1):
        if name in relevant:
            return 1.0 / rank
    return 0.0


def mean(values: Iterable[float | None]) -> float | None:
    present = [v for v in values if v is not None]
    return sum(present) / len(present) if present else None


@dataclass
class Outcome:
    """What one system did with one question."""

    question: Question
    ranking: list[str]  # distinct releases, best first
    answer: str
    cited: list[str]  # release names the answer cites
    found: bool  # False = the system said "not found"
    latency_ms: float
    cross_lang: bool = False
    short: str | None = None  # the short answer that leads the answer, if any

    def scores(self) -> dict[str, float | None]:
        """Per-question metrics; None where a metric does not apply to this question."""
        q = self.question
        relevant = set(q.relevant)
        return {
            "hit@1": hit_at(self.ranking, relevant, 1) if relevant else None,
            "recall@5": recall_at(self.ranking, relevant, 5) if relevant else None,
            "mrr@10": mrr_at(self.ranking, relevant, 10) if relevant else None,
            "contains": (1.0 if any(p in self.answer for p in q.answer_contains) else 0.0)
            if q.answer_contains
            else None,
            "cites": (1.0 if relevant & set(self.cited) else 0.0) if relevant else None,
            "abstain": (0.0 if self.found else 1.0) if not q.answerable else None,
            "false_abstain": (0.0 if self.found else 1.0) if q.answerable else None,
            "short": (1.0 if self.short else 0.0) if q.answer_contains and self.found else None,
            "short_ok": (1.0 if any(short_answer_holds(self.short, p) for p in q.answer_contains) else 0.0)
            if q.answer_contains and self.short
            else None,
            "length": float(len(self.answer)) if self.found else None,
        }

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.question.id,
            "kind": self.question.kind,
            "cross_lang": self.cross_lang,
            "follows": self.question.follows,
            "ranking": self.ranking[:10],
            "answer": self.answer,
            "cited": self.cited,
            "found": self.found,
            "short": self.short,
            "latency_ms": round(self.latency_ms, 2),
            **self.scores(),
        }


def short_answer_holds(short: str, phrase: str) -> bool:
    """A short answer holds an expected phrase when either contains the other ("Cavoli" / "General Cavoli")."""
    a, b = " ".join(short.casefold().split()), " ".join(phrase.casefold().split())
    return bool(a) and (b in a or (len(a) >= 4 and a in b))


def group_names(outcomes: Sequence[Outcome]) -> list[str]:
    kinds = [k for k in KIND_ORDER if any(o.question.kind == k for o in outcomes)]
    kinds += sorted({o.question.kind for o in outcomes} - set(KIND_ORDER))
    return kinds + ([CROSS_LANG] if any(o.cross_lang for o in outcomes) else []) + [ALL]


def in_group(outcome: Outcome, group: str) -> bool:
    return group == ALL or (group == CROSS_LANG and outcome.cross_lang) or outcome.question.kind == group


def aggregate(outcomes: Sequence[Outcome]) -> dict[str, float | int | None]:
    """Mean of each metric over the questions it applies to, plus latency percentiles."""
    scored = [o.scores() for o in outcomes]
    row: dict[str, float | int | None] = {"n": len(outcomes)}
    for name in _MEANS:
        row[name] = mean(s[name] for s in scored)
    row["length"] = percentile([s["length"] for s in scored if s["length"] is not None], 50)
    latencies = [o.latency_ms for o in outcomes]
    row["p50_ms"] = percentile(latencies, 50)
    row["p95_ms"] = percentile(latencies, 95)
    return row


def summarise(name: str, description: str, outcomes: Sequence[Outcome]) -> dict[str, Any]:
    """A system's block of the report: rows per group, and every question's details."""
    groups = {g: aggregate([o for o in outcomes if in_group(o, g)]) for g in group_names(outcomes)}
    return {"name": name, "description": description, "groups": groups, "questions": [o.to_dict() for o in outcomes]}


def is_cross_lang(question: Question, release_langs: dict[str, str]) -> bool:
    """Every relevant release (of known language) is in another language than the question."""
    langs = {release_langs[r] for r in question.relevant if r in release_langs}
    return bool(question.lang and langs and question.lang not in langs)


# --------------------------------------------------------------------------- systems


def evaluate(
    questions: Sequence[Question],
    settings: Any,
    *,
    k: int = CHUNKS_SEARCHED,
    release_langs: dict[str, str] | None = None,
    progress: Progress = lambda message: None,
) -> dict[str, Any]:
    """Ask the project's bot every question against the index in `settings`; the bot's block of the report."""
    from bot import answer as bot_answer
    from bot import default_bot
    from bot.query import prepare

    searcher = default_bot(settings).searcher
    if release_langs is None:
        release_langs = {
            release_name(m.get("source", "")): str(m.get("lang", "")) for m in searcher.cache.current().metadatas
        }
    by_id = {q.id: q for q in questions}
    histories: dict[str, list[dict[str, str]]] = {}
    answers: dict[str, str] = {}
    outcomes: dict[str, Outcome] = {}

    bot_answer(WARM_UP_QUESTION, settings=settings)  # loads models and caches: latencies are of a warm bot
    progress(f"asking the bot {len(questions)} questions")
    for q in answer_order(questions):
        history = None
        if q.follows:
            earlier = by_id[q.follows]
            history = [
                *histories[earlier.id],
                {"role": "user", "content": earlier.question},
                {"role": "assistant", "content": answers[earlier.id]},
            ]
        histories[q.id] = history or []
        start = time.perf_counter()
        reply = bot_answer(q.question, history, settings=settings)
        latency = (time.perf_counter() - start) * 1000
        if reply.mode == "error":
            raise EvalError(f"the bot could not search its temporary index: {reply.error}", exit_code=1)
        answers[q.id] = reply.text
        hits = searcher.search(prepare(q.question, history), k=k)
        outcomes[q.id] = Outcome(
            q,
            release_ranking(str(h.metadata.get("source", "")) for h in hits),
            reply.text,
            list(dict.fromkeys(release_name(c.source) for c in reply.citations)),
            reply.found,
            latency,
            is_cross_lang(q, release_langs),
            getattr(reply, "short", None),
        )
    mode = "LLM " + settings.llm if getattr(settings, "llm", None) else "extractive"
    report = summarise(
        "bot", f"the project's bot ({mode}), embeddings {searcher.stack_name}", [outcomes[q.id] for q in questions]
    )
    report["embeddings"] = searcher.stack_name
    return report


def evaluate_baseline(
    questions: Sequence[Question],
    baseline: Any,
    *,
    k: int = CHUNKS_SEARCHED,
    release_langs: dict[str, str] | None = None,
) -> dict[str, Any]:
    """A retrieval-only stack: its answer is its first chunk, cited by that chunk's source; it never abstains."""
    release_langs = release_langs or {}
    baseline.search(WARM_UP_QUESTION, k)
    outcomes = []
    for q in questions:
        start = time.perf_counter()
        documents = baseline.search(q.question, k)  # a follow-up is searched as it is: no conversation
        latency = (time.perf_counter() - start) * 1000
        ranking = release_ranking(str(d.metadata.get("source", "")) for d in documents)
        first = documents[0] if documents else None
        outcomes.append(
            Outcome(
                q,
                ranking,
                first.page_content if first else "",
                [release_name(first.metadata.get("source", ""))] if first else [],
                True,
                latency,
                is_cross_lang(q, release_langs),
            )
        )
    return summarise(baseline.name, baseline.description, outcomes)


# --------------------------------------------------------------------------- report


def format_report(report: dict[str, Any]) -> str:
    """The report as plain-text tables: a header line, then one block per system."""
    meta = report["meta"]
    lines = [header_line(meta)]
    for system in report["systems"]:
        lines += [
            "",
            f"{system['name']} — {system['description']}",
            _table_rule(),
            _table_row({key: label for key, label, _ in _COLUMNS}, "", True),
            _table_rule(),
        ]
        for group, row in system["groups"].items():
            if group == ALL:
                lines.append(_table_rule())
            lines.append(_table_row(row, group))
    lines += ["", *textwrap.wrap(_NOTES, width=len(_table_rule()))]
    return "\n".join(lines)


def header_line(meta: dict[str, Any]) -> str:
    return (
        f"benchmarks.eval · corpus {meta['corpus']} · {meta['questions']} questions · {meta['releases']} releases · "
        f"embeddings {meta['embeddings']} · {meta['date']} · {meta['processor']}, {meta['cpus']} CPUs"
    )


def _table_rule() -> str:
    return "-" * (12 + sum(width for _, _, width in _COLUMNS))


def _table_row(row: dict[str, Any], label: str, header: bool = False) -> str:
    cells = [f"{label:<12}"]
    for key, _, width in _COLUMNS:
        value = row.get(key)
        if header or isinstance(value, str):
            text = str(value)
        elif value is None:
            text = "–"
        elif key == "n":
            text = str(value)
        elif key.endswith("_ms"):
            text = f"{value:.0f}" if value >= 10 else f"{value:.1f}"
        else:
            text = f"{value:.2f}"
        cells.append(f"{text:>{width}}")
    return "".join(cells)


# --------------------------------------------------------------------------- command line


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.eval", description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "questions",
        nargs="?",
        help="question file (JSONL: id, question, lang, relevant, answer_contains, kind, follows)",
    )
    parser.add_argument("--corpus", metavar="DIR", help="folder of release files, indexed into a temporary index")
    parser.add_argument(
        "--set",
        nargs=3,
        action="append",
        default=[],
        metavar=("NAME", "QUESTIONS", "DIR"),
        dest="sets",
        help="a named question set and its corpus (repeatable; instead of QUESTIONS --corpus DIR)",
    )
    parser.add_argument("--json", metavar="PATH", help="also write every figure, per question too, as JSON")
    parser.add_argument("--no-baselines", action="store_true", help="measure the bot only")
    parser.add_argument(
        "--embeddings", default="bundled", help="embedding stack of the temporary index (default: bundled)"
    )
    parser.add_argument(
        "-k", type=int, default=CHUNKS_SEARCHED, help=f"chunks retrieved per question (default {CHUNKS_SEARCHED})"
    )
    return parser


def question_sets(args: argparse.Namespace) -> list[tuple[str, str, str]]:
    """(name, questions file, corpus folder) of every set asked for; EvalError for a usage mistake."""
    sets = [tuple(s) for s in args.sets]
    if args.questions or args.corpus:
        if not (args.questions and args.corpus):
            raise EvalError("give QUESTIONS with --corpus DIR (or use --set NAME QUESTIONS DIR)")
        sets.insert(0, (Path(args.questions).stem, args.questions, args.corpus))
    if not sets:
        raise EvalError("nothing to evaluate: give QUESTIONS --corpus DIR or --set NAME QUESTIONS DIR")
    names = [name for name, _, _ in sets]
    if len(set(names)) != len(names):
        raise EvalError(f"set names must differ: {', '.join(names)}")
    return sets  # type: ignore[return-value]


def _say(message: str) -> None:
    print(f"benchmarks.eval: {message}", file=sys.stderr, flush=True)


def _check_inputs(questions_path: str, corpus_dir: str, args: argparse.Namespace) -> tuple[list[Question], Path]:
    questions = load_questions(questions_path)
    corpus = Path(corpus_dir)
    if not corpus.is_dir():
        raise EvalError(f"corpus folder not found: {corpus}")
    if args.json:
        parent = Path(args.json).resolve().parent
        if not parent.is_dir():
            raise EvalError(f"cannot write --json {args.json}: folder {parent} does not exist")
    if args.k < 10:
        raise EvalError("-k must be at least 10 (MRR@10 needs 10 releases)")
    return questions, corpus.resolve()


def run(args: argparse.Namespace, questions_path: str, corpus_dir: str) -> dict[str, Any]:
    """Build the temporary index of one set, measure every system; that set's report as a dict."""
    questions, corpus = _check_inputs(
        questions_path, corpus_dir, args
    )  # before the heavy imports: bad input fails at once

    from bot import close_all
    from index.settings import Settings
    from index.store import release_clients
    from index.update import build

    from .baselines import build_baselines, read_releases

    releases, failures = read_releases(corpus)
    for failure in failures:
        _say(f"warning: {failure}")
    if not releases:
        raise EvalError(f"no readable release files in {corpus}")
    release_langs = {release_name(r.source): r.lang for r in releases}
    for q in questions:
        missing = [r for r in q.relevant if r not in release_langs]
        if missing:
            _say(f"warning: {q.id}: relevant release(s) not in the corpus: {', '.join(missing)}")

    home = Path(tempfile.mkdtemp(prefix="communique-eval-"))
    try:
        settings = Settings(
            home=home / "home",
            chroma_url=None,
            records_url=None,
            collection="eval",
            embeddings=args.embeddings,
            llm=None,
        )
        started = time.perf_counter()
        _say(f"indexing {len(releases)} releases into a temporary index")
        summary = build([str(corpus)], settings)
        for failure in summary.failures:
            _say(f"warning: {failure}")
        _say(f"indexed in {time.perf_counter() - started:.0f} s")
        systems = [evaluate(questions, settings, k=args.k, release_langs=release_langs, progress=_say)]
        stack = systems[0]["embeddings"]
    finally:
        close_all()
        release_clients()
        shutil.rmtree(home, ignore_errors=True)

    if not args.no_baselines:
        _say("building the baselines")
        for baseline in build_baselines(releases, on_skip=_say):
            _say(f"asking baseline {baseline.name}")
            systems.append(evaluate_baseline(questions, baseline, k=args.k, release_langs=release_langs))

    meta = {
        "corpus": str(corpus),
        "questions": len(questions),
        "releases": len(releases),
        "embeddings": stack,
        "date": datetime.now().astimezone().isoformat(timespec="seconds"),
        "processor": platform.processor() or platform.machine() or "unknown CPU",
        "cpus": os.cpu_count(),
        "chunks_searched": args.k,
    }
    return {"meta": meta, "systems": systems}


def main(argv: Sequence[str] | None = None) -> int:
    from index.store import StoreError

    args = _parser().parse_args(argv)
    try:
        sets = question_sets(args)
        for _, questions_path, corpus_dir in sets:  # every input checked before the first, slow, set runs
            _check_inputs(questions_path, corpus_dir, args)
        reports = {}
        for name, questions_path, corpus_dir in sets:
            _say(f"set {name}")
            reports[name] = run(args, questions_path, corpus_dir)
    except EvalError as exc:
        print(f"benchmarks.eval: error: {exc}", file=sys.stderr)
        return exc.exit_code
    except StoreError as exc:  # the temporary index could not be built or opened
        print(f"benchmarks.eval: error: {exc}", file=sys.stderr)
        return 1
    blocks = [
        (f"== set {name} ==\n" if len(reports) > 1 else "") + format_report(report) for name, report in reports.items()
    ]
    print("\n\n".join(blocks))
    if args.json:
        payload = next(iter(reports.values())) if len(reports) == 1 else {"sets": reports}
        Path(args.json).write_text(json.dumps(payload, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
