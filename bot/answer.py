"""Question -> Answer: the whole flow, top-down.

    read the question once (follow-ups, dates, what it asks for)   bot.query
    retrieve and rank passages                                    bot.search
    candidate sentences and their features                        bot.sentences
    the learned answer model scores them                          bot.answer_model / bot.extractive
    abstain when nothing holds what was asked                     bot.confidence
    write the answer: extractive, or an LLM                       bot.extractive / bot.llm
    verify every [n] marker                                       bot.citations

A `Bot` owns what answering needs for one index (its searcher, snapshot cache and
sentence vectors); `answer()` and `retrieve()` use a default Bot per index location.
bot/ never writes to the index.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator

from langchain_core.documents import Document

from index.embed import EmbeddingStack, stack_name
from index.settings import Settings, get_settings
from index.store import Connection, StoreError, connect

from . import llm
from .answer_model import AnswerModel, load_model
from .citations import Answer, Passage, verify_citations
from .confidence import ABSTAIN_TEXT, missing_terms, should_abstain
from .extractive import PASSAGES_READ, Quoted, Scored, choose, compose, givable, release_of, score, short_answer
from .query import Query, prepare
from .search import Filters, Ranking, Searcher
from .sentences import SentenceVectors, candidate_sentences


class Bot:
    """Answers questions from one index; safe to share across threads. `close()` drops its caches and the index."""

    def __init__(
        self, settings: Settings, stack: EmbeddingStack | None = None, model: AnswerModel | None = None
    ) -> None:
        self.settings = settings
        self._model = model
        self._stack = stack
        self._searcher: Searcher | None = None
        self._vectors: SentenceVectors | None = None
        self._connection: Connection | None = None  # held while the searcher is open: the index's client and lock
        self._lock = threading.Lock()

    @property
    def model(self) -> AnswerModel:
        """The answer model (the shipped one unless given): read on first use."""
        if self._model is None:
            self._model = load_model()
        return self._model

    @property
    def searcher(self) -> Searcher:
        """Opened on first use, so that a Bot can be made before the index exists."""
        with self._lock:
            if self._searcher is None:
                connection = connect(self.settings)  # what the searcher opens of the index is this Bot's to close
                try:
                    self._searcher = Searcher(self.settings, self._stack)
                except BaseException:
                    connection.close()
                    raise
                self._connection = connection
                self._vectors = SentenceVectors(self._searcher)
            return self._searcher

    def refresh(self) -> None:
        """See this process's latest writes on the next question."""
        if self._searcher is not None:
            self._searcher.cache.invalidate()

    def close(self) -> None:
        """Drop the caches and let go of the index (its Chroma client and, embedded, the home lock); reopens on use."""
        with self._lock:
            self._searcher = None
            self._vectors = None
            connection, self._connection = self._connection, None
        if connection is not None:
            connection.close()

    def retrieve(
        self, question: str, k: int = 5, *, history: list[dict] | None = None, filters: Filters | None = None
    ) -> list[Document]:
        """The k passages that best answer the question, best first.

        A question over the cap: ValueError, index untouched."""
        query = prepare(question, history)
        return [hit.to_document() for hit in self.searcher.search(query, k=k, filters=filters)]

    def answer(self, question: str, history: list[dict] | None = None, *, filters: Filters | None = None) -> Answer:
        """Answer a question from the indexed releases, every claim followed by its [n]."""
        result = None
        for item in self.answer_stream(question, history, filters=filters):
            if isinstance(item, Answer):
                result = item
        assert result is not None
        return result

    def answer_stream(
        self, question: str, history: list[dict] | None = None, *, filters: Filters | None = None
    ) -> Iterator[str | Answer]:
        """Yield the answer text as it is written (str pieces), then the final, verified Answer."""
        settings = self.settings
        if settings.llm:
            llm.parse_spec(
                settings.llm
            )  # a bad COMMUNIQUE_LLM fails every question (LLMConfigError), not only answerable ones
        query = prepare(question, history)
        try:
            searcher = self.searcher
            if settings.llm and query.folded:
                rewritten = llm.rewrite_question(question, history or [], settings)
                if rewritten:  # else keep the follow-up with its earlier questions folded in
                    query = prepare(rewritten, None)
            ranking = searcher.rank(query, k=PASSAGES_READ, filters=filters or Filters())
            scored = self.score(query, ranking, filters)
            given = givable(scored)
            if should_abstain(given, self.model):
                text = ABSTAIN_TEXT.get(query.lang, ABSTAIN_TEXT["en"])
                yield text
                yield Answer(question=question, text=text, found=False, lang=query.lang, mode="abstain")
                return
            passages = _passages(ranking)
            written = (
                _llm_answer(query, passages, settings)
                if settings.llm
                else _extractive_answer(query, passages, given, self.model)
            )
            for item in written:
                if isinstance(item, Answer):
                    item.question = question  # what the user asked, even when an LLM rewrote it for retrieval
                yield item
        except StoreError as exc:
            message = f"The index is unavailable right now: {exc}"
            yield message
            yield Answer(question=question, text=message, found=False, lang=query.lang, mode="error", error=str(exc))
        except llm.LLMError as exc:
            yield str(exc)
            yield Answer(question=question, text=str(exc), found=False, lang=query.lang, mode="error", error=str(exc))

    def score(self, query: Query, ranking: Ranking, filters: Filters | None = None) -> list[Scored]:
        """Candidate sentences of the top passages, most probable answer first."""
        searcher = self.searcher
        snapshot = searcher.cache.current()
        assert self._vectors is not None
        candidates = candidate_sentences(
            query,
            ranking,
            self._vectors,
            snapshot,
            passages=PASSAGES_READ,
            missing=bool(missing_terms(query, snapshot, filters)),
        )
        return score(candidates, self.model)


