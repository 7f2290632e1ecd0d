"""Chroma, the single source of truth, and the record manager that makes updates incremental.

This is the only place index/ and bot/ meet. Every chunk's text, metadata, dense
vector and sparse vector live in one Chroma collection (cosine space), so several
processes against one Chroma server see the same index. The collection's metadata
records which embedding stack built it (mixing models is refused) and a
`generation` stamp bumped on every write, which readers use to refresh caches.

In embedded mode a lock guards the directory: Chroma hangs for minutes when two
processes open one embedded directory, so a second process fails at once with a
message naming the holder. The client and that lock belong to whoever holds a
`Connection` (a Bot, a running build/update/remove) and are let go with the last one.
"""

from __future__ import annotations

import functools
import json
import os
import re
import sys
import threading
import time
import uuid
from collections import OrderedDict
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, ParamSpec, TypeVar, cast
from urllib.parse import urlparse

import chromadb
import httpx
import numpy as np
from chromadb import Collection, GetResult, QueryResult
from chromadb.api import ClientAPI
from chromadb.api.types import Where
from chromadb.config import Settings as ChromaSettings
from filelock import FileLock, Timeout
from langchain_core.documents import Document
from langchain_core.embeddings import Embeddings
from langchain_core.vectorstores import VectorStore
from langchain_core.vectorstores.utils import maximal_marginal_relevance

from . import changes, stored_vectors
from .chunk import embed_text, sentence_spans, text_hash
from .embed import EmbeddingStack, StackEmbeddings, load_stack, stack_name, stack_spec_of, superseded
from .errors import CommuniqueError
from .sentence_cache import SentenceCache, sentence_key
from .settings import Settings, get_settings

# Chroma metadata fields computed by the store, never part of a LangChain Document: the passage's sparse vector
# and one dense vector per sentence span (extractive answers), in one string (index/stored_vectors.py)
DERIVED_KEYS = stored_vectors.STORED_KEYS
RECENT_VECTORS = 2048  # vectors of recently written texts a store keeps in memory for reuse
FILLED_KEY = "store_filled"  # for a plain Document: the fields the store derived (comma-separated), hidden on read


class StoreError(CommuniqueError, RuntimeError):
    """The index cannot be opened or used as configured; the message says how to fix it."""


class ConfigError(StoreError):
    """A COMMUNIQUE_* setting that cannot work as given (a usage error: exit status 2)."""

    exit_code = 2


class IndexBusy(StoreError):
    """Another process holds the embedded index."""


class NoIndex(StoreError):
    """Nothing has been indexed here yet."""


# --------------------------------------------------------------------------- client

P = ParamSpec("P")
R = TypeVar("R")

_client_lock = threading.Lock()  # guards _open and _unheld, and every client being opened


@dataclass
class _Location:
    """What this process has open at one index location, shared by every Connection to it."""

    settings: Settings
    holders: int = 0
    client: ClientAPI | None = None  # opened on first use, so that holding costs nothing until then
    home_lock: FileLock | None = None  # embedded mode: COMMUNIQUE_HOME held for this process
    read_only_copy: Path | None = None  # embedded mode, read-only home: the private copy Chroma opened


_open: dict[str, _Location] = {}  # location -> what is open there, only while someone holds it
_unheld: dict[str, Connection] = {}  # holds taken for callers that hold none (see get_client)


def _location_key(settings: Settings) -> str:
    return settings.chroma_url or str(settings.chroma_path.resolve())


class Connection:
    """A hold on the Chroma client of one index location (and, embedded, on its home lock); `close()` lets go.

    A Bot and each `index build/update/remove` hold one while they use the index. Holders of one
    location share one client and one lock, because both are per process: chromadb keeps one
    System per persistent path (SharedSystemClient, counted by Client.close()), and the home
    lock is an flock that this process could not take a second time. When the last holder
    closes, the client is closed (its System stopped: SQLite and vector files let go) and the
    home is unlocked, so another process, or a second index in this one, opens it afresh.
    """

    def __init__(self, key: str, location: _Location) -> None:
        self._key = key
        self._location: _Location | None = location

    @property
    def client(self) -> ClientAPI:
        """The location's client, opened on first use (embedded: the home lock is taken then)."""
        with _client_lock:
            if self._location is None:
                raise StoreError("this connection to the index is closed")
            return _client_of(self._location)

    @property
    def closed(self) -> bool:
        return self._location is None

    def close(self) -> None:
        """Let go of the location; the last holder closes the client and unlocks the home. Idempotent."""
        with _client_lock:
            location, self._location = self._location, None
            if location is None:
                return
            location.holders -= 1
            if location.holders <= 0 and _open.get(self._key) is location:
                del _open[self._key]
                _close_location(location)

    def __enter__(self) -> Connection:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def connect(settings: Settings) -> Connection:
    """Hold the index of `settings` until the Connection is closed; nothing is opened before it is used."""
    key = _location_key(settings)
    with _client_lock:
        location = _open.setdefault(key, _Location(settings))
        location.holders += 1
        return Connection(key, location)


