"""The answer side at scale, without the real models (hashing stack, fictional releases):

* compact sparse vectors, and the older text format still decoding;
* postings: the same answers as scans of every chunk (missing names, identifier scores, filters);
* a small delta costs what changed (the large matrices are shared, index/layered_matrix.py), and a snapshot edited
  by deltas, compacted along the way, equals a full rebuild and the file it writes;
* the snapshot file under COMMUNIQUE_HOME: miss, hit, stale (delta from the changes log), damaged or of another
  format (rebuilt), an index written before the log existed (listed again);
* a refresh after another writer's update fetches only what the log names, and sees adds and deletes;
* the file a write leaves: the first reader after a build starts from it (no full read) with the same answers,
  a small update leaves it for readers' deltas, a large one, a reset or a damaged file has it written again.
"""

from __future__ import annotations

import base64
import re
import uuid
from pathlib import Path

import numpy as np
import pytest
from scipy.sparse import csc_matrix, csr_matrix

import index.snapshot_writer
import index.update
from benchmarks.bench.synthetic import load_templates, write_synthetic_releases
from bot.answer import Bot
from bot.confidence import missing_terms
from bot.query import prepare
from bot.search import Filters
from bot.snapshot_cache import SnapshotCache
from helpers.indexing import make_settings
from helpers.releases import fictional_releases, write_fictional_corpus
from index import changes, stored_vectors
from index.embed import SparseVector, decode_matrix, encode_matrix, stack_name
from index.layered_matrix import LayeredMatrix
from index.positions import Positions
from index.postings import Postings
from index.settings import Settings
from index.snapshot import Chunks, Snapshot
from index.snapshot_file import FORMAT, load, manifest, save, snapshot_path
from index.store import generation, open_collection, release_clients
from index.update import build, remove, update

STACK = stack_name("hashing")


# --------------------------------------------------------------------------- stored vectors


def test_sparse_vectors_take_index_gaps_and_the_int32_text_of_older_indexes_still_decodes() -> None:
    rng = np.random.default_rng(3)
    indices = np.sort(rng.choice(250_000, 256, replace=False)).astype(np.int32)
    values = rng.random(256).astype(np.float32)
    vector = SparseVector(indices, values)
    older = base64.b64encode(indices.astype("<i4").tobytes() + values.astype("<f2").tobytes()).decode("ascii")

    for text in (vector.encode(), older):
        decoded = SparseVector.decode(text)
        assert np.array_equal(decoded.indices, indices)
        assert np.allclose(decoded.values, values, atol=1e-3)
    assert len(vector.encode()) < 0.7 * len(older)
    wide = SparseVector(np.array([3, 200_000], np.int32), np.array([1.0, 2.0], np.float32))  # a gap > uint16
    assert np.array_equal(SparseVector.decode(wide.encode()).indices, wide.indices)


def _vectors(seed: int, sentences: int = 3, dim: int = 384) -> tuple[np.ndarray, SparseVector]:
    rng = np.random.default_rng(seed)
    matrix = rng.normal(size=(sentences, dim)).astype(np.float32)
    matrix /= np.linalg.norm(matrix, axis=1, keepdims=True)
    indices = np.sort(rng.choice(250_000, 256, replace=False)).astype(np.int32)
    return matrix, SparseVector(indices, rng.random(256).astype(np.float32))


def test_one_vectors_string_holds_exactly_what_the_two_former_strings_held_in_less_space() -> None:
    for seed in range(5):
        matrix, sparse = _vectors(seed)
        former = {stored_vectors.SENTENCE_VECTORS_KEY: encode_matrix(matrix), stored_vectors.SPARSE_KEY: sparse.encode()}
        now = {stored_vectors.VECTORS_KEY: stored_vectors.encode(matrix, sparse)}

        for meta in (now, former):  # an index written before reads the same
            assert np.array_equal(stored_vectors.sentence_vectors_of(meta, 384), decode_matrix(encode_matrix(matrix), 384))
            got = stored_vectors.sparse_of(meta)
            want = SparseVector.decode(sparse.encode())
            assert got is not None and np.array_equal(got.indices, want.indices)
            assert np.array_equal(got.values, want.values) and got.values.dtype == np.float32
            assert stored_vectors.complete(meta, needs_sparse=True)
        assert stored_vectors.stored(former, 384) == now[stored_vectors.VECTORS_KEY], "reuse converts the former"
        assert len(now[stored_vectors.VECTORS_KEY]) < 0.9 * sum(map(len, former.values()))  # real vectors: ~0.8


