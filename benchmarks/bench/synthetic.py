"""The releases the bench indexes: the corpus copied into its temp folder, and synthetic copies of it.

Copy k of a corpus release keeps its title and body text byte for byte and gets a new source
path and a new publication date. Title and body are what the models read, so a copy costs no
model call (index.store.ChunkStore reuses the vectors stored for an identical text hash): an
index grown with copies measures the vector store and the record manager, not the models.
With `unique_text`, every paragraph starts with "[synthetic copy k]", so that the copy is new
text that must be embedded (the release added to measure "add 1").
"""

from __future__ import annotations

import re
import shutil
from collections.abc import Iterable, Sequence
from datetime import date as Date
from datetime import timedelta
from pathlib import Path
from typing import Any

from .errors import BenchError

SYNTHETIC_PREFIX = "synthetic"
_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


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


def typical_release(releases: Sequence[Any]) -> Any:
    """The release with the median chunk count (ties: the first): the one added to measure "add 1 release"."""
    from index.chunk import chunk_release

    counts = sorted((len(chunk_release(r)), i) for i, r in enumerate(releases))
    return releases[counts[(len(counts) - 1) // 2][1]]


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
