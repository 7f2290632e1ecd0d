"""What the index holds, for `python -m index status` and the app's index panel."""

from __future__ import annotations

from dataclasses import dataclass, field

from chromadb import Collection

from .records import check_records
from .settings import Settings
from .store import metadatas_of, open_collection, record_manager

_PAGE = 5000


@dataclass
class IndexStatus:
    releases: int = 0
    chunks: int = 0
    languages: dict[str, int] = field(default_factory=dict)  # releases per language
    first_date: str | None = None
    last_date: str | None = None
    undated: int = 0  # releases without a publication date (`status --undated` lists them)
    embeddings: str = ""
    updated_at: str | None = None
    where: str = ""
    records: str = ""  # whether the record manager is in step with Chroma (index.records)

    def lines(self) -> list[str]:
        langs = ", ".join(f"{lang} {n}" for lang, n in sorted(self.languages.items())) or "none"
        span = f"{self.first_date} to {self.last_date}" if self.first_date else "no dated releases"
        return [
            f"index:      {self.where}",
            f"releases:   {self.releases}",
            f"chunks:     {self.chunks}",
            f"languages:  {langs}",
            f"dates:      {span}",
            f"undated:    {self.undated}",
            f"embeddings: {self.embeddings}",
            f"updated:    {self.updated_at or 'never'}",
        ] + ([self.records] if self.records else [])


def index_status(settings: Settings) -> IndexStatus:
    """Counts and ranges read from Chroma itself (pages through large collections)."""
    collection = open_collection(settings)
    meta = collection.metadata or {}
    status = IndexStatus(
        embeddings=str(meta.get("embeddings", "")),
        updated_at=meta.get("updated_at"),
        where=settings.chroma_url or str(settings.home.resolve()),
    )
    releases: dict[str, dict] = {}
    offset = 0
    while True:
        page = collection.get(include=["metadatas"], limit=_PAGE, offset=offset)
        for m in metadatas_of(page):
            releases.setdefault(str(m.get("source")), m)
        status.chunks += len(page["ids"])
        if len(page["ids"]) < _PAGE:
            break
        offset += _PAGE
    status.releases = len(releases)
    status.records = _records_line(settings, collection)
    for m in releases.values():
        lang = str(m.get("lang", "?"))
        status.languages[lang] = status.languages.get(lang, 0) + 1
    dates = sorted(str(m["date"]) for m in releases.values() if m.get("date"))
    status.undated = status.releases - len(dates)
    if dates:
        status.first_date, status.last_date = dates[0], dates[-1]
    return status


def _records_line(settings: Settings, collection: Collection) -> str:
    """The record check for status; a record manager that cannot be read is reported, not raised."""
    try:
        return check_records(collection, record_manager(settings)).line()
    except Exception as exc:  # e.g. a read-only home: status still shows what Chroma holds
        return f"records:    not checked ({' '.join(str(exc).split())[:200]})"
