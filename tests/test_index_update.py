"""Incremental indexing as a user sees it: build, update, prune, remove (in-process, real Chroma).

Each test works on three small fictional releases (helpers/releases.py) written into tmp_path,
once with an embedded index and once against the `chroma run` server (see `index_settings` in
conftest.py; the server variants are e2e). The hashing stack embeds: what is checked is what gets (re-)embedded and stored,
which does not depend on the model.
"""
from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest

from helpers.indexing import EmbeddingSpy, ids_by_source, stored_chunks
from helpers.releases import fiction, write_fictional_corpus
from index.chunk import chunk_release, sentence_spans
from index.embed import HashingStack
from index.load import read_sources
from index.release import Release
from index.settings import Settings
from index.status import index_status
from index.store import indexed_sources, record_manager
from index.update import build, remove, update

SLUGS = ["quartz-ferry-compact", "copper-kite-board", "reseau-bruine-argentee"]
LONG, SHORT_EN, SHORT_FR = (fiction(slug).name for slug in SLUGS)   # 2091-03-14 en, 2092-05-20 en, 2091-11-02 fr
RELEASES = [LONG, SHORT_EN, SHORT_FR]
EXTRA_PASSAGES = 2   # each release then has three chunks

embedded_only = pytest.mark.parametrize("index_settings", ["embedded"], indirect=True)


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    """A folder holding three fictional releases of three chunks each."""
    write_fictional_corpus(tmp_path / "releases", slugs=SLUGS, extra_passages=EXTRA_PASSAGES)
    return (tmp_path / "releases").resolve()


def read_release(path: Path) -> Release:
    (release,) = read_sources([str(path)])
    assert isinstance(release, Release), release
    return release


def sources_in(settings: Settings) -> set[str]:
    return set(ids_by_source(settings))


def test_status_after_build(index_settings: Settings, folder: Path) -> None:
    releases = [read_release(folder / name) for name in RELEASES]

    build([str(folder)], index_settings)

    status = index_status(index_settings)
    assert (status.releases, status.chunks) == (3, sum(len(chunk_release(r)) for r in releases))
    assert status.languages == {"en": 2, "fr": 1}
    assert (status.first_date, status.last_date) == ("2091-03-14", "2092-05-20")
    assert status.embeddings == HashingStack.name
    assert status.where == (index_settings.chroma_url or str(index_settings.home.resolve()))


def test_update_of_unchanged_sources_embeds_nothing(index_settings: Settings, folder: Path,
                                                    embedding_spy: EmbeddingSpy) -> None:
    assert build([str(folder)], index_settings).line() == "added 3, updated 0, unchanged 0, removed 0, failed 0"
    before = ids_by_source(index_settings)
    embedding_spy.reset()

    summary = update([str(folder)], index_settings)

    assert summary.line() == "added 0, updated 0, unchanged 3, removed 0, failed 0"
    assert not embedding_spy.called, "nothing was re-embedded"
    assert ids_by_source(index_settings) == before


def test_an_update_or_remove_of_single_files_looks_up_only_their_records_and_counts_the_same(
        index_settings: Settings, folder: Path, tmp_path: Path) -> None:
    build([str(folder / LONG), str(folder / SHORT_EN)], index_settings)
    manager = record_manager(index_settings)
    every = indexed_sources(manager)
    assert indexed_sources(manager, among=[str(folder / LONG), str(folder / SHORT_FR), "/nowhere.txt"]) == {
        str(folder / LONG)} == every & {str(folder / LONG), str(folder / SHORT_FR)}

    assert update([str(folder / LONG)], index_settings).line() == "added 0, updated 0, unchanged 1, removed 0, failed 0"
    assert update([str(folder / SHORT_FR), str(folder / SHORT_EN)], index_settings).line() == (
        "added 1, updated 0, unchanged 1, removed 0, failed 0")
    raw = (folder / LONG).read_text(encoding="utf-8")
    (folder / LONG).write_text(raw.replace("\n\n", "\n\nThe accord was welcomed by all Allies.\n\n", 1), encoding="utf-8")
    assert update([str(folder / LONG)], index_settings).line() == "added 0, updated 1, unchanged 0, removed 0, failed 0"
    assert indexed_sources(manager) == {str(folder / name) for name in RELEASES}
    assert remove([str(folder / SHORT_FR)], index_settings).line() == "added 0, updated 0, unchanged 0, removed 1, failed 0"
    missed = remove([str(folder / SHORT_FR)], index_settings)
    assert [(f.source, f.reason) for f in missed.failures] == [(str(folder / SHORT_FR), "not in the index")]
    assert indexed_sources(manager) == {str(folder / LONG), str(folder / SHORT_EN)}