def holding_index(fn: Callable[P, R]) -> Callable[P, R]:
    """Decorate a function taking `settings` (2nd argument or keyword) so that it holds that index while it runs."""

    @functools.wraps(fn)
    def held(*args: P.args, **kwargs: P.kwargs) -> R:
        settings = kwargs.get("settings", args[1] if len(args) > 1 else None)
        if not isinstance(settings, Settings):
            return fn(*args, **kwargs)
        with connect(settings):
            return fn(*args, **kwargs)

    return held


def is_open(settings: Settings) -> bool:
    """Whether this process holds the index of `settings` (a client or lock may be open)."""
    with _client_lock:
        return _location_key(settings) in _open


def _client_of(location: _Location) -> ClientAPI:
    """Open the location's client if it is not yet (under _client_lock)."""
    if location.client is None:
        settings = location.settings
        location.client = _connect_server(settings) if settings.chroma_url else _open_embedded(location)
    return location.client


def _close_location(location: _Location) -> None:
    """Close what a location opened (under _client_lock, once its last holder let go)."""
    import shutil

    client, location.client = location.client, None
    for collection_id in [k for k, c in _clients_of.items() if c is client]:
        del _clients_of[collection_id]
    close = getattr(client, "close", None)
    if close is not None:
        # Client.close() releases this client's reference to the System chromadb shares per path (and its admin
        # client's) and stops the System when it was the last: the per-identifier release. Not
        # SharedSystemClient.clear_system_cache(), which forgets every System of the process, stopping none.
        try:
            close()
        except Exception:  # a server gone away: nothing left to release
            pass
    if location.home_lock is not None:
        location.home_lock.release(force=True)
        location.home_lock = None
    if location.read_only_copy is not None:
        shutil.rmtree(location.read_only_copy.parent, ignore_errors=True)
        location.read_only_copy = None


_clients_of: dict[str, ClientAPI] = {}  # collection id -> the client that opened it (to write its changes log)


def check_writable(settings: Settings) -> None:
    """Refuse to write an index whose home is read-only, before any work is done (one line, with the fix)."""
    home = settings.home
    if settings.chroma_url is None and home.exists() and home.is_dir() and not os.access(home, os.W_OK):
        raise StoreError(
            f"COMMUNIQUE_HOME={home} is read-only: status and questions still work; to change the index, "
            f"make it writable or point COMMUNIQUE_HOME at a writable copy"
        )


def _chroma_settings() -> ChromaSettings:
    return ChromaSettings(anonymized_telemetry=False, allow_reset=True)


def get_client(settings: Settings) -> ClientAPI:
    """The Chroma client of these settings (embedded or server).

    The one a holder (a Bot, a running update) keeps open, when there is one: a caller inside
    it uses that. Otherwise the index is held for the rest of the process, as a command that
    opens one index and exits wants (status, catalog); release_clients() lets go of those.
    """
    key = _location_key(settings)
    with _client_lock:
        location = _open.get(key)
        if location is None:
            location = _open[key] = _Location(settings, holders=1)
            _unheld[key] = Connection(key, location)
        return _client_of(location)


def _connect_server(settings: Settings) -> ClientAPI:
    url = urlparse(settings.chroma_url or "")
    if url.scheme not in ("http", "https") or not url.hostname:
        raise StoreError(f"COMMUNIQUE_CHROMA_URL={settings.chroma_url!r} is not an http(s)://host:port URL")
    try:
        port = url.port or (443 if url.scheme == "https" else 8000)
    except ValueError:  # a port that is not a number, or out of range
        raise ConfigError(
            f"COMMUNIQUE_CHROMA_URL={settings.chroma_url!r} has an invalid port: "
            f"use http://host:PORT with PORT a number from 1 to 65535"
        ) from None
    try:
        _bound_server_calls(settings.chroma_timeout)
        client = chromadb.HttpClient(
            host=url.hostname, port=port, ssl=url.scheme == "https", settings=_chroma_settings()
        )
        _set_request_timeout(client, settings.chroma_timeout)
        client.heartbeat()
    except Exception as exc:
        timed_out = (
            isinstance(exc, httpx.TimeoutException) or "timed out" in str(exc).lower()
        )  # chromadb re-raises it as ValueError
        reason = "no answer within COMMUNIQUE_CHROMA_TIMEOUT" if timed_out else _one_line(exc)
        raise StoreError(
            f"cannot reach the Chroma server at {settings.chroma_url}: {reason} "
            f"({settings.chroma_timeout:g} s); check that it is running and answering"
        ) from exc
    return client


class _HttpxWithDeadline:
    """httpx as chromadb's HTTP client module sees it: every session it opens gets a deadline.

    chromadb.HttpClient() asks the server who the user is (and opens an admin client) before
    it returns, on sessions created with `timeout=None`: a server that accepts and never
    answers would hang it forever, before any timeout could be set on the client.
    """

    seconds = 10.0  # set from COMMUNIQUE_CHROMA_TIMEOUT before each connection (under _client_lock)

    def __getattr__(self, name: str) -> Any:
        return getattr(httpx, name)

    def Client(self, *args: Any, **kwargs: Any) -> httpx.Client:  # noqa: N802 (httpx's name)
        kwargs["timeout"] = httpx.Timeout(self.seconds)
        return httpx.Client(*args, **kwargs)


