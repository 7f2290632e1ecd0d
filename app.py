"""`python app.py`: the web app — ask questions about NATO communiqués, see the cited passages, add releases.

    python app.py [--host 127.0.0.1] [--port 7860] [--share]

Layout (build_app):
  * "Ask" tab — the chat (answers stream in, every claim followed by [n]) with the
    question box, example questions and filters (language, date range) under it; beside it
    the "Sources" panel: title, date, language, link or file name and the passage of each
    cited release, the quoted sentence highlighted. Clicking an earlier answer shows its sources.
  * "Index" tab — what the index holds (index.status), and "Add releases": upload files or
    paste release/feed URLs; runs index.update.update, the same incremental update as
    `python -m index update`, with a progress bar, then shows the summary line and failures.

The /chat API (`gradio_client.Client(url).predict("What is PAF-N?", api_name="/chat")`)
takes the message, and optionally `history` (messages format: [{"role", "content"}]),
`lang` ("any", "en", "fr"), `date_from` and `date_to` (YYYY[-MM[-DD]]). It returns a dict
(bot.present.answer_dict), whose keys are kept stable:
    answer     the answer text with its [n] markers
    found      False when the releases do not answer (or on an error)
    mode       "extractive" | "llm" | "abstain" | "error"
    lang       the language of the answer
    error      a message when the question could not be answered (index unavailable,
               index empty or being built, invalid filter), else None
    citations  [{n, title, date, lang, url, source, passage, quotes, quoted, score}]
    text       the answer followed by a "Sources:" list, ready to print
`/add_releases` (files, urls, password) is the API of the "Add releases" panel.

Adding releases writes to the index, so it is open without a password only when the app
listens on localhost (and is not shared); otherwise it needs COMMUNIQUE_ADMIN_PASSWORD,
and without one the panel is disabled. Uploads are copied under COMMUNIQUE_HOME/uploads
with sanitised, unique names, up to COMMUNIQUE_MAX_FILE_MB.

The callbacks here only parse inputs and call bot/ and index/; release text reaches the
page only through bot.present, which escapes it.
"""
from __future__ import annotations

import argparse
import calendar
import hashlib
import hmac
import logging
import math
import os
import re
import shutil
import sys
import threading
import time
import unicodedata
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")   # no phoning home; the app works offline

import gradio as gr  # noqa: E402

from bot import Answer, answer_stream, present, refresh  # noqa: E402
from index.load import is_url, list_release_files  # noqa: E402
from index.release import Failure  # noqa: E402
from index.settings import Settings, get_settings  # noqa: E402
from index.status import IndexStatus, index_status  # noqa: E402
from index.store import NoIndex, StoreError  # noqa: E402
from index.update import Summary, update  # noqa: E402

log = logging.getLogger("communique.app")

LOCAL_HOSTS = frozenset({"127.0.0.1", "localhost", "::1"})
UPLOAD_SUFFIXES = (".txt", ".md", ".html", ".htm", ".pdf")
from bot.query import MAX_QUESTION_CHARS  # noqa: E402  (one cap for the app, the CLI and the library)
CHAT_CONCURRENCY = 8

EXAMPLES = [
    "What is PAF-N?",
    "What is NATO's Resilience Committee?",
    "What does the NATO Innovation Fund invest in?",
    "Qui a pris ses fonctions de représentante spéciale de l'OTAN pour les femmes, la paix et la sécurité en janvier 2018 ?",
]
LANGUAGES = {"Any": None, "English": "en", "French": "fr"}

EMPTY_INDEX_TEXT = ("The index holds no releases yet, so there is nothing to answer from. Add releases in the "
                    "“Index” tab (upload .txt, .md, .html or .pdf files, or paste release or feed URLs), or set "
                    "COMMUNIQUE_CORPUS to a folder of releases and restart the app.")
EMPTY_INDEX_TEXT_NO_ADD = ("The index holds no releases yet, so there is nothing to answer from. The administrator can "
                           "set COMMUNIQUE_CORPUS to a folder of releases and restart the app, or set "
                           "COMMUNIQUE_ADMIN_PASSWORD to add releases from the “Index” tab.")
BUILDING_TEXT = "The index is being built ({note}). Please ask again in a moment."

CSS = """
.cq-examples button { white-space: normal; text-align: left; }
#cq-notice { padding: 6px 10px; border-radius: 6px; background: var(--background-fill-secondary); }
"""


