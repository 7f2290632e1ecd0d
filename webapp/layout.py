"""The app's two tabs as components, laid out once: app.py wires them to the handlers.

Layout only — no callbacks and no logic here; every component a handler reads or
writes is returned in a small dataclass, so that app.py reads as wiring.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import gradio as gr

from webapp import present
from webapp.admin import AddPolicy
from webapp.examples import MAX_EXAMPLES
from webapp.handlers import LANGUAGES
from webapp.keeper import IndexKeeper
from webapp.releases import COLUMNS
from webapp.uploads import UPLOAD_SUFFIXES


@dataclass
class AskTab:
    """The chat, its question box, examples, filters, feedback and export, and the sources panel."""

    chatbot: Any
    message: Any
    ask_btn: Any
    examples_label: Any
    example_btns: Any
    lang: Any
    date_from: Any
    date_to: Any
    feedback_note: Any
    comment: Any
    comment_btn: Any
    clear_btn: Any
    export_btn: Any
    sources: Any


@dataclass
class IndexTab:
    """What the index holds (status, chart), adding releases, and the release list with removal."""

    status: Any
    refresh_btn: Any
    chart: Any
    chart_note: Any
    files: Any
    urls: Any
    password: Any
    add_btn: Any
    result: Any
    list_text: Any
    list_lang: Any
    list_from: Any
    list_to: Any
    list_note: Any
    table: Any
    picked: Any
    remove_btn: Any
    remove_result: Any


def ask_tab(examples: list[str]) -> AskTab:
    """The "Ask" tab (call inside gr.Blocks/gr.Tabs)."""
    with gr.Tab("Ask", id="ask"):
        with gr.Row(equal_height=False):
            with gr.Column(scale=3, min_width=360):
                chatbot = gr.Chatbot(
                    label="Chat",
                    height=520,
                    layout="bubble",
                    sanitize_html=True,
                    render_markdown=True,
                    allow_tags=False,
                    latex_delimiters=[],
                    buttons=["copy"],
                    feedback_options=("Like", "Dislike"),
                    elem_id="cq-chat",
                    placeholder="Ask about NATO press releases, in English or French.",
                )
                with gr.Row():
                    message = gr.Textbox(
                        show_label=False,
                        placeholder="Your question",
                        scale=5,
                        lines=1,
                        max_lines=4,
                        autofocus=True,
                        elem_id="cq-question",
                    )
                    ask_btn = gr.Button("Ask", variant="primary", scale=1, min_width=80, elem_id="cq-ask")
                examples_label = gr.Markdown("Examples:", visible=bool(examples), elem_classes="cq-examples-label")
                with gr.Row(elem_classes="cq-examples"):
                    example_btns = [
                        gr.Button(
                            examples[i] if i < len(examples) else "",
                            size="sm",
                            variant="secondary",
                            visible=i < len(examples),
                            elem_classes="cq-example",
                        )
                        for i in range(MAX_EXAMPLES)
                    ]
                with gr.Accordion("Filters", open=False):
                    lang = gr.Radio(list(LANGUAGES), value="Any", label="Release language", elem_id="cq-lang")
                    with gr.Row():
                        date_from = gr.Textbox(
                            label="From (YYYY-MM-DD)",
                            placeholder="e.g. 2020-01-01",
                            max_lines=1,
                            elem_id="cq-from",
                        )
                        date_to = gr.Textbox(
                            label="To (YYYY-MM-DD)", placeholder="e.g. 2024-12-31", max_lines=1, elem_id="cq-to"
                        )
                feedback_note = gr.Markdown("", elem_id="cq-feedback-note")
                with gr.Accordion("Comment on a rating", open=False, elem_id="cq-feedback"):
                    gr.Markdown("Rate an answer with 👍 or 👎 under it; a comment goes with your last rating.")
                    with gr.Row():
                        comment = gr.Textbox(
                            show_label=False,
                            placeholder="Optional comment on your last rating",
                            scale=5,
                            max_lines=4,
                            elem_id="cq-comment",
                        )
                        comment_btn = gr.Button("Send comment", size="sm", scale=1, elem_id="cq-comment-send")
                with gr.Row():
                    clear_btn = gr.Button("Clear conversation", size="sm", variant="secondary")
                    export_btn = gr.DownloadButton(
                        "Download conversation (Markdown)", size="sm", interactive=False, elem_id="cq-export"
                    )
            with gr.Column(scale=2, min_width=300):
                gr.Markdown("### Sources")
                sources = gr.HTML(
                    present.SOURCES_PLACEHOLDER,
                    css_template=present.SOURCES_CSS,
                    js_on_load=None,
                    elem_id="cq-sources",
                    max_height=640,
                )
    return AskTab(
        chatbot=chatbot,
        message=message,
        ask_btn=ask_btn,
        examples_label=examples_label,
        example_btns=example_btns,
        lang=lang,
        date_from=date_from,
        date_to=date_to,
        feedback_note=feedback_note,
        comment=comment,
        comment_btn=comment_btn,
        clear_btn=clear_btn,
        export_btn=export_btn,
        sources=sources,
    )


def index_tab(keeper: IndexKeeper, policy: AddPolicy) -> IndexTab:
    """The "Index" tab (call inside gr.Blocks/gr.Tabs)."""
    with gr.Tab("Index", id="index"):
        with gr.Row(equal_height=False):
            with gr.Column(scale=2, min_width=300):
                gr.Markdown("### What the index holds")
                status = gr.Markdown(keeper.status_markdown(), label="Index status", elem_id="cq-status")
                refresh_btn = gr.Button("Refresh", size="sm", variant="secondary", elem_id="cq-refresh")
                chart = gr.BarPlot(
                    None,
                    x="Year",
                    y="Releases",
                    color="Language",
                    title="Releases per year",
                    x_title="Year",
                    y_title="Releases",
                    sort="x",
                    height=260,
                    elem_id="cq-chart",
                )
                chart_note = gr.Markdown("", elem_id="cq-chart-note")
            with gr.Column(scale=3, min_width=360):
                gr.Markdown("### Add releases")
                with gr.Group(visible=policy.enabled):
                    gr.Markdown(
                        "Upload release files (.txt, .md, .html, .htm, .pdf) and/or paste release page or "
                        "RSS/Atom feed URLs, one per line. This runs the same incremental update as "
                        "`python -m index update`: unchanged releases are skipped.",
                        padding=True,
                    )
                    files = gr.File(
                        label="Release files",
                        file_count="multiple",
                        file_types=list(UPLOAD_SUFFIXES),
                        height=150,
                        elem_id="cq-files",
                    )
                    urls = gr.Textbox(label="Release or feed URLs (one per line)", lines=2, elem_id="cq-urls")
                    password = gr.Textbox(
                        label="Admin password (adding and removing)",
                        type="password",
                        visible=policy.needs_password,
                        elem_id="cq-password",
                    )
                    add_btn = gr.Button("Add releases", variant="primary", elem_id="cq-add")
                    result = gr.Textbox(label="Result", lines=3, max_lines=20, interactive=False, elem_id="cq-result")
                if not policy.enabled:
                    gr.Markdown(
                        "Adding or removing releases is disabled: the app is reachable beyond localhost "
                        "and no COMMUNIQUE_ADMIN_PASSWORD is set."
                    )
        gr.Markdown("### Indexed releases")
        with gr.Row():
            list_text = gr.Textbox(label="Title or source contains", max_lines=1, scale=3, elem_id="cq-list-text")
            list_lang = gr.Radio(list(LANGUAGES), value="Any", label="Language", scale=2, elem_id="cq-list-lang")
            list_from = gr.Textbox(label="From (YYYY-MM-DD)", max_lines=1, scale=1, elem_id="cq-list-from")
            list_to = gr.Textbox(label="To (YYYY-MM-DD)", max_lines=1, scale=1, elem_id="cq-list-to")
        list_note = gr.Markdown("", elem_id="cq-list-note")
        table = gr.Dataframe(
            headers=COLUMNS,
            datatype=["str", "str", "str", "number", "str"],
            interactive=False,
            wrap=True,
            max_height=420,
            label="Releases (click a column to sort, a row to select it)",
            elem_id="cq-releases",
        )
        with gr.Group(visible=policy.enabled):
            picked = gr.Dropdown(
                [],
                value=[],
                multiselect=True,
                allow_custom_value=True,
                label="Selected for removal",
                elem_id="cq-picked",
            )
            remove_btn = gr.Button("Remove selected", variant="stop", elem_id="cq-remove")
            remove_result = gr.Textbox(label="Removal result", lines=2, interactive=False, elem_id="cq-remove-result")
    return IndexTab(
        status=status,
        refresh_btn=refresh_btn,
        chart=chart,
        chart_note=chart_note,
        files=files,
        urls=urls,
        password=password,
        add_btn=add_btn,
        result=result,
        list_text=list_text,
        list_lang=list_lang,
        list_from=list_from,
        list_to=list_to,
        list_note=list_note,
        table=table,
        picked=picked,
        remove_btn=remove_btn,
        remove_result=remove_result,
    )