_httpx_with_deadline = _HttpxWithDeadline()


def _bound_server_calls(seconds: float) -> None:
    """Make the sessions chromadb opens from now on time out after `seconds` (from their first request)."""
    import chromadb.api.fastapi as chroma_fastapi

    _httpx_with_deadline.seconds = seconds
    chroma_fastapi.httpx = _httpx_with_deadline  # type: ignore[assignment]


def _set_request_timeout(client: Any, seconds: float) -> None:
    """chromadb's HTTP client waits forever and has no setting for it: bound its httpx session instead."""
    session = getattr(getattr(client, "_server", None), "_session", None)
    if session is not None:
        session.timeout = httpx.Timeout(seconds)


def _check_home(settings: Settings) -> None:
    home = settings.home
    if home.exists() and not home.is_dir():
        raise StoreError(
            f"COMMUNIQUE_HOME={home} is a file, not a folder: "
            "move it away or point COMMUNIQUE_HOME elsewhere, then run `python -m index build`"
        )
    blocker = next((p for p in home.absolute().parents if p.exists() and not p.is_dir()), None)
    if blocker is not None:
        raise ConfigError(
            f"COMMUNIQUE_HOME={home} is under {blocker}, which is a file: point COMMUNIQUE_HOME at a folder"
        )


def _make_home(settings: Settings) -> None:
    """Create COMMUNIQUE_HOME, or say in one line why it cannot be."""
    _check_home(settings)
    try:
        settings.home.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise StoreError(
            f"cannot create COMMUNIQUE_HOME={settings.home} ({_one_line(exc)}): "
            f"point COMMUNIQUE_HOME at a folder you can write"
        ) from exc


def _open_embedded(location: _Location) -> ClientAPI:
    settings = location.settings
    _check_home(settings)
    if settings.chroma_path.exists() and not settings.chroma_path.is_dir():
        raise StoreError(
            f"{settings.chroma_path} is a file, not a Chroma folder: remove it, then run `python -m index build`"
        )
    _make_home(settings)
    path = settings.chroma_path
    if location.home_lock is None and location.read_only_copy is None:
        location.home_lock = acquire_home_lock(settings)
        if location.home_lock is None and path.is_dir():  # a read-only home: Chroma reads a private copy
            location.read_only_copy = _read_only_copy(path)
    try:
        return chromadb.PersistentClient(path=str(location.read_only_copy or path), settings=_chroma_settings())
    except Exception as exc:
        raise StoreError(
            f"{settings.chroma_path} is not a readable Chroma index ({_one_line(exc)}): "
            f"remove it and run `python -m index build`"
        ) from exc


def _read_only_copy(path: Path) -> Path:
    """A private copy of a read-only Chroma folder (Chroma writes to its database even to read it), removed at exit."""
    import atexit
    import shutil
    import tempfile

    copy = Path(tempfile.mkdtemp(prefix="communique-read-only-")) / "chroma"
    atexit.register(shutil.rmtree, copy.parent, True)
    try:
        shutil.copytree(path, copy, copy_function=shutil.copyfile)
        for root, dirs, files in os.walk(copy):  # the copy is ours to write (Chroma's bookkeeping)
            for name in [*dirs, *files]:
                os.chmod(Path(root) / name, 0o700 if name in dirs else 0o600)
        os.chmod(copy, 0o700)
    except OSError as exc:
        raise StoreError(
            f"COMMUNIQUE_HOME={path.parent} is read-only and {path} cannot be copied to read it "
            f"({_one_line(exc)}): make it readable, or free space in the temp folder"
        ) from exc
    return copy


def acquire_home_lock(settings: Settings) -> FileLock | None:
    """Lock COMMUNIQUE_HOME for this process, or fail naming the holder; None for a read-only home (no lock to take).

    The caller keeps the lock and releases it (a Connection, when its last holder closes).
    """
    path = str((settings.home / "index.lock").resolve())
    if not os.access(settings.home, os.W_OK):  # a read-only home: nothing here can write it, so no lock to take
        return None
    lock = FileLock(path, thread_local=False)
    owner = Path(path + ".owner")
    try:
        lock.acquire(timeout=0)
    except Timeout:
        holder = owner.read_text(encoding="utf-8", errors="replace").strip() if owner.exists() else "another process"
        raise IndexBusy(
            f"the index in {settings.home} is in use by {holder}; stop it first, or run a Chroma server "
            f"(`chroma run --path DIR`) and set COMMUNIQUE_CHROMA_URL so several processes can share it"
        ) from None
    owner.write_text(f"pid {os.getpid()} ({' '.join(sys.argv)[:200]})", encoding="utf-8")
    return lock


def release_clients() -> None:
    """Let go of the holds get_client took for callers that hold none, then close anything still open (tests).

    A Bot or an update closes its own Connection; this is for the end of a test or an evaluation run.
    """
    with _client_lock:
        unheld = list(_unheld.values())
        _unheld.clear()
    for connection in unheld:
        connection.close()
    with _client_lock:
        locations = list(_open.values())
        _open.clear()
        for location in locations:
            _close_location(location)


