"""Which release files are byte for byte what the index holds, so that an update need not parse them again.

LangChain's record manager knows chunk hashes, not files: to find that nothing changed it
needs every file parsed and chunked again (~10 ms a release: a no-op update of 10,000
releases took a minute). So beside its table, in the same database (SQLite or PostgreSQL),
one row per indexed file keeps the file's size and sha256 as they were when its chunks were
recorded, the release key (duplicates are still found without parsing), and a fingerprint of
the code that parsed and chunked it: a new parser or chunker re-reads every file once.

A row is only trusted for a source the record manager lists, it is dropped before a file is
indexed anew and written after its chunks are recorded: a run killed in between re-parses.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

from sqlalchemy import BigInteger, Column, MetaData, String, Table, and_, delete, insert, select
from sqlalchemy.exc import IntegrityError

from .records import create_table_once
from .release import FileState

_BATCH = 500  # sources per SQL statement (SQLite's bound-parameter limit is 999 on old builds)

_meta = MetaData()
_files = Table(
    "communique_indexed_files",
    _meta,
    Column("namespace", String, primary_key=True),
    Column("source", String, primary_key=True),
    Column("size", BigInteger, nullable=False),
    Column("sha256", String, nullable=False),
    Column("release_key", String, nullable=False),
    Column("pipeline", String, nullable=False),
)

# what turns a file's bytes into chunks: a change to any of these re-reads every file once
_PIPELINE_FILES = ("load/*.py", "chunk.py", "release.py", "language.py")


@cache
def pipeline_fingerprint() -> str:
    """A hash of the source of the parsing and chunking code."""
    here = Path(__file__).resolve().parent
    digest = hashlib.sha256()
    for pattern in _PIPELINE_FILES:
        for path in sorted(here.glob(pattern)):
            digest.update(path.name.encode() + b"\0" + path.read_bytes())
    return digest.hexdigest()[:16]


@dataclass(frozen=True)
class IndexedFile:
    """A file as it was when its chunks were recorded."""

    size: int
    sha256: str
    release_key: str
    pipeline: str

    def holds(self, state: FileState) -> bool:
        """These bytes, parsed by today's code, give the chunks indexed."""
        return state.size == self.size and state.sha256 == self.sha256 and self.pipeline == pipeline_fingerprint()


class FileRecords:
    """The indexed-file rows of one record manager's namespace."""

    def __init__(self, manager: Any) -> None:
        self._engine = manager.engine
        self._namespace = str(manager.namespace)
        create_table_once(self._engine, _files)

    def load(self, paths: Iterable[Path]) -> dict[str, IndexedFile]:
        """The rows of these files and of the files under these folders, by source.

        Only what a run reads: adding one release to a large index reads one row.
        """
        columns = (_files.c.source, _files.c.size, _files.c.sha256, _files.c.release_key, _files.c.pipeline)
        found: dict[str, IndexedFile] = {}
        with self._engine.connect() as db:
            for path in dict.fromkeys(paths):
                query = select(*columns).where(_files.c.namespace == self._namespace)
                if path.is_dir():  # the sources starting with "folder/": a range of the primary key ("0" follows "/")
                    prefix = str(path).rstrip("/") + "/"
                    query = query.where(_files.c.source > prefix, _files.c.source < prefix[:-1] + "0")
                else:
                    query = query.where(_files.c.source == str(path))
                found.update((row[0], IndexedFile(int(row[1]), row[2], row[3], row[4])) for row in db.execute(query))
        return found

    def forget(self, sources: Iterable[str]) -> None:
        """Drop the rows of these sources (before they are indexed anew, or once they are removed)."""
        ordered = sorted(set(sources))
        if not ordered:
            return
        with self._engine.begin() as db:
            for start in range(0, len(ordered), _BATCH):
                db.execute(self._delete(ordered[start : start + _BATCH]))

    def remember(self, files: Iterable[tuple[FileState, str]]) -> None:
        """Write the rows of these (file state, release key), replacing any row of the same source."""
        rows = {
            state.source: {
                "namespace": self._namespace,
                "source": state.source,
                "size": state.size,
                "sha256": state.sha256,
                "release_key": key,
                "pipeline": pipeline_fingerprint(),
            }
            for state, key in files
        }
        ordered = sorted(rows)
        for start in range(0, len(ordered), _BATCH):
            page = ordered[start : start + _BATCH]
            for attempt in range(3):
                try:
                    with self._engine.begin() as db:
                        db.execute(self._delete(page))
                        db.execute(insert(_files), [rows[s] for s in page])
                    break
                except IntegrityError:  # another worker wrote a row of one of these sources meanwhile
                    if attempt == 2:
                        raise

    def clear(self) -> None:
        """Drop every row of the namespace (the records were reset)."""
        with self._engine.begin() as db:
            db.execute(delete(_files).where(_files.c.namespace == self._namespace))

    def _delete(self, sources: list[str]) -> Any:
        return delete(_files).where(and_(_files.c.namespace == self._namespace, _files.c.source.in_(sources)))
