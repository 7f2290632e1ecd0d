"""Ratings of answers (👍/👎 with an optional comment), kept to find bad answers later.

One table in SQLite under COMMUNIQUE_HOME (feedback.sqlite), or in the records database
when COMMUNIQUE_RECORDS_URL is set (server mode). Written by the app, read by
`python -m bot feedback export [--json|--csv]`.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal

from sqlalchemy import Column, Integer, MetaData, String, Table, Text, create_engine, insert, select, update
from sqlalchemy.engine import Engine, make_url

from index.settings import Settings

Rating = Literal["up", "down"]
FIELDS = ("id", "time", "rating", "comment", "question", "answer", "mode", "lang", "citations")

_metadata = MetaData()
feedback_table = Table(
    "communique_feedback",
    _metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("time", String(32), nullable=False),  # ISO 8601, UTC
    Column("rating", String(8), nullable=False),  # "up" | "down"
    Column("comment", Text, nullable=True),
    Column("question", Text, nullable=False),
    Column("answer", Text, nullable=False),
    Column("mode", String(16), nullable=False),
    Column("lang", String(8), nullable=True),
    Column("citations", Text, nullable=False),  # JSON: the answer's citations (title, date, source, passage…)
)


class FeedbackStore:
    """The feedback table of one database (created on first use)."""

    def __init__(self, url: str) -> None:
        self.url = url
        parsed = make_url(url)
        if parsed.drivername.startswith("sqlite") and parsed.database and parsed.database != ":memory:":
            Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
        self.engine: Engine = create_engine(url)
        _metadata.create_all(self.engine, tables=[feedback_table], checkfirst=True)

    @classmethod
    def for_settings(cls, settings: Settings) -> FeedbackStore:
        return cls(settings.feedback_db_url)

    def record(
        self,
        *,
        rating: Rating,
        question: str,
        answer: str,
        mode: str,
        citations: Sequence[dict[str, Any]],
        lang: str | None = None,
        comment: str | None = None,
    ) -> int:
        """Store one rating; its id."""
        row = {
            "time": datetime.now(UTC).isoformat(timespec="seconds"),
            "rating": rating,
            "comment": (comment or "").strip() or None,
            "question": question,
            "answer": answer,
            "mode": mode,
            "lang": lang,
            "citations": json.dumps(list(citations), ensure_ascii=False),
        }
        with self.engine.begin() as conn:
            key = conn.execute(insert(feedback_table).values(**row)).inserted_primary_key
            if key is None:  # never for a single-row insert into a table with a primary key
                raise RuntimeError("the feedback row was stored without a primary key")
            return int(key[0])

    def change(self, feedback_id: int, *, rating: Rating | None = None, comment: str | None = None) -> None:
        """Change a stored rating or set its comment."""
        values: dict[str, Any] = {}
        if rating is not None:
            values["rating"] = rating
        if comment is not None:
            values["comment"] = comment.strip() or None
        if values:
            with self.engine.begin() as conn:
                conn.execute(update(feedback_table).where(feedback_table.c.id == feedback_id).values(**values))

    def rows(self) -> list[dict[str, Any]]:
        """Every rating, oldest first; `citations` decoded."""
        with self.engine.connect() as conn:
            result = conn.execute(select(feedback_table).order_by(feedback_table.c.id))
            return [{**row._mapping, "citations": json.loads(row.citations)} for row in result]

    def close(self) -> None:
        self.engine.dispose()


def export(rows: Sequence[dict[str, Any]], fmt: Literal["json", "csv"] = "json") -> str:
    """The ratings as JSON (a list of objects) or CSV (citations as a JSON column)."""
    if fmt == "json":
        return json.dumps(list(rows), ensure_ascii=False, indent=2) + "\n"
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=FIELDS, extrasaction="ignore")
    writer.writeheader()
    for row in rows:
        writer.writerow({**row, "citations": json.dumps(row["citations"], ensure_ascii=False)})
    return out.getvalue()