@contextmanager
def reading_store() -> Iterator[None]:
    """Turn any failure of a Chroma read (server gone, timeout) into a one-line StoreError."""
    try:
        yield
    except StoreError:
        raise
    except Exception as exc:
        raise StoreError(f"the index could not be read: {_one_line(exc)}") from exc


_SEGMENT_NOT_READY = "hnsw segment reader"  # chromadb 1.5 server: vectors read while another client's first write lands
_SEGMENT_RETRIES = (0.1, 0.3, 1.0, 3.0)  # seconds between attempts


Metadata = dict[str, Any]


# chromadb types every field of a result as optional and every metadata value as a union; these
# read a result the way this project stores it (each helper narrows once instead of at each use).
def metadatas_of(found: GetResult) -> list[Metadata]:
    """The metadata of each row of a get result, as plain dicts (empty for a row without any)."""
    return [dict(m or {}) for m in found.get("metadatas") or []]


def documents_of(found: GetResult) -> list[str]:
    """The text of each row of a get result ("" for a row without one)."""
    return [d or "" for d in found.get("documents") or []]


def first_query(found: QueryResult, field: str) -> list[Any]:
    """One field of a one-vector query's result (its first and only row), [] when not included."""
    rows = cast("list[list[Any]] | None", found.get(field))  # embeddings come as numpy arrays: no truth value
    return list(rows[0]) if rows is not None and len(rows) else []


def _get_retrying(collection: Collection, **kwargs: Any) -> GetResult:
    """collection.get, retried briefly while a server still sets up a new collection's vectors for another writer.

    Concurrent `index update` workers on a fresh collection otherwise fail at random with
    "Error creating hnsw segment reader: Nothing found on disk"; a moment later it reads fine.
    """
    for delay in _SEGMENT_RETRIES:
        try:
            return collection.get(**kwargs)
        except Exception as exc:
            if _SEGMENT_NOT_READY not in str(exc):
                raise
            time.sleep(delay)
    return collection.get(**kwargs)


def _one_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return (text[0] if text else type(exc).__name__)[:300]


# --------------------------------------------------------------------------- collection


def open_collection(settings: Settings, stack_name: str | None = None, *, create: bool = False) -> Collection:
    """The communiqué collection, checked against the embedding stack that will read or write it.

    With `create`, a missing collection is created for `stack_name`. A collection built
    by another stack is refused, never mixed.
    """
    client = get_client(settings)
    try:
        if create:
            collection = client.get_or_create_collection(
                settings.collection,
                configuration={"hnsw": {"space": "cosine"}},
                metadata={
                    "embeddings": stack_name,
                    "generation": _stamp(),
                    "updated_at": _now(),
                    changes.FROM_KEY: time.time(),  # the changes log is complete from the collection's birth
                },
                embedding_function=None,
            )
        else:
            collection = client.get_collection(settings.collection, embedding_function=None)
    except StoreError:
        raise
    except Exception as exc:
        if not create and ("does not exist" in str(exc) or "NotFound" in type(exc).__name__):
            raise NoIndex(
                f"no index yet in {_where(settings)}: run `python -m index build SOURCE ...` to create it"
            ) from exc
        raise StoreError(f"cannot open the index in {_where(settings)}: {_one_line(exc)}") from exc
    _clients_of[str(collection.id)] = client
    built_with = (collection.metadata or {}).get("embeddings")
    if built_with is None:
        raise StoreError(
            f"the collection {settings.collection!r} in {_where(settings)} was not made by this tool: "
            f"use another COMMUNIQUE_HOME or run `python -m index build --reset SOURCE ...`"
        )
    if stack_name is not None and built_with != stack_name and superseded(built_with):
        raise StoreError(
            f"the index in {_where(settings)} was built by an earlier version of this tool "
            f"(embeddings {built_with!r}, now {stack_name!r}): rebuild it with "
            "`python -m index build --reset SOURCE ...`"
        )
    if stack_name is not None and built_with != stack_name:
        raise StoreError(
            f"the index in {_where(settings)} was built with embeddings {built_with!r} but "
            f"COMMUNIQUE_EMBEDDINGS selects {stack_name!r}; mixing models is refused: set "
            f"COMMUNIQUE_EMBEDDINGS={stack_spec_of(built_with)} "
            "or rebuild with `python -m index build --reset SOURCE ...`"
        )
    return collection


def drop_collection(settings: Settings) -> None:
    client = get_client(settings)
    for name in (settings.collection, changes.log_name(settings.collection)):
        try:
            client.delete_collection(name)
        except Exception:
            pass  # nothing to drop


def generation(collection: Collection) -> str:
    """Changes whenever any process writes to the collection (read it from a freshly opened collection)."""
    return str((collection.metadata or {}).get("generation", ""))


def _where(settings: Settings) -> str:
    return settings.chroma_url or str(settings.home)


def _stamp() -> str:
    return uuid.uuid4().hex


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


# --------------------------------------------------------------------------- LangChain vector store


