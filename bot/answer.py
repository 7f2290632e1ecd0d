"""Question -> Answer: the whole flow, top-down.

    prepare the question (follow-ups, dates)      bot.query
    retrieve and rank passages                    bot.search
    score candidate sentences                     bot.extractive
    abstain when nothing supports an answer       bot.confidence
    write the answer: extractive, or an LLM       bot.extractive / bot.llm
    verify every [n] marker                       bot.citations

bot/ never writes to the index.
"""
from __future__ import annotations

import threading
from collections.abc import Iterator

from index.settings import Settings, get_settings
from index.store import StoreError

from . import llm
from .citations import Answer, Passage, verify_citations
from .confidence import ABSTAIN_TEXT, should_abstain
from .extractive import PASSAGES_READ, Evidence, SentenceVectors, choose, rank_sentences
from .query import Query, prepare
from .search import Filters, Ranking, Searcher, get_searcher

_LANG_NAMES = {"en": {"en": "English", "fr": "French"}, "fr": {"en": "anglais", "fr": "français"}}
_sentence_vectors: dict[int, SentenceVectors] = {}
_lock = threading.Lock()


def answer(question: str, history: list[dict] | None = None, *, lang: str | None = None, date_from: str | None = None,
           date_to: str | None = None, settings: Settings | None = None) -> Answer:
    """Answer a question from the indexed releases, every claim followed by its [n]."""
    result = None
    for item in answer_stream(question, history, lang=lang, date_from=date_from, date_to=date_to, settings=settings):
        if isinstance(item, Answer):
            result = item
    assert result is not None
    return result


def answer_stream(question: str, history: list[dict] | None = None, *, lang: str | None = None, date_from: str | None = None,
                  date_to: str | None = None, settings: Settings | None = None) -> Iterator[str | Answer]:
    """Yield the answer text as it is written (str pieces), then the final, verified Answer."""
    settings = settings or get_settings()
    if settings.llm:
        llm.parse_spec(settings.llm)     # a bad COMMUNIQUE_LLM fails every question (LLMConfigError), not only answerable ones
    query = prepare(question, history)
    try:
        searcher = get_searcher(settings)
        if settings.llm and query.folded:
            rewritten = llm.rewrite_question(question, history or [], settings)
            if rewritten:                # else keep the follow-up with its earlier questions folded in
                query = prepare(rewritten, None)
        ranking = searcher.rank(query, k=PASSAGES_READ, filters=Filters(lang, date_from, date_to))
        evidence = rank_sentences(query, ranking, _vectors_for(searcher))
        if should_abstain(query, ranking.hits, evidence, searcher.cache.current()):
            text = ABSTAIN_TEXT.get(query.lang, ABSTAIN_TEXT["en"])
            yield text
            yield Answer(question=question, text=text, found=False, lang=query.lang, mode="abstain")
            return
        passages = _passages(ranking)
        written = _llm_answer(query, passages, settings) if settings.llm else _extractive_answer(query, passages, evidence)
        for item in written:
            if isinstance(item, Answer):
                item.question = question   # what the user asked, even when an LLM rewrote it for retrieval
            yield item
    except StoreError as exc:
        message = f"The index is unavailable right now: {exc}"
        yield message
        yield Answer(question=question, text=message, found=False, lang=query.lang, mode="error", error=str(exc))
    except llm.LLMError as exc:
        yield str(exc)
        yield Answer(question=question, text=str(exc), found=False, lang=query.lang, mode="error", error=str(exc))


def _extractive_answer(query: Query, passages: list[Passage], evidence: list[Evidence]) -> Iterator[str | Answer]:
    chosen = choose(evidence, [str(p.metadata.get("source")) for p in passages])
    parts, quotes, announced = [], {}, set()
    for item in chosen:
        passage = passages[item.hit]
        sentence = item.text.strip()
        foreign = passage.metadata.get("lang") and passage.metadata.get("lang") != query.lang
        if foreign:
            sentence = _quote(query.lang, sentence)
            if passage.metadata.get("source") not in announced:
                sentence = f"{_from_release_in(query.lang, passage)} {sentence}"
                announced.add(passage.metadata.get("source"))
        parts.append(f"{sentence} [{passage.n}]")
        quotes.setdefault(passage.n, []).append((item.start, item.end))
    text, citations = verify_citations(" ".join(parts), passages, quotes)
    yield text
    yield Answer(question=query.question, text=text, found=True, citations=citations, lang=query.lang, mode="extractive")


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
    yield Answer(question=query.question, text=text, found=bool(citations), citations=citations, lang=query.lang, mode="llm")


def _passages(ranking: Ranking) -> list[Passage]:
    return [Passage(n=i + 1, id=h.id, text=h.text, metadata=h.metadata, score=h.score) for i, h in enumerate(ranking.hits)]


def _from_release_in(question_lang: str, passage: Passage) -> str:
    """Say briefly, in the question's language, that the quoted release is in another language."""
    names = _LANG_NAMES.get(question_lang, _LANG_NAMES["en"])
    other = names.get(str(passage.metadata.get("lang")), str(passage.metadata.get("lang")))
    return f"D’après le communiqué en {other} :" if question_lang == "fr" else f"From the {other} release:"


def _quote(question_lang: str, sentence: str) -> str:
    return f"« {sentence} »" if question_lang == "fr" else f"“{sentence}”"


def _vectors_for(searcher: Searcher) -> SentenceVectors:
    with _lock:
        vectors = _sentence_vectors.get(id(searcher))
        if vectors is None or vectors.searcher is not searcher:
            vectors = _sentence_vectors[id(searcher)] = SentenceVectors(searcher)
        return vectors
