"""Who holds the index: a Bot and each update hold a Connection and let go of it (client, System, home lock)."""
from __future__ import annotations

from pathlib import Path

import pytest
from chromadb.api.shared_system_client import SharedSystemClient
from filelock import FileLock, Timeout

from bot import Bot
from helpers.indexing import make_settings
from helpers.releases import write_fictional_corpus
from index.settings import Settings
from index.store import connect, is_open, release_clients
from index.update import build, update

QUESTION = "What is the Quartz Ferry Compact?"


@pytest.fixture(autouse=True)
def _nothing_left_open():
    yield
    release_clients()


def _index(tmp_path: Path, name: str, slugs: list[str] | None = None) -> Settings:
    corpus = tmp_path / f"{name}-corpus"
    write_fictional_corpus(corpus, slugs=slugs or ["quartz-ferry-compact", "copper-kite-board"])
    settings = make_settings(tmp_path / name, embeddings="hashing")
    assert not build([str(corpus)], settings).failures
    return settings


def _answering(settings: Settings) -> Bot:
    """A Bot that has answered once (so it has opened the index)."""
    bot = Bot(settings)
    assert bot.answer(QUESTION).found
    return bot


def _home_is_locked(settings: Settings) -> bool:
    """Whether some holder has the home's lock (another flock on the file would then fail, even in this process)."""
    lock = FileLock(str(settings.home / "index.lock"), thread_local=False)
    try:
        lock.acquire(timeout=0)
    except Timeout:
        return True
    lock.release(force=True)
    return False


def _system_open(settings: Settings) -> bool:
    return str(settings.chroma_path.resolve()) in SharedSystemClient._identifier_to_system


def test_a_build_lets_go_of_the_index_when_it_ends(tmp_path: Path) -> None:
    settings = _index(tmp_path, "home")
    assert not is_open(settings) and not _home_is_locked(settings) and not _system_open(settings)


def test_a_closed_bot_releases_its_client_and_the_home_lock(tmp_path: Path) -> None:
    settings = _index(tmp_path, "home")
    bot = Bot(settings)
    assert not is_open(settings)                                  # nothing is opened before the first question
    assert bot.answer(QUESTION).found
    assert is_open(settings) and _home_is_locked(settings) and _system_open(settings)
    bot.close()
    assert not is_open(settings)
    assert not _home_is_locked(settings)                          # another process could open it now
    assert not _system_open(settings)                             # chromadb's System for the path is stopped


def test_two_bots_on_two_homes_in_one_process(tmp_path: Path) -> None:
    first = _index(tmp_path, "first")
    second = _index(tmp_path, "second", slugs=["reseau-bruine-argentee", "quartz-ferry-compact"])
    one, two = _answering(first), _answering(second)
    one.close()
    assert not is_open(first) and is_open(second)
    assert two.answer(QUESTION).found                             # the other index is untouched
    two.close()
    assert not is_open(second)


def test_a_bot_reopens_after_close_and_a_new_bot_opens_the_same_home(tmp_path: Path) -> None:
    settings = _index(tmp_path, "home")
    bot = _answering(settings)
    bot.close()
    assert bot.answer(QUESTION).found                             # reopened on use
    bot.close()
    _answering(settings).close()                                  # a new Bot on the same home
    assert not is_open(settings)


def test_an_update_while_a_bot_holds_the_index_shares_its_client(tmp_path: Path) -> None:
    bot = _answering(settings := _index(tmp_path, "home"))
    extra = tmp_path / "extra"
    write_fictional_corpus(extra, slugs=["reseau-bruine-argentee"])
    assert update([str(extra)], settings).added == 1              # no IndexBusy: one lock for the whole process
    assert is_open(settings) and _home_is_locked(settings)        # the update let go; the Bot still holds
    bot.refresh()
    assert bot.answer(QUESTION).found
    bot.close()
    assert not is_open(settings) and not _home_is_locked(settings)


def test_holders_of_one_location_share_it_until_the_last_closes(tmp_path: Path) -> None:
    settings = _index(tmp_path, "home")
    first, second = connect(settings), connect(settings)
    assert first.client is second.client
    first.close()
    first.close()                                                 # idempotent
    assert second.client.get_collection(settings.collection).count() > 0
    second.close()
    assert not is_open(settings) and not _home_is_locked(settings)
    with pytest.raises(Exception, match="closed"):
        _ = first.client
