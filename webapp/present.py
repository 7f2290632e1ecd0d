"""Answers and citations as safe HTML/Markdown for the app, and as plain data for scripts.

Everything that comes from a release (titles, passages, file names, URLs) is treated as
text: it is escaped here before it reaches HTML or Markdown, so a release containing
``<script>``, ``<img onerror=...>`` or ``[x](javascript:...)`` shows those characters and
nothing runs. The only clickable link is the one built here to a cited release's page,
and only for http(s) URLs; a release read from a file is named by its file name.

Two output contexts, two escapers:
  * ``escape_html``      — for HTML that is inserted as-is (the app's sources panel);
  * ``escape_markdown``  — for text that goes through a Markdown renderer (the chat):
    HTML-escaped, and Markdown's link, emphasis, code, LaTeX and autolink syntax
    turned into character references, so nothing in it forms markup.
"""

from __future__ import annotations

import html
import re
from collections.abc import Callable, Iterable, Sequence
from pathlib import PurePath
from typing import Any
from urllib.parse import urlsplit

from bot.citations import Answer, Citation, neutralise_bidi
from index.status import IndexStatus

LANG_NAMES = {"en": "English", "fr": "French"}

# HTML's specials, and the characters that can start Markdown syntax (links, images, emphasis,
# code, tables, LaTeX, headings, autolinks), as character references, in one pass.
_MARKDOWN_SPECIAL = str.maketrans(
    {
        "&": "&amp;",
        "<": "&lt;",
        ">": "&gt;",
        '"': "&quot;",
        "'": "&#39;",
        **{c: f"&#{ord(c)};" for c in "\\`*_{}[]()#|~$!:@="},
    }
)
_WWW = re.compile(r"(?i)\bwww\.")  # GFM autolinks "www.example.com" even without a scheme
_CONTROL = re.compile(r"[\x00-\x1f\x7f\s]")


# --------------------------------------------------------------------------- escaping


def escape_html(text: object) -> str:
    """Text for an HTML element or attribute: nothing in it becomes markup."""
    return html.escape(neutralise_bidi(text), quote=True)


def escape_markdown(text: object) -> str:
    """Text for a Markdown renderer that also accepts inline HTML: shown literally, never as markup or a link."""
    escaped = neutralise_bidi(text).translate(_MARKDOWN_SPECIAL)
    return _WWW.sub(lambda m: m.group(0)[:3] + "&#46;", escaped)


def safe_url(url: object) -> str | None:
    """The URL if it is a plain http(s) URL with a host (no whitespace or control characters), else None."""
    if not isinstance(url, str) or not url or _CONTROL.search(url):
        return None
    try:
        parts = urlsplit(url)
    except ValueError:
        return None
    if parts.scheme.lower() not in ("http", "https") or not parts.hostname:
        return None
    return url


# --------------------------------------------------------------------------- citation parts


def lang_name(code: str | None) -> str:
    return LANG_NAMES.get(str(code or ""), str(code or "unknown language"))


def source_link(citation: Citation) -> str | None:
    """Where the cited release can be read: its page URL when known and http(s), else None."""
    return safe_url(citation.url) or safe_url(citation.source)


def source_name(citation: Citation) -> str:
    """The release's URL, or the file name (never the server's folder) for a release read from a file."""
    link = source_link(citation)
    if link:
        return link
    return PurePath(citation.source.replace("\\", "/")).name or citation.source


def merged_spans(text: str, spans: Iterable[Sequence[int]]) -> list[tuple[int, int]]:
    """Quote spans clamped to the text, sorted, overlapping ones merged; empty ones dropped."""
    clean = sorted((max(0, int(s)), min(len(text), int(e))) for s, e in spans)
    merged: list[tuple[int, int]] = []
    for start, end in clean:
        if end <= start:
            continue
        if merged and start <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], end))
        else:
            merged.append((start, end))
    return merged


def highlight_html(text: str, spans: Iterable[Sequence[int]]) -> str:
    """The passage as escaped HTML, with the quoted spans in <mark>."""
    out, pos = [], 0
    for start, end in merged_spans(text, spans):
        out.append(escape_html(text[pos:start]))
        out.append(f'<mark class="cq-quote">{escape_html(text[start:end])}</mark>')
        pos = end
    out.append(escape_html(text[pos:]))
    return "".join(out)


def quoted_sentences(citation: Citation) -> list[str]:
    return [citation.text[s:e] for s, e in merged_spans(citation.text, citation.quotes)]