def test_the_vectors_string_keeps_a_wide_gap_no_sparse_vector_and_no_sentence() -> None:
    matrix, _ = _vectors(7, sentences=1, dim=256)
    wide = SparseVector(np.array([3, 200_000], np.int32), np.array([1.0, 2.5], np.float32))
    meta = {stored_vectors.VECTORS_KEY: stored_vectors.encode(matrix, wide)}
    assert stored_vectors.sparse_of(meta).indices.tolist() == [3, 200_000]  # type: ignore[union-attr]
    assert stored_vectors.sentence_vectors_of(meta, 256).shape == (1, 256)

    dense_only = {stored_vectors.VECTORS_KEY: stored_vectors.encode(matrix, None)}
    assert stored_vectors.sparse_of(dense_only) is None
    assert stored_vectors.complete(dense_only, needs_sparse=False) and not stored_vectors.complete(dense_only, True)
    empty = {stored_vectors.VECTORS_KEY: stored_vectors.encode(np.zeros((0, 256), np.float32), wide)}
    assert stored_vectors.sentence_vectors_of(empty, 256).shape == (0, 256)
    assert stored_vectors.sentence_vectors_of({}, 256).shape == (0, 256) and stored_vectors.sparse_of({}) is None


# --------------------------------------------------------------------------- postings


def test_postings_drop_and_append_chunks_without_rereading_the_others() -> None:
    postings = Postings.of([["alpha", "beta"], ["beta"], ["gamma"]])
    assert postings.chunks("beta").tolist() == [0, 1] and postings.get("alpha") == 1 and postings.get("nope") == 0

    edited = postings.edited(np.array([True, False, True]), [["beta", "delta"]])

    assert len(edited) == 3
    assert edited.chunks("beta").tolist() == [0, 2]
    assert edited.chunks("gamma").tolist() == [1] and edited.chunks("delta").tolist() == [2]
    assert postings.chunks("beta").tolist() == [0, 1], "the original is unchanged (questions may still read it)"


def test_a_layered_matrix_edited_at_random_equals_the_matrix_built_at_once() -> None:
    rng = np.random.default_rng(11)
    dense = rng.random((40, 12)).astype(np.float32) * (rng.random((40, 12)) < 0.3)
    layered = LayeredMatrix.of(csc_matrix(dense))
    compactions = 0
    for _ in range(60):
        keep = rng.random(len(dense)) > 0.05
        width = dense.shape[1] + int(rng.integers(0, 3))  # new terms widen it
        added = rng.random((int(rng.integers(0, 4)), width)).astype(np.float32) * (rng.random((1, width)) < 0.4)
        before, shared = layered, layered.base
        layered = layered.edited(keep, csr_matrix(added))
        dense = np.vstack([np.pad(dense[keep], ((0, 0), (0, width - dense.shape[1]))), added])
        compactions += layered.base is not shared
        assert layered.base is shared or not layered.delta.shape[0], "an edit shares the base, a compaction folds it"
        assert layered.shape == dense.shape and np.array_equal(layered.tocsc().toarray(), dense)
        for j in range(width + 1):
            assert layered.column(j).tolist() == np.flatnonzero(dense[:, j] if j < width else []).tolist()
            assert layered.column_count(j) == len(layered.column(j))
        columns = rng.permutation(width + 2)[:5].astype(np.int32)
        values = rng.random(5).astype(np.float32)
        want = csc_matrix(np.pad(dense, ((0, 0), (0, 2))))[:, columns] @ values
        assert np.array_equal(layered.dot(columns, values), want), "bit for bit, as one matrix's product"
        assert len(before.tocsc().toarray()) == len(before), "the one edited is unchanged (questions may still read it)"
    assert compactions > 2, "compactions happened along the way"


