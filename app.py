"""`python app.py`: the web app — ask questions about NATO communiqués, see the cited passages, add releases.

    python app.py [--host 127.0.0.1] [--port 7860] [--share]

Layout (build_app):
  * "Ask" tab — the chat (answers stream in, every claim followed by [n]) with the
    question box, example questions and filters (language, date range) under it; beside it
    the "Sources" panel: each cited release once (title, date, language, link or file name)
    with its numbered passages, the quoted sentences highlighted. Clicking an earlier answer
    shows its sources; 👍/👎 rate an answer (bot.feedback), with an optional comment; the
    conversation downloads as Markdown with every answer's sources. The example questions
    are COMMUNIQUE_EXAMPLES, else built from the indexed releases, else not shown.
  * "Index" tab — what the index holds (index.status), a bar chart of releases per year and
    language, the release list (index.catalog; sortable, filtered by text, language, dates)
    with "Remove selected" (index.update.remove), and "Add releases": upload files or
    paste release/feed URLs; runs index.update.update, the same incremental update as
    `python -m index update`, with a progress bar, then shows the summary line and failures.

The /chat API (`gradio_client.Client(url).predict("What is PAF-N?", api_name="/chat")`)
takes the message, and optionally `history` (messages format: [{"role", "content"}]),
`lang` ("any", "en", "fr"), `date_from` and `date_to` (YYYY[-MM[-DD]]). It returns a dict
(webapp.present.answer_dict), whose keys are kept stable:
    answer     the answer text with its [n] markers
    found      False when the releases do not answer (or on an error)
    mode       "extractive" | "llm" | "abstain" | "error"
    lang       the language of the answer
    error      a message when the question could not be answered (index unavailable,
               index empty or being built, invalid filter), else None
    citations  [{n, title, date, lang, url, source, passage, quotes, quoted, score}]
    text       the answer followed by a "Sources:" list, ready to print
`/add_releases` (files, urls, password) is the API of the "Add releases" panel,
`/remove_releases` (sources, password) that of "Remove selected".

Adding and removing releases write to the index, so they are open without a password only when the app
listens on localhost (and is not shared), and then only to requests from a localhost page (Host,
Origin, no proxy headers); otherwise they need COMMUNIQUE_ADMIN_PASSWORD (wrong ones back off per
client), and without one the panel is disabled (webapp.admin). Uploads are copied under
COMMUNIQUE_HOME/uploads with sanitised names, up to COMMUNIQUE_MAX_FILE_MB; the same name again
replaces the file. Beyond localhost, the server's paths are not shown.

This file is wiring only: the tabs' components are laid out in webapp.layout, the
callbacks live in webapp/ (handlers, keeper, uploads, admin), and release text reaches
the page only through webapp.present, which escapes it.
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
from typing import Any

os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")  # no phoning home; the app works offline

import gradio as gr  # noqa: E402

from index.settings import Settings, get_settings  # noqa: E402
from webapp import present  # noqa: E402
from webapp.admin import AddPolicy  # noqa: E402
from webapp.handlers import Asker, ChatHandlers, IndexHandlers, new_chat_state  # noqa: E402
from webapp.keeper import EMPTY_INDEX_TEXT, EMPTY_INDEX_TEXT_NO_ADD, IndexKeeper  # noqa: E402
from webapp.layout import ask_tab, index_tab  # noqa: E402

log = logging.getLogger("communique.app")

CHAT_CONCURRENCY = 8
CSS = """
.cq-examples button { white-space: normal; text-align: left; }
#cq-notice { padding: 6px 10px; border-radius: 6px; background: var(--background-fill-secondary); }
"""


def build_app(
    settings: Settings | None = None, *, host: str = "127.0.0.1", share: bool = False, initial_build: bool = True
) -> gr.Blocks:
    """The Gradio app over this index; `host`/`share` decide who may add or remove releases (AddPolicy)."""
    settings = settings or get_settings()
    policy = AddPolicy.for_launch(host, share, settings)
    keeper = IndexKeeper(
        settings, EMPTY_INDEX_TEXT if policy.enabled else EMPTY_INDEX_TEXT_NO_ADD, show_location=policy.local
    )  # the server's paths: not for anonymous users
    chat = ChatHandlers(Asker(settings, keeper), settings)
    panel = IndexHandlers(keeper, policy)
    if initial_build:
        keeper.start_initial_build()
    examples = panel.examples()

    with gr.Blocks(
        title="NATO communiqués — questions and answers",
        fill_width=False,
        analytics_enabled=False,
        delete_cache=(3600, 3600) if policy.needs_password else None,
    ) as app:  # anonymous uploads do not pile up
        state = gr.State(new_chat_state())
        gr.Markdown(
            "## NATO communiqués — questions and answers\n"
            "Answers quote the indexed press releases (English and French); every statement is followed by "
            "&#91;n&#93;, pointing to the cited passage in **Sources**."
        )
        notice = gr.Markdown(
            present.escape_markdown(keeper.notice()), visible=bool(keeper.notice()), elem_id="cq-notice"
        )
        timer = gr.Timer(2.0, active=keeper.building)
        with gr.Tabs():
            ask = ask_tab(examples)
            idx = index_tab(keeper, policy)

        # -- the Ask tab
        private = dict(api_visibility="private")
        chat_in = [ask.message, state, ask.lang, ask.date_from, ask.date_to]
        chat_events = dict(
            outputs=[ask.message, ask.chatbot, ask.sources, state],
            concurrency_limit=CHAT_CONCURRENCY,
            concurrency_id="chat",
            show_progress="hidden",
            **private,
        )
        triggers = [
            ask.message.submit(chat.respond, chat_in, **chat_events),
            ask.ask_btn.click(chat.respond, chat_in, **chat_events),
        ]
        triggers += [b.click(chat.respond, [b, *chat_in[1:]], **chat_events) for b in ask.example_btns]
        for event in triggers:
            event.then(chat.export, [state], [ask.export_btn], show_progress="hidden", **private)
        ask.chatbot.select(chat.show_sources, [state], [ask.sources], **private)
        ask.chatbot.like(chat.like, [state], [ask.feedback_note, state], **private)
        ask.comment_btn.click(chat.comment, [ask.comment, state], [ask.feedback_note, ask.comment], **private)
        ask.clear_btn.click(chat.clear, None, [ask.chatbot, ask.sources, state, ask.export_btn], **private)
        ask.chatbot.clear(chat.clear, None, [ask.chatbot, ask.sources, state, ask.export_btn], **private)
        gr.api(chat.chat, api_name="chat", concurrency_limit=CHAT_CONCURRENCY, concurrency_id="chat")

        # -- the Index tab; every change to the index redraws whatever shows it (view)
        filters = [idx.list_text, idx.list_lang, idx.list_from, idx.list_to]
        view = [
            notice,
            idx.status,
            timer,
            idx.table,
            idx.picked,
            idx.list_note,
            idx.chart,
            idx.chart_note,
            ask.examples_label,
            *ask.example_btns,
        ]
        show = dict(fn=panel.view, inputs=filters, outputs=view, show_progress="hidden", **private)
        idx.add_btn.click(
            panel.add_releases,
            [idx.files, idx.urls, idx.password],
            [idx.result, idx.status, idx.files],
            api_name="add_releases",
            concurrency_limit=1,
            concurrency_id="index-update",
            show_progress="full",
        ).then(**show)
        idx.remove_btn.click(
            panel.remove_releases,
            [idx.picked, idx.password],
            [idx.remove_result, idx.picked],
            api_name="remove_releases",
            concurrency_limit=1,
            concurrency_id="index-update",
        ).then(**show)
        idx.refresh_btn.click(panel.refresh_view, filters, view, **private)
        timer.tick(**show)
        app.load(**show)
        # One queue for every filter of the list: leaving the text box for the language (a blur, then a change)
        # fires two events, and run side by side their tables could land out of order.
        listing = dict(show_progress="hidden", trigger_mode="always_last", concurrency_limit=1, concurrency_id="list")
        for box in (idx.list_text, idx.list_from, idx.list_to):
            gr.on(
                [box.submit, box.blur],
                panel.table,
                filters,
                [idx.table, idx.picked, idx.list_note],
                **listing,
                **private,
            )
        idx.list_lang.change(panel.table, filters, [idx.table, idx.picked, idx.list_note], **listing, **private)
        idx.table.select(panel.pick_row, [idx.picked], [idx.picked], **private)

    app.index_keeper = keeper  # type: ignore[attr-defined]  (tests wait on the start-up build)
    app.add_policy = policy  # type: ignore[attr-defined]
    return app


def launch(
    app: gr.Blocks,
    settings: Settings,
    *,
    host: str = "127.0.0.1",
    port: int = 7860,
    share: bool = False,
    prevent_thread_lock: bool = False,
    quiet: bool = False,
) -> Any:
    """Start the server (queue on: the chat runs concurrently, updates one at a time).

    Uploads are accepted only where they are used: an app that cannot add releases takes none
    (Gradio's upload route refuses every file over 0 bytes), so strangers cannot fill its disk.
    """
    policy: AddPolicy | None = getattr(app, "add_policy", None)
    accepts_uploads = policy is None or policy.enabled
    app.queue(default_concurrency_limit=4)
    return app.launch(
        server_name=host,
        server_port=port,
        share=share,
        prevent_thread_lock=prevent_thread_lock,
        max_file_size=int(settings.max_file_mb * 1_000_000) if accepts_uploads else 0,
        css=CSS,
        ssr_mode=False,
        show_error=False,
        quiet=quiet,
        inbrowser=False,
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python app.py", description="Ask questions about NATO communiqués in a web app."
    )
    parser.add_argument(
        "--host",
        default="127.0.0.1",
        help="address to listen on (default 127.0.0.1; adding releases "
        "from other addresses needs COMMUNIQUE_ADMIN_PASSWORD)",
    )
    parser.add_argument("--port", type=int, default=7860, help="port (default 7860)")
    parser.add_argument(
        "--share", action="store_true", help="also publish through a Gradio share link (off by default)"
    )
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    settings = get_settings()
    app = build_app(settings, host=args.host, share=args.share)
    policy: AddPolicy = app.add_policy  # type: ignore[attr-defined]
    if not policy.enabled:
        log.warning("adding releases is disabled: listening on %s without COMMUNIQUE_ADMIN_PASSWORD", args.host)
    launch(app, settings, host=args.host, port=args.port, share=args.share)
    return 0


if __name__ == "__main__":
    sys.exit(main())