def _link_html(url: str, label: str, escape=escape_html) -> str:
    return f'<a href="{escape_html(url)}" target="_blank" rel="noopener noreferrer nofollow">{escape(label)}</a>'


def _short_url(url: str) -> str:
    parts = urlsplit(url)
    label = (parts.hostname or "") + parts.path
    return label if len(label) <= 60 else label[:57] + "…"


# --------------------------------------------------------------------------- the sources panel (HTML)

SOURCES_PLACEHOLDER = (
    '<p class="cq-empty">The passages an answer cites appear here, with the quoted sentences highlighted.</p>'
)


def group_citations(citations: Sequence[Citation]) -> list[list[Citation]]:
    """Citations grouped by release (its source), groups in order of first citation, passages by [n]."""
    groups: dict[str, list[Citation]] = {}
    for c in citations:
        groups.setdefault(c.source or c.chunk_id, []).append(c)
    return [sorted(group, key=lambda c: c.n) for group in groups.values()]


def release_html(group: Sequence[Citation]) -> str:
    """One cited release: title, date, language and link or file name once, then each passage with its [n]."""
    first = group[0]
    link = source_link(first)
    where = (
        _link_html(link, _short_url(link))
        if link
        else f'<span class="cq-file" title="release file">{escape_html(source_name(first))}</span>'
    )
    meta = " · ".join([escape_html(first.date or "undated"), escape_html(lang_name(first.lang)), where])
    numbers = "".join(f"[{c.n}]" for c in group)
    passages = "".join(
        f'<div class="cq-item" data-n="{c.n}"><span class="cq-n">[{c.n}]</span>'
        f'<blockquote class="cq-passage">{highlight_html(c.text, c.quotes)}</blockquote></div>'
        for c in group
    )
    return (
        f'<article class="cq-source" data-n="{" ".join(str(c.n) for c in group)}">'
        f'<div class="cq-head"><span class="cq-n">{numbers}</span> '
        f'<span class="cq-title">{escape_html(first.title or source_name(first))}</span></div>'
        f'<div class="cq-meta">{meta}</div>{passages}</article>'
    )


def citation_html(citation: Citation) -> str:
    """One cited passage as a release entry of its own."""
    return release_html([citation])


def citations_html(citations: Sequence[Citation], note: str | None = None) -> str:
    """The cited releases, each once (title, date, language, link or file name), with its numbered passages."""
    if not citations:
        return f'<p class="cq-empty">{escape_html(note)}</p>' if note else SOURCES_PLACEHOLDER
    return '<div class="cq-sources">' + "".join(release_html(g) for g in group_citations(citations)) + "</div>"


SOURCES_CSS = """
.cq-sources { display: flex; flex-direction: column; gap: 12px; }
.cq-source {
  border: 1px solid var(--border-color-primary); border-radius: 8px; padding: 10px 12px;
  background: var(--background-fill-secondary);
}
.cq-head { font-weight: 600; margin-bottom: 2px; }
.cq-n { color: var(--color-accent); margin-right: 4px; }
.cq-meta { font-size: 0.85em; color: var(--body-text-color-subdued); margin-bottom: 6px; overflow-wrap: anywhere; }
.cq-file { font-family: var(--font-mono); font-size: 0.95em; }
.cq-item { display: flex; gap: 6px; align-items: flex-start; margin-top: 6px; }
.cq-item > .cq-n { flex: none; font-weight: 600; }
.cq-passage {
  flex: 1; margin: 0; padding-left: 10px; border-left: 3px solid var(--border-color-accent);
  white-space: pre-wrap; font-size: 0.92em; max-height: 18em; overflow-y: auto;
}
.cq-quote { background: #fde68a; color: inherit; padding: 0 1px; border-radius: 2px; }
.cq-empty { color: var(--body-text-color-subdued); font-style: italic; }
"""


# --------------------------------------------------------------------------- the chat message (Markdown)


def answer_markdown(answer: Answer) -> str:
    """The answer for a Markdown chat bubble: the text, then the cited releases, each once with its [n] numbers."""
    parts = [escape_markdown(answer.text)]
    if answer.citations:
        lines = []
        for group in group_citations(answer.citations):
            c = group[0]
            link = source_link(c)
            where = (
                _link_html(link, _short_url(link), escape_markdown)
                if link
                else f"<code>{escape_markdown(source_name(c))}</code>"
            )
            numbers = "".join(f"&#91;{g.n}&#93;" for g in group)
            lines.append(
                f"{numbers} {escape_markdown(c.title or source_name(c))} — "
                f"{escape_markdown(c.date or 'undated')} · {escape_markdown(lang_name(c.lang))} · {where}"
            )
        parts.append("<small><b>Sources</b><br>" + "<br>".join(lines) + "</small>")
    return "\n\n".join(parts)


