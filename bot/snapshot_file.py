"""The snapshot on disk, so that a new process starts from a file instead of reading the whole collection.

One file per index location and stack: `COMMUNIQUE_HOME/cache/snapshot-<key>.npz`, key a
hash of (embedded Chroma path or server URL, collection, stack). It is a cache: Chroma
stays the source of truth, the file records the collection id and `generation` it
matches plus the changes-log cursor (index/changes.py), and the reader catches up from
there by deltas. A missing, unreadable, other-format or other-collection file is
ignored and written again. Format (an uncompressed numpy archive, read with
`allow_pickle=False` so that loading runs no code), FORMAT = 1:

  manifest       JSON: format, collection_id, generation, cursor, applied, chunks
  chunks         JSON: ids, texts, metadatas (stored vectors left out)
  sparse_data, sparse_indices, sparse_indptr, sparse_shape    the chunk x term matrix (CSC)
  {tokens,words,identifiers}_{vocab (JSON list), indices, indptr, shape}    the postings (CSC)
  lang_codes, lang_names (JSON), date_ints, year_max
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
from pathlib import Path
from typing import Any

import numpy as np
from scipy.sparse import csc_matrix

from index.settings import Settings

from .postings import Postings
from .snapshot import Snapshot

FORMAT = 1
_POSTINGS = ("tokens", "words", "identifiers")


def snapshot_path(settings: Settings, stack_name: str) -> Path:
    """Where this index location's snapshot is kept."""
    where = settings.chroma_url or str(settings.chroma_path.resolve())
    key = hashlib.sha256(f"{where}\n{settings.collection}\n{stack_name}".encode()).hexdigest()[:20]
    return settings.home / "cache" / f"snapshot-{key}.npz"


def save(snapshot: Snapshot, path: Path) -> None:
    """Write atomically (a reader never sees half a file); OSError if the folder cannot be written."""
    arrays: dict[str, np.ndarray] = {
        "manifest": _json(
            {
                "format": FORMAT,
                "collection_id": snapshot.collection_id,
                "generation": snapshot.generation,
                "cursor": snapshot.cursor,
                "applied": sorted(snapshot.applied),
                "chunks": len(snapshot),
            }
        ),
        "chunks": _json({"ids": snapshot.ids, "texts": snapshot.texts, "metadatas": snapshot.metadatas}),
        "lang_codes": snapshot.lang_codes,
        "lang_names": _json(snapshot.lang_names),
        "date_ints": snapshot.date_ints,
        "year_max": snapshot.year_max,
    }
    if snapshot.sparse is not None:
        arrays.update(_matrix("sparse", snapshot.sparse))
        arrays["sparse_data"] = snapshot.sparse.data
    for name in _POSTINGS:
        postings: Postings = getattr(snapshot, name)
        arrays.update(_matrix(name, postings.matrix))
        arrays[f"{name}_vocab"] = _json(sorted(postings.vocab, key=postings.vocab.__getitem__))
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=path.name, suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as out:
            np.savez(out, **arrays)  # type: ignore[arg-type]  # numpy's stub misreads **kwds
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def load(path: Path, collection_id: str) -> Snapshot | None:
    """The snapshot kept at `path` for this collection, or None (missing, damaged, other format or collection)."""
    try:
        with np.load(path, allow_pickle=False) as archive:
            manifest = _unjson(archive["manifest"])
            if manifest.get("format") != FORMAT or manifest.get("collection_id") != collection_id:
                return None
            chunks = _unjson(archive["chunks"])
            postings = {
                name: Postings(
                    {term: i for i, term in enumerate(_unjson(archive[f"{name}_vocab"]))},
                    _csc(archive, name, np.ones(len(archive[f"{name}_indices"]), np.uint8)),
                )
                for name in _POSTINGS
            }
            sparse = _csc(archive, "sparse", archive["sparse_data"]) if "sparse_data" in archive else None
            snapshot = Snapshot(
                generation=str(manifest["generation"]),
                collection_id=collection_id,
                cursor=float(manifest["cursor"]),
                applied=frozenset(manifest["applied"]),
                ids=list(chunks["ids"]),
                texts=list(chunks["texts"]),
                metadatas=list(chunks["metadatas"]),
                sparse=sparse,
                lang_codes=archive["lang_codes"],
                lang_names=list(_unjson(archive["lang_names"])),
                date_ints=archive["date_ints"],
                year_max=archive["year_max"],
                tokens=postings["tokens"],
                words=postings["words"],
                identifiers=postings["identifiers"],
            )
    except Exception:  # any damage (truncated zip, bad JSON, missing member): read Chroma instead
        return None
    n = len(snapshot.ids)
    sizes = {len(snapshot.texts), len(snapshot.metadatas), len(snapshot.lang_codes), len(snapshot.date_ints)}
    sizes |= {len(getattr(snapshot, name)) for name in _POSTINGS}
    if sizes != {n} or manifest.get("chunks") != n or (sparse is not None and sparse.shape[0] != n):
        return None
    snapshot.position = {id_: i for i, id_ in enumerate(snapshot.ids)}
    return snapshot


def _json(value: Any) -> np.ndarray:
    return np.frombuffer(json.dumps(value, ensure_ascii=False).encode("utf-8"), np.uint8)


def _unjson(array: np.ndarray) -> Any:
    return json.loads(array.tobytes().decode("utf-8"))


def _matrix(name: str, matrix: csc_matrix) -> dict[str, np.ndarray]:
    return {
        f"{name}_indices": matrix.indices,
        f"{name}_indptr": matrix.indptr,
        f"{name}_shape": np.asarray(matrix.shape, np.int64),
    }


def _csc(archive: Any, name: str, data: np.ndarray) -> csc_matrix:
    shape = tuple(int(x) for x in archive[f"{name}_shape"])
    return csc_matrix((data, archive[f"{name}_indices"], archive[f"{name}_indptr"]), shape=shape)