class ChunkStore(VectorStore):
    """LangChain VectorStore over the Chroma collection, computing dense and sparse vectors itself.

    Written directly on Chroma's client rather than langchain_chroma.Chroma because each
    record also carries the sparse vector, and because embeddings already stored for the
    same text are reused instead of recomputed (the text hash is the cache key).
    It also keeps a journal of the sources it wrote or deleted, from which the CLI
    reports added/updated/removed releases.

    Any LangChain Document can be added: what the chunker would have set and the store
    needs (text hash, sentence spans, numeric date) is derived when missing, and hidden
    again when the Document is read back.
    """

    def __init__(self, collection: Collection, stack: EmbeddingStack, *, on_embedded: Any = None) -> None:
        self.collection = collection
        self.stack = stack
        self.on_embedded = on_embedded or (lambda n: None)
        self.written_sources: set[str] = set()
        self.deleted_sources: set[str] = set()
        self.embedded_count = 0  # passages embedded by this store
        self.sentences_embedded = 0  # sentences embedded (the others were reused)
        self._sentences = SentenceCache(stack.sentence_dim)
        self._recalled: set[str] = set()  # sources whose stored sentence vectors are in the cache already
        self._embeddings = StackEmbeddings(stack=stack)
        self._recent: OrderedDict[str, tuple[np.ndarray, dict[str, str]]] = OrderedDict()

    @classmethod
    def open(cls, settings: Settings | None = None, embedding: Embeddings | None = None) -> ChunkStore:
        """The store over the index of `settings` (the environment's by default), created if missing.

        `embedding` may be given only as the StackEmbeddings of the stack these settings
        select: the store computes its own vectors (dense and sparse), so another model
        would give an index the bot cannot read.
        """
        settings = settings or get_settings()
        wanted = stack_name(settings.embeddings)
        if embedding is None:
            stack = load_stack(settings.embeddings)
        elif isinstance(embedding, StackEmbeddings) and embedding.stack.name == wanted:
            stack = embedding.stack
        else:
            raise StoreError(
                f"ChunkStore embeds with the stack COMMUNIQUE_EMBEDDINGS selects ({wanted!r}), not with {embedding!r}: "
                f"pass index.embed.StackEmbeddings({settings.embeddings!r}) or no embedding"
            )
        return cls(open_collection(settings, stack.name, create=True), stack)

    @property
    def embeddings(self) -> Embeddings:
        """The dense side of the store's stack, as LangChain Embeddings (the vectors Chroma holds)."""
        return self._embeddings

    # -- writing
    def add_documents(self, documents: list[Document], **kwargs: Any) -> list[str]:
        """Upsert Documents under their ids (kwargs `ids`, else Document.id, else a new uuid)."""
        if not documents:
            return []
        given = kwargs.get("ids")
        if given is not None and len(given) != len(documents):
            raise ValueError(f"{len(given)} ids for {len(documents)} documents")
        ids = [str(i) if i else (d.id or uuid.uuid4().hex) for i, d in zip(given or [None] * len(documents), documents)]
        completed = [_completed_metadata(d) for d in documents]
        dense, derived = self._vectors_for(documents, completed)
        metadatas: list[Mapping[str, Any]] = [{**meta, **extra} for meta, extra in zip(completed, derived)]
        self.collection.upsert(
            ids=ids, embeddings=dense, documents=[d.page_content for d in documents], metadatas=metadatas
        )
        self.written_sources.update(
            str(d.metadata["source"]) for d in documents if d.metadata.get("source") is not None
        )
        self.touch(ids)
        return ids

    def add_texts(
        self, texts: Iterable[str], metadatas: list[dict] | None = None, *, ids: list[str] | None = None, **kwargs: Any
    ) -> list[str]:
        """Upsert plain texts (with optional metadata and ids), as Documents."""
        texts = list(texts)
        if metadatas is not None and len(metadatas) != len(texts):
            raise ValueError(f"{len(metadatas)} metadatas for {len(texts)} texts")
        docs = [Document(page_content=t, metadata=dict(metadatas[i]) if metadatas else {}) for i, t in enumerate(texts)]
        return self.add_documents(docs, ids=ids, **kwargs)

    def _vectors_for(
        self, documents: list[Document], metadatas: list[dict[str, Any]]
    ) -> tuple[np.ndarray, list[dict[str, str]]]:
        """Reuse vectors already computed for identical text; embed only the rest, in one batch.

        Passages are reused by text hash (title + text); so are sentences, one by one
        (`SentenceCache`): a passage to embed still takes the vectors of its sentences met
        before — in this run, or stored for an earlier version of the same release.
        """
        hashes = [m["text_hash"] for m in metadatas]
        known = self._reusable(set(hashes))
        todo = list({h: i for i, h in reversed(list(enumerate(hashes))) if h not in known}.values())
        if todo:
            passages = [embed_text(str(metadatas[i].get("title", "")), documents[i].page_content) for i in todo]
            groups = [[documents[i].page_content[a:b] for a, b in json.loads(metadatas[i]["sentences"])] for i in todo]
            self._recall_sentences_of({str(metadatas[i]["source"]) for i in todo if metadatas[i].get("source")})
            rows = self._sentences.known(s for group in groups for s in group)
            new = [s for s in dict.fromkeys(s for group in groups for s in group) if sentence_key(s) not in rows]
            vectors, sentence_vectors = self.stack.embed_passages(passages), self.stack.embed_sentences(new)
            rows.update(self._sentences.put(new, sentence_vectors))
            dim = self.stack.sentence_dim
            for j, (i, group) in enumerate(zip(todo, groups)):
                matrix = np.stack([rows[sentence_key(s)] for s in group]) if group else np.zeros((0, dim), "<f2")
                sparse = vectors.sparse[j] if vectors.sparse is not None else None
                extra = {stored_vectors.VECTORS_KEY: stored_vectors.encode(matrix, sparse)}
                known[hashes[i]] = (vectors.dense[j], extra)
                self._remember(hashes[i], known[hashes[i]])
            self.embedded_count += len(todo)
            self.sentences_embedded += len(new)
            self.on_embedded(len(todo))
        dense = np.stack([known[h][0] for h in hashes]).astype(np.float32)
        return dense, [known[h][1] for h in hashes]

    def _recall_sentences_of(self, sources: set[str]) -> None:
        """Put in the sentence cache the vectors stored for these sources (once each per store): one Chroma get.

        An edited release is read again while its earlier chunks are still stored (the indexing
        API deletes them after writing the new ones): their sentences need no model.
        """
        wanted: list[str | int | float | bool] = sorted(sources - self._recalled)
        if not wanted:
            return
        self._recalled.update(str(s) for s in wanted)
        found = _get_retrying(
            self.collection, where=cast(Where, {"source": {"$in": wanted}}), include=["documents", "metadatas"]
        )
        for text, meta in zip(documents_of(found), metadatas_of(found)):
            if meta.get("sentences") and any(meta.get(k) for k in DERIVED_KEYS):
                rows = stored_vectors.sentence_vectors_of(meta, self.stack.sentence_dim)
                self._sentences.remember_stored(text, meta["sentences"], rows)

    def _reusable(self, hashes: set[str]) -> dict[str, tuple[np.ndarray, dict[str, str]]]:
        """Vectors of these text hashes known already: from this store's recent writes, else ONE stored copy each.

        One Chroma get per unknown hash, `limit=1`: a `$in` over the hashes returned every copy
        of each text (with its vectors), so a batch cost grew with the number of copies indexed:
        bulk loads of repeated text were quadratic. A get costs ~3 ms; embedding a passage ~150 ms.
        """
        found: dict[str, tuple[np.ndarray, dict[str, str]]] = {}
        for h in sorted(hashes):
            cached = self._recent.get(h)
            if cached is not None:
                self._recent.move_to_end(h)
                found[h] = cached
                continue
            hit = _get_retrying(self.collection, where={"text_hash": h}, limit=1, include=["embeddings", "metadatas"])
            embeddings = hit.get("embeddings")  # a numpy array: no truth value
            for emb, meta in zip(embeddings if embeddings is not None else [], metadatas_of(hit)):
                if stored_vectors.complete(meta, self.stack.has_sparse):  # a copy written before: converted
                    extra = {stored_vectors.VECTORS_KEY: stored_vectors.stored(meta, self.stack.sentence_dim)}
                    found[h] = (np.asarray(emb, np.float32), extra)
                    self._remember(h, found[h])
        return found

    def _remember(self, text_hash: str, vectors: tuple[np.ndarray, dict[str, str]]) -> None:
        """Keep the vectors of a recently written text for the next batches (bounded: ~10 KB an entry)."""
        self._recent[text_hash] = vectors
        self._recent.move_to_end(text_hash)
        while len(self._recent) > RECENT_VECTORS:
            self._recent.popitem(last=False)

    def delete(self, ids: list[str] | None = None, **kwargs: Any) -> bool | None:
        """Delete these ids (unknown ones are ignored)."""
        if not ids:
            return True
        found = self.collection.get(ids=list(ids), include=["metadatas"])
        if not found["ids"]:
            return True
        self.deleted_sources.update(str(m.get("source")) for m in metadatas_of(found))
        self.collection.delete(ids=list(found["ids"]))
        self.touch(found["ids"])
        return True

    def touch(self, ids: Iterable[str] | None = None) -> None:
        """Log the chunk ids just written (None: anything) and bump the generation, so readers refresh by deltas."""
        meta = dict(self.collection.metadata or {})
        client = _clients_of.get(str(self.collection.id))
        if client is not None:
            meta.update(changes.record(client, self.collection, ids))  # index/changes.py
        else:  # a collection not opened by open_collection: its writes cannot be logged, so readers list everything
            meta.pop(changes.FROM_KEY, None)
        meta.update(generation=_stamp(), updated_at=_now())
        meta.pop("hnsw:space", None)
        self.collection.modify(metadata=meta)

    # -- reading (LangChain compatibility; the bot's retriever fuses more signals)
    def get_by_ids(self, ids: Sequence[str], /) -> list[Document]:
        """The stored Documents of these ids (unknown ids are left out)."""
        found = self.collection.get(ids=list(ids), include=["documents", "metadatas"])
        return [_to_document(i, d, m) for i, d, m in zip(found["ids"], documents_of(found), metadatas_of(found))]

    def _select_relevance_score_fn(self) -> Callable[[float], float]:
        """Relevance in [0, 1]: the cosine similarity (Chroma's cosine distance is 1 - it), 0 when opposed."""
        return _cosine_relevance

    def _query_vector(self, query: str) -> list[float]:
        return self.stack.embed_queries([query]).dense[0].astype(float).tolist()

    def similarity_search(self, query: str, k: int = 4, **kwargs: Any) -> list[Document]:
        """The k nearest chunks by dense vector (`filter`: a Chroma `where` clause)."""
        return [doc for doc, _ in self.similarity_search_with_score(query, k, **kwargs)]

    def similarity_search_with_score(self, query: str, k: int = 4, **kwargs: Any) -> list[tuple[Document, float]]:
        """The k nearest chunks with their cosine distance (0 = same direction; lower is better)."""
        return self.similarity_search_with_score_by_vector(self._query_vector(query), k, **kwargs)

    def similarity_search_by_vector(self, embedding: list[float], k: int = 4, **kwargs: Any) -> list[Document]:
        """The k nearest chunks to a vector of this stack (e.g. from `embeddings.embed_query`)."""
        return [doc for doc, _ in self.similarity_search_with_score_by_vector(embedding, k, **kwargs)]

    def similarity_search_with_score_by_vector(
        self, embedding: list[float], k: int = 4, filter: dict[str, Any] | None = None, **kwargs: Any
    ) -> list[tuple[Document, float]]:
        """Chroma's own nearest-neighbour search, best first, with cosine distances."""
        if k <= 0:
            return []
        found = self.collection.query(
            query_embeddings=np.asarray([embedding], np.float32),
            n_results=k,
            where=filter,
            where_document=kwargs.get("where_document"),
            include=["documents", "metadatas", "distances"],
        )
        return [
            (_to_document(i, d, m), float(dist))
            for i, d, m, dist in zip(
                found["ids"][0],
                first_query(found, "documents"),
                first_query(found, "metadatas"),
                first_query(found, "distances"),
            )
        ]

    def max_marginal_relevance_search(
        self, query: str, k: int = 4, fetch_k: int = 20, lambda_mult: float = 0.5, **kwargs: Any
    ) -> list[Document]:
        """k chunks relevant to the query yet unlike each other (MMR over the stored dense vectors)."""
        return self.max_marginal_relevance_search_by_vector(
            self._query_vector(query), k, fetch_k, lambda_mult, **kwargs
        )

    def max_marginal_relevance_search_by_vector(
        self,
        embedding: list[float],
        k: int = 4,
        fetch_k: int = 20,
        lambda_mult: float = 0.5,
        filter: dict[str, Any] | None = None,
        **kwargs: Any,
    ) -> list[Document]:
        """MMR among the fetch_k nearest chunks, on the vectors Chroma stores (nothing is re-embedded)."""
        if k <= 0:
            return []
        found = self.collection.query(
            query_embeddings=np.asarray([embedding], np.float32),
            n_results=max(fetch_k, k),
            where=filter,
            where_document=kwargs.get("where_document"),
            include=["documents", "metadatas", "embeddings"],
        )
        ids = found["ids"][0]
        if not ids:
            return []
        vectors = np.asarray(first_query(found, "embeddings"), np.float32)
        chosen = maximal_marginal_relevance(
            np.asarray(embedding, np.float32), list(vectors), lambda_mult=lambda_mult, k=min(k, len(ids))
        )
        documents, metadatas = first_query(found, "documents"), first_query(found, "metadatas")
        return [_to_document(ids[i], documents[i], metadatas[i]) for i in chosen]

    @classmethod
    def from_texts(
        cls,
        texts: list[str],
        embedding: Embeddings,
        metadatas: list[dict] | None = None,
        *,
        ids: list[str] | None = None,
        settings: Settings | None = None,
        **kwargs: Any,
    ) -> ChunkStore:
        """The store over `settings`' index (see `open`) with these texts added.

        Texts added this way are not tracked by the record manager: `python -m index`
        neither reports nor removes them (a `build --reset` does).
        """
        store = cls.open(settings, embedding)
        store.add_texts(texts, metadatas, ids=ids)
        return store

    def documents_of(self, sources: Iterable[str]) -> list[Document]:
        """The stored chunks of these sources, exactly as indexed (hash-identical for the indexing API)."""
        wanted: list[str | int | float | bool] = list(sources)
        if not wanted:
            return []
        found = self.collection.get(where=cast(Where, {"source": {"$in": wanted}}), include=["documents", "metadatas"])
        docs = [_to_document(i, d, m) for i, d, m in zip(found["ids"], documents_of(found), metadatas_of(found))]
        return sorted(docs, key=lambda d: (d.metadata["source"], d.metadata["chunk"]))