def pending_markdown(text: str) -> str:
    """Part of an answer still being written, for the chat bubble."""
    return escape_markdown(text) if text.strip() else "…"


# --------------------------------------------------------------------------- for scripts (the /chat API)


def answer_plain_text(answer: Answer) -> str:
    """The answer followed by a "Sources:" list, as plain text."""
    if not answer.citations:
        return neutralise_bidi(answer.text)
    lines = [
        f"[{c.n}] {c.title or source_name(c)} ({c.date or 'undated'}, {c.lang}) — {source_name(c)}"
        for c in answer.citations
    ]
    return neutralise_bidi(answer.text + "\n\nSources:\n" + "\n".join(lines))


def citation_dict(citation: Citation) -> dict[str, Any]:
    return {
        "n": citation.n,
        "title": citation.title,
        "date": citation.date,
        "lang": citation.lang,
        "url": source_link(citation),
        "source": source_name(citation),
        "passage": citation.text,
        "quotes": [list(span) for span in merged_spans(citation.text, citation.quotes)],
        "quoted": quoted_sentences(citation),
        "score": round(float(citation.score), 6),
    }


def answer_dict(answer: Answer) -> dict[str, Any]:
    """A JSON-able answer: stable keys for scripts (see app.py, "The /chat API")."""
    return {
        "answer": answer.text,
        "found": answer.found,
        "mode": answer.mode,
        "lang": answer.lang,
        "error": answer.error,
        "citations": [citation_dict(c) for c in answer.citations],
        "text": answer_plain_text(answer),
    }


# --------------------------------------------------------------------------- the index panel (Markdown)


def status_markdown(status: IndexStatus | None, error: str | None = None, shown: Callable[[str], str] = str) -> str:
    """What the index holds, as a Markdown list.

    Every value is passed through `shown` (e.g. to hide paths), then escaped."""

    def esc(value: object) -> str:
        return escape_markdown(shown(str(value)))

    if status is None:
        return f"**Index:** {esc(error or 'unknown')}"
    langs = ", ".join(f"{lang_name(k)} {n}" for k, n in sorted(status.languages.items())) or "none"
    span = f"{status.first_date} to {status.last_date}" if status.first_date else "no dated releases"
    rows = [
        ("Releases", status.releases),
        ("Chunks", status.chunks),
        ("Languages", langs),
        ("Dates", span),
        ("Last update", status.updated_at or "never"),
        ("Embeddings", status.embeddings),
        ("Location", status.where),
    ]
    return "\n".join(f"- **{k}:** {esc(v)}" for k, v in rows)


# --------------------------------------------------------------------------- the conversation as a Markdown file


def _quote_block(text: str) -> str:
    return "\n".join("> " + line if line.strip() else ">" for line in text.strip().splitlines()) or ">"


def conversation_markdown(turns: Sequence[dict[str, Any]], title: str = "NATO communiqués — conversation") -> str:
    """The questions and answers (answer_dict of each), every answer followed by its sources grouped by release:
    title, date, language, link or file, and the quoted passage (the quoted sentences, else the whole passage)."""
    out = [f"# {title}", ""]
    for i, turn in enumerate(turns, 1):
        data = turn["answer"]
        out += [f"## {i}. {' '.join(str(turn['question']).split())}", "", data["answer"].strip(), ""]
        citations = data.get("citations") or []
        if not citations:
            out += [f"_No source cited ({data.get('mode')})._", ""]
            continue
        out += ["**Sources**", ""]
        groups: dict[str, list[dict[str, Any]]] = {}
        for c in citations:
            groups.setdefault(str(c.get("url") or c.get("source")), []).append(c)
        for group in groups.values():
            c = group[0]
            numbers = "".join(f"[{g['n']}]" for g in group)
            where = c.get("url") or f"file {c.get('source')}"
            out += [
                f"- {numbers} {c.get('title') or c.get('source')} — {c.get('date') or 'undated'}, "
                f"{lang_name(c.get('lang'))} — {where}",
                "",
            ]
            for g in group:
                quoted = " … ".join(q.strip() for q in g.get("quoted") or []) or str(g.get("passage", ""))
                out += [f"  [{g['n']}]", "", "\n".join("  " + line for line in _quote_block(quoted).splitlines()), ""]
    return "\n".join(out).rstrip() + "\n"
