"""Uploaded release files: sanitised, unique names under COMMUNIQUE_HOME/uploads; inputs turned into update sources."""
from __future__ import annotations

import hashlib
import itertools
import re
import shutil
import unicodedata
from collections.abc import Iterable
from pathlib import Path

from index.load import is_url
from index.release import Failure
from index.update import Summary

UPLOAD_SUFFIXES = (".txt", ".md", ".html", ".htm", ".pdf")


class UploadRejected(ValueError):
    """An uploaded file that is not stored; the message is the reason."""


def safe_upload_name(name: str) -> str:
    """A file name safe to create under the uploads folder: basename only, ASCII letters, digits, . _ -."""
    base = re.split(r"[\\/]", str(name))[-1]
    base = unicodedata.normalize("NFKD", base).encode("ascii", "ignore").decode("ascii")
    base = re.sub(r"[^A-Za-z0-9._-]+", "_", base)
    base = re.sub(r"\.{2,}", ".", base).strip("._-")
    stem, dot, suffix = base.rpartition(".")
    if not dot:
        stem, suffix = base, ""
    stem = stem.strip("._-")[:80] or "release"
    return f"{stem}.{suffix.lower()[:10]}" if suffix else stem


def store_upload(path: Path, uploads_dir: Path, max_bytes: int) -> Path:
    """Copy an uploaded file under `uploads_dir` with a sanitised, unique name; the same file uploaded again is reused."""
    safe = safe_upload_name(path.name)
    suffix = Path(safe).suffix
    if suffix not in UPLOAD_SUFFIXES:
        raise UploadRejected(f"unsupported file type {suffix or '(none)'}: upload {', '.join(UPLOAD_SUFFIXES)} files")
    size = path.stat().st_size
    if size > max_bytes:
        raise UploadRejected(f"the file is {_megabytes(size)}, larger than the {_megabytes(max_bytes)} limit (COMMUNIQUE_MAX_FILE_MB)")
    folder = uploads_dir.resolve()
    folder.mkdir(parents=True, exist_ok=True)
    digest = _sha256(path)
    stem = Path(safe).stem
    for i in itertools.count(1):
        candidate = folder / (safe if i == 1 else f"{stem}-{i}{suffix}")
        if candidate.parent != folder:   # cannot happen with a sanitised name; never write elsewhere
            raise UploadRejected("invalid file name")
        if candidate.exists():
            if candidate.is_file() and _sha256(candidate) == digest:
                return candidate     # already uploaded: the update reports it unchanged
            continue
        try:
            with open(path, "rb") as src, open(candidate, "xb") as out:
                shutil.copyfileobj(src, out)
        except FileExistsError:
            continue
        return candidate
    raise AssertionError("unreachable")


def gather_sources(files: Iterable[str] | None, urls: str | None, uploads_dir: Path,
                   max_bytes: int) -> tuple[list[str], list[Failure]]:
    """Uploads stored (see store_upload) and http(s) URLs, one per line ('#' comments skipped); and what was rejected."""
    sources: list[str] = []
    rejected: list[Failure] = []
    for file in files or []:
        path = Path(str(file))
        try:
            sources.append(str(store_upload(path, uploads_dir, max_bytes)))
        except (UploadRejected, OSError) as exc:
            rejected.append(Failure(path.name, str(exc)))
    for line in (urls or "").splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        if is_url(line):
            sources.append(line)
        else:
            rejected.append(Failure(line, "not an http(s) URL"))
    return sources, rejected


def summary_text(summary: Summary, uploads_dir: Path) -> str:
    """The summary line, then one line per failed source (uploads named by their stored file name)."""
    lines = [summary.line()]
    for failure in summary.failures:
        lines.append(f"failed {display_source(failure.source, uploads_dir)}: {failure.reason}")
    return "\n".join(lines)


def display_source(source: str, uploads_dir: Path) -> str:
    """A URL as is; an upload by its name under the uploads folder; any other file as its path."""
    if is_url(source):
        return source
    try:
        return str(Path(source).resolve().relative_to(uploads_dir.resolve()))
    except (ValueError, OSError):
        return source


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def _megabytes(n: float) -> str:
    return f"{n / 1_000_000:.3g} MB"