def test_positions_follow_drops_and_appends_as_a_dict_numbered_again_would() -> None:
    rng = np.random.default_rng(2)
    ids = [f"c{i}" for i in range(200)]
    positions = Positions.of(ids)
    renumbered = 0
    for step in range(80):
        dropped = sorted(int(p) for p in rng.choice(len(ids), int(rng.integers(0, 3)), replace=False))
        readded = [ids[p] for p in dropped[:1]]  # a re-indexed chunk comes back at the end
        keep = np.ones(len(ids), bool)
        keep[dropped] = False
        added = readded + [f"n{step}-{k}" for k in range(int(rng.integers(0, 3)))]
        ids = [i for i, kept in zip(ids, keep) if kept] + added
        before = positions
        positions = positions.edited(keep, added, ids)
        renumbered += positions._numbered is not before._numbered
        assert positions == {id_: i for i, id_ in enumerate(ids)} and len(positions) == len(ids)
        for gone in {before_id for before_id in before if before_id not in positions}:
            assert gone not in positions and positions.get(gone) is None
    assert renumbered >= 2, "numbered afresh once enough ids were added"


def _random_chunks(rng: np.random.Generator, ids: list[str]) -> Chunks:
    words = ["alpha", "beta", "gamma", "Allies", "NATO", "KFOR-7", "ZX-12", "summit", "Vilnius", "l'OTAN"]
    texts = [" ".join(rng.choice(words, int(rng.integers(1, 8)))) + f" ID-{int(rng.integers(0, 30))}" for _ in ids]
    metadatas = [
        {"title": str(rng.choice(words)), "lang": str(rng.choice(["en", "fr"])), "date_int": 20200101 + i}
        for i, _ in enumerate(ids)
    ]
    sparse: list[SparseVector | None] = []
    for _ in ids:
        indices = np.sort(rng.choice(3000, int(rng.integers(0, 40)), replace=False)).astype(np.int32)
        values = rng.random(len(indices)).astype(np.float32)
        sparse.append(None if rng.random() < 0.1 else SparseVector(indices, values))
    return Chunks(list(ids), texts, metadatas, sparse)


def _same_retrieval(edited: Snapshot, rebuilt: Snapshot, rng: np.random.Generator) -> None:
    assert edited.ids == rebuilt.ids and edited.texts == rebuilt.texts and edited.position == rebuilt.position
    assert edited.langs.tolist() == rebuilt.langs.tolist() and np.array_equal(edited.date_ints, rebuilt.date_ints)
    assert edited.sparse is not None and rebuilt.sparse is not None
    assert np.array_equal(edited.sparse.tocsc().toarray(), rebuilt.sparse.tocsc().toarray())
    for _ in range(3):
        indices = np.unique(rng.integers(0, 3100, 30)).astype(np.int32)
        query = SparseVector(indices, rng.random(len(indices)).astype(np.float32))
        assert np.array_equal(edited.sparse_scores(query), rebuilt.sparse_scores(query)), "the same, bit for bit"
    for name in ("tokens", "words", "identifiers"):
        one, other = getattr(edited, name), getattr(rebuilt, name)
        for term in set(one.vocab) | set(other.vocab):
            assert one.chunks(term).tolist() == other.chunks(term).tolist() and one.get(term) == other.get(term)
    ids = tuple(f"ID-{i}" for i in range(30))
    assert np.array_equal(edited.identifier_scores(ids), rebuilt.identifier_scores(ids))
    assert edited.unknown_words("alpha vilnius nowhere") == rebuilt.unknown_words("alpha vilnius nowhere")
    assert rebuilt.unknown_words("alpha vilnius nowhere") == ["nowhere"]


def test_a_snapshot_edited_by_small_deltas_equals_a_full_rebuild_and_reads_back_the_same(tmp_path: Path) -> None:
    rng = np.random.default_rng(5)
    chunks = _random_chunks(rng, [f"c{i}" for i in range(150)])
    snapshot = Snapshot().edited(set(), chunks)
    held = {id_: (t, m, s) for id_, t, m, s in zip(chunks.ids, chunks.texts, chunks.metadatas, chunks.sparse)}
    order = list(chunks.ids)
    compactions = 0
    for step in range(40):  # adds, deletes and re-indexed chunks, a few at a time (compacted every ~15 chunks)
        removed = set(rng.choice(order, int(rng.integers(0, 3)), replace=False))
        changed = [str(i) for i in rng.choice(sorted(set(order) - removed), int(rng.integers(0, 2)), replace=False)]
        added = _random_chunks(rng, changed + [f"new{step}-{k}" for k in range(int(rng.integers(0, 4)))])
        shared = snapshot.sparse.base if snapshot.sparse is not None else None
        snapshot = snapshot.edited(removed, added)
        order = [i for i in order if i not in removed and i not in changed] + added.ids
        held.update({id_: (t, m, s) for id_, t, m, s in zip(added.ids, added.texts, added.metadatas, added.sparse)})
        assert snapshot.sparse is not None
        compactions += snapshot.sparse.base is not shared
        rows = [held[i] for i in order]
        rebuilt = Snapshot().edited(set(), Chunks(order, *(list(column) for column in zip(*rows))))
        _same_retrieval(snapshot, rebuilt, rng)
    assert 2 < compactions < 20, "small edits share the base; some were compacted"

    path = tmp_path / "snapshot.zip"
    save(snapshot, path)
    loaded = load(path, "")
    assert loaded is not None and loaded.sparse is not None and not loaded.sparse.delta.shape[0]
    _same_retrieval(loaded, snapshot, rng)


