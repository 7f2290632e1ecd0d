"""The snapshot on disk, so that a new process starts from a file instead of reading the whole collection.

One file per index location and stack: `COMMUNIQUE_HOME/cache/snapshot-<key>.zip`, key a
hash of (embedded Chroma path or server URL, collection, stack). It is a cache: Chroma
stays the source of truth, the file records the collection id and `generation` it
matches plus the changes-log cursor (index/changes.py), and the reader catches up from
there by deltas. A missing, unreadable, other-format or other-collection file is
ignored and written again. Format FORMAT = 2, a zip (stored, not compressed) of:

  manifest.json   format, collection_id, generation, cursor, applied, chunks
  chunks.jsonl    one line per chunk: [id, text, metadata] (stored vectors left out)
  *.npy           numpy arrays, read with allow_pickle=False (loading runs no code):
                  sparse_{data,indices,indptr,shape}   the chunk x term matrix (CSC)
                  {tokens,words,identifiers}_{indices,indptr,shape}   the postings (CSC)
                  lang_codes, date_ints, year_max
  *.json          {tokens,words,identifiers}_vocab (terms in column order), lang_names

Chunks are written and read a line at a time, so a save adds little to the process's memory.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from scipy.sparse import csc_matrix

from .layered_matrix import LayeredMatrix
from .positions import Positions
from .postings import Postings
from .settings import Settings
from .snapshot import Snapshot, shared_metadata

FORMAT = 2  # 2: ordinals are identifiers (index.words.identifiers)
_POSTINGS = ("tokens", "words", "identifiers")


def snapshot_path(settings: Settings, stack_name: str) -> Path:
    """Where this index location's snapshot is kept."""
    where = settings.chroma_url or str(settings.chroma_path.resolve())
    key = hashlib.sha256(f"{where}\n{settings.collection}\n{stack_name}".encode()).hexdigest()[:20]
    return settings.home / "cache" / f"snapshot-{key}.zip"


def save(snapshot: Snapshot, path: Path) -> None:
    """Write atomically (a reader never sees half a file); OSError if the folder cannot be written."""
    arrays: dict[str, np.ndarray] = {
        "lang_codes": snapshot.lang_codes,
        "date_ints": snapshot.date_ints,
        "year_max": snapshot.year_max,
    }
    texts: dict[str, Any] = {
        "manifest": {
            "format": FORMAT,
            "collection_id": snapshot.collection_id,
            "generation": snapshot.generation,
            "cursor": snapshot.cursor,
            "applied": sorted(snapshot.applied),
            "chunks": len(snapshot),
        },
        "lang_names": snapshot.lang_names,
    }
    if snapshot.sparse is not None:
        sparse = snapshot.sparse.tocsc()  # base and delta as one matrix: the file holds a compacted snapshot
        arrays.update(_matrix("sparse", sparse))
        arrays["sparse_data"] = sparse.data
    for name in _POSTINGS:
        postings: Postings = getattr(snapshot, name)
        arrays.update(_matrix(name, postings.matrix))
        texts[f"{name}_vocab"] = sorted(postings.vocab, key=postings.vocab.__getitem__)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=path.name, suffix=".tmp", dir=path.parent)
    os.close(fd)
    try:
        with zipfile.ZipFile(tmp, "w", zipfile.ZIP_STORED, allowZip64=True) as archive:
            for name, value in texts.items():
                archive.writestr(f"{name}.json", json.dumps(value, ensure_ascii=False))
            with archive.open("chunks.jsonl", "w", force_zip64=True) as out:
                for row in zip(snapshot.ids, snapshot.texts, snapshot.metadatas):
                    out.write(json.dumps(row, ensure_ascii=False).encode("utf-8") + b"\n")
            for name, array in arrays.items():
                with archive.open(f"{name}.npy", "w", force_zip64=True) as out:
                    np.lib.format.write_array(out, np.ascontiguousarray(array), allow_pickle=False)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


