"""Keeps one Snapshot per index in step with Chroma, paying for what changed rather than for the index size.

* a new process starts from the snapshot file (bot/snapshot_file.py) of its index and
  catches up from the changes log (index/changes.py): a start costs reading one local
  file, not the whole collection;
* the collection's `generation` stamp is checked at most every `refresh_seconds`; when
  another process wrote, the log names the chunk ids it touched and only those are
  fetched (the ones gone from Chroma are dropped);
* the whole collection is read again only when the log cannot tell (no file, another
  collection, an index written before the log existed, a log trimmed past the
  snapshot), and the file is then rewritten in the background.
"""

from __future__ import annotations

import threading
import time
from pathlib import Path

from chromadb import Collection

from index import changes
from index.embed import SparseVector
from index.settings import Settings
from index.store import (
    DERIVED_KEYS,
    SPARSE_KEY,
    StoreError,
    documents_of,
    generation,
    get_client,
    metadatas_of,
    open_collection,
    reading_store,
)

from . import snapshot_file
from .snapshot import Chunks, Snapshot, shared_metadata

_PAGE = 1000  # chunks per Chroma read
_ID_PAGE = 10_000  # ids per listing page
SAVE_AFTER = 200  # chunks changed since the file was written before it is written again (also 1 % of the index)


class SnapshotCache:
    """One Snapshot per collection, refreshed incrementally and safely across threads."""

    def __init__(self, settings: Settings, stack_name: str) -> None:
        self.settings = settings
        self.stack_name = stack_name
        self.path: Path = snapshot_file.snapshot_path(settings, stack_name)
        self._snapshot = Snapshot()
        self._checked = 0.0
        self._lock = threading.Lock()
        self._attempts = 0  # refreshes tried, so that waiters can see one failed meanwhile
        self._failure: StoreError | None = None  # why the last refresh failed
        self._unsaved = 0  # chunks changed since the file was last written
        self._saver: threading.Thread | None = None
        self._to_save: Snapshot | None = None
        self._save_lock = threading.Lock()
        self.last_refresh = ""  # how the last refresh went ("file", "delta", "full"), for tests and the bench

    def invalidate(self) -> None:
        """Look at the store again on the next question (after a write made by this process)."""
        self._checked = 0.0

    def current(self) -> Snapshot:
        """The cached snapshot, refreshed first if another write happened since the last check."""
        if (
            self._checked
            and time.monotonic() - self._checked < self.settings.refresh_seconds
            and self._snapshot.generation
        ):
            return self._snapshot
        attempts = self._attempts
        # A waiter never queues for longer than one refresh may take (each server call has its deadline).
        if not self._lock.acquire(timeout=max(1.0, 3 * self.settings.chroma_timeout)):
            raise StoreError("the index server is too slow to answer (another refresh is still waiting for it)")
        try:
            if self._attempts != attempts:  # another thread refreshed while this one waited: share its outcome
                if self._failure is not None:
                    raise self._failure
                if self._snapshot.generation:
                    return self._snapshot
            self._attempts += 1
            try:
                collection = open_collection(self.settings, self.stack_name)
                stamp = generation(collection)
                if stamp != self._snapshot.generation:
                    with reading_store():
                        self._snapshot = self._refresh(collection, stamp)
            except StoreError as exc:
                self._failure = exc
                raise
            self._failure = None
            self._checked = time.monotonic()
            return self._snapshot
        finally:
            self._lock.release()

    def wait_saved(self) -> None:
        """Block until the snapshot file is written (tests; the process also waits for it at exit)."""
        saver = self._saver
        if saver is not None:
            saver.join()

    # -- refreshing
    def _refresh(self, collection: Collection, stamp: str) -> Snapshot:
        base = self._snapshot
        if not base.generation:  # first look in this process: start from the file, if it matches
            base = snapshot_file.load(self.path, str(collection.id)) or base
            if base.generation == stamp:
                self.last_refresh = "file"
                return base
        if base.generation and base.collection_id == str(collection.id):
            client = get_client(self.settings)
            found = changes.changes_since(client, collection, base.cursor, base.applied)
            if found is not None and not found.everything:
                return self._apply(collection, stamp, base, found)
        return self._full(collection, stamp)

    def _apply(self, collection: Collection, stamp: str, base: Snapshot, found: changes.Changes) -> Snapshot:
        """The base snapshot with the log's touched ids fetched again (those Chroma no longer has: deleted)."""
        added = _read(collection, sorted(found.ids))
        snap = base.edited(set(found.ids), added, generation=stamp, cursor=found.cursor, applied=found.entries)
        self.last_refresh = "delta"
        self._unsaved += len(found.ids)
        if self._unsaved >= max(SAVE_AFTER, len(snap) // 100):
            self._save_later(snap)
        return snap

    def _full(self, collection: Collection, stamp: str) -> Snapshot:
        """Every chunk read again (the log position first, so that a write landing meanwhile is applied later)."""
        cursor, entries = changes.newest_entry(get_client(self.settings), collection)
        ids: list[str] = []
        while True:
            page = collection.get(include=[], limit=_ID_PAGE, offset=len(ids))
            ids.extend(page["ids"])
            if len(page["ids"]) < _ID_PAGE:
                break
        snap = Snapshot().edited(
            set(),
            _read(collection, ids),
            generation=stamp,
            collection_id=str(collection.id),
            cursor=cursor,
            applied=entries,
        )
        self.last_refresh = "full"
        self._save_later(snap)
        return snap

    # -- the file
    def _save_later(self, snap: Snapshot) -> None:
        """Write the file in a background thread (the latest snapshot wins; the process waits for it at exit)."""
        with self._save_lock:
            self._unsaved = 0
            self._to_save = snap
            if self._saver is not None and self._saver.is_alive():
                return
            self._saver = threading.Thread(target=self._save_loop, name="snapshot-file", daemon=False)
            self._saver.start()

    def _save_loop(self) -> None:
        while True:
            with self._save_lock:
                snap, self._to_save = self._to_save, None
            if snap is None:
                return
            try:
                snapshot_file.save(snap, self.path)
            except OSError:
                pass  # a read-only home: every start reads Chroma, as before the file existed


def _read(collection: Collection, ids: list[str]) -> Chunks:
    """These chunks from Chroma, stored vectors decoded (ids Chroma does not hold are left out)."""
    out = Chunks([], [], [], [])
    for start in range(0, len(ids), _PAGE):
        page = collection.get(ids=ids[start : start + _PAGE], include=["documents", "metadatas"])
        for id_, text, meta in zip(page["ids"], documents_of(page), metadatas_of(page)):
            out.ids.append(id_)
            out.texts.append(text)
            out.metadatas.append(shared_metadata({k: v for k, v in meta.items() if k not in DERIVED_KEYS}))
            out.sparse.append(SparseVector.decode(str(meta[SPARSE_KEY])) if meta.get(SPARSE_KEY) else None)
    return out
