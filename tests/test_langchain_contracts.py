"""LangChain's own standard test suites (PyPI `langchain-tests`), unmodified, on the real stack.

* `VectorStoreIntegrationTests` on index.store.ChunkStore,
* `RetrieversIntegrationTests` on bot.CommuniqueRetriever,
* `EmbeddingsUnitTests` / `EmbeddingsIntegrationTests` on index.embed.StackEmbeddings,

each store suite once embedded and once against a `chroma run` server, with the bundled
models (one stack per test session: index.embed.load_stack caches it). Then a few checks
of what the suites leave out: scores, MMR, the retriever search types, invoke-time filters.
The texts are generated here and plainly fictional; nothing is read from ../shared.
"""
from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from langchain_core.documents import Document
from langchain_core.embeddings import Embeddings
from langchain_core.retrievers import BaseRetriever
from langchain_core.vectorstores import VectorStore
from langchain_tests.integration_tests import EmbeddingsIntegrationTests, RetrieversIntegrationTests, VectorStoreIntegrationTests
from langchain_tests.unit_tests import EmbeddingsUnitTests

from bot import CommuniqueRetriever
from bot import close_all
from helpers.indexing import make_settings
from index.chunk import chunk_release
from index.embed import StackEmbeddings, load_stack
from index.release import Release
from index.settings import Settings
from index import stored_vectors
from index.store import ChunkStore, StoreError, drop_collection

pytestmark = pytest.mark.e2e

# Fictional releases of a fictional alliance: what a desk's index holds, in miniature.
FICTION = [
    Document(id="lakes-1", page_content="Ministers of the Alliance of Northern Lakes met in Port Meridian and agreed "
             "a Lighthouse Readiness Plan for the coastal provinces. The plan adds twelve rescue boats by next spring.",
             metadata={"source": "fiction/lakes-2021-en.txt", "title": "Port Meridian ministerial statement",
                       "lang": "en", "date": "2021-03-14"}),
    Document(id="lakes-2", page_content="The Council of the Alliance of Northern Lakes welcomed Vesterholm as its ninth "
             "member. Vesterholm will host the winter exercise Frost Heron on the frozen lake.",
             metadata={"source": "fiction/lakes-2022-en.txt", "title": "Vesterholm joins the Alliance",
                       "lang": "en", "date": "2022-06-02"}),
    Document(id="lakes-3", page_content="Les ministres de l'Alliance des Lacs du Nord, réunis à Port Méridien, ont adopté "
             "le plan Phare pour les provinces côtières. Douze bateaux de sauvetage s'y ajouteront au printemps.",
             metadata={"source": "fiction/lakes-2021-fr.txt", "title": "Déclaration ministérielle de Port Méridien",
                       "lang": "fr", "date": "2021-03-14"}),
    Document(id="lakes-4", page_content="Leaders of the Alliance of Northern Lakes agreed at the Amberfall summit to "
             "spend two percent of their lake tolls on shared ferries and on the Lighthouse Readiness Plan.",
             metadata={"source": "fiction/lakes-2023-en.txt", "title": "Amberfall summit declaration",
                       "lang": "en", "date": "2023-09-21"}),
    Document(id="lakes-5", page_content="Le sommet d'Amberfall a décidé que chaque membre de l'Alliance des Lacs du Nord "
             "consacrera deux pour cent de ses péages lacustres aux traversiers communs.",
             metadata={"source": "fiction/lakes-2023-fr.txt", "title": "Déclaration du sommet d'Amberfall",
                       "lang": "fr", "date": "2023-09-21"}),
    Document(id="lakes-6", page_content="The Alliance of Northern Lakes thanked the Heron Fleet for its patrols of the "
             "eastern shore and named Admiral Tilde Marrow its first Fleet Commander.",
             metadata={"source": "fiction/lakes-2024-en.txt", "title": "Heron Fleet press release",
                       "lang": "en", "date": "2024-01-30"}),
]
QUESTION = "Which plan did the ministers of the Alliance of Northern Lakes adopt for the coast?"


