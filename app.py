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
(webapp.present.answer_dict), whose keys are kept stable:
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

This file is layout and wiring only: the callbacks live in webapp/ (handlers, keeper,
uploads, admin), and release text reaches the page only through webapp.present, which
escapes it.
"""
from __future__ import annotations

import argparse
import logging
import os
import sys
from typing import Any

os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")   # no phoning home; the app works offline

import gradio as gr  # noqa: E402

from index.settings import Settings, get_settings  # noqa: E402
from webapp import present  # noqa: E402
from webapp.admin import AddPolicy  # noqa: E402
from webapp.handlers import LANGUAGES, Asker, ChatHandlers, IndexHandlers, new_chat_state  # noqa: E402
from webapp.keeper import EMPTY_INDEX_TEXT, EMPTY_INDEX_TEXT_NO_ADD, IndexKeeper  # noqa: E402
from webapp.uploads import UPLOAD_SUFFIXES  # noqa: E402

log = logging.getLogger("communique.app")

CHAT_CONCURRENCY = 8
EXAMPLES = [
    "What is PAF-N?",
    "What is NATO's Resilience Committee?",
    "What does the NATO Innovation Fund invest in?",
    "Qui a pris ses fonctions de représentante spéciale de l'OTAN pour les femmes, la paix et la sécurité en janvier 2018 ?",
]
CSS = """
.cq-examples button { white-space: normal; text-align: left; }
#cq-notice { padding: 6px 10px; border-radius: 6px; background: var(--background-fill-secondary); }
"""


def build_app(settings: Settings | None = None, *, host: str = "127.0.0.1", share: bool = False,
              initial_build: bool = True) -> gr.Blocks:
    """The Gradio app over this index; `host`/`share` decide who may add releases (AddPolicy)."""
    settings = settings or get_settings()
    policy = AddPolicy.for_launch(host, share, settings)
    keeper = IndexKeeper(settings, EMPTY_INDEX_TEXT if policy.enabled else EMPTY_INDEX_TEXT_NO_ADD)
    chat = ChatHandlers(Asker(settings, keeper))
    panel = IndexHandlers(keeper, policy)
    if initial_build:
        keeper.start_initial_build()

    with gr.Blocks(title="NATO communiqués — questions and answers", fill_width=False, analytics_enabled=False) as app:
        state = gr.State(new_chat_state())
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
        message.submit(chat.respond, [message, state, lang, date_from, date_to], **chat_events)
        ask_btn.click(chat.respond, [message, state, lang, date_from, date_to], **chat_events)
        for button in example_btns:
            button.click(chat.respond, [button, state, lang, date_from, date_to], **chat_events)
        chatbot.select(chat.show_sources, [state], [sources], api_visibility="private")
        clear_btn.click(chat.clear, None, [chatbot, sources, state], api_visibility="private")
        chatbot.clear(chat.clear, None, [chatbot, sources, state], api_visibility="private")
        gr.api(chat.chat, api_name="chat", concurrency_limit=CHAT_CONCURRENCY, concurrency_id="chat")

        add_btn.click(panel.add_releases, [files, urls, password], [result, status, files], api_name="add_releases",
                      concurrency_limit=1, concurrency_id="index-update", show_progress="full")
        refresh_btn.click(panel.refresh_panel, None, [notice, status, timer], api_visibility="private")
        timer.tick(panel.panel, None, [notice, status, timer], api_visibility="private", show_progress="hidden")
        app.load(panel.panel, None, [notice, status, timer], api_visibility="private", show_progress="hidden")

    app.index_keeper = keeper   # type: ignore[attr-defined]  (tests wait on the start-up build)
    app.add_policy = policy     # type: ignore[attr-defined]
    return app


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
