"""`retrieve()` and the LangChain retriever: question (+ conversation, filters) -> ranked passages."""
from __future__ import annotations

from langchain_core.callbacks import CallbackManagerForRetrieverRun
from langchain_core.documents import Document
from langchain_core.retrievers import BaseRetriever
from pydantic import ConfigDict

from index.settings import Settings, get_settings

from .query import prepare
from .search import Filters, get_searcher


def retrieve(question: str, k: int = 5, *, history: list[dict] | None = None, lang: str | None = None,
             date_from: str | None = None, date_to: str | None = None, settings: Settings | None = None) -> list[Document]:
    """The k passages that best answer the question, best first, with their indexed metadata and a `score`."""
    query = prepare(question, history)   # a question over the length cap is refused before any work
    searcher = get_searcher(settings or get_settings())
    hits = searcher.search(query, k=k, filters=Filters(lang, date_from, date_to))
    return [hit.to_document() for hit in hits]


class CommuniqueRetriever(BaseRetriever):
    """The same retrieval as a LangChain retriever, so it composes with LangChain chains."""

    model_config = ConfigDict(arbitrary_types_allowed=True)

    k: int = 5
    history: list[dict] | None = None
    lang: str | None = None
    date_from: str | None = None
    date_to: str | None = None
    settings: Settings | None = None

    def _get_relevant_documents(self, query: str, *, run_manager: CallbackManagerForRetrieverRun) -> list[Document]:
        return retrieve(query, self.k, history=self.history, lang=self.lang, date_from=self.date_from,
                        date_to=self.date_to, settings=self.settings)