# --------------------------------------------------------------------------- inputs


class InputError(ValueError):
    """A filter or question the user must correct; the message says how."""


@dataclass(frozen=True)
class ChatFilters:
    lang: str | None = None
    date_from: str | None = None
    date_to: str | None = None


def parse_filters(lang: str | None, date_from: str | None, date_to: str | None) -> ChatFilters:
    """The filter inputs as answer_stream wants them; InputError with a clear message when invalid."""
    choice = (lang or "").strip()
    codes = {k.lower(): v for k, v in LANGUAGES.items()} | {"": None, "en": "en", "fr": "fr"}
    if choice.lower() not in codes:
        raise InputError(f"Language filter {choice!r} is not one of: any, en (English), fr (French).")
    start, end = _parse_date(date_from, "From"), _parse_date(date_to, "To")
    if start and end and _bound(start) > _bound(end, end=True):
        raise InputError(f"The date range is empty: “From” ({start}) is after “To” ({end}).")
    return ChatFilters(codes[choice.lower()], start, end)


def _parse_date(value: str | None, label: str) -> str | None:
    text = (value or "").strip()
    if not text:
        return None
    if not re.fullmatch(r"\d{4}(-\d{2}(-\d{2})?)?", text):
        raise InputError(f"“{label}” date {text!r} is not a date: use YYYY-MM-DD (or YYYY-MM, or YYYY), e.g. 2024-06-11.")
    try:
        _bound(text)
    except ValueError:
        raise InputError(f"“{label}” date {text!r} does not exist in the calendar: use YYYY-MM-DD, e.g. 2024-06-11.") from None
    return text


def _bound(text: str, end: bool = False) -> date:
    """First (or, with `end`, last) day a YYYY[-MM[-DD]] date covers; ValueError if it does not exist."""
    parts = [int(p) for p in text.split("-")]
    year, month = parts[0], parts[1] if len(parts) > 1 else (12 if end else 1)
    day = parts[2] if len(parts) > 2 else (calendar.monthrange(year, month)[1] if end and 1 <= month <= 12 else 1)
    return date(year, month, day)


def clean_history(history: Any) -> list[dict]:
    """Messages-format history with plain-text contents (what bot.query reads); anything else is dropped."""
    messages = []
    for message in history or []:
        if not isinstance(message, dict) or message.get("role") not in ("user", "assistant"):
            continue
        content = message.get("content")
        if isinstance(content, list):   # Gradio's normalised form: [{"type": "text", "text": ...}]
            content = " ".join(part.get("text", "") for part in content if isinstance(part, dict) and part.get("type") == "text")
        if isinstance(content, str) and content.strip():
            messages.append({"role": message["role"], "content": content})
    return messages


# --------------------------------------------------------------------------- uploads


class UploadRejected(ValueError):
    """An uploaded file that is not stored; the message is the reason."""


def safe_upload_name(name: str) -> str:
    """A file name safe to create under the uploads folder: basename only, ASCII letters, digits, . _ -."""
    base = re.split(r"[\\/]", str(name))[-1]
    base = unicodedata.normalize("NFKD", base).encode("ascii", "ignore").decode("ascii")
    base = re.sub(r"[^A-Za-z0-9._-]+", "_", base)
    base = re.sub(r"\.{2,}", ".", base).strip("._-")
    stem, dot, suffix = base.rpartition(".")
    if not dot:
        stem, suffix = base, ""
    stem = stem.strip("._-")[:80] or "release"
    return f"{stem}.{suffix.lower()[:10]}" if suffix else stem


