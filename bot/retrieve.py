"""`retrieve()` and the LangChain retriever: question (+ conversation, filters) -> ranked passages."""

from __future__ import annotations

from typing import Any

from langchain_core.callbacks import AsyncCallbackManagerForRetrieverRun, CallbackManagerForRetrieverRun
from langchain_core.documents import Document
from langchain_core.retrievers import BaseRetriever
from langchain_core.runnables.config import run_in_executor
from pydantic import ConfigDict

from index.settings import Settings, get_settings

from .answer import default_bot
from .search import Filters

# what `CommuniqueRetriever.invoke(question, k=..., lang=...)` may override, per call
_PER_CALL = ("k", "history", "lang", "date_from", "date_to")


def retrieve(
    question: str,
    k: int = 5,
    *,
    history: list[dict] | None = None,
    lang: str | None = None,
    date_from: str | None = None,
    date_to: str | None = None,
    settings: Settings | None = None,
) -> list[Document]:
    """The k passages that best answer the question, best first, with their indexed metadata and a `score`."""
    return default_bot(settings or get_settings()).retrieve(
        question, k, history=history, filters=Filters(lang, date_from, date_to)
    )


class CommuniqueRetriever(BaseRetriever):
    """The same retrieval as a LangChain retriever, so it composes with LangChain chains.

    The fields are defaults; `invoke(question, k=3, lang="fr", date_from=..., date_to=..., history=...)`
    overrides them for one call.
    """

    model_config = ConfigDict(arbitrary_types_allowed=True)

    k: int = 5
    history: list[dict] | None = None
    lang: str | None = None
    date_from: str | None = None
    date_to: str | None = None
    settings: Settings | None = None

    def _get_relevant_documents(
        self, query: str, *, run_manager: CallbackManagerForRetrieverRun, **kwargs: Any
    ) -> list[Document]:
        kwargs.pop("verbose", None)  # BaseRetriever.invoke passes it along with the caller's arguments
        unknown = sorted(set(kwargs) - set(_PER_CALL))
        if unknown:
            raise TypeError(
                f"CommuniqueRetriever.invoke got unexpected arguments {unknown}; it takes {list(_PER_CALL)}"
            )
        options = {name: kwargs.get(name, getattr(self, name)) for name in _PER_CALL}
        return retrieve(
            query,
            options["k"],
            history=options["history"],
            lang=options["lang"],
            date_from=options["date_from"],
            date_to=options["date_to"],
            settings=self.settings,
        )

    async def _aget_relevant_documents(
        self, query: str, *, run_manager: AsyncCallbackManagerForRetrieverRun, **kwargs: Any
    ) -> list[Document]:
        """As the sync call, in a worker thread (BaseRetriever's default would drop the per-call arguments)."""
        return await run_in_executor(
            None, self._get_relevant_documents, query, run_manager=run_manager.get_sync(), **kwargs
        )