def test_a_small_delta_costs_what_changed_not_the_index_size() -> None:
    rng = np.random.default_rng(8)
    big = Snapshot().edited(set(), _random_chunks(rng, [f"c{i}" for i in range(3000)]))
    assert big.sparse is not None
    edited = big.edited({"c7"}, _random_chunks(rng, ["c9", "n1", "n2"]))

    assert edited.sparse is not None and edited.sparse.base is big.sparse.base, "the large matrices are shared"
    assert edited.tokens.rows.base is big.tokens.rows.base and edited.sparse.delta.shape[0] == 3
    assert len(edited) == 3001 and edited.ids[-3:] == ["c9", "n1", "n2"] and "c7" not in edited.position
    assert len(big) == 3000 and big.ids[7] == "c7", "the snapshot questions may still read is unchanged"


def _scan_missing(query, snapshot: Snapshot, filters: Filters | None) -> list[str]:
    """The answer without postings: the words of every admitted title and text, read one by one."""
    admitted = [(m, t) for m, t in zip(snapshot.metadatas, snapshot.texts) if filters is None or filters.admits(m)]
    used = {w for m, t in admitted for w in re.findall(r"[^\W_]+", f"{m.get('title', '')}\n{t}".lower())}
    latest = max((int(str(m[k])[:4]) for m in snapshot.metadatas for k in ("date", "updated") if m.get(k)), default=0)
    out = []
    for term in query.terms:
        if term.isdigit() and int(term) <= latest:
            continue
        if any(w not in used for w in re.findall(r"[^\W_]+", term.lower())):
            out.append(term)
    return out


def test_missing_terms_from_postings_equal_the_old_scan(fictional_index: Settings) -> None:
    snapshot = SnapshotCache(fictional_index, STACK).current()
    questions = (
        [f"What is {f.acronym}?" for f in fictional_releases()]
        + [f"Who presented the {f.body} in {f.date[:4] if f.date else '2093'}?" for f in fictional_releases()]
        + [
            "What is BALTOPS?",
            "What happens in 2131?",
            "Where did the Quartz Ferry Compact meet in 2090?",
            "What is the Velvet Teapot Office?",
            "Qu'est-ce que le Groupe Lanterne Violette ?",
        ]
    )
    filters = [
        None,
        Filters(lang="en"),
        Filters(lang="fr"),
        Filters(date_from="2095-01-01"),
        Filters(date_to="2094-12-31"),
        Filters(lang="en", date_from="2093-01-01", date_to="2097-12-31"),
    ]
    checked = 0
    for question in questions:
        query = prepare(question)
        for f in filters:
            assert missing_terms(query, snapshot, f) == _scan_missing(query, snapshot, f), (question, f)
            checked += bool(query.terms)
    assert checked > 50


def test_a_name_is_missing_when_a_word_of_it_is_in_no_release_not_when_it_is_written_otherwise(
    fictional_index: Settings,
) -> None:
    snapshot = SnapshotCache(fictional_index, STACK).current()
    # every word is in the corpus, never as this phrase: the answering release may word it otherwise
    assert missing_terms(prepare("Which Ferry Compact Quartz did Admiral Relk present?"), snapshot) == []
    # a word no release uses: the index does not hold the thing asked about
    assert missing_terms(prepare("How many ships took part in the Quartz Gondola Compact?"), snapshot) == [
        "Quartz Gondola Compact"
    ]
    # only the releases the filters admit count: no French release uses these English words
    assert missing_terms(prepare("What is the Quartz Ferry Compact?"), snapshot, Filters(lang="fr")) == [
        "Quartz Ferry Compact"
    ]
    # a name written in a language no release uses is known by its initials when a release writes them
    # ("QFC-3"): a word of it ("Fjord") is in no release, yet the thing it names is
    assert missing_terms(prepare("What did the Quartz Fjord Compact decide?"), snapshot) == []
    assert missing_terms(prepare("What did the Quartz Fjord Compact decide?"), snapshot, Filters(lang="fr")) == [
        "Quartz Fjord Compact"
    ]


