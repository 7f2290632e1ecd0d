"""No text is embedded twice: passages by text hash, sentences one by one (index.sentence_cache), and the vectors
stored are exactly those a fresh embedding gives (fictional releases, the model-free hashing stack)."""
from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import numpy as np
import pytest

from helpers.indexing import EmbeddingSpy, make_settings, stored_chunks
from helpers.releases import FIXTURES, write_releases
from index.chunk import chunk_release, sentence_spans
from index import stored_vectors
from index.embed import HashingStack
from index.load import read_sources
from index.release import Release
from index.sentence_cache import SentenceCache
from index.settings import Settings
from index.update import build, update

BOILERPLATE = "This text is a test fixture written for the app's tests; it is not a real NATO release."


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return make_settings(tmp_path / "home", embeddings="hashing")


def _sentences(folder: Path) -> list[str]:
    releases = [r for r in read_sources([str(folder)]) if isinstance(r, Release)]
    return [c.text[a:b] for r in releases for c in chunk_release(r) for a, b in sentence_spans(c.text)]


def _same_bits(meta: dict, fresh: np.ndarray) -> bool:
    """The stored sentence vectors are the float16 values of a fresh embedding, bit for bit."""
    stored = stored_vectors.sentence_vectors_of(meta, fresh.shape[1])
    return stored.astype("<f2").tobytes() == np.asarray(fresh, "<f2").tobytes()


def test_a_sentence_repeated_across_releases_is_embedded_once(settings: Settings, tmp_path: Path,
                                                             embedding_spy: EmbeddingSpy) -> None:
    folder = tmp_path / "releases"
    write_releases(folder)
    every = _sentences(folder)
    assert Counter(every)[BOILERPLATE] >= 3, "the fixtures share their opening sentence"

    build([str(folder)], settings)

    assert Counter(embedding_spy.sentences) == Counter(set(every)), "each distinct sentence embedded exactly once"


def test_reused_sentence_vectors_are_those_a_fresh_embedding_stores(settings: Settings, tmp_path: Path) -> None:
    folder = tmp_path / "releases"
    write_releases(folder)
    build([str(folder)], settings)

    stack = HashingStack()
    chunks = stored_chunks(settings)
    assert len(chunks) >= len(FIXTURES)
    for chunk in chunks:
        spans = json.loads(chunk.metadata["sentences"])
        fresh = stack.embed_sentences([chunk.text[a:b] for a, b in spans])
        assert _same_bits(chunk.metadata, fresh), "bit for bit what no cache gives"


def test_an_edited_release_embeds_only_its_new_sentences(settings: Settings, tmp_path: Path,
                                                         embedding_spy: EmbeddingSpy) -> None:
    folder = tmp_path / "releases"
    (path,) = write_releases(folder, ["2099-01-01-en-quartz-lantern.txt"])
    build([str(folder)], settings)
    raw = path.read_text(encoding="utf-8")
    added = "An invented widget inspector praised the exercise."
    path.write_text(raw.replace("under time pressure.", f"under time pressure. {added}"), encoding="utf-8")
    embedding_spy.reset()

    assert update([str(folder)], settings).line() == "added 0, updated 1, unchanged 0, removed 0, failed 0"

    assert embedding_spy.passages, "the edited passage is embedded again"
    assert embedding_spy.sentences == [added], "its other sentences take the vectors stored for the earlier version"
    stack = HashingStack()
    for chunk in stored_chunks(settings):
        spans = json.loads(chunk.metadata["sentences"])
        fresh = stack.embed_sentences([chunk.text[a:b] for a, b in spans])
        assert _same_bits(chunk.metadata, fresh)


def test_the_sentence_cache_is_bounded_and_keeps_float16_rows() -> None:
    cache = SentenceCache(dim=4, size=2)
    rows = cache.put(["a", "b"], np.array([[1, 0, 0, 0], [0, 1, 0, 0]], np.float32))
    assert all(r.dtype == np.dtype("<f2") for r in rows.values())
    assert len(cache.known(["a"])) == 1        # "a" is now the most recently used
    cache.put(["c"], np.array([[0, 0, 1, 0]], np.float32))
    assert len(cache) == 2 and set(cache.known(["a", "b", "c"])) == set(cache.known(["a", "c"]))   # "b" evicted
