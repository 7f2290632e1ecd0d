"""`python -m bot "question"`: print the answer and its sources (for shells and scripts)."""
from __future__ import annotations

import argparse
import json
import re
import sys
from dataclasses import asdict
from datetime import date

from pydantic import ValidationError

from . import answer
from .present import neutralise_bidi


def _iso_date(text: str) -> str:
    """YYYY, YYYY-MM or YYYY-MM-DD naming a real day: a bad filter is a usage error, not an empty answer."""
    match = re.fullmatch(r"(\d{4})(?:-(\d{2})(?:-(\d{2}))?)?", text.strip())
    if match:
        year, month, day = match.groups()
        try:
            date(int(year), int(month or 1), int(day or 1))
            return text.strip()
        except ValueError:
            pass
    raise argparse.ArgumentTypeError(f"{text!r} is not a date: use YYYY, YYYY-MM or YYYY-MM-DD, e.g. 2024-06-30")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bot", description="Answer a question from the indexed NATO releases.")
    parser.add_argument("question")
    parser.add_argument("--lang", choices=["en", "fr"], help="only releases in this language")
    parser.add_argument("--from", dest="date_from", metavar="YYYY-MM-DD", type=_iso_date, help="only releases published on or after")
    parser.add_argument("--to", dest="date_to", metavar="YYYY-MM-DD", type=_iso_date, help="only releases published on or before")
    parser.add_argument("--json", action="store_true", help="print the Answer as JSON")
    args = parser.parse_args(argv)
    try:
        result = answer(args.question, lang=args.lang, date_from=args.date_from, date_to=args.date_to)
    except ValidationError as exc:   # a COMMUNIQUE_* variable that does not parse is a usage error
        for error in exc.errors():
            print(f"error: COMMUNIQUE_{str(error['loc'][0]).upper()}: {error['msg']}", file=sys.stderr)
        return 2
    except ValueError as exc:   # a malformed date filter, a question over the length cap
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


if __name__ == "__main__":
    raise SystemExit(main())
