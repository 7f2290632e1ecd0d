"""`python -m bot "question"`: print the answer and its sources (for shells and scripts)."""
from __future__ import annotations

import argparse
import json
import sys
from dataclasses import asdict

from . import answer


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bot", description="Answer a question from the indexed NATO releases.")
    parser.add_argument("question")
    parser.add_argument("--lang", choices=["en", "fr"], help="only releases in this language")
    parser.add_argument("--from", dest="date_from", metavar="YYYY-MM-DD", help="only releases published on or after")
    parser.add_argument("--to", dest="date_to", metavar="YYYY-MM-DD", help="only releases published on or before")
    parser.add_argument("--json", action="store_true", help="print the Answer as JSON")
    args = parser.parse_args(argv)
    try:
        result = answer(args.question, lang=args.lang, date_from=args.date_from, date_to=args.date_to)
    except ValueError as exc:   # a malformed date filter
        print(f"error: {exc}", file=sys.stderr)
        return 2
    if args.json:
        print(json.dumps(asdict(result), ensure_ascii=False, indent=2))
    else:
        print(result.text)
        for c in result.citations:
            where = c.url or c.source
            print(f"\n[{c.n}] {c.title} ({c.date or 'undated'}, {c.lang}) {where}")
            print("    " + " ".join(c.text.split())[:400])
    if result.mode == "error":
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
