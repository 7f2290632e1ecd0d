"""`python -m bot "question"`: print the answer and its sources (for shells and scripts).

`python -m bot feedback export [--json|--csv] [-o FILE]`: write out the app's answer ratings.
"""

from __future__ import annotations

import argparse
import json
import sys
from dataclasses import asdict
from pathlib import Path

from pydantic import ValidationError

from index.dates import date_bound

from .citations import neutralise_bidi


def _iso_date(text: str) -> str:
    """YYYY, YYYY-MM or YYYY-MM-DD naming a real day: a bad filter is a usage error, not an empty answer."""
    try:
        date_bound(text)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"{text!r} is not a date: use YYYY, YYYY-MM or YYYY-MM-DD, e.g. 2024-06-30"
        ) from None
    return text.strip()


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["feedback"]:
        return feedback_main(argv[1:])
    return ask_main(argv)


def ask_main(argv: list[str]) -> int:
    """Answer one question."""
    from . import answer

    parser = argparse.ArgumentParser(
        prog="python -m bot",
        description="Answer a question from the indexed NATO releases. "
        "(`python -m bot feedback export` writes out the app's answer ratings.)",
    )
    parser.add_argument("question")
    parser.add_argument("--lang", choices=["en", "fr"], help="only releases in this language")
    parser.add_argument(
        "--from", dest="date_from", metavar="YYYY-MM-DD", type=_iso_date, help="only releases published on or after"
    )
    parser.add_argument(
        "--to", dest="date_to", metavar="YYYY-MM-DD", type=_iso_date, help="only releases published on or before"
    )
    parser.add_argument("--json", action="store_true", help="print the Answer as JSON")
    args = parser.parse_args(argv)
    try:
        result = answer(args.question, lang=args.lang, date_from=args.date_from, date_to=args.date_to)
    except ValidationError as exc:  # a COMMUNIQUE_* variable that does not parse is a usage error
        for error in exc.errors():
            print(f"error: COMMUNIQUE_{str(error['loc'][0]).upper()}: {error['msg']}", file=sys.stderr)
        return 2
    except ValueError as exc:  # a malformed date filter, a question over the length cap
        print(f"error: {exc}", file=sys.stderr)
        return 2
    if args.json:
        print(json.dumps(asdict(result), ensure_ascii=False, indent=2))
    else:
        print(neutralise_bidi(result.text))
        for c in result.citations:
            where = c.url or c.source
            print(neutralise_bidi(f"\n[{c.n}] {c.title} ({c.date or 'undated'}, {c.lang}) {where}"))
            print("    " + neutralise_bidi(" ".join(c.text.split())[:400]))
    if result.mode == "error":
        return 1
    return 0


def feedback_main(argv: list[str]) -> int:
    """Export the ratings given in the app."""
    from index.settings import get_settings

    from .feedback import FeedbackStore, export

    parser = argparse.ArgumentParser(prog="python -m bot feedback", description="The answer ratings given in the app.")
    commands = parser.add_subparsers(dest="command", required=True)
    cmd = commands.add_parser("export", help="write every rating (question, answer, citations, mode, time, comment)")
    fmt = cmd.add_mutually_exclusive_group()
    fmt.add_argument("--json", dest="fmt", action="store_const", const="json", help="a JSON list (default)")
    fmt.add_argument("--csv", dest="fmt", action="store_const", const="csv", help="CSV, citations as a JSON column")
    cmd.add_argument("-o", "--output", type=Path, help="write to this file instead of stdout")
    args = parser.parse_args(argv)
    store = FeedbackStore.for_settings(get_settings())
    try:
        text = export(store.rows(), args.fmt or "json")
    finally:
        store.close()
    if args.output:
        args.output.write_text(text, encoding="utf-8")
    else:
        sys.stdout.write(text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
