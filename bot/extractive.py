"""The offline answer: pick the sentences of the retrieved passages that answer the question.

No language model: each sentence of the top passages is scored by
  * meaning  — cosine between the question and the sentence (USE vectors computed at
               index time, so this costs a lookup, not a model call);
  * form     — does it hold what the question asks for: a person for "who", a date for
               "when", a number for "how many", the term being defined for "what is";
               (bot.forms);
  * overlap  — the question's words it shares, weighted by how few candidates share them;
  * retrieval — its passage's fused retrieval score, relative to the best passage's;
  * and small penalties for another release than the best one, for fragments, and (in
    a follow-up) for repeating what the bot already said.
The best sentence, and the next best of the same release when it scores close enough,
become the answer, each followed by its passage's [n].
"""
from __future__ import annotations

import json
from collections import OrderedDict
from dataclasses import dataclass
from threading import Lock

import numpy as np

from index.embed import decode_matrix
from index.store import SENTENCE_VECTORS_KEY, open_collection, reading_store

from .forms import content_words, form_score, wants
from .query import Query
from .search import Hit, Ranking, Searcher

WEIGHTS = {"meaning": 1.0, "form": 0.2, "overlap": 0.3, "retrieval": 1.0, "other_release": -0.1, "fragment": -0.3, "repeat": -0.15}
SECOND_SENTENCE_RATIO = 0.6    # a second sentence joins the answer when it scores this close to the best
PASSAGES_READ = 6              # sentences are taken from this many top passages
MIN_SENTENCE_CHARS = 40        # shorter "sentences" are headings or parsing debris

@dataclass(frozen=True)
class Evidence:
    """A candidate answer sentence."""

    hit: int            # index of its passage in the ranking
    start: int          # span in the passage text
    end: int
    text: str
    score: float        # everything, the passage's retrieval rank included
    meaning: float
    support: float      # how well the sentence itself answers (meaning, form, overlap): abstention reads this


class SentenceVectors:
    """Per-chunk sentence spans and vectors from Chroma, with a small LRU cache."""

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
                for id_, meta in zip(found["ids"], found["metadatas"]):
                    spans = json.loads(meta.get("sentences") or "[]")
                    vectors = decode_matrix(meta[SENTENCE_VECTORS_KEY], self.searcher.stack.dim) if meta.get(SENTENCE_VECTORS_KEY) else np.zeros((0, self.searcher.stack.dim), np.float32)
                    self._cache[id_] = (spans, vectors)
                    while len(self._cache) > self.size:
                        self._cache.popitem(last=False)
        with self._lock:
            return {h.id: self._cache[h.id] for h in hits if h.id in self._cache}


def rank_sentences(query: Query, ranking: Ranking, vectors: SentenceVectors) -> list[Evidence]:
    """Every sentence of the top passages, best answer first.

    For a follow-up, meaning is measured against the new question as much as against
    the folded text, or the sentence that answered the previous turn would win again.
    """
    hits = ranking.hits[:PASSAGES_READ]
    question_vector = ranking.query_vector
    if query.folded:
        own = vectors.searcher.stack.embed_dense([query.question])[0]
        question_vector = (question_vector + own) / 2
    table = vectors.get(hits)
    asks = wants(query.question)
    asked = content_words(query.text)
    top_release = hits[0].metadata.get("source") if hits else None
    candidates = []
    for h, hit in enumerate(hits):
        spans, matrix = table.get(hit.id, ([], np.zeros((0, 1))))
        if not spans or len(matrix) != len(spans):
            spans, matrix = [[0, len(hit.text)]], None
        meanings = matrix @ question_vector if matrix is not None else np.full(len(spans), hit.dense)
        for (start, end), meaning in zip(spans, meanings):
            sentence = hit.text[start:end]
            candidates.append((h, hit, start, end, sentence, float(meaning), content_words(sentence)))
    weights = _local_idf(asked, [c[6] for c in candidates])
    said = " ".join(" ".join(text.split()) for text in query.said)
    evidence: list[Evidence] = []
    for h, hit, start, end, sentence, meaning, words in candidates:
        if True:
            parts = {
                "meaning": meaning,
                "form": form_score(asks, sentence, query.text),
                "overlap": sum(weights[w] for w in asked & words) / (sum(weights.values()) or 1.0),
                "retrieval": hit.score / hits[0].score,
                "other_release": float(hit.metadata.get("source") != top_release),
                "fragment": float(len(sentence) < MIN_SENTENCE_CHARS),
                "repeat": float(_already_said(sentence, said)),   # a follow-up wants something new
            }
            score = sum(WEIGHTS[name] * value for name, value in parts.items())
            support = sum(WEIGHTS[name] * parts[name] for name in ("meaning", "form", "overlap", "fragment"))
            evidence.append(Evidence(h, start, end, sentence, score, float(meaning), support))
    evidence.sort(key=lambda e: -e.score)
    return evidence


def choose(evidence: list[Evidence], sources: list[str]) -> list[Evidence]:
    """The best sentence, plus the next best from the same release when it scores close enough.

    Two sentences of one release read as one answer with its context; a sentence from
    another release would read as a non sequitur.
    """
    if not evidence:
        return []
    best = evidence[0]
    source = sources[best.hit]
    chosen = [best]
    for candidate in evidence[1:]:
        if candidate.score < SECOND_SENTENCE_RATIO * best.score:
            break
        if sources[candidate.hit] == source and not _overlaps(candidate, best):
            chosen.append(candidate)
            break
    return sorted(chosen, key=lambda e: (e.hit, e.start)) if len({e.hit for e in chosen}) == 1 else chosen


def _overlaps(a: Evidence, b: Evidence) -> bool:
    return a.hit == b.hit and a.start < b.end and b.start < a.end


def _already_said(sentence: str, said: str) -> bool:
    return bool(said) and " ".join(sentence.split())[:200] in said


def _local_idf(asked: set[str], pool: list[set[str]]) -> dict[str, float]:
    """Weights of the question's words among the candidate sentences.

    Words found in most candidates are the release's topic ("Conference", "Resolute
    Support"); words found in few are what tells the answering sentence apart
    ("attended", "troops"), so they weigh more.
    """
    n = len(pool) or 1
    return {w: float(np.log(1 + n / (1 + sum(w in words for words in pool)))) for w in asked}