@pytest.fixture(scope="module", params=["embedded", pytest.param("server", marks=pytest.mark.server)])
def contract_home(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Settings:
    """Settings of a temporary home, once embedded and once on the session's Chroma server (one collection per use)."""
    chroma_url = request.getfixturevalue("chroma_server") if request.param == "server" else None
    home = tmp_path_factory.mktemp(f"contracts-{request.param}") / "home"
    return make_settings(home, chroma_url=chroma_url)


def _fresh(settings: Settings) -> Settings:
    return make_settings(settings.home, chroma_url=settings.chroma_url, collection=f"lc-{uuid.uuid4().hex[:12]}")


@pytest.fixture(scope="module")
def fiction_index(contract_home: Settings) -> Iterator[Settings]:
    """Settings of an index holding FICTION (added as plain Documents), shared by the module's read-only tests."""
    settings = _fresh(contract_home)
    ChunkStore.open(settings).add_documents(FICTION)
    yield settings
    close_all()
    drop_collection(settings)


@pytest.fixture
def empty_store(contract_home: Settings) -> Iterator[ChunkStore]:
    """A store over a new, empty collection, dropped afterwards."""
    settings = _fresh(contract_home)
    store = ChunkStore.open(settings)
    yield store
    drop_collection(settings)


# --------------------------------------------------------------------------- the standard suites


class TestChunkStoreStandard(VectorStoreIntegrationTests):
    """The vector store contract: plain Documents in, the same Documents out, ids honoured, sync and async."""

    @pytest.fixture
    def vectorstore(self, empty_store: ChunkStore) -> VectorStore:  # type: ignore[override]
        # The suite offers DeterministicFakeEmbedding (get_embeddings); ChunkStore embeds with its own
        # stack, and the point here is the real one.
        return empty_store


class TestCommuniqueRetrieverStandard(RetrieversIntegrationTests):
    """The retriever contract: k in the constructor and at invoke time, sync and async."""

    settings: Settings | None = None

    @pytest.fixture(autouse=True)
    def _index(self, request: pytest.FixtureRequest, fiction_index: Settings) -> None:
        request.instance.settings = fiction_index

    @property
    def retriever_constructor(self) -> type[BaseRetriever]:
        return CommuniqueRetriever

    @property
    def retriever_constructor_params(self) -> dict[str, Any]:
        return {"settings": self.settings}

    @property
    def retriever_query_example(self) -> str:
        return QUESTION


class TestStackEmbeddingsUnit(EmbeddingsUnitTests):
    @property
    def embeddings_class(self) -> type[Embeddings]:
        return StackEmbeddings

    @property
    def embedding_model_params(self) -> dict[str, Any]:
        return {"spec": "bundled"}


class TestStackEmbeddingsIntegration(EmbeddingsIntegrationTests):
    @property
    def embeddings_class(self) -> type[Embeddings]:
        return StackEmbeddings

    @property
    def embedding_model_params(self) -> dict[str, Any]:
        return {"spec": "bundled"}


# --------------------------------------------------------------------------- what the suites leave out


def test_embeddings_adapter_gives_the_stored_vectors(fiction_index: Settings) -> None:
    store = ChunkStore.open(fiction_index)
    assert isinstance(store.embeddings, StackEmbeddings) and store.embeddings.stack is load_stack("bundled")
    stored = np.asarray(store.collection.get(ids=["lakes-2"], include=["embeddings"])["embeddings"][0])
    title = FICTION[1].metadata["title"]
    mine = np.asarray(store.embeddings.embed_documents([f"{title}\n\n{FICTION[1].page_content}"])[0])
    assert np.allclose(stored, mine, atol=1e-5)
    query = np.asarray(store.embeddings.embed_query(QUESTION))
    assert query.shape == (load_stack("bundled").dim,) and abs(float(np.linalg.norm(query)) - 1.0) < 1e-4


def test_plain_documents_read_back_unchanged(fiction_index: Settings) -> None:
    store = ChunkStore.open(fiction_index)
    assert store.get_by_ids(["lakes-1", "lakes-6"]) == [FICTION[0], FICTION[5]]
    # ...while the store holds what the bot needs (the numeric date drives its date filters)
    meta = store.collection.get(ids=["lakes-1"], include=["metadatas"])["metadatas"][0]
    assert meta["date_int"] == 20210314 and meta["text_hash"] and meta["sentences"]
    assert stored_vectors.sparse_of(meta) is not None and len(stored_vectors.sentence_vectors_of(meta, 384))


def test_scores_are_cosine_distances_and_relevance(fiction_index: Settings) -> None:
    store = ChunkStore.open(fiction_index)
    scored = store.similarity_search_with_score(QUESTION, k=6)
    distances = [d for _, d in scored]
    assert distances == sorted(distances) and 0.0 <= distances[0] < 1.0
    relevance = store.similarity_search_with_relevance_scores(QUESTION, k=6)
    assert [doc.id for doc, _ in relevance] == [doc.id for doc, _ in scored]
    assert np.allclose([r for _, r in relevance], [max(0.0, 1.0 - d) for d in distances])
    assert all(0.0 <= r <= 1.0 for _, r in store.similarity_search_with_relevance_scores("Vesterholm", k=6))
    assert scored[0][0].id in {"lakes-1", "lakes-3"}   # the Lighthouse plan, in either language
    exact = store.similarity_search_with_score(FICTION[5].page_content, k=1)[0]   # text alone, without its title
    assert exact[0].id == "lakes-6" and exact[1] < 0.2


def test_filters_reach_chroma(fiction_index: Settings) -> None:
    store = ChunkStore.open(fiction_index)
    french = store.similarity_search(QUESTION, k=6, filter={"lang": "fr"})
    assert {d.id for d in french} == {"lakes-3", "lakes-5"}
    assert all(d.metadata["lang"] == "fr" for d in store.max_marginal_relevance_search(QUESTION, k=2, filter={"lang": "fr"}))


def test_mmr_trades_relevance_for_diversity(fiction_index: Settings) -> None:
    store = ChunkStore.open(fiction_index)
    plain = [d.id for d in store.similarity_search(QUESTION, k=2)]
    assert set(plain) == {"lakes-1", "lakes-3"}   # the same release in two languages: near-duplicates
    relevant = [d.id for d in store.max_marginal_relevance_search(QUESTION, k=2, fetch_k=6, lambda_mult=1.0)]
    assert relevant == plain
    diverse = [d.id for d in store.max_marginal_relevance_search(QUESTION, k=2, fetch_k=6, lambda_mult=0.3)]
    assert diverse[0] == plain[0] and diverse[1] not in plain


def test_as_retriever_search_types(fiction_index: Settings) -> None:
    store = ChunkStore.open(fiction_index)
    assert len(store.as_retriever(search_kwargs={"k": 3}).invoke(QUESTION)) == 3
    mmr = store.as_retriever(search_type="mmr", search_kwargs={"k": 3, "fetch_k": 6}).invoke(QUESTION)
    assert len(mmr) == 3 and len({d.id for d in mmr}) == 3
    threshold = store.as_retriever(search_type="similarity_score_threshold",
                                   search_kwargs={"k": 6, "score_threshold": 0.4}).invoke(QUESTION)
    assert threshold and len(threshold) < 6
    assert {"lakes-1", "lakes-3"} <= {d.id for d in threshold}
    assert store.as_retriever(search_type="similarity_score_threshold",
                              search_kwargs={"score_threshold": 0.999}).invoke(QUESTION) == []


def test_from_texts_and_from_documents(contract_home: Settings) -> None:
    settings = _fresh(contract_home)
    try:
        embedding = StackEmbeddings("bundled")
        store = ChunkStore.from_texts(["The Heron Fleet patrols the eastern shore."], embedding,
                                      metadatas=[{"lang": "en"}], ids=["t1"], settings=settings)
        assert store.get_by_ids(["t1"]) == [Document(id="t1", page_content="The Heron Fleet patrols the eastern shore.",
                                                     metadata={"lang": "en"})]
        again = ChunkStore.from_documents(FICTION[:2], embedding, settings=settings)
        assert again.collection.count() == 3 and again.get_by_ids(["lakes-2"]) == [FICTION[1]]
        with pytest.raises(StoreError, match="StackEmbeddings"):
            ChunkStore.from_texts(["x"], _OtherEmbeddings(), settings=settings)
    finally:
        drop_collection(settings)


class _OtherEmbeddings(Embeddings):
    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        return [[1.0, 0.0] for _ in texts]

    def embed_query(self, text: str) -> list[float]:
        return [1.0, 0.0]


def test_retriever_honours_invoke_time_filters(fiction_index: Settings) -> None:
    retriever = CommuniqueRetriever(settings=fiction_index)
    assert len(retriever.invoke(QUESTION)) == 5
    french = retriever.invoke(QUESTION, k=6, lang="fr")
    assert {d.id for d in french} == {"lakes-3", "lakes-5"}
    recent = retriever.invoke(QUESTION, k=6, date_from="2023-01-01", date_to="2023-12-31")
    assert {d.id for d in recent} == {"lakes-4", "lakes-5"}
    assert {d.id for d in CommuniqueRetriever(settings=fiction_index, lang="fr", k=6).invoke(QUESTION, lang="en")} \
        == {"lakes-1", "lakes-2", "lakes-4", "lakes-6"}
    assert "store_filled" not in french[0].metadata and "text_hash" not in french[0].metadata
    with pytest.raises(TypeError, match="top_k"):
        retriever.invoke(QUESTION, top_k=2)


async def test_retriever_honours_invoke_time_arguments_async(fiction_index: Settings) -> None:
    retriever = CommuniqueRetriever(settings=fiction_index)
    french = await retriever.ainvoke(QUESTION, k=1, lang="fr")
    assert [d.id for d in french] == ["lakes-3"]


def test_chunker_documents_keep_their_metadata(empty_store: ChunkStore, tmp_path: Path) -> None:
    """Documents from the project's chunker are stored as before: nothing derived, nothing hidden."""
    release = Release(source=str(tmp_path / "r.txt"), title="Frost Heron exercise", lang="en", date="2022-02-01",
                      text="Frost Heron began on the frozen lake.\n\nNine members took part.")
    docs = [c.to_document() for c in chunk_release(release)]
    ids = empty_store.add_documents(docs, ids=[f"r-{i}" for i in range(len(docs))])
    assert [d.metadata for d in empty_store.get_by_ids(ids)] == [d.metadata for d in docs]
    assert "store_filled" not in empty_store.collection.get(ids=ids, include=["metadatas"])["metadatas"][0]