def store_upload(path: Path, uploads_dir: Path, max_bytes: int) -> Path:
    """Copy an uploaded file under `uploads_dir` with a sanitised name.

    A file uploaded again under a name already in the uploads replaces it (the update then
    reports it as updated): a corrected release must not sit beside its stale version.
    """
    safe = safe_upload_name(path.name)
    suffix = Path(safe).suffix
    if suffix not in UPLOAD_SUFFIXES:
        raise UploadRejected(f"unsupported file type {suffix or '(none)'}: upload {', '.join(UPLOAD_SUFFIXES)} files")
    size = path.stat().st_size
    if size > max_bytes:
        raise UploadRejected(f"the file is {_megabytes(size)}, larger than the {_megabytes(max_bytes)} limit (COMMUNIQUE_MAX_FILE_MB)")
    folder = uploads_dir.resolve()
    folder.mkdir(parents=True, exist_ok=True)
    target = folder / safe
    if target.parent != folder:   # cannot happen with a sanitised name; never write elsewhere
        raise UploadRejected("invalid file name")
    if target.exists() and not target.is_file():
        raise UploadRejected(f"{safe} exists in the uploads and is not a file")
    if target.is_file() and _sha256(target) == _sha256(path):
        return target     # already uploaded: the update reports it unchanged
    partial = folder / f".{safe}.{os.getpid()}.partial"   # hidden: never read as a release
    try:
        shutil.copyfile(path, partial)
        os.replace(partial, target)   # atomic: a reader sees the old or the new release, never half of one
    finally:
        partial.unlink(missing_ok=True)
    return target


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def _megabytes(n: float) -> str:
    return f"{n / 1_000_000:.3g} MB"


# --------------------------------------------------------------------------- who may add releases


@dataclass(frozen=True)
class AddPolicy:
    """Adding releases writes to the index: free on localhost, else behind COMMUNIQUE_ADMIN_PASSWORD."""

    local: bool
    password: str | None

    @classmethod
    def for_launch(cls, host: str, share: bool, settings: Settings) -> "AddPolicy":
        return cls(local=host.strip().strip("[]").lower() in LOCAL_HOSTS and not share, password=settings.admin_password or None)

    @property
    def needs_password(self) -> bool:
        return not self.local

    @property
    def enabled(self) -> bool:
        return self.local or bool(self.password)

    def refusal(self, given: str | None) -> str | None:
        """Why adding is refused with this password, or None when allowed."""
        if self.local:
            return None
        if not self.password:
            return ("Adding releases is disabled: the app is reachable beyond localhost and no "
                    "COMMUNIQUE_ADMIN_PASSWORD is set.")
        if not hmac.compare_digest((given or "").encode("utf-8"), self.password.encode("utf-8")):
            return "Wrong admin password: releases were not added."
        return None


class PasswordGuard:
    """Per-client back-off on wrong admin passwords (1 s, doubling to 5 min), each miss logged: guessing costs time."""

    def __init__(self, first: float = 1.0, longest: float = 300.0) -> None:
        self.first, self.longest = first, longest
        self._misses: dict[str, tuple[int, float]] = {}   # client -> (misses in a row, refused until)
        self._lock = threading.Lock()

    def wait(self, client: str) -> float:
        """Seconds this client must still wait before its next try (0: it may try)."""
        with self._lock:
            return max(0.0, self._misses.get(client, (0, 0.0))[1] - time.monotonic())

    def missed(self, client: str) -> None:
        with self._lock:
            count = self._misses.get(client, (0, 0.0))[0] + 1
            self._misses[client] = (count, time.monotonic() + min(self.longest, self.first * 2 ** (count - 1)))
        log.warning("wrong admin password from %s (%d in a row)", client, count)

    def passed(self, client: str) -> None:
        with self._lock:
            self._misses.pop(client, None)


def local_request_refusal(request: Any) -> str | None:
    """Why a password-free add is refused for this request (DNS rebinding, a proxy in front), or None.

    Listening on 127.0.0.1 is not enough: a rebinding page or a reverse proxy reaches it with a
    foreign Host (and Origin). Only requests addressed to a localhost name, from a localhost page
    or from no page at all (scripts on this machine), and not forwarded by a proxy, may add releases.
    """
    headers = getattr(request, "headers", None)
    if headers is None:
        return None   # called in-process, not over HTTP
    refused = "Refused: without COMMUNIQUE_ADMIN_PASSWORD, releases can only be added from a page served on localhost."
    host = headers.get("host", "")
    if (urlsplit(f"//{host}").hostname or "") not in LOCAL_HOSTS or headers.get("x-forwarded-for") or headers.get("forwarded"):
        return refused
    origin = headers.get("origin")
    if origin and (urlsplit(origin).hostname not in LOCAL_HOSTS or urlsplit(origin).netloc != host):
        return refused
    return None


# --------------------------------------------------------------------------- the index, as the app sees it