def test_vectorised_filters_admit_what_filters_admits(fictional_index: Settings) -> None:
    snapshot = SnapshotCache(fictional_index, STACK).current()
    for f in (
        Filters(lang="fr"),
        Filters(lang="de"),
        Filters(date_from="2095-03-01"),
        Filters(date_to="2094-06-30"),
        Filters(lang="en", date_from="2092-01-01", date_to="2098-12-31"),
    ):
        assert f.mask(snapshot).tolist() == [f.admits(m) for m in snapshot.metadatas], f


# --------------------------------------------------------------------------- the snapshot file


@pytest.fixture
def small_index(tmp_path: Path) -> tuple[Settings, Path]:
    """A fresh embedded index of 6 fictional releases, and a folder holding the other ones (to add later)."""
    corpus, extra = tmp_path / "corpus", tmp_path / "extra"
    slugs = [
        f.name.removesuffix(".txt").split("-", 4)[-1] if f.date else f.name[len("undated-xx-") : -4]
        for f in fictional_releases()
    ]
    write_fictional_corpus(corpus, slugs=slugs[:6])
    write_fictional_corpus(extra, slugs=slugs[6:8])
    settings = make_settings(tmp_path / "home", collection=f"t-{uuid.uuid4().hex[:8]}", embeddings="hashing")
    assert not build([str(corpus)], settings).failures
    return settings, extra


def _fresh_cache(settings: Settings) -> SnapshotCache:
    """A cache as a new process has it (nothing in memory); the file, if any, stays."""
    return SnapshotCache(settings, STACK)


def _held(settings: Settings) -> set[str]:
    return set(open_collection(settings, STACK).get(include=[])["ids"])


def test_a_new_process_starts_from_the_file_and_the_file_matches_chroma(small_index) -> None:
    settings, _ = small_index
    snapshot_path(settings, STACK).unlink()  # as if the build had left none
    first = _fresh_cache(settings)
    built = first.current()
    assert first.last_refresh == "full"
    first.wait_saved()
    assert snapshot_path(settings, STACK).is_file()

    second = _fresh_cache(settings)
    loaded = second.current()

    assert second.last_refresh == "file"
    assert set(loaded.ids) == set(built.ids) == _held(settings)
    assert loaded.texts == built.texts and loaded.metadatas == built.metadatas
    assert (loaded.sparse.tocsc() != built.sparse.tocsc()).nnz == 0
    question = prepare("Who presented the Quartz Ferry Compact?")
    assert missing_terms(question, loaded) == missing_terms(question, built)


def test_a_stale_file_catches_up_from_the_log_with_adds_and_deletes(small_index) -> None:
    settings, extra = small_index
    cache = _fresh_cache(settings)
    before = cache.current()
    cache.wait_saved()
    gone = fictional_releases()[0]
    corpus_file = next(Path(m["source"]) for m in before.metadatas if Path(m["source"]).name == gone.name)

    assert update([str(extra)], settings).added == 2  # another writer, while no reader runs
    assert remove([str(corpus_file)], settings).removed == 1

    restarted = _fresh_cache(settings)
    after = restarted.current()

    assert restarted.last_refresh == "delta"
    assert set(after.ids) == _held(settings)
    sources = {Path(m["source"]).name for m in after.metadatas}
    assert gone.name not in sources and {f.name for f in fictional_releases()[6:8]} <= sources
    assert missing_terms(prepare(f"What is {gone.acronym}?"), after) == [gone.acronym]
    added = fictional_releases()[6]
    assert missing_terms(prepare(f"What is {added.acronym}?"), after) == []