# --------------------------------------------------------------------------- the default Bot per index

_bots: dict[tuple, Bot] = {}
_bots_lock = threading.Lock()


def default_bot(settings: Settings | None = None) -> Bot:
    """The Bot of this index location in this process (models and caches stay warm between calls)."""
    settings = settings or get_settings()
    key = (
        settings.chroma_url,
        str(settings.home.resolve()),
        settings.collection,
        stack_name(settings.embeddings),
        settings.llm,
    )
    with _bots_lock:
        bot = _bots.get(key)
        if bot is None or bot.settings != settings:
            bot = _bots[key] = Bot(settings)
        return bot


def refresh(settings: Settings) -> None:
    """Make the next question see this process's latest writes at once, not after `refresh_seconds`."""
    with _bots_lock:
        bots = [b for b in _bots.values() if b.settings.collection == settings.collection]
    for bot in bots:
        bot.refresh()


def close_all() -> None:
    """Drop every default Bot (after a rebuild with another model, or between tests)."""
    with _bots_lock:
        bots = list(_bots.values())
        _bots.clear()
    for bot in bots:
        bot.close()


def answer(
    question: str,
    history: list[dict] | None = None,
    *,
    lang: str | None = None,
    date_from: str | None = None,
    date_to: str | None = None,
    settings: Settings | None = None,
) -> Answer:
    """Answer a question from the indexed releases, every claim followed by its [n]."""
    return default_bot(settings).answer(question, history, filters=Filters(lang, date_from, date_to))


def answer_stream(
    question: str,
    history: list[dict] | None = None,
    *,
    lang: str | None = None,
    date_from: str | None = None,
    date_to: str | None = None,
    settings: Settings | None = None,
) -> Iterator[str | Answer]:
    """Yield the answer text as it is written (str pieces), then the final, verified Answer."""
    return default_bot(settings).answer_stream(question, history, filters=Filters(lang, date_from, date_to))


# --------------------------------------------------------------------------- writing the answer


def _extractive_answer(
    query: Query, passages: list[Passage], scored: list[Scored], model: AnswerModel
) -> Iterator[str | Answer]:
    chosen = choose(scored, model.second_ratio)
    short = short_answer(scored[0], query.asks.leads, model.short_above)
    quoted: list[Quoted] = []
    quotes: dict[int, list[tuple[int, int]]] = {}
    for item in chosen:
        passage = passages[item.hit]
        quoted.append(Quoted(item.candidate.text.strip(), passage.n, *release_of(passage.metadata)))
        quotes.setdefault(passage.n, []).append((item.candidate.start, item.candidate.end))
    text, citations = verify_citations(compose(query.lang, quoted, short), passages, quotes)
    yield text
    yield Answer(
        question=query.question,
        text=text,
        found=True,
        citations=citations,
        lang=query.lang,
        mode="extractive",
        short=short,
    )


def _llm_answer(query: Query, passages: list[Passage], settings: Settings) -> Iterator[str | Answer]:
    pieces: list[str] = []
    for piece in llm.stream_answer(query, passages, settings):
        pieces.append(piece)
        yield piece
    raw = "".join(pieces).strip()
    text, citations = verify_citations(raw, passages)
    not_found = llm.not_found_reply(raw, cited=bool(citations))
    if not_found:
        yield Answer(question=query.question, text=not_found, found=False, lang=query.lang, mode="llm")
        return
    yield Answer(
        question=query.question, text=text, found=bool(citations), citations=citations, lang=query.lang, mode="llm"
    )


def _passages(ranking: Ranking) -> list[Passage]:
    return [
        Passage(n=i + 1, id=h.id, text=h.text, metadata=h.metadata, score=h.score) for i, h in enumerate(ranking.hits)
    ]