class IndexKeeper:
    """The app's view of its index: cached status, the start-up build, and one writer at a time."""

    def __init__(self, settings: Settings, empty_text: str = EMPTY_INDEX_TEXT) -> None:
        self.settings = settings
        self.empty_text = empty_text   # what to tell users while the index is empty
        self.write_lock = threading.Lock()
        self.building = False
        self.build_note = ""
        self.status: IndexStatus | None = None
        self.status_error: str | None = None
        self.status_error_kind: type[Exception] | None = None
        self.show_location = True   # the server's paths: only for localhost (build_app), not for anonymous users
        self.refresh()

    def refresh(self) -> None:
        try:
            self.status, self.status_error, self.status_error_kind = index_status(self.settings), None, None
        except StoreError as exc:
            self.status, self.status_error, self.status_error_kind = None, str(exc), type(exc)
        except Exception as exc:  # the panel must render whatever happens
            log.exception("index status failed")
            self.status, self.status_error, self.status_error_kind = None, f"{type(exc).__name__}: {exc}", type(exc)

    @property
    def empty(self) -> bool:
        if self.status is not None:
            return self.status.releases == 0
        return self.status_error_kind is NoIndex

    def corpus_sources(self) -> list[str]:
        """COMMUNIQUE_CORPUS entries that exist (folders holding releases, files, URLs)."""
        found = []
        for source in self.settings.corpus:
            path = Path(source).expanduser()
            if is_url(source) or path.is_file() or (path.is_dir() and list_release_files(path)):
                found.append(str(path.resolve()) if not is_url(source) else source)
            else:
                log.info("COMMUNIQUE_CORPUS entry %s holds no releases; skipped", source)
        return found

    def start_initial_build(self) -> threading.Thread | None:
        """Index COMMUNIQUE_CORPUS in the background when the index is empty; the UI starts meanwhile."""
        if not self.empty:
            return None
        sources = self.corpus_sources()
        if not sources:
            return None
        self.building = True
        self.build_note = f"reading releases from {', '.join(sources)}"
        thread = threading.Thread(target=self._initial_build, args=(sources,), name="initial-index-build", daemon=True)
        thread.start()
        return thread

    def _initial_build(self, sources: list[str]) -> None:
        counts = {"release": 0, "embedded": 0}
        total = sum(len(list_release_files(Path(s))) if Path(s).is_dir() else 1 for s in sources if not is_url(s))

        def progress(event: str, n: int) -> None:
            counts[event] = counts.get(event, 0) + n
            self.build_note = f"{counts['release']}/{total or '?'} releases read, {counts['embedded']} chunks embedded"
            if event == "embedded" or counts["release"] % 10 == 0 or counts["release"] == total:
                log.info("initial build: %s", self.build_note)

        with self.write_lock:
            log.info("the index is empty: building it from COMMUNIQUE_CORPUS (%s)", ", ".join(sources))
            try:
                summary = update(sources, self.settings, progress=progress)
                for failure in summary.failures:
                    log.warning("%s", failure)
                self.build_note = f"built from COMMUNIQUE_CORPUS: {summary.line()}"
                log.info("initial build done: %s", summary.line())
            except Exception as exc:
                log.exception("initial build failed")
                self.build_note = f"the start-up build failed: {exc}"
            finally:
                refresh(self.settings)   # the bot sees the new releases at once
                self.refresh()
                self.building = False

    def notice(self) -> str:
        """A one-line message above the chat, or "" when all is well."""
        if self.building:
            return f"The index is being built from COMMUNIQUE_CORPUS ({self.build_note}); answers come from what is indexed so far."
        if self.status_error and not self.empty:
            return f"⚠️ The index is unavailable: {self.shown(self.status_error)}"
        if self.empty:
            return self.empty_text
        return ""

    def shown(self, text: str) -> str:
        """Text for users: the server's COMMUNIQUE_HOME path replaced by its name unless show_location."""
        if self.show_location:
            return text
        for path in sorted({str(self.settings.home.resolve()), str(self.settings.home)}, key=len, reverse=True):
            text = text.replace(path, "COMMUNIQUE_HOME")
        return text

    def status_markdown(self) -> str:
        esc = lambda text: present.escape_markdown(self.shown(str(text)))   # noqa: E731
        if self.status is None:
            return f"**Index:** {esc(self.status_error or 'unknown')}"
        s = self.status
        langs = ", ".join(f"{present.lang_name(k)} {n}" for k, n in sorted(s.languages.items())) or "none"
        span = f"{s.first_date} to {s.last_date}" if s.first_date else "no dated releases"
        rows = [("Releases", s.releases), ("Chunks", s.chunks), ("Languages", langs), ("Dates", span),
                ("Last update", s.updated_at or "never"), ("Embeddings", s.embeddings), ("Location", s.where)]
        table = "\n".join(f"- **{k}:** {esc(v)}" for k, v in rows)
        if self.building:
            table += f"\n\nBuilding from COMMUNIQUE_CORPUS: {esc(self.build_note)}"
        elif self.build_note:
            table += f"\n\nStart-up build: {esc(self.build_note)}"
        return table


