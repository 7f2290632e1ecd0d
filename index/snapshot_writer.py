"""What a write leaves for the next reader: a snapshot file it can start from, close to what Chroma holds.

Without it, the first answering process after `index build` finds no file for the new
collection and reads all of it (10.5-12.9 s at 10,000 releases instead of ~2 s), and after
a bulk update it fetches most of the index by delta. So every build, update or remove that
changed something ends here, which costs reading the file's manifest and the changes log:

* the file matches the collection and is behind by fewer than `lag_allowed` chunks: it is
  left as it is, since a reader fetches what the log names in milliseconds (an update of a
  few releases pays nothing more; readers rewrite the file themselves once 1 % changed);
* otherwise (no file, a damaged or other-collection one, far behind, a log that cannot
  tell): it is brought up to date from itself by the log's delta when it can, else by a
  full read, and written atomically. That costs about the index size, paid after a write
  that was itself large, or once for an index that has no file yet.

The file is a cache (index/snapshot_file.py): Chroma stays the source of truth, and a reader
that finds the file stale, damaged or of another collection catches up or reads Chroma.
"""

from __future__ import annotations

import os
from typing import Literal

from . import snapshot_file
from .settings import Settings
from .snapshot_sync import apply_delta, full_read, pending
from .store import generation, open_collection, reading_store

LAG_CHUNKS = 200  # a file behind by fewer chunks than this (or than LAG_FRACTION of it) is left to readers
LAG_FRACTION = 0.1  # at 10,000 releases a reader pays ~0.9 s more for a 10 % delta; the writer ~2.1 s to write it

Outcome = Literal["fresh", "near", "updated", "written", "skipped"]


def lag_allowed(chunks: int) -> int:
    """How many changed chunks a file holding `chunks` may lag behind before a writer brings it up to date."""
    return max(LAG_CHUNKS, int(LAG_FRACTION * chunks))


def leave_snapshot(settings: Settings, stack_name: str) -> Outcome:
    """Make the snapshot file fit for the next reader of this index.

    "fresh": it matched already; "near": behind by less than `lag_allowed`, left for readers;
    "updated": caught up from itself by the log's delta; "written": rebuilt from a full read;
    "skipped": the cache folder cannot be written. StoreError if Chroma cannot be read, OSError
    if the file cannot be written (the caller reports either; the index itself is unaffected).
    """
    path = snapshot_file.snapshot_path(settings, stack_name)
    if not _writable_folder(path.parent):
        return "skipped"
    with reading_store():
        collection = open_collection(settings, stack_name)
        stamp = generation(collection)
        head = snapshot_file.manifest(path, str(collection.id))
        found = None
        if head is not None:
            if head.generation == stamp:
                return "fresh"
            found = pending(settings, collection, head)
            if found is not None and len(found.ids) < lag_allowed(head.chunks):
                return "near"
        base = snapshot_file.load(path, str(collection.id)) if found is not None else None
        if base is not None and found is not None:  # the log read once: the file's manifest and snapshot agree
            caught = apply_delta(collection, stamp, base, found)
        else:
            caught = full_read(settings, collection, stamp)
    snapshot_file.save(caught.snapshot, path)
    return "updated" if caught.how == "delta" else "written"


def _writable_folder(folder: os.PathLike[str]) -> bool:
    """The folder exists (made if need be) and can be written: else a write would only waste a full read."""
    try:
        os.makedirs(folder, exist_ok=True)
    except OSError:
        return False
    return os.access(folder, os.W_OK)
