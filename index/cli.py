"""`python -m index build|update|status|list|remove`: the command line over index.update."""

from __future__ import annotations

import argparse
import errno
import os
import sys
from pathlib import Path

from pydantic import ValidationError
from tqdm import tqdm

from .catalog import list_releases
from .errors import CommuniqueError
from .listing import date_prefix, release_lines, releases_json
from .load import is_url, list_release_files
from .settings import Settings, get_settings
from .status import index_status
from .update import ProgressEvent, Summary, build, remove, update


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m index", description="Index NATO communiqués for the question-answering bot."
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    p = commands.add_parser("build", help="make the index hold exactly these sources (default: COMMUNIQUE_CORPUS)")
    p.add_argument("sources", nargs="*", metavar="SOURCE", help="file, folder, release URL or RSS/Atom feed URL")
    p.add_argument(
        "--reset", action="store_true", help="drop the existing index first (e.g. to change embedding model)"
    )
    p = commands.add_parser("update", help="add new and changed releases, keep the rest")
    p.add_argument("sources", nargs="*", metavar="SOURCE")
    p.add_argument("--prune", action="store_true", help="also drop releases that disappeared from the given folders")
    p = commands.add_parser("status", help="what the index holds")
    p.add_argument("--undated", action="store_true", help="also list the releases that have no date")
    p = commands.add_parser("list", help="the indexed releases: date, date source, language, chunks, title, source")
    p.add_argument("--lang", help="only this language (en, fr)")
    p.add_argument(
        "--from", dest="date_from", type=date_prefix, metavar="DATE", help="dated on or after DATE (YYYY[-MM[-DD]])"
    )
    p.add_argument(
        "--to", dest="date_to", type=date_prefix, metavar="DATE", help="dated on or before DATE (YYYY[-MM[-DD]])"
    )
    p.add_argument("--json", action="store_true", help="print JSON instead of a table")
    p = commands.add_parser("remove", help="drop releases (a folder drops everything indexed from under it)")
    p.add_argument("sources", nargs="+", metavar="SOURCE")
    return parser


def main(argv: list[str] | None = None, settings: Settings | None = None) -> int:
    args = _parser().parse_args(argv)
    os.environ.setdefault("OMP_NUM_THREADS", str(os.cpu_count() or 1))  # indexing may use every core (index.embed)
    try:
        settings = settings or get_settings()
    except ValidationError as exc:  # a COMMUNIQUE_* variable that does not parse is a usage error
        for error in exc.errors():
            print(f"error: COMMUNIQUE_{str(error['loc'][0]).upper()}: {error['msg']}", file=sys.stderr)
        return 2
    try:
        if args.command == "status":
            print("\n".join(index_status(settings).lines()))
            if args.undated:
                print("\n" + "\n".join(release_lines([r for r in list_releases(settings) if r.date is None])))
            return 0
        if args.command == "list":
            found = list_releases(settings, lang=args.lang, date_from=args.date_from, date_to=args.date_to)
            print(releases_json(found) if args.json else "\n".join(release_lines(found)))
            return 0
        if args.command == "remove":
            return _report(remove(args.sources, settings))
        sources = args.sources or list(settings.corpus)
        with _progress_bar(sources) as bar:
            embedded = 0

            def progress(event: ProgressEvent, n: int) -> None:
                nonlocal embedded
                if event == "release":
                    bar.update(n)
                else:
                    embedded += n
                    bar.set_postfix_str(f"{embedded} chunks embedded")

            if args.command == "build":
                summary = build(sources, settings, reset=args.reset, progress=progress)
            else:
                summary = update(sources, settings, prune=args.prune, progress=progress)
        return _report(summary)
    except CommuniqueError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        print("interrupted: run the same command again to finish", file=sys.stderr)
        return 130
    except Exception as exc:  # disk full, a server gone mid-write...: one line, never a traceback
        print(f"error: {_unexpected(exc, settings)}", file=sys.stderr)
        return 1


def _unexpected(exc: BaseException, settings: Settings) -> str:
    """One line for an error no check foresaw, naming the likely cause and the fix."""
    text = " ".join(str(exc).split())[:300] or type(exc).__name__
    where = settings.chroma_url or str(settings.home)
    chain = [exc, *(e for e in (exc.__cause__, exc.__context__) if e is not None)]
    if any(isinstance(e, OSError) and e.errno in (errno.ENOSPC, errno.EFBIG, errno.EDQUOT) for e in chain) or any(
        marker in text.lower()
        for marker in ("disk is full", "no space left", "compaction", "file too large", "disk i/o error")
    ):
        return (
            f"cannot write the index in {where}: {text} — the disk may be full: free space, then run the same "
            f"command again (what was indexed before is kept)"
        )
    return (
        f"the command stopped on {type(exc).__name__}: {text} — run it again; if it persists, check {where} "
        f"(what was indexed before is kept)"
    )


def _progress_bar(sources: list[str]) -> tqdm:
    """A releases bar on stderr; its total is known when no source is a URL (feeds have unknown length)."""
    total: int | None = None
    count = 0
    for source in sources:
        if is_url(source):
            break
        path = Path(source)
        count += len(list_release_files(path)) if path.is_dir() else 1
    else:
        total = count
    return tqdm(total=total, unit="release", file=sys.stderr, dynamic_ncols=True, mininterval=0.3)


def _report(summary: Summary) -> int:
    for warning in summary.warnings:
        print(f"warning: {warning}", file=sys.stderr)
    for failure in [*summary.failures, *summary.skipped]:
        print(str(failure), file=sys.stderr)
    print(summary.line())
    return 1 if summary.failures else 0