# --------------------------------------------------------------------------- asking


def _notice_answer(question: str, text: str) -> Answer:
    return Answer(question=question, text=text, found=False, mode="error", error=text)


class Asker:
    """Question (+ filters, history) -> the bot's stream, with the app's guards around it."""

    def __init__(self, settings: Settings, keeper: IndexKeeper) -> None:
        self.settings, self.keeper = settings, keeper

    def ask(self, message: str | None, history: Any = None, lang: str | None = None,
            date_from: str | None = None, date_to: str | None = None) -> Iterator[str | Answer]:
        question = " ".join((message or "").split())
        try:
            if not question:
                raise InputError("Please type a question.")
            if len(question) > MAX_QUESTION_CHARS:
                raise InputError(f"The question is too long ({len(question)} characters; at most {MAX_QUESTION_CHARS}).")
            filters = parse_filters(lang, date_from, date_to)
        except InputError as exc:
            yield _notice_answer(question, str(exc))
            return
        building = self.keeper.building
        if not building and self.keeper.empty:
            self.keeper.refresh()   # another process may have filled it since
            if self.keeper.empty:
                yield _notice_answer(question, self.keeper.empty_text)
                return
        final: Answer | None = None
        for item in answer_stream(question, clean_history(history), lang=filters.lang, date_from=filters.date_from,
                                  date_to=filters.date_to, settings=self.settings):
            if isinstance(item, Answer):
                final = item
            elif not building:
                yield item
        assert final is not None
        if building and not final.found:
            final = _notice_answer(question, BUILDING_TEXT.format(note=self.keeper.build_note))
        elif building:
            yield final.text
        yield final

    def answer(self, *args: Any, **kwargs: Any) -> Answer:
        """The final Answer of ask(), turning an unexpected exception into an error Answer (logged, never shown as a traceback)."""
        final = None
        try:
            for item in self.ask(*args, **kwargs):
                if isinstance(item, Answer):
                    final = item
        except Exception as exc:
            log.exception("answering failed")
            final = _notice_answer(str(args[0] if args else ""), f"Something went wrong while answering: {type(exc).__name__}: {exc}")
        assert final is not None
        return final


# --------------------------------------------------------------------------- the app