def test_changed_release_is_updated_and_only_its_changed_chunks_are_embedded(
        index_settings: Settings, folder: Path, embedding_spy: EmbeddingSpy) -> None:
    build([str(folder)], index_settings)
    before = ids_by_source(index_settings)
    path = folder / LONG
    old = read_release(path)
    first_paragraph = old.text.split("\n\n")[0]
    raw = path.read_text(encoding="utf-8")
    assert raw.count(first_paragraph) == 1
    path.write_text(raw.replace(first_paragraph, first_paragraph + " The accord was welcomed by all Allies."),
                    encoding="utf-8")
    new = read_release(path)
    old_chunks, new_chunks = chunk_release(old), chunk_release(new)
    changed = list((Counter(c.embed_text for c in new_chunks) - Counter(c.embed_text for c in old_chunks)).elements())
    assert 1 <= len(changed) < len(new_chunks), "the edit changes some chunks of the release, not all"
    embedding_spy.reset()

    summary = update([str(folder)], index_settings)

    assert summary.line() == "added 0, updated 1, unchanged 2, removed 0, failed 0"
    assert sorted(embedding_spy.passages) == sorted(changed)
    # of the changed passages' sentences, only the new one is embedded: the others' vectors are those stored
    old_sentences = {c.text[a:b] for c in old_chunks for a, b in sentence_spans(c.text)}
    changed_sentences = {c.text[a:b] for c in new_chunks if c.embed_text in changed for a, b in sentence_spans(c.text)}
    assert embedding_spy.sentences == sorted(changed_sentences - old_sentences) == ["The accord was welcomed by all Allies."]
    stored = [c for c in stored_chunks(index_settings) if c.source == str(path)]
    assert [c.text for c in stored] == [c.text for c in new_chunks], "the old chunks are gone, the new ones in"
    after = ids_by_source(index_settings)
    assert {s: ids for s, ids in after.items() if s != str(path)} == {s: ids for s, ids in before.items() if s != str(path)}


def test_file_deleted_from_a_folder_stays_until_update_prune(index_settings: Settings, folder: Path) -> None:
    build([str(folder)], index_settings)
    before = ids_by_source(index_settings)
    gone = folder / SHORT_EN
    gone.unlink()

    kept = update([str(folder)], index_settings)
    assert kept.line() == "added 0, updated 0, unchanged 2, removed 0, failed 0"
    assert ids_by_source(index_settings) == before, "update without --prune keeps what it was not given"

    pruned = update([str(folder)], index_settings, prune=True)
    assert pruned.line() == "added 0, updated 0, unchanged 2, removed 1, failed 0"
    assert ids_by_source(index_settings) == {s: ids for s, ids in before.items() if s != str(gone)}
    assert indexed_sources(record_manager(index_settings)) == {str(folder / LONG), str(folder / SHORT_FR)}


def test_build_of_a_subset_makes_the_index_hold_exactly_that_subset(index_settings: Settings, folder: Path,
                                                                    embedding_spy: EmbeddingSpy) -> None:
    build([str(folder)], index_settings)
    before = ids_by_source(index_settings)
    embedding_spy.reset()

    summary = build([str(folder / SHORT_FR)], index_settings)

    assert summary.line() == "added 0, updated 0, unchanged 1, removed 2, failed 0"
    assert ids_by_source(index_settings) == {str(folder / SHORT_FR): before[str(folder / SHORT_FR)]}
    assert indexed_sources(record_manager(index_settings)) == {str(folder / SHORT_FR)}
    assert not embedding_spy.called


def test_remove_drops_one_release(index_settings: Settings, folder: Path) -> None:
    build([str(folder)], index_settings)
    before = ids_by_source(index_settings)

    summary = remove([str(folder / LONG)], index_settings)

    assert summary.line() == "added 0, updated 0, unchanged 0, removed 1, failed 0"
    assert ids_by_source(index_settings) == {s: ids for s, ids in before.items() if s != str(folder / LONG)}
    again = remove([str(folder / LONG)], index_settings)
    assert [str(f) for f in again.failures] == [f"failed {folder / LONG}: not in the index"]


@embedded_only
def test_removing_a_folder_drops_what_was_indexed_under_it(index_settings: Settings, tmp_path: Path) -> None:
    english = write_fictional_corpus(tmp_path / "releases" / "en", slugs=SLUGS[:2])
    french = write_fictional_corpus(tmp_path / "releases" / "fr", slugs=SLUGS[2:])
    build([str(tmp_path / "releases")], index_settings)
    (english[0]).unlink()   # removing a folder also drops releases whose file is already gone

    summary = remove([str(tmp_path / "releases" / "en")], index_settings)

    assert summary.line() == "added 0, updated 0, unchanged 0, removed 2, failed 0"
    assert sources_in(index_settings) == {str(french[0])}
    assert indexed_sources(record_manager(index_settings)) == {str(french[0])}