def _completed_metadata(doc: Document) -> dict[str, Any]:
    """The Document's metadata plus what the store needs and the chunker would have set, listed under FILLED_KEY.

    None values are left out (Chroma rejects them).
    """
    meta = {k: v for k, v in doc.metadata.items() if v is not None}
    filled: list[str] = []
    if "text_hash" not in meta:
        meta["text_hash"] = text_hash(str(meta.get("title", "")), doc.page_content)
        filled.append("text_hash")
    if "sentences" not in meta:
        meta["sentences"] = json.dumps(sentence_spans(doc.page_content))
        filled.append("sentences")
    if "date_int" not in meta and isinstance(meta.get("date"), str) and _ISO_DAY.fullmatch(meta["date"]):
        meta["date_int"] = int(meta["date"].replace("-", ""))  # what the bot's date filters compare
        filled.append("date_int")
    if filled:
        meta[FILLED_KEY] = ",".join(filled)
    return meta


_ISO_DAY = re.compile(r"\d{4}-\d{2}-\d{2}")


def _cosine_relevance(distance: float) -> float:
    """Cosine similarity clamped at 0, so LangChain's thresholds see a score in [0, 1] as documented."""
    return max(0.0, 1.0 - distance)


def visible_metadata(metadata: dict[str, Any] | None) -> dict[str, Any]:
    """A chunk's metadata as its Document shows it: without stored vectors or the fields the store filled in."""
    metadata = metadata or {}
    hidden = {*DERIVED_KEYS, FILLED_KEY, *str(metadata.get(FILLED_KEY, "")).split(",")}
    return {k: v for k, v in metadata.items() if k not in hidden}


