"""Does the record manager tell the truth about Chroma?

The record manager only remembers which chunk hashes were indexed; Chroma holds the
chunks. When the two come apart (Chroma's data lost or swapped, a restore of one
without the other, a kill between dropping the collection and resetting the records),
the indexing API would skip every "known" chunk and report `unchanged` over an empty
index. So every run checks cheaply first — the collection's identity stamp kept beside
the records, the counts, a random sample of keys — and only on a doubt lists every id.
Records that Chroma does not hold are forgotten, so the run embeds them again.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from chromadb import Collection
from sqlalchemy import Column, MetaData, String, Table, delete, func, insert, select
from sqlalchemy.exc import IntegrityError, OperationalError, ProgrammingError

SAMPLE = 32  # recorded keys looked up in Chroma on every run
_PAGE = 10_000

_meta = MetaData()
_stamps = Table(
    "communique_collection_stamp",
    _meta,
    Column("namespace", String, primary_key=True),
    Column("collection_id", String, nullable=False),
)


@dataclass(frozen=True)
class RecordsCheck:
    """What the record manager lists against what Chroma holds."""

    records: int  # chunk keys the record manager lists
    chunks: int  # chunks Chroma holds
    missing: frozenset[str]  # recorded keys Chroma does not hold
    stamp_matches: bool | None  # None: no stamp written yet

    @property
    def ok(self) -> bool:
        return not self.missing

    def line(self) -> str:
        """One line for `index status`."""
        if self.ok:
            return f"records:    in step with Chroma ({self.records} chunks)"
        return (
            f"records:    OUT OF STEP: {len(self.missing)} of {self.records} recorded chunks are not in Chroma "
            f"(data lost, swapped or restored apart); fix: `python -m index update SOURCE ...` embeds them again"
        )


def _records(manager: Any) -> Any:
    from langchain_classic.indexes._sql_record_manager import UpsertionRecord

    return UpsertionRecord


def check_records(collection: Collection, manager: Any) -> RecordsCheck:
    """Compare the records with Chroma: cheap (stamp, counts, sample), complete only on a doubt."""
    record = _records(manager)
    with manager._make_session() as session:
        recorded = int(
            session.execute(
                select(func.count()).select_from(record).where(record.namespace == manager.namespace)
            ).scalar()
            or 0
        )
        sample = [
            row[0]
            for row in session.execute(
                select(record.key).where(record.namespace == manager.namespace).order_by(func.random()).limit(SAMPLE)
            )
        ]
    chunks = int(collection.count())
    stamp = read_stamp(manager)
    stamp_matches = None if stamp is None else stamp == str(collection.id)
    if not recorded:
        return RecordsCheck(0, chunks, frozenset(), stamp_matches)
    doubt = (
        stamp_matches is False or chunks < recorded or len(collection.get(ids=sample, include=[])["ids"]) < len(sample)
    )
    if not doubt:
        return RecordsCheck(recorded, chunks, frozenset(), stamp_matches)
    held: set[str] = set()
    offset = 0
    while True:
        page = collection.get(include=[], limit=_PAGE, offset=offset)
        held.update(page["ids"])
        if len(page["ids"]) < _PAGE:
            break
        offset += _PAGE
    return RecordsCheck(recorded, chunks, frozenset(set(manager.list_keys()) - held), stamp_matches)


def sources_of(manager: Any, keys: frozenset[str]) -> set[str]:
    """The sources (group ids) of these recorded keys."""
    record = _records(manager)
    found: set[str] = set()
    ordered = sorted(keys)
    with manager._make_session() as session:
        for start in range(0, len(ordered), 500):
            rows = session.execute(
                select(record.group_id)
                .where(record.namespace == manager.namespace, record.key.in_(ordered[start : start + 500]))
                .distinct()
            )
            found.update(row[0] for row in rows if row[0] is not None)
    return found


def create_table_once(engine: Any, table: Table) -> None:
    """Create a table beside the record manager's; another process may create it between the check and the CREATE."""
    try:
        table.metadata.create_all(engine, tables=[table])
    except (OperationalError, ProgrammingError, IntegrityError) as exc:
        if "already exists" not in str(exc) and "duplicate key" not in str(exc):
            raise


def read_stamp(manager: Any) -> str | None:
    """The id of the collection the records were last checked against (None before the first run)."""
    create_table_once(manager.engine, _stamps)
    with manager.engine.connect() as db:
        return db.execute(select(_stamps.c.collection_id).where(_stamps.c.namespace == manager.namespace)).scalar()


def write_stamp(manager: Any, collection: Collection) -> None:
    """Remember which collection the records describe (two workers may write the same stamp at once)."""
    for attempt in range(3):
        try:
            with manager.engine.begin() as db:
                db.execute(delete(_stamps).where(_stamps.c.namespace == manager.namespace))
                db.execute(insert(_stamps).values(namespace=manager.namespace, collection_id=str(collection.id)))
            return
        except IntegrityError:  # another worker inserted the stamp between our delete and insert
            if attempt == 2:
                raise
