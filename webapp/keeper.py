"""The app's view of its index: cached status and release list, the start-up build, and one writer at a time."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterable
from pathlib import Path

from bot import refresh as refresh_bot
from index.catalog import ReleaseInfo, list_releases
from index.load import is_url, list_release_files
from index.settings import Settings
from index.status import IndexStatus, index_status
from index.store import NoIndex, StoreError
from index.update import Summary, remove, update

from . import present
from .uploads import gather_sources, summary_text

log = logging.getLogger("communique.app")

EMPTY_INDEX_TEXT = (
    "The index holds no releases yet, so there is nothing to answer from. Add releases in the "
    "“Index” tab (upload .txt, .md, .html or .pdf files, or paste release or feed URLs), or set "
    "COMMUNIQUE_CORPUS to a folder of releases and restart the app."
)
EMPTY_INDEX_TEXT_NO_ADD = (
    "The index holds no releases yet, so there is nothing to answer from. The administrator can "
    "set COMMUNIQUE_CORPUS to a folder of releases and restart the app, or set "
    "COMMUNIQUE_ADMIN_PASSWORD to add releases from the “Index” tab."
)
BUSY_TEXT = "The index is being updated (start-up build or another update): try again when it has finished."

# (releases read, releases in all or None when unknown, chunks embedded)
AddProgress = Callable[[int, "int | None", int], None]


class IndexKeeper:
    """Status and releases as last read, the start-up build, and the add/remove writes (one at a time)."""

    def __init__(self, settings: Settings, empty_text: str = EMPTY_INDEX_TEXT, *, show_location: bool = True) -> None:
        self.settings = settings
        self.empty_text = empty_text  # what to tell users while the index is empty
        self.show_location = show_location  # the server's paths: only on localhost, not for anonymous users (shown)
        self.write_lock = threading.Lock()
        self.building = False
        self.build_note = ""
        self._build_read = 0
        self.status: IndexStatus | None = None
        self.status_error: str | None = None
        self.status_error_kind: type[Exception] | None = None
        self.releases: list[ReleaseInfo] = []
        self.version = 0  # bumped on every refresh that changed what the index holds
        self.refresh()

    def refresh(self) -> None:
        """Read status and release list again (never raises: errors are kept for the panel)."""
        before = (self.status.releases, self.status.chunks, self.status.updated_at) if self.status else None
        try:
            self.status, self.status_error, self.status_error_kind = index_status(self.settings), None, None
            self.releases = list_releases(self.settings)
        except StoreError as exc:
            self.status, self.status_error, self.status_error_kind = None, str(exc), type(exc)
            self.releases = []
        except Exception as exc:  # the panel must render whatever happens
            log.exception("index status failed")
            self.status, self.status_error, self.status_error_kind = None, f"{type(exc).__name__}: {exc}", type(exc)
            self.releases = []
        after = (self.status.releases, self.status.chunks, self.status.updated_at) if self.status else None
        if after != before:
            self.version += 1

    @property
    def empty(self) -> bool:
        if self.status is not None:
            return self.status.releases == 0
        return self.status_error_kind is NoIndex

    # -- the start-up build

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
        total = sum(len(list_release_files(Path(s))) if Path(s).is_dir() else 1 for s in sources if not is_url(s))

        def progress(read: int, _total: int | None, embedded: int) -> None:
            note = f"{read}/{total or '?'} releases read, {embedded} chunks embedded"
            if read != self._build_read and (read % 10 == 0 or read == total):
                log.info("initial build: %s", note)
            self._build_read, self.build_note = read, note

        with self.write_lock:
            log.info("the index is empty: building it from COMMUNIQUE_CORPUS (%s)", ", ".join(sources))
            try:
                summary = update(sources, self.settings, progress=_counting(progress, total or None))
                for failure in summary.failures:
                    log.warning("%s", failure)
                self.build_note = f"built from COMMUNIQUE_CORPUS: {summary.line()}"
                log.info("initial build done: %s", summary.line())
            except Exception as exc:
                log.exception("initial build failed")
                self.build_note = f"the start-up build failed: {exc}"
            finally:
                self._changed()
                self.building = False

    # -- writes from the app (the caller checks the AddPolicy)

    def add(
        self,
        files: Iterable[str] | None,
        urls: str | None,
        progress: AddProgress | None = None,
        *,
        refuse_private_urls: bool = False,
    ) -> tuple[str, bool]:
        """Store the uploads, then run the incremental update on them and on the URLs: (result text, whether it ran).

        `refuse_private_urls` for URLs given by others (issue 12.9); a new upload that fails to index is
        deleted again (issue 12.10), a replaced one stays (its old version is still what the index holds).
        """
        if not self.write_lock.acquire(blocking=False):
            return BUSY_TEXT, False
        try:
            uploads = self.settings.uploads_dir
            gathered = gather_sources(files, urls, uploads, int(self.settings.max_file_mb * 1_000_000))
            sources, rejected = gathered.sources, gathered.rejected
            if not sources:
                if not rejected:
                    return "Nothing to add: upload release files or paste URLs (one per line).", False
                return summary_text(Summary(failures=rejected), uploads), False
            total = None if any(is_url(s) for s in sources) else len(sources)
            if progress:
                progress(0, total, 0)
            log.info("adding releases: %s", ", ".join(sources))
            try:
                summary = update(
                    sources,
                    self.settings,
                    progress=_counting(progress, total) if progress else None,
                    refuse_private_urls=refuse_private_urls,
                )
            except StoreError as exc:
                return f"The index is unavailable, nothing was added: {exc}", False
            except Exception as exc:  # shown as a message; the traceback goes to the console
                log.exception("adding releases failed")
                self.refresh()
                return f"The update failed: {type(exc).__name__}: {exc}", False
            for dropped in gathered.drop_new_uploads(f.source for f in summary.failures):
                log.info("upload %s not indexed: removed from the uploads", dropped)
            summary.failures[:0] = rejected
            log.info("add releases: %s", summary.line())
            self._changed()
            return summary_text(summary, uploads), True
        finally:
            self.write_lock.release()

    def remove(self, sources: Iterable[str]) -> str:
        """Drop these releases (by source) from the index; the result text."""
        chosen = [s for s in dict.fromkeys(sources) if s]
        if not chosen:
            return "Nothing to remove: select releases in the list first."
        if not self.write_lock.acquire(blocking=False):
            return BUSY_TEXT
        try:
            log.info("removing releases: %s", ", ".join(chosen))
            try:
                summary = remove(chosen, self.settings)
            except StoreError as exc:
                return f"The index is unavailable, nothing was removed: {exc}"
            except Exception as exc:
                log.exception("removing releases failed")
                self.refresh()
                return f"Removing failed: {type(exc).__name__}: {exc}"
            self._changed()
            return summary_text(summary, self.settings.uploads_dir)
        finally:
            self.write_lock.release()

    def _changed(self) -> None:
        self.refresh()
        refresh_bot(self.settings)  # the next question sees the change at once

    # -- what the page shows

    def notice(self) -> str:
        """A one-line message above the chat, or "" when all is well."""
        if self.building:
            return (
                f"The index is being built from COMMUNIQUE_CORPUS ({self.build_note}); "
                "answers come from what is indexed so far."
            )
        if self.status_error and not self.empty:
            return f"⚠️ The index is unavailable: {self.shown(self.status_error)}"
        if self.empty:
            return self.empty_text
        return ""

    def shown(self, text: str) -> str:
        """Text for users: the server's COMMUNIQUE_HOME path replaced by its name unless show_location."""
        if self.show_location:
            return text
        home = self.settings.home
        for path in sorted({str(home.resolve()), str(home), str(home.expanduser())}, key=len, reverse=True):
            text = text.replace(path, "COMMUNIQUE_HOME")
        return text

    def status_markdown(self) -> str:
        """The status panel: counts, languages, dates, where; and the start-up build's note (paths as shown())."""
        table = present.status_markdown(self.status, self.status_error, shown=self.shown)

        def esc(text: str) -> str:
            return present.escape_markdown(self.shown(str(text)))

        if self.building:
            table += f"\n\nBuilding from COMMUNIQUE_CORPUS: {esc(self.build_note)}"
        elif self.build_note:
            table += f"\n\nStart-up build: {esc(self.build_note)}"
        return table


def _counting(report: AddProgress | None, total: int | None) -> Callable[[str, int], None]:
    """index.update's (event, n) progress events counted into report(read, total, embedded)."""
    counts = {"release": 0, "embedded": 0}

    def on_event(event: str, n: int) -> None:
        counts[event] = counts.get(event, 0) + n
        if report:
            report(counts["release"], total, counts["embedded"])

    return on_event