@dataclass(frozen=True)
class Manifest:
    """Where a file stands: the generation and changes-log position it matches, and how many chunks it holds."""

    generation: str
    collection_id: str
    cursor: float
    applied: frozenset[str]
    chunks: int


def manifest(path: Path, collection_id: str) -> Manifest | None:
    """The file's manifest alone (None: missing, damaged, other format or collection).

    Reads one small member of the zip: what a writer checks to learn how far behind the file is.
    """
    try:
        with zipfile.ZipFile(path) as archive:
            head = json.loads(archive.read("manifest.json").decode("utf-8"))
        if head.get("format") != FORMAT or head.get("collection_id") != collection_id:
            return None
        return Manifest(
            str(head["generation"]),
            collection_id,
            float(head["cursor"]),
            frozenset(head["applied"]),
            int(head["chunks"]),
        )
    except Exception:  # any damage: as if there were no file
        return None


def load(path: Path, collection_id: str) -> Snapshot | None:
    """The snapshot kept at `path` for this collection, or None (missing, damaged, other format or collection)."""
    try:
        with zipfile.ZipFile(path) as archive:

            def text(name: str) -> Any:
                return json.loads(archive.read(f"{name}.json").decode("utf-8"))

            def array(name: str) -> np.ndarray:
                with archive.open(f"{name}.npy") as member:
                    return np.lib.format.read_array(member, allow_pickle=False)

            def matrix(name: str, data: np.ndarray | None = None) -> csc_matrix:
                indices = array(f"{name}_indices")
                values = np.ones(len(indices), np.uint8) if data is None else data
                shape = tuple(int(x) for x in array(f"{name}_shape"))
                return csc_matrix((values, indices, array(f"{name}_indptr")), shape=shape)

            manifest = text("manifest")
            if manifest.get("format") != FORMAT or manifest.get("collection_id") != collection_id:
                return None
            ids, texts, metadatas = [], [], []
            with archive.open("chunks.jsonl") as lines:
                for line in lines:
                    id_, chunk_text, meta = json.loads(line)
                    ids.append(id_)
                    texts.append(chunk_text)
                    metadatas.append(shared_metadata(meta))
            postings = {
                name: Postings.of_matrix({term: i for i, term in enumerate(text(f"{name}_vocab"))}, matrix(name))
                for name in _POSTINGS
            }
            names = set(archive.namelist())
            sparse = LayeredMatrix.of(matrix("sparse", array("sparse_data"))) if "sparse_data.npy" in names else None
            snapshot = Snapshot(
                generation=str(manifest["generation"]),
                collection_id=collection_id,
                cursor=float(manifest["cursor"]),
                applied=frozenset(manifest["applied"]),
                ids=ids,
                texts=texts,
                metadatas=metadatas,
                sparse=sparse,
                tokens=postings["tokens"],
                words=postings["words"],
                identifiers=postings["identifiers"],
                lang_codes=array("lang_codes"),
                lang_names=list(text("lang_names")),
                date_ints=array("date_ints"),
                year_max=array("year_max"),
            )
    except Exception:  # any damage (truncated zip, bad JSON, missing member): read Chroma instead
        return None
    n = len(snapshot.ids)
    sizes = {len(snapshot.texts), len(snapshot.metadatas), len(snapshot.lang_codes), len(snapshot.date_ints)}
    sizes |= {len(snapshot.year_max), *(len(getattr(snapshot, name)) for name in _POSTINGS)}
    if sizes != {n} or manifest.get("chunks") != n or (sparse is not None and sparse.shape[0] != n):
        return None
    snapshot.position = Positions.of(snapshot.ids)
    return snapshot


def _matrix(name: str, matrix: csc_matrix) -> dict[str, np.ndarray]:
    return {
        f"{name}_indices": matrix.indices,
        f"{name}_indptr": matrix.indptr,
        f"{name}_shape": np.asarray(matrix.shape, np.int64),
    }
