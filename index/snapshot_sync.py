"""Bring a Snapshot in step with Chroma, paying for what changed rather than for the index size.

From a snapshot of the same collection, the changes log (index/changes.py) names the
chunk ids written since its cursor: only those are fetched (the ones Chroma no longer
holds are dropped). When the log cannot tell (another collection, no snapshot, an index
written before the log existed, a log trimmed past the snapshot, a write that logged
"anything"), every chunk is read again. Readers (bot.snapshot_cache) and writers
(index.snapshot_writer) both catch up this way, so a file either of them leaves is one the
other can continue from.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal, Protocol

from chromadb import Collection

from . import changes, stored_vectors
from .settings import Settings
from .snapshot import Chunks, Snapshot, shared_metadata
from .store import DERIVED_KEYS, documents_of, get_client, metadatas_of

_PAGE = 1000  # chunks per Chroma read
_ID_PAGE = 10_000  # ids per listing page


@dataclass(frozen=True)
class CaughtUp:
    """A snapshot at the collection's current generation, and how it got there."""

    snapshot: Snapshot
    how: Literal["delta", "full"]
    fetched: int  # chunk ids fetched from Chroma (a full read: every chunk)


class Position(Protocol):
    """Where a snapshot (or a file's manifest) stands against its collection and the changes log."""

    @property
    def generation(self) -> str: ...
    @property
    def collection_id(self) -> str: ...
    @property
    def cursor(self) -> float: ...
    @property
    def applied(self) -> frozenset[str]: ...


def pending(settings: Settings, collection: Collection, base: Position) -> changes.Changes | None:
    """What the log says was written since `base` (None: it cannot tell, so only a full read will do)."""
    if not base.generation or base.collection_id != str(collection.id):
        return None
    found = changes.changes_since(get_client(settings), collection, base.cursor, base.applied)
    return None if found is None or found.everything else found


def catch_up(settings: Settings, collection: Collection, stamp: str, base: Snapshot) -> CaughtUp:
    """`base` brought to generation `stamp`: by the log's delta when it can tell, else by a full read."""
    found = pending(settings, collection, base)
    return apply_delta(collection, stamp, base, found) if found is not None else full_read(settings, collection, stamp)


def apply_delta(collection: Collection, stamp: str, base: Snapshot, found: changes.Changes) -> CaughtUp:
    """`base` with the chunks the log names (`pending` of base) fetched again; those Chroma no longer has dropped."""
    added = read_chunks(collection, sorted(found.ids))
    snap = base.edited(set(found.ids), added, generation=stamp, cursor=found.cursor, applied=found.entries)
    return CaughtUp(snap, "delta", len(found.ids))


def full_read(settings: Settings, collection: Collection, stamp: str) -> CaughtUp:
    """Every chunk read again (the log position first, so that a write landing meanwhile is applied later)."""
    cursor, entries = changes.newest_entry(get_client(settings), collection)
    ids: list[str] = []
    while True:
        page = collection.get(include=[], limit=_ID_PAGE, offset=len(ids))
        ids.extend(page["ids"])
        if len(page["ids"]) < _ID_PAGE:
            break
    snap = Snapshot().edited(
        set(),
        read_chunks(collection, ids),
        generation=stamp,
        collection_id=str(collection.id),
        cursor=cursor,
        applied=entries,
    )
    return CaughtUp(snap, "full", len(ids))


def read_chunks(collection: Collection, ids: list[str]) -> Chunks:
    """These chunks from Chroma, stored vectors decoded (ids Chroma does not hold are left out)."""
    out = Chunks([], [], [], [])
    for start in range(0, len(ids), _PAGE):
        page = collection.get(ids=ids[start : start + _PAGE], include=["documents", "metadatas"])
        for id_, text, meta in zip(page["ids"], documents_of(page), metadatas_of(page)):
            out.ids.append(id_)
            out.texts.append(text)
            out.metadatas.append(shared_metadata({k: v for k, v in meta.items() if k not in DERIVED_KEYS}))
            out.sparse.append(stored_vectors.sparse_of(meta))
    return out
