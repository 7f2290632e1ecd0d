"""The app's callbacks: the question path with its guards (Asker), and the handlers of the Ask and Index tabs.

Plain objects over an IndexKeeper and an AddPolicy, so they are tested without Blocks;
app.py only binds them to components.
"""

from __future__ import annotations

import dataclasses
import logging
import tempfile
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import gradio as gr

from bot import Answer, answer_stream
from bot.feedback import FeedbackStore, Rating
from bot.query import MAX_QUESTION_CHARS  # one cap for the app, the CLI and the library
from index.dates import ISO_PREFIX, date_bound
from index.settings import Settings

from . import present
from .admin import AddPolicy, ChangeGate
from .examples import MAX_EXAMPLES, example_questions
from .keeper import IndexKeeper
from .releases import ReleaseFilter, coverage_frame, key_of_row, release_key, release_table, undated_count

log = logging.getLogger("communique.app")

LANGUAGES = {"Any": None, "English": "en", "French": "fr"}
BUILDING_TEXT = "The index is being built ({note}). Please ask again in a moment."


# --------------------------------------------------------------------------- inputs


class InputError(ValueError):
    """A filter or question the user must correct; the message says how."""


@dataclass(frozen=True)
class ChatFilters:
    """The filters as answer_stream wants them."""

    lang: str | None = None
    date_from: str | None = None
    date_to: str | None = None


def parse_language(lang: str | None) -> str | None:
    """ "Any"/"English"/"French" (or "", "en", "fr") as a language code or None; InputError otherwise."""
    choice = (lang or "").strip().lower()
    codes = {k.lower(): v for k, v in LANGUAGES.items()} | {"": None, "en": "en", "fr": "fr"}
    if choice not in codes:
        raise InputError(f"Language filter {lang!r} is not one of: any, en (English), fr (French).")
    return codes[choice]


def parse_filters(lang: str | None, date_from: str | None, date_to: str | None) -> ChatFilters:
    """The filter inputs checked; InputError with a clear message when invalid."""
    code = parse_language(lang)
    start, end = parse_date(date_from, "From"), parse_date(date_to, "To")
    if start and end and date_bound(start) > date_bound(end, end=True):
        raise InputError(f"The date range is empty: “From” ({start}) is after “To” ({end}).")
    return ChatFilters(code, start, end)


def parse_date(value: str | None, label: str) -> str | None:
    """A YYYY[-MM[-DD]] date that exists, stripped, or None when blank; InputError otherwise."""
    text = (value or "").strip()
    if not text:
        return None
    if not ISO_PREFIX.fullmatch(text):
        raise InputError(
            f"“{label}” date {text!r} is not a date: use YYYY-MM-DD (or YYYY-MM, or YYYY), e.g. 2024-06-11."
        )
    try:
        date_bound(text)
    except ValueError:
        raise InputError(
            f"“{label}” date {text!r} does not exist in the calendar: use YYYY-MM-DD, e.g. 2024-06-11."
        ) from None
    return text


def clean_history(history: Any) -> list[dict]:
    """Messages-format history with plain-text contents (what bot.query reads); anything else is dropped."""
    messages = []
    for message in history or []:
        if not isinstance(message, dict) or message.get("role") not in ("user", "assistant"):
            continue
        content = message.get("content")
        if isinstance(content, list):  # Gradio's normalised form: [{"type": "text", "text": ...}]
            content = " ".join(
                part.get("text", "") for part in content if isinstance(part, dict) and part.get("type") == "text"
            )
        if isinstance(content, str) and content.strip():
            messages.append({"role": message["role"], "content": content})
    return messages


def notice_answer(question: str, text: str) -> Answer:
    """An error Answer carrying a message for the user."""
    return Answer(question=question, text=text, found=False, mode="error", error=text)


# --------------------------------------------------------------------------- asking