@embedded_only
def test_build_keeps_a_release_that_can_no_longer_be_read(index_settings: Settings, folder: Path,
                                                          embedding_spy: EmbeddingSpy) -> None:
    build([str(folder)], index_settings)
    before = ids_by_source(index_settings)
    broken = folder / SHORT_EN
    broken.write_bytes(bytes(range(256)) * 16)   # overwritten with binary
    embedding_spy.reset()

    summary = build([str(folder)], index_settings)

    assert summary.line() == "added 0, updated 0, unchanged 2, removed 0, failed 1"
    assert [f.source for f in summary.failures] == [str(broken)]
    assert ids_by_source(index_settings) == before, "its chunks stay, the others are untouched"
    assert not embedding_spy.called


@embedded_only
def test_build_of_a_folder_that_cannot_be_read_keeps_what_it_held(index_settings: Settings, folder: Path) -> None:
    build([str(folder)], index_settings)
    before = ids_by_source(index_settings)
    folder.rename(folder.with_name("moved-away"))   # or unmounted, or mistyped

    summary = build([str(folder)], index_settings)

    assert summary.line() == "added 0, updated 0, unchanged 0, removed 0, failed 1"
    assert [f.source for f in summary.failures] == [str(folder)]
    assert ids_by_source(index_settings) == before, "nothing is dropped because a folder is missing"


LATIN_TEXT = (
    "Réunion des ministres de la Défense à Bruxelles\n\n"
    "  {bullet} 11 Jun. 2024 -\n  {bullet} |\n\n"
    "Les ministres de la Défense des pays de l{apos}OTAN se sont réunis à Bruxelles pour évoquer la sécurité "
    "de l{apos}Alliance, l{apos}aide à l{apos}Ukraine et la dissuasion. Ils ont salué les efforts déjà accomplis.\n\n"
    "Le secrétaire général a déclaré : {open}Nous sommes prêts à agir, où que ce soit.{close} "
    "Les dépenses de défense atteindront {money} par an ; les Alliés ont réaffirmé leur engagement commun.\n"
)
ENCODINGS = {
    "latin-1": dict(bullet="·", apos="'", open="« ", close=" »", money="2 milliards de dollars"),
    "cp1252": dict(bullet="•", apos="’", open="“", close="”", money="2 milliards d’euros (2 000 000 000 €) – une œuvre commune"),
}


@embedded_only
@pytest.mark.parametrize("encoding", sorted(ENCODINGS))
def test_latin1_and_windows_1252_releases_keep_their_accents(index_settings: Settings, tmp_path: Path,
                                                             encoding: str) -> None:
    text = LATIN_TEXT.format(**ENCODINGS[encoding])
    path = tmp_path / "releases" / f"reunion-{encoding}.txt"
    path.parent.mkdir()
    path.write_bytes(text.encode(encoding))
    with pytest.raises(UnicodeDecodeError):
        path.read_bytes().decode("utf-8")

    assert build([str(path.parent)], index_settings).line() == "added 1, updated 0, unchanged 0, removed 0, failed 0"

    chunks = stored_chunks(index_settings)
    stored = "\n\n".join(c.text for c in chunks)
    assert chunks[0].metadata["title"] == "Réunion des ministres de la Défense à Bruxelles"
    assert chunks[0].metadata["lang"] == "fr"
    assert chunks[0].metadata["date"] == "2024-06-11"
    body = text.split("\n\n", 2)[2].strip()
    assert stored == body, "the stored text is the body, accents and punctuation exact"


@embedded_only
def test_an_index_of_an_earlier_bundled_stack_asks_for_a_rebuild(index_settings: Settings, folder: Path) -> None:
    """v1 kept other sentence vectors than v2 reads: such an index is refused with the command that fixes it,
    and `build --reset` replaces it (with the hashing stack here: no model needed to show the path)."""
    from index.embed import BundledStack
    from index.store import StoreError, open_collection

    build([str(folder)], index_settings)
    collection = open_collection(index_settings)
    earlier = BundledStack.name.rsplit("/", 1)[0] + "/v1"
    collection.modify(metadata={**(collection.metadata or {}), "embeddings": earlier})

    with pytest.raises(StoreError) as refused:
        open_collection(index_settings, BundledStack.name)
    message = str(refused.value)
    assert "earlier version" in message and "python -m index build --reset" in message
    assert "\n" not in message

    build([str(folder)], index_settings, reset=True)
    assert open_collection(index_settings, HashingStack.name).count() == sources_chunks(folder)


def sources_chunks(folder: Path) -> int:
    return sum(len(chunk_release(read_release(folder / name))) for name in RELEASES)