def build_app(settings: Settings | None = None, *, host: str = "127.0.0.1", share: bool = False,
              initial_build: bool = True) -> gr.Blocks:
    """The Gradio app over this index; `host`/`share` decide who may add releases (AddPolicy)."""
    settings = settings or get_settings()
    policy = AddPolicy.for_launch(host, share, settings)
    keeper = IndexKeeper(settings, EMPTY_INDEX_TEXT if policy.enabled else EMPTY_INDEX_TEXT_NO_ADD)
    keeper.show_location = policy.local
    guard = PasswordGuard()
    asker = Asker(settings, keeper)
    if initial_build:
        keeper.start_initial_build()

    def new_state() -> dict:
        return {"history": [], "display": [], "sources": {}}

    # -- chat (UI): streams into the chat, then shows the sources
    def respond(message: str, state: dict, lang: str, date_from: str, date_to: str):
        state = state or new_state()
        question = (message or "").strip()
        if not question:
            yield gr.skip(), gr.skip(), gr.skip(), gr.skip()
            return
        display = [*state["display"], {"role": "user", "content": present.escape_markdown(question)},
                   {"role": "assistant", "content": "…"}]
        yield "", display, gr.skip(), gr.skip()
        pieces: list[str] = []
        final: Answer | None = None
        try:
            for item in asker.ask(question, state["history"], lang, date_from, date_to):
                if isinstance(item, Answer):
                    final = item
                else:
                    pieces.append(item)
                    display[-1] = {"role": "assistant", "content": present.pending_markdown("".join(pieces))}
                    yield gr.skip(), display, gr.skip(), gr.skip()
        except Exception as exc:
            log.exception("answering failed")
            final = _notice_answer(question, f"Something went wrong while answering: {type(exc).__name__}: {exc}")
        assert final is not None
        prefix = "⚠️ " if final.mode == "error" else ""
        display[-1] = {"role": "assistant", "content": prefix + present.answer_markdown(final)}
        note = None if final.citations else ("This answer cites no passage." if final.found else "No passage cited.")
        sources = present.citations_html(final.citations, note)
        state = {"history": [*state["history"], {"role": "user", "content": question},
                             {"role": "assistant", "content": final.text}],
                 "display": display, "sources": {**state["sources"], len(display) - 1: sources}}
        yield "", display, sources, state

    def show_sources(state: dict, evt: gr.SelectData):
        index = evt.index[0] if isinstance(evt.index, (list, tuple)) else evt.index
        found = (state or {}).get("sources", {}).get(index)
        return found if found is not None else gr.skip()

    def clear():
        return [], present.SOURCES_PLACEHOLDER, new_state()

    # -- chat (API)
    def chat(message: str, history: list | None = None, lang: str = "any", date_from: str = "", date_to: str = "") -> dict:
        """Answer a question from the indexed releases: {"answer", "found", "mode", "lang", "error", "citations", "text"}."""
        return present.answer_dict(asker.answer(message, history, lang, date_from, date_to))

    # -- index panel
    def panel():
        notice = keeper.notice()
        return (gr.Markdown(value=present.escape_markdown(notice), visible=bool(notice)), keeper.status_markdown(),
                gr.Timer(active=keeper.building))

    def refresh_panel():
        if not keeper.building:
            keeper.refresh()
        return panel()

    def add_releases(files: list[str] | None, urls: str, password: str, request: gr.Request, progress=gr.Progress()):
        """Store the uploads, then run the incremental update on them and on the URLs."""
        client = str(getattr(getattr(request, "client", None), "host", None) or "unknown client")
        if policy.needs_password and (wait := guard.wait(client)) > 0:
            return (f"Too many wrong admin passwords: try again in {math.ceil(wait)} s.", keeper.status_markdown(), gr.skip())
        refusal = policy.refusal(password) or (local_request_refusal(request) if policy.local else None)
        if policy.needs_password and policy.password:
            guard.missed(client) if refusal else guard.passed(client)
        if refusal:
            return refusal, keeper.status_markdown(), gr.skip()
        if not keeper.write_lock.acquire(blocking=False):
            return ("The index is being updated (start-up build or another update): try again when it has finished.",
                    keeper.status_markdown(), gr.skip())
        try:
            return _add(files, urls, progress)
        finally:
            keeper.write_lock.release()

    def _add(files: list[str] | None, urls: str, progress: gr.Progress):
        sources, rejected, created = [], [], set()
        uploads = settings.uploads_dir
        for file in files or []:
            path = Path(str(file))
            try:
                existed = (uploads / safe_upload_name(path.name)).exists()
                stored = store_upload(path, uploads, int(settings.max_file_mb * 1_000_000))
                sources.append(str(stored))
                if not existed:
                    created.add(str(stored))
                log.info("upload %s stored as %s", path.name, stored)
            except (UploadRejected, OSError) as exc:
                rejected.append(Failure(path.name, str(exc)))
        for line in (urls or "").splitlines():
            line = line.strip()
            if not line or line.startswith("#"):
                continue
            if is_url(line):
                sources.append(line)
            else:
                rejected.append(Failure(line, "not an http(s) URL"))
        if not sources:
            if not rejected:
                return "Nothing to add: upload release files or paste URLs (one per line).", keeper.status_markdown(), gr.skip()
            return _result(Summary(failures=rejected), uploads), keeper.status_markdown(), gr.skip()

        total = None if any(is_url(s) for s in sources) else len(sources)
        counts = {"release": 0, "embedded": 0}
        progress((0, total), desc="Reading releases", unit="releases")

        def on_progress(event: str, n: int) -> None:
            counts[event] = counts.get(event, 0) + n
            progress((counts["release"], total), desc=f"Reading releases ({counts['embedded']} chunks embedded)", unit="releases")

        log.info("adding releases: %s", ", ".join(sources))
        try:
            summary = update(sources, settings, progress=on_progress, refuse_private_urls=not policy.local)   # issue 12.9
        except StoreError as exc:
            return f"The index is unavailable, nothing was added: {exc}", keeper.status_markdown(), gr.skip()
        except Exception as exc:   # shown as a message; the traceback goes to the console
            log.exception("adding releases failed")
            keeper.refresh()
            return f"The update failed: {type(exc).__name__}: {exc}", keeper.status_markdown(), gr.skip()
        for failure in summary.failures:   # a new upload that could not be indexed does not stay in uploads/
            if failure.source in created:
                Path(failure.source).unlink(missing_ok=True)
        summary.failures[:0] = rejected
        log.info("add releases: %s", summary.line())
        keeper.refresh()
        refresh(settings)   # the next question sees the new releases at once
        return _result(summary, uploads), keeper.status_markdown(), None

    with gr.Blocks(title="NATO communiqués — questions and answers", fill_width=False, analytics_enabled=False,
                   delete_cache=(3600, 3600) if policy.needs_password else None) as app:   # anonymous uploads do not pile up
        state = gr.State(new_state())
        gr.Markdown("## NATO communiqués — questions and answers\n"
                    "Answers quote the indexed press releases (English and French); every statement is followed by "
                    "&#91;n&#93;, pointing to the cited passage in **Sources**.")
        notice = gr.Markdown(present.escape_markdown(keeper.notice()), visible=bool(keeper.notice()), elem_id="cq-notice")
        timer = gr.Timer(2.0, active=keeper.building)
        with gr.Tabs():
            with gr.Tab("Ask", id="ask"):
                with gr.Row(equal_height=False):
                    with gr.Column(scale=3, min_width=360):
                        chatbot = gr.Chatbot(label="Chat", height=520, layout="bubble", sanitize_html=True,
                                             render_markdown=True, allow_tags=False, latex_delimiters=[],
                                             buttons=["copy"], feedback_options=None, elem_id="cq-chat",
                                             placeholder="Ask about NATO press releases, in English or French.")
                        with gr.Row():
                            message = gr.Textbox(show_label=False, placeholder="Your question, e.g. What is PAF-N?",
                                                 scale=5, lines=1, max_lines=4, autofocus=True, elem_id="cq-question")
                            ask_btn = gr.Button("Ask", variant="primary", scale=1, min_width=80, elem_id="cq-ask")
                        gr.Markdown("Examples:", elem_classes="cq-examples-label")
                        with gr.Row(elem_classes="cq-examples"):
                            example_btns = [gr.Button(q, size="sm", variant="secondary") for q in EXAMPLES]
                        with gr.Accordion("Filters", open=False):
                            lang = gr.Radio(list(LANGUAGES), value="Any", label="Release language", elem_id="cq-lang")
                            with gr.Row():
                                date_from = gr.Textbox(label="From (YYYY-MM-DD)", placeholder="e.g. 2020-01-01", max_lines=1, elem_id="cq-from")
                                date_to = gr.Textbox(label="To (YYYY-MM-DD)", placeholder="e.g. 2024-12-31", max_lines=1, elem_id="cq-to")
                        clear_btn = gr.Button("Clear conversation", size="sm", variant="secondary")
                    with gr.Column(scale=2, min_width=300):
                        gr.Markdown("### Sources")
                        sources = gr.HTML(present.SOURCES_PLACEHOLDER, css_template=present.SOURCES_CSS,
                                          js_on_load=None, elem_id="cq-sources", max_height=640)
            with gr.Tab("Index", id="index"):
                with gr.Row(equal_height=False):
                    with gr.Column(scale=2, min_width=300):
                        gr.Markdown("### What the index holds")
                        status = gr.Markdown(keeper.status_markdown(), label="Index status", elem_id="cq-status")
                        refresh_btn = gr.Button("Refresh", size="sm", variant="secondary")
                    with gr.Column(scale=3, min_width=360):
                        gr.Markdown("### Add releases")
                        with gr.Group(visible=policy.enabled):
                            gr.Markdown("Upload release files (.txt, .md, .html, .htm, .pdf) and/or paste release page or "
                                        "RSS/Atom feed URLs, one per line. This runs the same incremental update as "
                                        "`python -m index update`: unchanged releases are skipped.", padding=True)
                            files = gr.File(label="Release files", file_count="multiple", file_types=list(UPLOAD_SUFFIXES),
                                            height=150, elem_id="cq-files")
                            urls = gr.Textbox(label="Release or feed URLs (one per line)", lines=2, elem_id="cq-urls")
                            password = gr.Textbox(label="Admin password", type="password", visible=policy.needs_password,
                                                  elem_id="cq-password")
                            add_btn = gr.Button("Add releases", variant="primary", elem_id="cq-add")
                            result = gr.Textbox(label="Result", lines=3, max_lines=20, interactive=False, elem_id="cq-result")
                        if not policy.enabled:
                            gr.Markdown("Adding releases is disabled: the app is reachable beyond localhost and no "
                                        "COMMUNIQUE_ADMIN_PASSWORD is set.")

        chat_outputs = [message, chatbot, sources, state]
        chat_events = dict(outputs=chat_outputs, api_visibility="private", concurrency_limit=CHAT_CONCURRENCY,
                           concurrency_id="chat", show_progress="hidden")
        message.submit(respond, [message, state, lang, date_from, date_to], **chat_events)
        ask_btn.click(respond, [message, state, lang, date_from, date_to], **chat_events)
        for button in example_btns:
            button.click(respond, [button, state, lang, date_from, date_to], **chat_events)
        chatbot.select(show_sources, [state], [sources], api_visibility="private")
        clear_btn.click(clear, None, [chatbot, sources, state], api_visibility="private")
        chatbot.clear(clear, None, [chatbot, sources, state], api_visibility="private")
        gr.api(chat, api_name="chat", concurrency_limit=CHAT_CONCURRENCY, concurrency_id="chat")

        add_btn.click(add_releases, [files, urls, password], [result, status, files], api_name="add_releases",
                      concurrency_limit=1, concurrency_id="index-update", show_progress="full")
        refresh_btn.click(refresh_panel, None, [notice, status, timer], api_visibility="private")
        timer.tick(panel, None, [notice, status, timer], api_visibility="private", show_progress="hidden")
        app.load(panel, None, [notice, status, timer], api_visibility="private", show_progress="hidden")

    app.index_keeper = keeper   # type: ignore[attr-defined]  (tests wait on the start-up build)
    app.add_policy = policy     # type: ignore[attr-defined]
    return app