class Asker:
    """Question (+ filters, history) -> the bot's stream, with the app's guards around it."""

    def __init__(self, settings: Settings, keeper: IndexKeeper) -> None:
        self.settings, self.keeper = settings, keeper

    def ask(
        self,
        message: str | None,
        history: Any = None,
        lang: str | None = None,
        date_from: str | None = None,
        date_to: str | None = None,
    ) -> Iterator[str | Answer]:
        """Pieces of the answer text as they are written, then the final Answer."""
        question = " ".join((message or "").split())
        try:
            if not question:
                raise InputError("Please type a question.")
            if len(question) > MAX_QUESTION_CHARS:
                raise InputError(
                    f"The question is too long ({len(question)} characters; at most {MAX_QUESTION_CHARS})."
                )
            filters = parse_filters(lang, date_from, date_to)
        except InputError as exc:
            yield notice_answer(question, str(exc))
            return
        building = self.keeper.building
        if not building and self.keeper.empty:
            self.keeper.refresh()  # another process may have filled it since
            if self.keeper.empty:
                yield notice_answer(question, self.keeper.empty_text)
                return
        final: Answer | None = None
        for item in answer_stream(
            question,
            clean_history(history),
            lang=filters.lang,
            date_from=filters.date_from,
            date_to=filters.date_to,
            settings=self.settings,
        ):
            if isinstance(item, Answer):
                final = item
            elif not building:
                yield self.keeper.shown(item)
        assert final is not None
        if final.mode == "error":  # e.g. "the index is unavailable: <path>": the server's paths only where shown
            final = dataclasses.replace(
                final, text=self.keeper.shown(final.text), error=final.error and self.keeper.shown(final.error)
            )
        if building and not final.found:
            final = notice_answer(question, BUILDING_TEXT.format(note=self.keeper.build_note))
        elif building:
            yield final.text
        yield final

    def answer(
        self,
        message: str | None,
        history: Any = None,
        lang: str | None = None,
        date_from: str | None = None,
        date_to: str | None = None,
    ) -> Answer:
        """The final Answer of ask(); an unexpected exception becomes an error Answer (logged, never a traceback)."""
        final = None
        try:
            for item in self.ask(message, history, lang, date_from, date_to):
                if isinstance(item, Answer):
                    final = item
        except Exception as exc:
            log.exception("answering failed")
            final = notice_answer(
                str(message or ""), f"Something went wrong while answering: {type(exc).__name__}: {exc}"
            )
        assert final is not None
        return final


# --------------------------------------------------------------------------- the Ask tab


def new_chat_state() -> dict:
    """Per-browser chat state: the bot's history, the displayed messages, and per assistant message (by its index
    in the chat) its sources HTML, its question and answer (answer_dict), and the id of its stored rating."""
    return {"history": [], "display": [], "sources": {}, "turns": {}, "rated": {}, "last_rated": None}