def _to_document(id_: str, text: str | None, metadata: dict | None) -> Document:
    return Document(id=id_, page_content=text or "", metadata=visible_metadata(metadata))


# --------------------------------------------------------------------------- record manager

RECORDS_BACKENDS = ("sqlite", "postgresql")  # the databases SQLRecordManager implements
RECORDS_CONNECT_TIMEOUT = 10  # seconds; libpq would otherwise wait forever for an unreachable PostgreSQL
# seconds a process waits for another one's SQLite write to finish (Python's default, 5 s, failed two
# concurrent `index update` runs against one server with "database is locked")
RECORDS_SQLITE_BUSY_SECONDS = 60


def record_manager(settings: Settings) -> Any:
    """LangChain's SQL record manager: which chunk hashes are indexed, grouped by source.

    SQLite under `home` by default; COMMUNIQUE_RECORDS_URL may name a PostgreSQL
    database (`postgresql+psycopg://...`) shared by several indexing processes.
    """
    from langchain_classic.indexes import SQLRecordManager
    from sqlalchemy.engine import make_url

    if not settings.records_url:
        _make_home(settings)
    try:
        url = make_url(settings.records_db_url)
        if url.get_backend_name() not in RECORDS_BACKENDS:
            raise StoreError(
                f"the record manager needs a postgresql:// or sqlite:/// URL, not {url.get_backend_name()}://"
            )
        engine_kwargs: dict[str, Any] = {}
        if url.get_backend_name() == "postgresql" and "connect_timeout" not in url.query:
            engine_kwargs["connect_args"] = {"connect_timeout": RECORDS_CONNECT_TIMEOUT}
        elif url.get_backend_name() == "sqlite":
            engine_kwargs["connect_args"] = {"timeout": RECORDS_SQLITE_BUSY_SECONDS}
        manager = SQLRecordManager(f"communique/{settings.collection}", db_url=url, engine_kwargs=engine_kwargs)
        try:
            manager.create_schema()
        except Exception as exc:
            if "already exists" not in str(exc) and "duplicate key" not in str(exc):
                raise
            manager.create_schema()  # another process created the table between the check and the CREATE
    except Exception as exc:  # a damaged SQLite file or an unreachable database
        where = "COMMUNIQUE_RECORDS_URL" if settings.records_url else str(settings.home / "records.sqlite")
        fix = "check it" if settings.records_url else "remove it, then run `python -m index build`"
        raise StoreError(f"cannot open the record manager ({where}): {_one_line(exc)}; {fix}") from exc
    return manager


