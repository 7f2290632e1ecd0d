"""Keeps the answering process's Snapshot in step with Chroma, safely across threads.

* a new process starts from the snapshot file (index/snapshot_file.py) of its index, which
  the last write left up to date or nearly (index/snapshot_writer.py), and catches up from
  the changes log: a start costs reading one local file, not the whole collection;
* the collection's `generation` stamp is checked at most every `refresh_seconds`; when
  another process wrote, only the chunk ids the log names are fetched (index/snapshot_sync.py);
* the whole collection is read again only when the log cannot tell (no file, another
  collection, an index written before the log existed, a log trimmed past the
  snapshot), and the file is then rewritten in the background, as it is once enough
  has changed since it was written.
"""

from __future__ import annotations

import threading
import time
from pathlib import Path

from chromadb import Collection

from index import snapshot_file
from index.settings import Settings
from index.snapshot import Snapshot
from index.snapshot_sync import CaughtUp, catch_up
from index.store import StoreError, generation, open_collection, reading_store

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
        caught = catch_up(self.settings, collection, stamp, base)
        self.last_refresh = caught.how
        self._keep(caught)
        return caught.snapshot

    def _keep(self, caught: CaughtUp) -> None:
        """Write the file again after a full read, or once enough has changed since it was written."""
        if caught.how == "full":
            self._save_later(caught.snapshot)
            return
        self._unsaved += caught.fetched
        if self._unsaved >= max(SAVE_AFTER, len(caught.snapshot) // 100):
            self._save_later(caught.snapshot)

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
