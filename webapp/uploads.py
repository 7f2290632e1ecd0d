"""Uploaded release files: sanitised names under COMMUNIQUE_HOME/uploads (the same name again replaces the file);
inputs turned into update sources."""

from __future__ import annotations

import hashlib
import logging
import os
import re
import shutil
import threading
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from index.load import is_url
from index.release import Failure
from index.update import Summary

log = logging.getLogger("communique.app")

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
    """Copy an uploaded file under `uploads_dir` with a sanitised name.

    A file uploaded again under a name already in the uploads replaces it (the update then
    reports it as updated): a corrected release must not sit beside its stale version (issue 12.3).
    The same content again is reused (the update reports it unchanged).
    """
    safe = safe_upload_name(path.name)
    suffix = Path(safe).suffix
    if suffix not in UPLOAD_SUFFIXES:
        raise UploadRejected(f"unsupported file type {suffix or '(none)'}: upload {', '.join(UPLOAD_SUFFIXES)} files")
    size = path.stat().st_size
    if size > max_bytes:
        raise UploadRejected(
            f"the file is {_megabytes(size)}, larger than the {_megabytes(max_bytes)} limit (COMMUNIQUE_MAX_FILE_MB)"
        )
    folder = uploads_dir.resolve()
    folder.mkdir(parents=True, exist_ok=True)
    target = upload_target(path, folder)
    if target.exists() and not target.is_file():
        raise UploadRejected(f"{safe} exists in the uploads and is not a file")
    if target.is_file() and _sha256(target) == _sha256(path):
        return target  # already uploaded: the update reports it unchanged
    partial = folder / f".{safe}.{os.getpid()}.{threading.get_ident()}.partial"  # hidden: never read as a release
    try:
        shutil.copyfile(path, partial)
        os.replace(partial, target)  # atomic: a reader sees the old or the new release, never half of one
    finally:
        partial.unlink(missing_ok=True)
    return target


def upload_target(path: Path, uploads_dir: Path) -> Path:
    """Where store_upload puts this file (whether or not it is there yet)."""
    folder = uploads_dir.resolve()
    target = folder / safe_upload_name(path.name)
    if target.parent != folder:  # cannot happen with a sanitised name; never write elsewhere
        raise UploadRejected("invalid file name")
    return target


@dataclass
class Gathered:
    """What gather_sources made of the inputs: update sources, rejected inputs, and the uploads it created."""

    sources: list[str] = field(default_factory=list)
    rejected: list[Failure] = field(default_factory=list)
    created: set[str] = field(default_factory=set)  # stored uploads that were not in the uploads before

    def drop_new_uploads(self, sources: Iterable[str]) -> list[str]:
        """Delete those of these sources that are uploads created here (e.g. the ones that failed to index: they
        must not stay in uploads/); an upload that replaced an earlier file is kept. The paths deleted."""
        dropped = []
        for source in dict.fromkeys(sources):
            if source in self.created:
                Path(source).unlink(missing_ok=True)
                self.created.discard(source)
                dropped.append(source)
        return dropped


def gather_sources(files: Iterable[str] | None, urls: str | None, uploads_dir: Path, max_bytes: int) -> Gathered:
    """Uploads stored (see store_upload) and http(s) URLs, one per line ('#' comments skipped).

    And what was rejected."""
    gathered = Gathered()
    for file in files or []:
        path = Path(str(file))
        try:
            existed = upload_target(path, uploads_dir).exists()
            stored = str(store_upload(path, uploads_dir, max_bytes))
        except (UploadRejected, OSError) as exc:
            gathered.rejected.append(Failure(path.name, str(exc)))
            continue
        gathered.sources.append(stored)
        if not existed:
            gathered.created.add(stored)
        log.info("upload %s stored as %s", path.name, stored)
    for line in (urls or "").splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        if is_url(line):
            gathered.sources.append(line)
        else:
            gathered.rejected.append(Failure(line, "not an http(s) URL"))
    return gathered


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
