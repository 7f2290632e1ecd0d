"""The app's callbacks: the question path with its guards (Asker), and the handlers of the Ask and Index tabs.

Plain objects over an IndexKeeper and an AddPolicy, so they are tested without Blocks;
app.py only binds them to components.
"""
from __future__ import annotations

import logging
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import gradio as gr

from bot import Answer, answer_stream
from index.dates import ISO_PREFIX, date_bound
from index.settings import Settings

from . import present
from .admin import AddPolicy
from .keeper import IndexKeeper

log = logging.getLogger("communique.app")

MAX_QUESTION_CHARS = 2000
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
    """"Any"/"English"/"French" (or "", "en", "fr") as a language code or None; InputError otherwise."""
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
        raise InputError(f"“{label}” date {text!r} is not a date: use YYYY-MM-DD (or YYYY-MM, or YYYY), e.g. 2024-06-11.")
    try:
        date_bound(text)
    except ValueError:
        raise InputError(f"“{label}” date {text!r} does not exist in the calendar: use YYYY-MM-DD, e.g. 2024-06-11.") from None
    return text


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


def notice_answer(question: str, text: str) -> Answer:
    """An error Answer carrying a message for the user."""
    return Answer(question=question, text=text, found=False, mode="error", error=text)


# --------------------------------------------------------------------------- asking


class Asker:
    """Question (+ filters, history) -> the bot's stream, with the app's guards around it."""

    def __init__(self, settings: Settings, keeper: IndexKeeper) -> None:
        self.settings, self.keeper = settings, keeper

    def ask(self, message: str | None, history: Any = None, lang: str | None = None,
            date_from: str | None = None, date_to: str | None = None) -> Iterator[str | Answer]:
        """Pieces of the answer text as they are written, then the final Answer."""
        question = " ".join((message or "").split())
        try:
            if not question:
                raise InputError("Please type a question.")
            if len(question) > MAX_QUESTION_CHARS:
                raise InputError(f"The question is too long ({len(question)} characters; at most {MAX_QUESTION_CHARS}).")
            filters = parse_filters(lang, date_from, date_to)
        except InputError as exc:
            yield notice_answer(question, str(exc))
            return
        building = self.keeper.building
        if not building and self.keeper.empty:
            self.keeper.refresh()   # another process may have filled it since
            if self.keeper.empty:
                yield notice_answer(question, self.keeper.empty_text)
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
            final = notice_answer(question, BUILDING_TEXT.format(note=self.keeper.build_note))
        elif building:
            yield final.text
        yield final

    def answer(self, message: str | None, history: Any = None, lang: str | None = None,
               date_from: str | None = None, date_to: str | None = None) -> Answer:
        """The final Answer of ask(); an unexpected exception becomes an error Answer (logged, never a traceback)."""
        final = None
        try:
            for item in self.ask(message, history, lang, date_from, date_to):
                if isinstance(item, Answer):
                    final = item
        except Exception as exc:
            log.exception("answering failed")
            final = notice_answer(str(message or ""), f"Something went wrong while answering: {type(exc).__name__}: {exc}")
        assert final is not None
        return final


# --------------------------------------------------------------------------- the Ask tab


def new_chat_state() -> dict:
    """Per-browser chat state: the bot's history, the displayed messages, sources HTML per assistant message."""
    return {"history": [], "display": [], "sources": {}}


class ChatHandlers:
    """Callbacks of the Ask tab and the /chat API."""

    def __init__(self, asker: Asker) -> None:
        self.asker = asker

    def respond(self, message: str, state: dict, lang: str, date_from: str, date_to: str) -> Iterator[tuple]:
        """Stream the answer into the chat; at the end (question box, chat, sources, state)."""
        state = state or new_chat_state()
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
        state = {"history": [*state["history"], {"role": "user", "content": question},
                             {"role": "assistant", "content": final.text}],
                 "display": display, "sources": {**state["sources"], len(display) - 1: sources}}
        yield "", display, sources, state

    def show_sources(self, state: dict, evt: gr.SelectData) -> Any:
        """The sources of the clicked answer."""
        index = evt.index[0] if isinstance(evt.index, (list, tuple)) else evt.index
        found = (state or {}).get("sources", {}).get(index)
        return found if found is not None else gr.skip()

    def clear(self) -> tuple:
        """An empty chat (chat, sources, state)."""
        return [], present.SOURCES_PLACEHOLDER, new_chat_state()

    def chat(self, message: str, history: list | None = None, lang: str = "any", date_from: str = "",
             date_to: str = "") -> dict:
        """Answer a question from the indexed releases: {"answer", "found", "mode", "lang", "error", "citations", "text"}."""
        return present.answer_dict(self.asker.answer(message, history, lang, date_from, date_to))


# --------------------------------------------------------------------------- the Index tab


class IndexHandlers:
    """Callbacks of the Index tab and the notice above the chat."""

    def __init__(self, keeper: IndexKeeper, policy: AddPolicy) -> None:
        self.keeper, self.policy = keeper, policy

    def panel(self) -> tuple:
        """(notice, status, timer): the timer ticks while the start-up build runs."""
        notice = self.keeper.notice()
        return (gr.Markdown(value=present.escape_markdown(notice), visible=bool(notice)), self.keeper.status_markdown(),
                gr.Timer(active=self.keeper.building))

    def refresh_panel(self) -> tuple:
        """Read the index again, then panel()."""
        if not self.keeper.building:
            self.keeper.refresh()
        return self.panel()

    def add_releases(self, files: list[str] | None, urls: str, password: str, progress: gr.Progress = gr.Progress()) -> tuple:
        """Store the uploads, then run the incremental update on them and on the URLs: (result, status, files)."""
        refusal = self.policy.refusal(password)
        if refusal:
            return refusal, self.keeper.status_markdown(), gr.skip()

        def report(read: int, total: int | None, embedded: int) -> None:
            progress((read, total), desc=f"Reading releases ({embedded} chunks embedded)", unit="releases")

        result, ran = self.keeper.add(files, urls, report)
        return result, self.keeper.status_markdown(), None if ran else gr.skip()
