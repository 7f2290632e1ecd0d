"""`python -m benchmarks.bench`: the command line (flags, exit codes) over the profile run and the report."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from pathlib import Path

from .errors import BenchError
from .phases import run_phase_here
from .profile import (
    ADD_REPEATS,
    FULL_PASSES,
    FULL_QUESTIONS,
    FULL_SIZES,
    QUICK_QUESTIONS,
    QUICK_SIZES,
    TIME_BUDGET,
    TINY_FILES,
    TINY_QUESTIONS,
    TINY_SIZES,
    run,
)
from .report import format_report, format_table
from .runner import PROJECT_ROOT, terminate_as_exit

DEFAULT_CORPUS = PROJECT_ROOT.parent / "shared" / "corpus"
DEFAULT_QUESTIONS = PROJECT_ROOT.parent / "shared" / "dev-questions.jsonl"


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks.bench",
        description="how fast this machine indexes and answers, measured the way a user runs it",
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
        nargs="+",
        type=lambda s: [int(x) for x in s.split(",") if x.strip()],
        help=f"index sizes N, comma- or space-separated (default {','.join(map(str, FULL_SIZES))})",
    )
    parser.add_argument(
        "--modes", type=lambda s: [x.strip() for x in s.split(",") if x.strip()], help="embedded,server (default both)"
    )
    parser.add_argument(
        "--max-questions", type=int, help=f"answer this many questions, spread over the file (default {FULL_QUESTIONS})"
    )
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
            "seconds; a size N>=1000 is skipped if, at the pace measured so far (this mode's last size, "
            "the previous mode), it would overrun (default %(default)g)"
        ),
    )
    parser.add_argument(
        "--keep", action="store_true", help="keep the temporary folder (indexes, logs, synthetic releases)"
    )
    parser.add_argument("--phase", nargs=3, metavar=("NAME", "PARAMS", "OUT"), help=argparse.SUPPRESS)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    if args.sizes:
        args.sizes = [n for group in args.sizes for n in group]
    if args.phase:
        return run_phase_here(*args.phase)
    for mode in args.modes or []:
        if mode not in ("embedded", "server"):
            print(f"error: unknown mode {mode!r} (embedded, server)", file=sys.stderr)
            return 2

    def say(message: str) -> None:
        print(message, file=sys.stderr, flush=True)

    try:
        with terminate_as_exit():
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
