"""The changes log: which chunk ids each write touched, so that readers refresh by deltas.

Readers (bot/) keep a copy of what retrieval needs; after another process writes, they
must learn what changed without listing every id of a large collection. Every
`ChunkStore` write (upsert or delete) therefore appends one entry to a small sidecar
Chroma collection, `<collection>.changes`, before it bumps the collection's `generation`:

  * id        — a random hex string (one per write);
  * metadata  — `at`: the writer's clock (Unix seconds, float), `count`: ids in the entry;
  * document  — the touched chunk ids, one per line, or `*` (anything may have changed:
                readers list the whole collection again);
  * embedding — `[1.0]`, because Chroma stores no record without one.

An entry says only *which* ids changed, not how: a reader fetches those ids from the
main collection and treats the ones it no longer finds as deleted, so applying an
entry twice, or entries out of order, gives the same result (Chroma stays the truth).
The main collection's metadata `changes_from` is the writer-clock time from which the
log is complete (set when the collection or its log is created, raised when old entries
are trimmed after `KEEP_SECONDS`); a reader whose copy is older lists everything again.
Writers on other machines may have other clocks: readers look `SLACK_SECONDS` back and
skip the entries they already applied.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, cast

import numpy as np
from chromadb import Collection
from chromadb.api import ClientAPI
from chromadb.api.types import Where

LOG_SUFFIX = ".changes"
FROM_KEY = "changes_from"  # in the main collection's metadata
EVERYTHING = "*"
KEEP_SECONDS = 7 * 24 * 3600.0  # entries older than this are trimmed by the next write
SLACK_SECONDS = 300.0  # how far back readers look past the newest entry they saw (clock skew between writers)


def log_name(collection_name: str) -> str:
    """The name of a collection's changes log."""
    return collection_name + LOG_SUFFIX


def open_log(client: ClientAPI, collection_name: str) -> Any | None:
    """The changes log of a collection (None when it has none)."""
    name = log_name(collection_name)
    try:
        return client.get_collection(name, embedding_function=None)
    except Exception:  # chromadb raises NotFoundError (server) or ValueError (older embedded)
        return None


def record(client: ClientAPI, collection: Collection, ids: Iterable[str] | None) -> dict[str, Any]:
    """Log one write of `ids` (None: unknown, everything) and trim old entries.

    Returns the metadata keys the caller must store on the main collection with its
    generation bump (`changes_from` when the log starts or was trimmed).
    """
    log = client.get_or_create_collection(
        log_name(collection.name), metadata={"log_of": collection.name}, embedding_function=None
    )
    now = time.time()
    listed = sorted(set(ids)) if ids is not None else [EVERYTHING]
    log.add(
        ids=[uuid.uuid4().hex],
        embeddings=np.ones((1, 1), np.float32),
        documents=["\n".join(listed)],
        metadatas=[{"at": now, "count": len(listed)}],
    )
    extra: dict[str, Any] = {}
    since = (collection.metadata or {}).get(FROM_KEY)
    if since is None:  # an index written before the log existed: complete only from now on
        extra[FROM_KEY] = now
    elif float(since) < now - KEEP_SECONDS:
        old = log.get(where=cast(Where, {"at": {"$lt": now - KEEP_SECONDS}}), include=[])["ids"]
        if old:
            log.delete(ids=old)
        extra[FROM_KEY] = now - KEEP_SECONDS
    return extra


@dataclass(frozen=True)
class Changes:
    """What the log says happened since a reader's cursor."""

    entries: frozenset[str]  # log entry ids read (to skip them next time)
    ids: frozenset[str]  # chunk ids touched
    everything: bool  # an entry said anything may have changed
    cursor: float  # the newest entry's time seen (or the cursor given, if none)


def log_start(collection: Collection) -> float | None:
    """Writer-clock time from which the collection's log is complete (None: no log, list everything)."""
    since = (collection.metadata or {}).get(FROM_KEY)
    return None if since is None else float(since)


def changes_since(client: ClientAPI, collection: Collection, cursor: float, applied: frozenset[str]) -> Changes | None:
    """Entries logged after `cursor` (less the slack) not in `applied`; None when the log cannot tell."""
    start = log_start(collection)
    if start is None or cursor < start:
        return None
    log = open_log(client, collection.name)
    if log is None:
        return None
    found = log.get(where={"at": {"$gte": cursor - SLACK_SECONDS}}, include=["documents", "metadatas"])
    entries: set[str] = set()
    ids: set[str] = set()
    everything, newest = False, cursor
    for entry_id, text, meta in zip(found["ids"], found["documents"], found["metadatas"]):
        newest = max(newest, float((meta or {}).get("at", cursor)))
        entries.add(entry_id)
        if entry_id in applied:
            continue
        listed = (text or "").split("\n")
        everything = everything or EVERYTHING in listed
        ids.update(i for i in listed if i and i != EVERYTHING)
    return Changes(frozenset(entries), frozenset(ids), everything, newest)


def newest_entry(client: ClientAPI, collection: Collection) -> tuple[float, frozenset[str]]:
    """(cursor, entries) for a reader that just listed the whole collection: the log's newest time and recent ids.

    Read *before* the listing, so that a write landing in between is applied again later (harmless), never missed.
    """
    start = log_start(collection) or time.time()
    log = open_log(client, collection.name)
    if log is None:
        return start, frozenset()
    found = log.get(include=["metadatas"])
    times = {entry_id: float((meta or {}).get("at", start)) for entry_id, meta in zip(found["ids"], found["metadatas"])}
    newest = max([start, *times.values()])
    return newest, frozenset(i for i, at in times.items() if at >= newest - SLACK_SECONDS)
