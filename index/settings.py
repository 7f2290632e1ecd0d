"""The one settings object shared by index/, bot/ and app.py.

Nothing else in the project reads the environment: every knob is a field here,
set through variables prefixed ``COMMUNIQUE_`` (or passed explicitly in tests).
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Annotated

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict


class Settings(BaseSettings):
    """Where the index lives, which models build it, and how answers are made."""

    model_config = SettingsConfigDict(env_prefix="COMMUNIQUE_", extra="ignore")

    home: Path = Field(
        Path(".communique"), description="Folder holding the embedded Chroma index, record manager and uploads."
    )
    corpus: Annotated[list[str], NoDecode] = Field(
        default_factory=lambda: ["corpus"],
        description="Default sources for `index build` (comma-separated in the environment).",
    )
    embeddings: str = Field(
        "bundled",
        description=(
            "Embedding stack: 'bundled' (offline multilingual default) or 'sentence-transformers:<model name or path>'."
        ),
    )
    chroma_url: str | None = Field(
        None, description="http://host:port of a Chroma server; unset = embedded client under `home`."
    )
    records_url: str | None = Field(
        None, description="SQLAlchemy URL of the record manager; unset = SQLite file under `home`."
    )
    collection: str = Field("communiques", description="Chroma collection name.")
    llm: str | None = Field(
        None, description="'ollama:<model>' or 'openai:<model>'; unset = offline extractive answers."
    )
    allow_private_urls: bool = Field(
        False,
        description=(
            "Let an app open beyond localhost fetch URLs on loopback, private, link-local or metadata addresses."
        ),
    )
    admin_password: str | None = Field(
        None, description="Required to add releases from the app when it listens beyond localhost."
    )
    max_file_mb: float = Field(20.0, gt=0, allow_inf_nan=False, description="Largest release file accepted, in MB.")
    max_chunks_per_release: int = Field(
        2000,
        ge=1,
        description="Most passages one release may have; a larger one is refused (it would hold the index for hours).",
    )
    fetch_timeout: float = Field(
        20.0,
        gt=0,
        allow_inf_nan=False,
        description="Seconds before a URL or feed fetch gives up (overall, connect to last byte).",
    )
    feed_budget: float = Field(
        300.0,
        gt=0,
        allow_inf_nan=False,
        description="Seconds the new items of one feed may take altogether; the rest waits for the next update.",
    )
    refresh_seconds: float = Field(
        2.0,
        ge=0,
        allow_inf_nan=False,
        description="How often a running bot checks the store for changes made by other processes.",
    )
    chroma_timeout: float = Field(
        10.0, gt=0, allow_inf_nan=False, description="Seconds before a call to the Chroma server gives up."
    )
    examples: Annotated[list[str], NoDecode] = Field(
        default_factory=list,
        description="Example questions the app shows, separated by '|' (unset = built from the indexed releases).",
    )

    @field_validator("corpus", mode="before")
    @classmethod
    def _split_corpus(cls, value: object) -> object:
        if isinstance(value, str):
            return [part.strip() for part in value.split(",") if part.strip()]
        return value

    @field_validator("examples", mode="before")
    @classmethod
    def _split_examples(cls, value: object) -> object:
        if isinstance(value, str):
            return [part.strip() for part in value.split("|") if part.strip()]
        return value

    @property
    def feedback_db_url(self) -> str:
        """Where the app's answer ratings go: the records database in server mode, else a SQLite file under `home`."""
        return self.records_url or f"sqlite:///{(self.home / 'feedback.sqlite').resolve()}"

    @property
    def chroma_path(self) -> Path:
        return self.home / "chroma"

    @property
    def records_db_url(self) -> str:
        return self.records_url or f"sqlite:///{(self.home / 'records.sqlite').resolve()}"

    @property
    def uploads_dir(self) -> Path:
        return self.home / "uploads"


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """Settings from the environment, read once per process."""
    return Settings()
