"""Build, update and remove: keep the Chroma collection in step with the given sources.

Bookkeeping goes through LangChain's indexing API (`langchain_core.indexing.index`
with a SQL record manager, sha256 keys): a chunk whose text and metadata did not
change is skipped, never re-embedded. Every write is an idempotent upsert keyed by
that hash, so an update killed half-way finishes cleanly when run again.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from langchain_core.documents import Document
from langchain_core.indexing import index as langchain_index

from .chunk import chunk_release
from .embed import load_stack, stack_name
from .file_records import FileRecords
from .load import is_url, list_release_files, read_sources
from .records import check_records, sources_of, write_stamp
from .release import Failure, FileState, Release, Skipped, Unchanged
from .settings import Settings
from .snapshot_writer import leave_snapshot
from .store import (
    ChunkStore,
    StoreError,
    check_writable,
    drop_collection,
    holding_index,
    indexed_sources,
    metadatas_of,
    open_collection,
    record_manager,
)

ProgressEvent = Literal["release", "embedded"]  # a release was read / a batch of chunks was embedded
Progress = Callable[[ProgressEvent, int], None]  # (event, amount)


@dataclass
class Summary:
    """What a run changed, counted in releases."""

    added: int = 0
    updated: int = 0
    unchanged: int = 0
    removed: int = 0
    failures: list[Failure] = field(default_factory=list)
    chunks_embedded: int = 0
    sentences_embedded: int = 0  # distinct sentences the model read (the others' vectors were reused)
    skipped: list[Skipped] = field(default_factory=list)  # not indexed on purpose (duplicates)
    warnings: list[str] = field(default_factory=list)

    def line(self) -> str:
        return (
            f"added {self.added}, updated {self.updated}, unchanged {self.unchanged}, "
            f"removed {self.removed}, failed {len(self.failures)}"
            + (f", skipped {len(self.skipped)}" if self.skipped else "")
        )


@holding_index  # the index is let go when the run ends (index.store.Connection)
def build(
    sources: Iterable[str], settings: Settings, *, reset: bool = False, progress: Progress | None = None
) -> Summary:
    """Make the index hold exactly these sources (cleanup "full").

    A source that fails to read keeps what the index already held for it: its stored
    chunks are fed back unchanged, so "full" cleanup does not delete them. For a folder
    that cannot be read (moved, unmounted, mistyped) that is every release indexed from under it.
    """
    check_writable(settings)
    if reset:
        drop_collection(settings)
        _reset_records(settings)
    return _leave_snapshot(settings, _run(list(sources), settings, mode="full", progress=progress))


@holding_index  # the index is let go when the run ends (index.store.Connection)
def update(
    sources: Iterable[str],
    settings: Settings,
    *,
    prune: bool = False,
    progress: Progress | None = None,
    refuse_private_urls: bool = False,
) -> Summary:
    """Add new and changed releases, keep the rest; with `prune`, drop files gone from the given folders.

    `refuse_private_urls` is for URLs given by others (an app open beyond localhost): internal addresses fail.
    """
    sources = list(sources)
    check_writable(settings)
    summary = _run(
        sources,
        settings,
        mode="scoped_full",
        progress=progress,
        refuse_private=refuse_private_urls and not settings.allow_private_urls,
    )
    if prune:
        folders = [Path(s).resolve() for s in sources if not is_url(s) and Path(s).is_dir()]
        present = {str(p.resolve()) for folder in folders for p in list_release_files(folder)}
        unread = [f.source for f in summary.failures if os.path.isabs(f.source)]  # kept: not known to be gone
        gone = [
            s
            for s in indexed_sources(record_manager(settings))
            if any(_is_under(s, folder) for folder in folders)
            and s not in present
            and not any(s == u or _is_under(s, Path(u)) for u in unread)
        ]
        summary.removed += _remove(gone, settings).removed
    return _leave_snapshot(settings, summary)


@holding_index  # the index is let go when the run ends (index.store.Connection)
def remove(sources: Iterable[str], settings: Settings) -> Summary:
    """Drop releases by source; a folder drops every release indexed from under it."""
    check_writable(settings)
    return _leave_snapshot(settings, _remove(sources, settings))


# --------------------------------------------------------------------------- internals


def _remove(sources: Iterable[str], settings: Settings) -> Summary:
    manager = record_manager(settings)
    known: set[str] | None = None  # every source, listed only for a source that may hold others (a folder)
    targets: set[str] = set()
    summary = Summary()
    for source in sources:
        one = _one_source(source)
        if one is not None:  # a URL or a file: its own records only (removing 1 of 30,000 need not list them all)
            matches = indexed_sources(manager, among=[one])
        else:
            known = indexed_sources(manager) if known is None else known
            matches = _sources_matching(source, known)
        if not matches:
            summary.failures.append(Failure(source, "symlink loop" if _is_loop(source) else "not in the index"))
        targets |= matches
    if targets:
        store = _store(settings)
        keys = manager.list_keys(group_ids=sorted(targets))
        store.delete(keys)
        manager.delete_keys(keys)
        FileRecords(manager).forget(targets)
        summary.removed = len(targets)
    return summary


def _leave_snapshot(settings: Settings, summary: Summary) -> Summary:
    """After a run that changed the index, leave the next reader a snapshot file to start from (a cache: a
    failure only costs that reader a full read, and is reported as a warning)."""
    if summary.added or summary.updated or summary.removed:
        try:
            leave_snapshot(settings, stack_name(settings.embeddings))
        except (StoreError, OSError) as exc:
            summary.warnings.append(f"the answering snapshot was not written ({exc}): the next answer reads the index")
    return summary


def _run(
    sources: list[str],
    settings: Settings,
    *,
    mode: Literal["full", "scoped_full"],
    progress: Progress | None,
    refuse_private: bool = False,
) -> Summary:
    progress = progress or (lambda event, n: None)
    store = _store(settings, on_embedded=lambda n: progress("embedded", n))
    manager = record_manager(settings)
    files = FileRecords(manager)
    summary = Summary()
    _trust_only_what_chroma_holds(store, manager, files, summary)
    paths = _local_paths(sources)
    before = indexed_sources(manager, among=_files_only(sources, paths) if mode == "scoped_full" else None)
    recorded = files.load(paths)
    read: dict[str, FileState] = {}  # the files read this run, as they were read
    seen: list[str] = []
    release_keys: dict[str, str] = {}  # of the releases chunked this run
    unchanged: list[str] = []  # files whose bytes are those indexed: not parsed
    to_feed: list[str] = []  # unchanged files whose stored chunks a build has still to feed back
    already_indexed: list[str] = []  # feed items not fetched again

    def is_known(source: str) -> bool:
        if source in before:
            already_indexed.append(source)
            return True
        return False

    def indexed_key(state: FileState) -> str | None:
        """The release key recorded for exactly these bytes of an indexed file (then it is not parsed)."""
        read[state.source] = state
        row = recorded.get(state.source)
        return row.release_key if row is not None and state.source in before and row.holds(state) else None

    def indexed_copy(release: Release) -> str | None:
        """Where the index holds this release already (an update must not add it again under another name)."""
        if mode == "full":  # a build replaces the index: only copies within its own sources count
            return None
        found = store.collection.get(where={"release_key": release.release_key}, include=["metadatas"])
        held = {str(meta.get("source")) for meta in metadatas_of(found)}
        return release.source if release.source in held else min(held, default=None)

    def documents() -> Iterator[Document]:
        items = read_sources(
            sources,
            max_bytes=int(settings.max_file_mb * 1_000_000),
            timeout=settings.fetch_timeout,
            is_known=is_known,
            indexed_copy=indexed_copy,
            feed_budget=settings.feed_budget,
            refuse_private=refuse_private,
            unchanged=indexed_key,
        )
        for item in items:
            progress("release", 1)
            if isinstance(item, Skipped):
                summary.skipped.append(item)
                continue
            if isinstance(item, Unchanged):
                unchanged.append(item.source)
                if mode == "full":  # what is not fed to a build is deleted: feed its stored chunks, as indexed
                    to_feed.append(item.source)
                    if len(to_feed) >= _STORED_PAGE:
                        yield from store.documents_of(to_feed)
                        to_feed.clear()
                continue
            chunks = [] if isinstance(item, Failure) else chunk_release(item)
            if not isinstance(item, Failure) and len(chunks) > settings.max_chunks_per_release:
                item = Failure(
                    item.source,
                    f"too many passages ({len(chunks)}, limit {settings.max_chunks_per_release}, "
                    f"COMMUNIQUE_MAX_CHUNKS_PER_RELEASE): split the file or raise the limit",
                )
            if isinstance(item, Failure):
                summary.failures.append(item)
                if mode == "full":  # keep what the index held for it (a missing folder: all it held)
                    held = {item.source} if is_url(item.source) else _sources_matching(item.source, before)
                    yield from store.documents_of(sorted(held))
                continue
            if item.source in recorded:  # indexed anew: its row is written again once its chunks are recorded
                files.forget([item.source])
            seen.append(item.source)
            release_keys[item.source] = item.release_key
            yield from (chunk.to_document() for chunk in chunks)
        if mode == "full":  # the last unchanged files, and feed items skipped because already indexed
            yield from store.documents_of(to_feed)
            yield from store.documents_of(already_indexed)

    result = langchain_index(
        documents(), manager, store, cleanup=mode, source_id_key="source", key_encoder="sha256", batch_size=64
    )
    del result  # chunk-level counts; releases are counted from the store's journal below
    current = set(seen)
    files.forget((store.deleted_sources - current) - set(unchanged))  # dropped by a build's cleanup
    files.remember((read[s], release_keys[s]) for s in dict.fromkeys(seen) if s in read)
    for source in dict.fromkeys(seen):
        changed = source in store.written_sources or source in store.deleted_sources
        if source not in before:
            summary.added += 1
        elif changed:
            summary.updated += 1
        else:
            summary.unchanged += 1
    summary.unchanged += len(set(unchanged) - current)
    summary.unchanged += len(set(already_indexed) - current)
    summary.removed = len((store.deleted_sources - current) - store.written_sources - set(already_indexed))
    summary.chunks_embedded = store.embedded_count
    summary.sentences_embedded = store.sentences_embedded
    return summary


_STORED_PAGE = 64  # unchanged files whose stored chunks a build reads from Chroma at once


def _trust_only_what_chroma_holds(store: ChunkStore, manager: object, files: FileRecords, summary: Summary) -> None:
    """Forget records of chunks Chroma does not hold, so that this run embeds them again (see index.records)."""
    check = check_records(store.collection, manager)
    if not check.ok:
        lost = sources_of(manager, check.missing)
        files.forget(lost)  # their files are parsed again, their missing chunks found
        manager.delete_keys(sorted(check.missing))  # type: ignore[attr-defined]
        summary.warnings.append(
            f"the record manager listed {len(check.missing)} chunks of {len(lost)} releases that Chroma "
            f"does not hold (data lost, swapped or restored apart): they are indexed again when among the sources"
        )
    write_stamp(manager, store.collection)


def _store(settings: Settings, on_embedded: Callable[[int], None] | None = None) -> ChunkStore:
    collection = open_collection(
        settings, stack_name(settings.embeddings), create=True
    )  # refuse a mismatch before loading a model
    return ChunkStore(collection, load_stack(settings.embeddings), on_embedded=on_embedded)


def _reset_records(settings: Settings) -> None:
    manager = record_manager(settings)
    keys = manager.list_keys()
    if keys:
        manager.delete_keys(keys)
    FileRecords(manager).clear()


def _local_paths(sources: list[str]) -> list[Path]:
    """The files and folders among the sources (str or Path), as read_sources resolves them."""
    paths = []
    for source in (str(s).strip() for s in sources):
        if source and not is_url(source):
            try:
                paths.append(Path(source).expanduser().resolve())
            except (RuntimeError, OSError):  # a symlink loop: read_sources reports it
                continue
    return paths


def _files_only(sources: list[str], paths: list[Path]) -> set[str] | None:
    """The sources as read_sources names them, when each is one local file (an update of a few files asks the
    records about those alone); None when a folder, URL or feed may name others (then every source is listed)."""
    if len(paths) != len(sources) or len(paths) > _FEW_FILES or not all(p.is_file() for p in paths):
        return None
    return {str(p) for p in paths}


_FEW_FILES = 1000  # files given one by one up to which an update looks up only their records


def _is_under(source: str, folder: Path) -> bool:
    return not is_url(source) and os.path.commonpath([source, str(folder)]) == str(folder)


def _one_source(source: str) -> str | None:
    """The one source a URL or a file names, as indexed; None when it may name others (a folder, a missing path)."""
    if is_url(source):
        return source
    try:
        path = Path(source).resolve()
    except (RuntimeError, OSError):
        return None
    return str(path) if path.is_file() else None


def _sources_matching(source: str, known: set[str]) -> set[str]:
    try:
        path = Path(source).resolve()
    except (RuntimeError, OSError):  # a symlink loop names nothing that can be indexed
        return {source} & known
    return {s for s in known if s == str(path) or (not is_url(s) and _is_under(s, path))}


def _is_loop(source: str) -> bool:
    try:
        Path(source).resolve()
    except RuntimeError:
        return True
    except OSError:
        return False
    return False