def indexed_sources(manager: Any, among: Iterable[str] | None = None) -> set[str]:
    """Every source the record manager knows, or those of `among` (SQLRecordManager has no public call for this).

    `among` looks up only those sources (group_id is indexed): adding one file to 30,000
    releases need not list them all.
    """
    from langchain_classic.indexes._sql_record_manager import UpsertionRecord
    from sqlalchemy import select

    record: Any = UpsertionRecord  # its columns are untyped
    with manager._make_session() as session:
        if among is None:
            rows = session.execute(select(record.group_id).where(record.namespace == manager.namespace).distinct())
            return {row[0] for row in rows if row[0] is not None}
        wanted = sorted(among)
        found: set[str] = set()
        for start in range(0, len(wanted), _SOURCES_PAGE):
            # by group_id alone: with `namespace` in the WHERE, SQLite (no statistics) walks the namespace index,
            # i.e. every record (20 ms at 10,000 releases); a source's few chunks are filtered here instead
            page = select(record.group_id, record.namespace).where(
                record.group_id.in_(wanted[start : start + _SOURCES_PAGE])
            )
            found.update(group for group, namespace in session.execute(page) if namespace == manager.namespace)
        return found


_SOURCES_PAGE = 500  # sources looked up in one query (SQLite allows 999 parameters, older builds)