def test_a_running_reader_refreshes_by_delta_after_a_write(small_index) -> None:
    settings, extra = small_index
    cache = _fresh_cache(settings)
    cache.current()
    fetched: list[int] = []
    collection_get = type(open_collection(settings, STACK)).get

    def counting_get(self, *args, **kwargs):  # what the refresh reads from Chroma
        if kwargs.get("ids") is not None and self.name == settings.collection:
            fetched.append(len(kwargs["ids"]))
        return collection_get(self, *args, **kwargs)

    update([str(extra)], settings)
    cache.invalidate()
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(type(open_collection(settings, STACK)), "get", counting_get)
        after = cache.current()

    assert cache.last_refresh == "delta"
    assert set(after.ids) == _held(settings)
    assert sum(fetched) < len(after), "only the chunks the log names are fetched, not the whole index"


@pytest.mark.parametrize("damage", ["garbage", "truncated", "other-format", "other-collection"])
def test_a_damaged_or_foreign_file_is_ignored_and_rewritten(small_index, damage: str) -> None:
    settings, _ = small_index
    cache = _fresh_cache(settings)
    built = cache.current()
    cache.wait_saved()
    path = snapshot_path(settings, STACK)
    if damage == "garbage":
        path.write_bytes(b"not a snapshot")
    elif damage == "truncated":
        path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])
    else:
        foreign = Snapshot(generation=built.generation, collection_id="another-collection")
        save(foreign, path)
        if damage == "other-format":
            import index.snapshot_file as snapshot_file

            with pytest.MonkeyPatch.context() as mp:
                mp.setattr(snapshot_file, "FORMAT", FORMAT + 1)
                save(built, path)

    again = _fresh_cache(settings)
    assert set(again.current().ids) == set(built.ids)
    assert again.last_refresh == "full"
    again.wait_saved()
    assert load(path, built.collection_id) is not None, "rewritten"


@pytest.mark.parametrize("writer_leaves_the_file", [False, True])
def test_an_index_written_before_the_changes_log_is_listed_again(small_index, writer_leaves_the_file: bool) -> None:
    settings, extra = small_index
    cache = _fresh_cache(settings)
    cache.current()
    cache.wait_saved()
    collection = open_collection(settings, STACK)
    meta = {k: v for k, v in (collection.metadata or {}).items() if k != changes.FROM_KEY}
    meta.pop("hnsw:space", None)
    collection.modify(metadata=meta)  # as an older version left it
    with pytest.MonkeyPatch.context() as mp:
        if not writer_leaves_the_file:  # as a writer of an older version (or one that cannot write the cache)
            mp.setattr(index.update, "leave_snapshot", lambda settings, stack: "skipped")
        update([str(extra)], settings)  # the log now starts here: older snapshots cannot trust it

    restarted = _fresh_cache(settings)
    assert set(restarted.current().ids) == _held(settings)
    # the listing again is the writer's when it leaves the file, else the next reader's
    assert restarted.last_refresh == ("file" if writer_leaves_the_file else "full")


def test_a_read_only_cache_folder_only_costs_the_file(small_index, tmp_path: Path) -> None:
    settings, _ = small_index
    blocked = make_settings(settings.home, collection=settings.collection, embeddings="hashing")
    cache = _fresh_cache(blocked)
    cache.path = tmp_path / "a-file-not-a-folder" / "snapshot.npz"
    (tmp_path / "a-file-not-a-folder").write_text("x")
    assert len(cache.current()) > 0
    cache.wait_saved()  # the failed write is silent


# --------------------------------------------------------------------------- the file a write leaves


class _ChromaReads:
    """What readers fetch from the index collection: listings of its ids, and chunks fetched with their text."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch, settings: Settings) -> None:
        self.listings = self.chunks = 0
        collection_type = type(open_collection(settings, STACK))
        real = collection_type.get

        def counted(collection, *args, **kwargs):  # type: ignore[no-untyped-def]
            found = real(collection, *args, **kwargs)
            if collection.name == settings.collection:
                if kwargs.get("ids") is None:
                    self.listings += 1
                elif "documents" in (kwargs.get("include") or ()):  # a snapshot's read (sentence vectors: no text)
                    self.chunks += len(found["ids"])
            return found

        monkeypatch.setattr(collection_type, "get", counted)


_QUESTIONS = [
    *(f"What is {f.acronym}?" for f in fictional_releases()[:6]),
    *(f"Who presented the {f.body}?" for f in fictional_releases()[:6]),
    "What is the Velvet Teapot Office?",
]


def _answers(settings: Settings) -> tuple[list[tuple[str, list[str]]], str]:
    """Every question's answer text and cited chunk ids from a new Bot, and how its snapshot started."""
    bot = Bot(settings)
    try:
        answers = [(a.text, [c.chunk_id for c in a.citations]) for a in map(bot.answer, _QUESTIONS)]
        return answers, bot.searcher.cache.last_refresh
    finally:
        bot.close()