class ChatHandlers:
    """Callbacks of the Ask tab and the /chat API."""

    def __init__(self, asker: Asker, settings: Settings) -> None:
        self.asker, self.settings = asker, settings
        self._feedback: FeedbackStore | None = None
        self._feedback_lock = threading.Lock()
        self._exports = Path(tempfile.mkdtemp(prefix="communique-export-"))

    def respond(self, message: str, state: dict, lang: str, date_from: str, date_to: str) -> Iterator[tuple]:
        """Stream the answer into the chat; at the end (question box, chat, sources, state)."""
        state = state or new_chat_state()
        question = (message or "").strip()
        if not question:
            yield gr.skip(), gr.skip(), gr.skip(), gr.skip()
            return
        display = [
            *state["display"],
            {"role": "user", "content": present.escape_markdown(question)},
            {"role": "assistant", "content": "…"},
        ]
        yield "", display, gr.skip(), gr.skip()
        pieces: list[str] = []
        final: Answer | None = None
        try:
            for item in self.asker.ask(question, state["history"], lang, date_from, date_to):
                if isinstance(item, Answer):
                    final = item
                else:
                    pieces.append(item)
                    display[-1] = {"role": "assistant", "content": present.pending_markdown("".join(pieces))}
                    yield gr.skip(), display, gr.skip(), gr.skip()
        except Exception as exc:
            log.exception("answering failed")
            final = notice_answer(question, f"Something went wrong while answering: {type(exc).__name__}: {exc}")
        assert final is not None
        prefix = "⚠️ " if final.mode == "error" else ""
        display[-1] = {"role": "assistant", "content": prefix + present.answer_markdown(final)}
        note = None if final.citations else ("This answer cites no passage." if final.found else "No passage cited.")
        sources = present.citations_html(final.citations, note)
        at = len(display) - 1
        state = {
            **state,
            "history": [
                *state["history"],
                {"role": "user", "content": question},
                {"role": "assistant", "content": final.text},
            ],
            "display": display,
            "sources": {**state["sources"], at: sources},
            "turns": {**state.get("turns", {}), at: {"question": question, "answer": present.answer_dict(final)}},
        }
        yield "", display, sources, state

    def show_sources(self, state: dict, evt: gr.SelectData) -> Any:
        """The sources of the clicked answer."""
        index = evt.index[0] if isinstance(evt.index, (list, tuple)) else evt.index
        found = (state or {}).get("sources", {}).get(index)
        return found if found is not None else gr.skip()

    def clear(self) -> tuple:
        """An empty chat (chat, sources, state, download button)."""
        return [], present.SOURCES_PLACEHOLDER, new_chat_state(), gr.DownloadButton(value=None, interactive=False)

    # -- feedback

    @property
    def feedback(self) -> FeedbackStore:
        """The ratings store, opened on first use."""
        with self._feedback_lock:
            if self._feedback is None:
                self._feedback = FeedbackStore.for_settings(self.settings)
            return self._feedback

    def like(self, state: dict, data: gr.LikeData) -> tuple:
        """Store 👍/👎 on an answer (a second click changes it): (note, state)."""
        state = state or new_chat_state()
        index = data.index[0] if isinstance(data.index, (list, tuple)) else data.index
        turn = state.get("turns", {}).get(index)
        if turn is None or not isinstance(data.liked, bool):
            return gr.skip(), state
        rating: Rating = "up" if data.liked else "down"
        known = state.get("rated", {}).get(index)
        try:
            if known is None:
                answer = turn["answer"]
                known = self.feedback.record(
                    rating=rating,
                    question=turn["question"],
                    answer=answer["answer"],
                    mode=answer["mode"],
                    lang=answer["lang"],
                    citations=answer["citations"],
                )
            else:
                self.feedback.change(known, rating=rating)
        except Exception as exc:
            log.exception("storing feedback failed")
            return f"Your rating could not be stored: {type(exc).__name__}: {exc}", state
        state = {**state, "rated": {**state.get("rated", {}), index: known}, "last_rated": known}
        mark = "👍" if data.liked else "👎"
        return f"Thank you: {mark} stored. Add a comment below if you like (it goes with this rating).", state

    def comment(self, text: str, state: dict) -> tuple:
        """Attach a comment to the last rating of this conversation: (note, comment box)."""
        last = (state or {}).get("last_rated")
        if last is None:
            return "Rate an answer with 👍 or 👎 first; the comment goes with that rating.", gr.skip()
        if not (text or "").strip():
            return "The comment is empty.", gr.skip()
        try:
            self.feedback.change(int(last), comment=text[:4000])
        except Exception as exc:
            log.exception("storing a comment failed")
            return f"The comment could not be stored: {type(exc).__name__}: {exc}", gr.skip()
        return "Thank you: the comment is stored with your rating.", ""

    # -- the conversation as a file

    def export(self, state: dict) -> Any:
        """Write the conversation as Markdown (answers with their sources); the download button, pointing at it."""
        turns = [turn for _, turn in sorted((state or {}).get("turns", {}).items())]
        if not turns:
            return gr.DownloadButton(value=None, interactive=False)
        stamp = datetime.now(UTC).strftime("%Y%m%d-%H%M%S-%f")
        folder = self._exports / stamp
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / "conversation.md"
        path.write_text(present.conversation_markdown(turns), encoding="utf-8")
        return gr.DownloadButton(value=str(path), interactive=True)

    def chat(
        self, message: str, history: list | None = None, lang: str = "any", date_from: str = "", date_to: str = ""
    ) -> dict:
        """Answer a question from the indexed releases: {"answer", "found", "mode", "lang", "error", "citations", "text"}."""  # noqa: E501 (Gradio shows it as the /chat API description)
        return present.answer_dict(self.asker.answer(message, history, lang, date_from, date_to))


# --------------------------------------------------------------------------- the Index tab


