"""Candidate answer sentences of the top passages, and what the answer model reads of each.

Every sentence of the passages read (bot.extractive.PASSAGES_READ) becomes a Candidate
with a few features, all cheap at answer time (sentence vectors were computed at index
time, so "meaning" is a dot product and one small model call for the question). The features, and why each is there:
  meaning, meaning_gap, meaning_rank   cosine to the question in the stack's sentence space (the bundled stack:
                        multilingual-e5-small, cross-lingual) as a z-score against unrelated texts, its
                        distance to the best candidate's, its rank;
  overlap, overlap_gap  the question's words it shares, weighted by how few candidates share them, and its
                        distance to the best candidate's (the model compares sentences of one question);
  rare_overlap          the same with the index's own word rarity (a name few releases use weighs most);
  coverage              share (IDF-weighted) of the question's words its release uses at all, same language only:
                        a release that never says "budget" does not answer a budget question;
  typed_found / typed_missing  the question asks for a person/date/number/place/named thing, and the sentence
                        holds one the question does not already name — or holds none;
  definition            for "what is X": the sentence names X, and reads as its definition;
  retrieval, rank       its passage's fused score relative to the best, and its rank;
  lead                  the first sentence of a release (where press releases put the news);
  heading, fragment     a title, heading, list label, header line or caption-sized piece, not a sentence;
  date_agree / date_conflict   the question names a year: the release or sentence has it, or the release is dated
                        another year and the sentence does not mention it;
  missing               the question names something with a word the index never uses (query-level);
  same_lang, other_release.
bot/ never writes to the index.
"""

from __future__ import annotations

import json
import math
import re
from collections import OrderedDict
from dataclasses import dataclass
from threading import Lock
from typing import NamedTuple

import numpy as np

from index.snapshot import Snapshot
from index.store import metadatas_of, open_collection, reading_store
from index.stored_vectors import sentence_vectors_of
from index.words import content_words

from .forms import candidates as typed_candidates
from .forms import characterises, defines
from .query import Query
from .search import Hit, Ranking, Searcher

FEATURES = (
    "meaning",
    "meaning_gap",
    "meaning_rank",
    "overlap",
    "overlap_gap",
    "rare_overlap",
    "coverage",
    "typed_found",
    "typed_missing",
    "definition",
    "retrieval",
    "rank",
    "lead",
    "heading",
    "fragment",
    "date_agree",
    "date_conflict",
    "missing",
    "same_lang",
    "other_release",
)
MIN_SENTENCE_CHARS = 40  # shorter "sentences" are headings or parsing debris
_SENTENCE_END = re.compile(r"[.!?…»”\"')\]:;,]\s*$")
_HEADER_LINE = re.compile(r"^\s*(?:[\w-]{2,20})\s*:\s+\S")  # "url: https://…", "Date: 12 May 2024"
_BULLET = re.compile(r"^\s*(?:[-•*·–]|\d+[.)])\s+")
_YEAR = re.compile(r"\b(19[4-9]\d|20\d\d)\b")


@dataclass(frozen=True)
class Candidate:
    """A sentence that might answer the question, with the features the answer model reads."""

    hit: int  # index of its passage in the ranking
    start: int  # span in the passage text
    end: int
    text: str
    typed: tuple[str, ...]  # things of the asked type it holds that the question does not name
    features: tuple[float, ...]  # in the order of FEATURES

    def feature(self, name: str) -> float:
        return self.features[FEATURES.index(name)]


class _Sentence(NamedTuple):
    hit: int  # passage index in the ranking
    passage: Hit
    position: int  # sentence index within the passage
    start: int
    end: int
    text: str
    meaning: float


class SentenceVectors:
    """Per-chunk sentence spans and vectors from Chroma, with a small LRU cache (owned by one Bot)."""

    def __init__(self, searcher: Searcher, size: int = 4096) -> None:
        self.searcher = searcher
        self.size = size
        self._cache: OrderedDict[str, tuple[list[list[int]], np.ndarray]] = OrderedDict()
        self._lock = Lock()

    def get(self, hits: list[Hit]) -> dict[str, tuple[list[list[int]], np.ndarray]]:
        with self._lock:
            missing = [h.id for h in hits if h.id not in self._cache]
        if missing:
            collection = open_collection(self.searcher.settings, self.searcher.stack_name)
            with reading_store():
                found = collection.get(ids=missing, include=["metadatas"])
            with self._lock:
                for id_, meta in zip(found["ids"], metadatas_of(found)):
                    spans = json.loads(str(meta.get("sentences") or "[]"))
                    self._cache[id_] = (spans, sentence_vectors_of(meta, self.searcher.stack.sentence_dim))
                    while len(self._cache) > self.size:
                        self._cache.popitem(last=False)
        with self._lock:
            return {h.id: self._cache[h.id] for h in hits if h.id in self._cache}