def test_the_first_reader_after_a_build_starts_from_the_file_and_answers_the_same(
    small_index, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings, _ = small_index
    path = snapshot_path(settings, STACK)
    assert manifest(path, str(open_collection(settings, STACK).id)) is not None, "the build left the file"
    assert manifest(path, str(open_collection(settings, STACK).id)).generation == generation(  # type: ignore[union-attr]
        open_collection(settings, STACK)
    )
    reads = _ChromaReads(monkeypatch, settings)

    from_file, how = _answers(settings)

    assert how == "file"
    assert (reads.listings, reads.chunks) == (0, 0), "no chunk read from Chroma: not a full read, not a delta"
    path.unlink()
    from_chroma, how = _answers(settings)
    assert how == "full" and reads.listings > 0 and reads.chunks == len(_held(settings))
    assert from_file == from_chroma
    assert any(cited for _, cited in from_file), "the questions were answered, with citations"


def test_a_small_update_leaves_the_file_and_the_next_reader_fetches_only_what_it_wrote(
    small_index, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings, extra = small_index
    path = snapshot_path(settings, STACK)
    before = path.read_bytes()
    held_before = _held(settings)

    assert update([str(extra)], settings).added == 2
    assert path.read_bytes() == before, "2 releases are far less than a reader would rewrite the file for"
    reads = _ChromaReads(monkeypatch, settings)
    reader = _fresh_cache(settings)
    after = reader.current()

    assert reader.last_refresh == "delta" and reads.listings == 0
    assert reads.chunks == len(_held(settings) - held_before), "only the chunks the update wrote"
    assert set(after.ids) == _held(settings)


def test_a_large_write_brings_the_file_up_to_date_by_its_delta(small_index, monkeypatch: pytest.MonkeyPatch) -> None:
    settings, extra = small_index
    monkeypatch.setattr(index.snapshot_writer, "LAG_CHUNKS", 0)  # every write counts as large
    monkeypatch.setattr(index.snapshot_writer, "LAG_FRACTION", 0.0)
    gone = next(p for p in (settings.home.parent / "corpus").iterdir() if p.name == fictional_releases()[0].name)
    read_back: list[str] = []

    def recorded(name: str):  # type: ignore[no-untyped-def]
        real = getattr(index.snapshot_writer, name)

        def spy(*args, **kwargs):  # type: ignore[no-untyped-def]
            caught = real(*args, **kwargs)
            read_back.append(caught.how)
            return caught

        return spy

    for name in ("apply_delta", "full_read"):  # how the writer caught up: by the delta, or by reading everything
        monkeypatch.setattr(index.snapshot_writer, name, recorded(name))

    for write in (lambda: update([str(extra)], settings), lambda: remove([str(gone)], settings)):
        write()
        reads = _ChromaReads(monkeypatch, settings)
        reader = _fresh_cache(settings)
        snap = reader.current()
        assert reader.last_refresh == "file" and (reads.listings, reads.chunks) == (0, 0)
        assert set(snap.ids) == _held(settings)
    assert read_back == ["delta", "delta"], "the writer fetched what it wrote, not the whole index"
    assert gone.name not in {Path(m["source"]).name for m in snap.metadatas}


@pytest.mark.parametrize("damage", ["garbage", "reset"])
def test_a_write_after_a_damaged_file_or_a_reset_writes_the_file_again(small_index, tmp_path: Path, damage) -> None:
    settings, extra = small_index
    path = snapshot_path(settings, STACK)
    if damage == "garbage":
        path.write_bytes(b"not a snapshot")
        assert update([str(extra)], settings).added == 2
    else:  # a new collection: the old file is another collection's
        assert build([str(settings.home.parent / "corpus"), str(extra)], settings, reset=True).added == 8

    reader = _fresh_cache(settings)
    assert set(reader.current().ids) == _held(settings)
    assert reader.last_refresh == "file"


def test_an_update_that_changes_nothing_leaves_the_file_alone(small_index) -> None:
    settings, _ = small_index
    path = snapshot_path(settings, STACK)
    path.unlink()

    summary = update([str(settings.home.parent / "corpus")], settings)

    assert summary.line().startswith("added 0, updated 0, unchanged 6, removed 0")
    assert not path.exists(), "no write, no full read (the next reader writes the file)"


def _in_the_former_format(settings: Settings) -> None:
    """Every chunk stored again as an index written before the one vectors string had it (two strings)."""
    collection = open_collection(settings, STACK)
    found = collection.get(include=["embeddings", "documents", "metadatas"])
    metadatas = []
    for meta in found["metadatas"]:
        meta = dict(meta)
        text = meta.pop(stored_vectors.VECTORS_KEY)
        vectors = {stored_vectors.VECTORS_KEY: text}
        meta[stored_vectors.SENTENCE_VECTORS_KEY] = encode_matrix(stored_vectors.sentence_vectors_of(vectors, 256))
        meta[stored_vectors.SPARSE_KEY] = stored_vectors.sparse_of(vectors).encode()  # type: ignore[union-attr]
        metadatas.append(meta)
    collection.delete(ids=found["ids"])
    collection.add(ids=found["ids"], embeddings=found["embeddings"], documents=found["documents"], metadatas=metadatas)
    meta = {k: v for k, v in (collection.metadata or {}).items() if k not in ("hnsw:space", changes.FROM_KEY)}
    collection.modify(metadata={**meta, "generation": uuid.uuid4().hex})  # written behind the log: readers list all


def test_an_index_stored_in_the_former_format_answers_the_same_and_its_copies_are_stored_compactly(
    small_index, tmp_path: Path
) -> None:
    settings, _ = small_index
    now, _ = _answers(settings)
    _in_the_former_format(settings)
    before, how = _answers(settings)
    assert how == "full" and before == now, "the same answers from the two former strings"

    template = sorted((settings.home.parent / "corpus").glob("*.txt"))[:1]
    (copy,) = write_synthetic_releases(load_templates(template), tmp_path / "copy", [1])  # same text, new date
    summary = update([str(copy)], settings)
    assert (summary.added, summary.chunks_embedded) == (1, 0), "its vectors are reused, not embedded"
    stored = open_collection(settings, STACK).get(where={"source": str(copy.resolve())}, include=["metadatas"])
    assert stored["ids"] and all(set(m) & set(stored_vectors.STORED_KEYS) == {stored_vectors.VECTORS_KEY}
                                 for m in stored["metadatas"])


@pytest.mark.server
@pytest.mark.e2e
def test_a_reader_on_a_chroma_server_sees_another_processs_adds_and_deletes_by_delta(
    chroma_server: str, tmp_path: Path, run_cli
) -> None:
    settings = make_settings(
        tmp_path / "home", chroma_url=chroma_server, collection=f"t-{uuid.uuid4().hex[:8]}", embeddings="hashing"
    )
    corpus, extra = tmp_path / "corpus", tmp_path / "extra"
    names = [f.name for f in fictional_releases()]
    files = write_fictional_corpus(corpus)
    for path in files[6:8]:
        extra.mkdir(exist_ok=True)
        path.rename(extra / path.name)
    assert run_cli(["build", corpus], settings).returncode == 0
    reader = _fresh_cache(settings)
    before = set(reader.current().ids)
    assert reader.last_refresh == "file", "the build process left the file this reader starts from"

    assert run_cli(["update", extra], settings).returncode == 0  # another process writes
    assert run_cli(["remove", corpus / names[0]], settings).returncode == 0
    reader.invalidate()
    after = reader.current()

    assert reader.last_refresh == "delta"
    assert set(after.ids) == _held(settings) != before
    sources = {Path(m["source"]).name for m in after.metadatas}
    assert names[0] not in sources and set(names[6:8]) <= sources


def teardown_module() -> None:
    release_clients()


def test_content_words_of_a_batch_equal_content_words_of_each_text() -> None:
    from index.words import content_words
    from index.snapshot import _content_words_of

    texts = [f.text for f in fictional_releases(extra_passages=1)] + ["NATO's Allies' l'OTAN — it’s a “test”", ""]
    assert list(_content_words_of(texts)) == [content_words(t) for t in texts]