class IndexHandlers:
    """Callbacks of the Index tab, and of what the Ask tab shows of the index (notice, examples)."""

    def __init__(self, keeper: IndexKeeper, policy: AddPolicy, gate: ChangeGate | None = None) -> None:
        self.keeper, self.policy = keeper, policy
        self.gate = gate or ChangeGate(policy)  # adding and removing: back-off, password, Host/Origin

    def view(self, text: str = "", lang: str = "Any", date_from: str = "", date_to: str = "") -> tuple:
        """Everything that shows the index: (notice, status, timer, table, picker, list note, chart, chart note,
        examples label, *example buttons); the timer ticks while the start-up build runs."""
        notice = self.keeper.notice()
        examples = self.examples()
        buttons = [
            gr.Button(value=examples[i] if i < len(examples) else "", visible=i < len(examples))
            for i in range(MAX_EXAMPLES)
        ]
        return (
            gr.Markdown(value=present.escape_markdown(notice), visible=bool(notice)),
            self.keeper.status_markdown(),
            gr.Timer(active=self.keeper.building),
            *self.table(text, lang, date_from, date_to),
            *self.chart(),
            gr.Markdown(visible=bool(examples)),
            *buttons,
        )

    def refresh_view(self, text: str = "", lang: str = "Any", date_from: str = "", date_to: str = "") -> tuple:
        """Read the index again, then view()."""
        if not self.keeper.building:
            self.keeper.refresh()
        return self.view(text, lang, date_from, date_to)

    def examples(self) -> list[str]:
        """The example questions for what the index holds now (none when empty)."""
        return example_questions(self.keeper.settings, self.keeper.releases)

    def table(self, text: str = "", lang: str = "Any", date_from: str = "", date_to: str = "") -> tuple:
        """(release table, removal picker, note) for these filters; a bad filter leaves the table and says why."""
        releases = self.keeper.releases
        try:
            where = ReleaseFilter(
                text or "", parse_language(lang), parse_date(date_from, "From"), parse_date(date_to, "To")
            )
        except InputError as exc:
            return gr.skip(), gr.skip(), present.escape_markdown(str(exc))
        frame, _ = release_table(releases, self.keeper.settings.uploads_dir, where)
        _, choices = release_table(releases, self.keeper.settings.uploads_dir)  # every release can be picked
        total = f"{len(releases)} release{'s' if len(releases) != 1 else ''}"
        note = (
            f"{len(frame)} of {total} shown."
            if len(frame) != len(releases)
            else f"{total} indexed."
            if releases
            else "No release is indexed yet."
        )
        return frame, gr.Dropdown(choices=choices), note

    def chart(self) -> tuple:
        """(bar chart of releases per year and language, note on undated releases)."""
        releases = self.keeper.releases
        undated = undated_count(releases)
        note = f"{undated} undated release{'s' if undated != 1 else ''} not in the chart." if undated else ""
        return coverage_frame(releases), note

    def pick_row(self, picked: list[str] | None, evt: gr.SelectData) -> Any:
        """A click on a table row adds its release to the removal picker (a second click takes it out)."""
        key = key_of_row(self.keeper.releases, self.keeper.settings.uploads_dir, evt.row_value or [])
        if key is None:
            return gr.skip()
        chosen = list(picked or [])
        chosen = [k for k in chosen if k != key] if key in chosen else [*chosen, key]
        return gr.Dropdown(value=chosen)

    def add_releases(
        self,
        files: list[str] | None,
        urls: str,
        password: str,
        request: gr.Request | None = None,
        progress: gr.Progress = gr.Progress(),  # noqa: B008 (Gradio injects progress tracking through this default)
    ) -> tuple:
        """Store the uploads, then run the incremental update on them and on the URLs: (result, status, files).

        URLs given on an app open beyond localhost may not lead to internal addresses (issue 12.9)."""
        refusal = self.gate.refusal(password, request, "add")
        if refusal:
            return refusal, self.keeper.status_markdown(), gr.skip()

        def report(read: int, total: int | None, embedded: int) -> None:
            progress((read, total), desc=f"Reading releases ({embedded} chunks embedded)", unit="releases")

        result, ran = self.keeper.add(files, urls, report, refuse_private_urls=not self.policy.local)
        return result, self.keeper.status_markdown(), None if ran else gr.skip()

    def remove_releases(self, picked: list[str] | None, password: str, request: gr.Request | None = None) -> tuple:
        """Remove the picked releases (keys from the picker, or sources), behind the same gate as adding: (result, picker)."""  # noqa: E501 (Gradio shows it as the API description)
        refusal = self.gate.refusal(password, request, "remove")
        if refusal:
            return refusal, gr.skip()
        by_key = {release_key(r): r.source for r in self.keeper.releases}
        sources = [by_key.get(p, p) for p in picked or []]
        result = self.keeper.remove(sources)
        return result, gr.Dropdown(value=[])