def candidate_sentences(
    query: Query, ranking: Ranking, vectors: SentenceVectors, snapshot: Snapshot, *, passages: int, missing: bool
) -> list[Candidate]:
    """Every sentence of the top `passages` passages, in ranking order, with its features."""
    hits = ranking.hits[:passages]
    if not hits:
        return []
    stack = vectors.searcher.stack
    mean, spread = stack.sentence_baseline
    # the searched text's vector, from retrieval when the sentence space is the dense one (not embedded twice)
    searched = [ranking.query_vector] if stack.sentences_in_dense_space else []
    if query.folded:  # a follow-up: meaning against the new question as much as the folded text
        texts = [query.text, query.question][len(searched) :]
        question_vector = np.vstack([*searched, stack.embed_sentence_queries(texts)]).mean(axis=0)
    else:
        question_vector = searched[0] if searched else stack.embed_sentence_queries([query.text])[0]
    table = vectors.get(hits)
    raw: list[_Sentence] = []
    matrix: np.ndarray | None
    for h, hit in enumerate(hits):
        spans, matrix = table.get(hit.id, ([], np.zeros((0, 1))))
        if not spans or len(matrix) != len(spans):  # a chunk without sentence data: the whole passage, unscored
            spans, matrix = [[0, len(hit.text)]], None
        # meaning as a z-score against unrelated texts in this stack's space (EmbeddingStack.sentence_baseline)
        meanings = (matrix @ question_vector - mean) / spread if matrix is not None else np.zeros(len(spans))
        for i, ((start, end), meaning) in enumerate(zip(spans, meanings)):
            raw.append(_Sentence(h, hit, i, start, end, hit.text[start:end], float(meaning)))
    asked = content_words(query.text)
    pool = [content_words(r.text) for r in raw]
    local = _local_idf(asked, pool)
    local_total = sum(local.values()) or 1.0
    best_meaning = max(r.meaning for r in raw)
    overlaps = [sum(local[w] for w in asked & words) / local_total for words in pool]
    best_overlap = max(overlaps)
    meaning_order = np.argsort([-r.meaning for r in raw], kind="stable")
    meaning_rank = np.empty(len(raw), dtype=int)
    meaning_rank[meaning_order] = np.arange(len(raw))
    rarity = _index_idf(asked, snapshot)
    rarity_total = sum(rarity.values()) or 1.0
    coverage = _release_coverage(hits, asked, rarity)
    top_source = hits[0].metadata.get("source")
    out = []
    for n, (sentence_at, words) in enumerate(zip(raw, pool)):
        h, hit, i, start, end, sentence, meaning = sentence_at
        meta = hit.metadata
        typed = tuple(typed_candidates(query.asks.kind, sentence, query.text)) if query.asks.typed else ()
        definition = 0.0
        if query.asks.kind == "definition":
            definition = defines(query.asks.term, sentence) / 2
        elif query.asks.kind == "describe":
            definition = float(characterises(sentence))
        agree, conflict = _date_fit(query, sentence, meta)
        same_lang = meta.get("lang") == query.lang
        values = {
            "meaning": meaning,
            "meaning_gap": meaning - best_meaning,
            "meaning_rank": 1.0 / (1 + int(meaning_rank[n])),
            "overlap": overlaps[n],
            "overlap_gap": overlaps[n] - best_overlap,
            "rare_overlap": sum(rarity[w] for w in asked & words) / rarity_total,
            "coverage": coverage.get(str(meta.get("source")), 0.0) if same_lang else 0.0,
            "typed_found": float(bool(typed)),
            "typed_missing": float(query.asks.typed and not typed),
            "definition": definition,
            "retrieval": hit.score / hits[0].score if hits[0].score else 0.0,
            "rank": 1.0 / (1 + h),
            "lead": float(meta.get("chunk") == 0 and i == 0),
            "heading": float(_is_heading(sentence, str(meta.get("title", "")))),
            "fragment": float(len(sentence.strip()) < MIN_SENTENCE_CHARS),
            "date_agree": agree,
            "date_conflict": conflict,
            "missing": float(missing),
            "same_lang": float(same_lang),
            "other_release": float(meta.get("source") != top_source),
        }
        out.append(Candidate(h, start, end, sentence, typed, tuple(values[name] for name in FEATURES)))
    return out


def _is_heading(sentence: str, title: str) -> bool:
    """A title, heading, list label, `key: value` header line or caption rather than a sentence of the body."""
    text = sentence.strip()
    if not text:
        return True
    if " ".join(text.split()).casefold() == " ".join(title.split()).casefold():
        return True
    if _HEADER_LINE.match(text) and len(text) < 120:
        return True
    return not _SENTENCE_END.search(text) and len(text) < 100 and not _BULLET.match(text)  # a list item may answer


def _date_fit(query: Query, sentence: str, meta: dict) -> tuple[float, float]:
    """(agree, conflict) between the years the question names and the sentence or its release's date."""
    years = set(query.years)
    if not years:
        return 0.0, 0.0
    said = {int(y) for y in _YEAR.findall(sentence)}
    dated = {int(str(meta[k])[:4]) for k in ("date", "updated") if meta.get(k) and str(meta[k])[:4].isdigit()}
    if years & (said | dated):
        return 1.0, 0.0
    return 0.0, float(bool(dated))


def _index_idf(asked: set[str], snapshot: Snapshot) -> dict[str, float]:
    """How rare each of the question's words is in the whole index (chunks holding it)."""
    df = snapshot.word_chunks()
    n = max(len(snapshot), 1)
    return {w: math.log(1 + n / (1 + df.get(w, 0))) for w in asked}


def _release_coverage(hits: list[Hit], asked: set[str], weight: dict[str, float]) -> dict[str, float]:
    """Per release: IDF-weighted share of the question's words found in its retrieved passages and title."""
    total = sum(weight.values())
    used: dict[str, set[str]] = {}
    for hit in hits:
        source = str(hit.metadata.get("source"))
        used.setdefault(source, set()).update(content_words(f"{hit.metadata.get('title', '')} {hit.text}"))
    return {s: (sum(weight[w] for w in asked if w in words) / total if total else 1.0) for s, words in used.items()}


def _local_idf(asked: set[str], pool: list[set[str]]) -> dict[str, float]:
    """Weights of the question's words among the candidate sentences.

    Words found in most candidates are the release's topic; words found in few tell the
    answering sentence apart, so they weigh more.
    """
    n = len(pool) or 1
    return {w: float(np.log(1 + n / (1 + sum(w in words for words in pool)))) for w in asked}