def _result(summary: Summary, uploads: Path) -> str:
    """The summary line, then one line per failed source (uploads named by their stored file name)."""
    lines = [summary.line()]
    for failure in summary.failures:
        source = failure.source
        if not is_url(source):
            try:
                source = str(Path(source).resolve().relative_to(uploads.resolve()))
            except (ValueError, OSError):
                pass
        lines.append(f"failed {source}: {failure.reason}")
    return "\n".join(lines)


def launch(app: gr.Blocks, settings: Settings, *, host: str = "127.0.0.1", port: int = 7860, share: bool = False,
           prevent_thread_lock: bool = False, quiet: bool = False) -> Any:
    """Start the server (queue on: the chat runs concurrently, updates one at a time)."""
    app.queue(default_concurrency_limit=4)
    return app.launch(server_name=host, server_port=port, share=share, prevent_thread_lock=prevent_thread_lock,
                      max_file_size=int(settings.max_file_mb * 1_000_000), css=CSS, ssr_mode=False,
                      show_error=False, quiet=quiet, inbrowser=False)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python app.py", description="Ask questions about NATO communiqués in a web app.")
    parser.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1; adding releases "
                        "from other addresses needs COMMUNIQUE_ADMIN_PASSWORD)")
    parser.add_argument("--port", type=int, default=7860, help="port (default 7860)")
    parser.add_argument("--share", action="store_true", help="also publish through a Gradio share link (off by default)")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    settings = get_settings()
    app = build_app(settings, host=args.host, share=args.share)
    policy: AddPolicy = app.add_policy   # type: ignore[attr-defined]
    if not policy.enabled:
        log.warning("adding releases is disabled: listening on %s without COMMUNIQUE_ADMIN_PASSWORD", args.host)
    launch(app, settings, host=args.host, port=args.port, share=args.share)
    return 0


if __name__ == "__main__":
    sys.exit(main())
