"""Rewrite every release of a corpus into another file format, to measure the bot on it.

    python -m benchmarks.reformat --to html|md|md-front|pdf SRC_CORPUS OUT_DIR [--questions IN OUT]

Each release is read through the project's own loader (``index.load.load_file``), so the
conversion starts from what the index sees: title, body, date, "last updated" date,
language and source URL. It is then written the way that format usually carries them:

- ``html``: ``<title>``, ``<meta>`` tags (``og:title``, ``article:published_time``,
  ``og:url``, ``<link rel="canonical">``), ``<time datetime>``, ``<html lang>``, the body in
  ``<article><p>…``, inside invented site chrome (nav menu, breadcrumb, cookie notice,
  "Share this" links, "Related news" headlines, footer) from one of four fictional site
  templates ("Example News Portal", "Demo Defence Digest", "Sample Policy Wire", and
  "Example Gazette", which sets share links, a photo credit and the related list inside
  the ``<article>``);
- ``md``: ``# Title`` (or a Setext title) and a date line, no front matter;
- ``md-front``: YAML front matter (title, date, lang, url under a few usual key names);
- ``pdf``: a real PDF (fpdf2, a DejaVu TrueType font), text wrapped into lines and pages,
  page headers and footers with page numbers, long words sometimes hyphenated at a line
  end; title and date in the document info and on the first page, or, for the "printed
  from a browser" template, a print date in the info and on every page's header.

Every piece of chrome is team-written, plainly fictional text. The file names are kept,
only the extension changes; ``--questions IN OUT`` writes a copy of a question file whose
``relevant`` names carry the new extension (benchmarks.eval matches releases by file name).

Tooling only: nothing at run time imports this module.
"""

from __future__ import annotations

import argparse
import hashlib
import html
import json
import re
import sys
from collections.abc import Sequence
from datetime import UTC, datetime
from datetime import date as Date
from pathlib import Path

from index.load import SourceError, list_release_files, load_file
from index.release import Release

FORMATS = ("html", "md", "md-front", "pdf")
SUFFIX = {"html": ".html", "md": ".md", "md-front": ".md", "pdf": ".pdf"}

_MONTHS = {
    "en": "January February March April May June July August September October November December".split(),
    "fr": "janvier février mars avril mai juin juillet août septembre octobre novembre décembre".split(),
}

# Invented headlines for "Related news" lists: plainly fictional places, bodies and events.
_RELATED = [
    "Example Alliance opens fictional logistics hub in Sampletown",
    "Demo ministers agree on an invented training calendar for 2031",
    "Placeholder summit in Mockford ends with a sample declaration",
    "Imaginary coastguard exercise held off the shores of Testland",
    "Fictional envoy visits the Dummy Islands for routine talks",
    "Sample Council publishes its made-up annual report",
    "Invented cyber drill links three pretend capitals",
    "Exampleville hosts a mock conference on weather satellites",
]
_RELATED_FR = [
    "L'Alliance Exemple ouvre un centre logistique fictif à Villetest",
    "Des ministres fictifs adoptent un calendrier de formation inventé",
    "Un sommet imaginaire à Maquetteville se conclut par une déclaration type",
    "Exercice fictif de garde-côtes au large de Testlande",
    "Un envoyé imaginaire se rend aux îles Factices",
    "Le Conseil Exemple publie un rapport annuel inventé",
]

_CHROME = {
    "en": {
        "home": "Home",
        "news": "News",
        "topics": "Topics",
        "about": "About us",
        "contact": "Contact",
        "search": "Search",
        "cookies": "We use cookies to improve your experience on this site. By continuing you accept our "
        "cookie policy.",
        "accept": "Accept all",
        "decline": "Decline",
        "share": "Share this",
        "related": "Related news",
        "published": "Published",
        "updated": "Last updated",
        "rights": "All rights reserved.",
        "privacy": "Privacy policy",
        "terms": "Terms of use",
        "newsletter": "Subscribe to our weekly newsletter for more invented stories.",
        "read_also": "Read also",
        "tags": "Tags",
        "comments": "Leave a comment",
        "caption": "Illustrative photo from the Example picture library",
        "printed": "Press release",
        "page": "Page {n} of {nb}",
    },
    "fr": {
        "home": "Accueil",
        "news": "Actualités",
        "topics": "Thèmes",
        "about": "Qui sommes-nous",
        "contact": "Contact",
        "search": "Rechercher",
        "cookies": "Nous utilisons des cookies pour améliorer votre expérience. En poursuivant, vous acceptez notre "
        "politique de cookies.",
        "accept": "Tout accepter",
        "decline": "Refuser",
        "share": "Partager",
        "related": "À lire aussi",
        "published": "Publié le",
        "updated": "Mis à jour le",
        "rights": "Tous droits réservés.",
        "privacy": "Politique de confidentialité",
        "terms": "Conditions d'utilisation",
        "newsletter": "Abonnez-vous à notre lettre hebdomadaire pour d'autres histoires inventées.",
        "read_also": "Lire aussi",
        "tags": "Mots-clés",
        "comments": "Laisser un commentaire",
        "caption": "Photo d'illustration de la photothèque Exemple",
        "printed": "Communiqué de presse",
        "page": "Page {n} sur {nb}",
    },
}


def _pick(name: str, count: int, salt: str = "") -> int:
    """A stable choice among ``count`` templates for one file name."""
    return int(hashlib.sha256(f"{salt}{name}".encode()).hexdigest(), 16) % count


def _human_date(iso: str, lang: str) -> str:
    day = Date.fromisoformat(iso)
    months = _MONTHS["fr" if lang == "fr" else "en"]
    if lang == "fr":
        return f"{'1er' if day.day == 1 else day.day} {months[day.month - 1]} {day.year}"
    return f"{day.day} {months[day.month - 1]} {day.year}"


def _blocks(text: str) -> list[str]:
    """The body's lines as paragraphs (the loader keeps one paragraph or caption per line)."""
    return [" ".join(line.split()) for line in text.split("\n") if line.strip()]


def _is_bullet(line: str) -> bool:
    return bool(re.match(r"^[•·\-*–]\s+", line))


def _unbullet(line: str) -> str:
    return re.sub(r"^[•·\-*–]\s+", "", line)


def _lang(release: Release) -> str:
    return "fr" if release.lang == "fr" else "en"


# --------------------------------------------------------------------------- HTML


def _related(name: str, lang: str, count: int = 4) -> list[str]:
    pool = _RELATED_FR if lang == "fr" else _RELATED
    start = _pick(name, len(pool), "related")
    return [pool[(start + i) % len(pool)] for i in range(count)]


def _article_html(blocks: list[str], *, read_also: str | None = None, label: str = "") -> str:
    out: list[str] = []
    items: list[str] = []
    for i, block in enumerate(blocks):
        if _is_bullet(block):
            items.append(f"<li>{html.escape(_unbullet(block))}</li>")
            continue
        if items:
            out.append("<ul>" + "".join(items) + "</ul>")
            items = []
        out.append(f"<p>{html.escape(block)}</p>")
        if read_also and i == 1:
            out.append(f'<p class="read-also"><strong>{label}:</strong> <a href="/news/other">{read_also}</a></p>')
    if items:
        out.append("<ul>" + "".join(items) + "</ul>")
    return "\n      ".join(out)


def to_html(release: Release, name: str) -> str:
    """One of four invented site templates around the release."""
    lang = _lang(release)
    c = _CHROME[lang]
    title = html.escape(release.title)
    blocks = _blocks(release.text)
    related = _related(name, lang)
    date_human = html.escape(_human_date(release.date, lang)) if release.date else ""
    updated_human = html.escape(_human_date(release.updated, lang)) if release.updated else ""
    url = html.escape(release.url or "")
    template = _pick(name, 4)
    slug = html.escape(Path(name).stem)

    if template == 0:  # Example News Portal: semantic HTML5, meta tags, <time datetime>
        site = "Example News Portal"
        head = [
            f"<title>{title} | {site}</title>",
            f'<meta property="og:title" content="{title}">',
            f'<meta property="og:site_name" content="{site}">',
        ]
        if release.date:
            head.append(f'<meta property="article:published_time" content="{release.date}T09:00:00+00:00">')
        if release.updated:
            head.append(f'<meta property="article:modified_time" content="{release.updated}T12:00:00+00:00">')
        if url:
            head += [f'<link rel="canonical" href="{url}">', f'<meta property="og:url" content="{url}">']
        dateline = f'<time datetime="{release.date}">{date_human}</time>' if release.date else ""
        if release.updated:
            dateline += f' · {c["updated"]}: <time datetime="{release.updated}">{updated_human}</time>'
        body = f"""
  <div id="cookie-banner" class="cookie-notice"><p>{c["cookies"]}</p>
    <button>{c["accept"]}</button> <button>{c["decline"]}</button></div>
  <header class="site-header">
    <a class="logo" href="/">{site}</a>
    <nav><ul><li><a href="/">{c["home"]}</a></li><li><a href="/news">{c["news"]}</a></li>
      <li><a href="/topics">{c["topics"]}</a></li><li><a href="/about">{c["about"]}</a></li>
      <li><a href="/contact">{c["contact"]}</a></li></ul></nav>
    <form role="search"><input type="search" placeholder="{c["search"]}"></form>
  </header>
  <nav class="breadcrumb"><a href="/">{c["home"]}</a> &gt; <a href="/news">{c["news"]}</a> &gt; {title}</nav>
  <main>
    <article>
      <h1>{title}</h1>
      <p class="meta">{dateline}</p>
      {_article_html(blocks)}
    </article>
    <div class="share"><span>{c["share"]}:</span> <a href="#">Facebook</a> <a href="#">X</a>
      <a href="#">LinkedIn</a> <a href="#">Email</a></div>
    <aside class="related"><h2>{c["related"]}</h2><ul>
      {"".join(f'<li><a href="/news/{i}">{html.escape(h)}</a></li>' for i, h in enumerate(related))}
    </ul></aside>
  </main>
  <footer><p>© 2026 {site}. {c["rights"]}</p>
    <p><a href="/privacy">{c["privacy"]}</a> | <a href="/terms">{c["terms"]}</a></p>
    <p>Example News Portal, 1 Sample Street, Exampleville</p></footer>"""
    elif template == 1:  # Demo Defence Digest: div soup, a date in <meta name="date">, the date shown as text
        site = "Demo Defence Digest"
        head = [f"<title>{site} - {title}</title>"]
        if release.date:
            head.append(f'<meta name="date" content="{release.date}">')
        if url:
            head.append(f'<link rel="canonical" href="{url}">')
        shown = f"{c['published']} {date_human}" if release.date else ""
        body = f"""
  <div class="top-bar"><div class="logo">{site}</div>
    <div class="menu"><a href="/">{c["home"]}</a> <a href="/latest">{c["news"]}</a>
      <a href="/analysis">{c["topics"]}</a> <a href="/subscribe">Newsletter</a> <a href="/login">Log in</a></div></div>
  <div class="crumbs"><a href="/">{c["home"]}</a> / <a href="/latest">{c["news"]}</a></div>
  <div class="layout">
    <div class="col-main">
      <article>
        <h1 class="headline">{title}</h1>
        <div class="byline">{shown}</div>
        <figure><img src="/img/placeholder.jpg" alt=""><figcaption>{c["caption"]}</figcaption></figure>
        {_article_html(blocks)}
      </article>
      <div class="share-bar">{c["share"]} <a href="#">Facebook</a> · <a href="#">X</a> · <a href="#">WhatsApp</a>
        · <a href="#">Email</a></div>
      <div class="newsletter"><p>{c["newsletter"]}</p><input type="email"><button>OK</button></div>
    </div>
    <div class="col-side"><h3>{c["related"]}</h3>
      {"".join(f'<div class="teaser"><a href="/latest/{i}">{html.escape(h)}</a></div>' for i, h in enumerate(related))}
    </div>
  </div>
  <div class="cookie-bar">{c["cookies"]} <a href="#">{c["accept"]}</a></div>
  <div class="bottom">{site} © 2026 — {c["rights"]} <a href="/privacy">{c["privacy"]}</a></div>"""
    elif (
        template == 3
    ):  # Example Gazette: Dublin Core date, share buttons, photo credit and related list inside <article>
        site = "Example Gazette"
        head = [f"<title>{title} :: {site}</title>", f'<meta name="description" content="{title}">']
        if release.date:
            head.append(f'<meta name="DC.date" content="{release.date}">')
        if url:
            head.append(f'<meta property="og:url" content="{url}">')
        shown = f"<time>{date_human}</time>" if release.date else ""
        body = f"""
  <div class="gdpr">{c["cookies"]} <a href="#">{c["accept"]}</a> <a href="#">{c["decline"]}</a></div>
  <div id="masthead"><span>{site}</span> <a href="/">{c["home"]}</a> · <a href="/world">{c["news"]}</a>
    · <a href="/about">{c["about"]}</a></div>
  <article class="story">
    <div class="kicker"><a href="/world">{c["news"]}</a></div>
    <h1>{title}</h1>
    <div class="dateline">{shown}</div>
    <div class="share-top">{c["share"]}: <a href="#">Facebook</a> <a href="#">X</a> <a href="#">Email</a></div>
    {_article_html(blocks)}
    <p class="credit">Photo: Example picture library</p>
    <h3>{c["related"]}</h3>
    <ul class="related-list">
      {"".join(f'<li><a href="/world/{i}">{html.escape(h)}</a></li>' for i, h in enumerate(related))}
    </ul>
  </article>
  <div id="foot">{site} · {c["contact"]} · {c["privacy"]} · © 2026</div>"""
    else:  # Sample Policy Wire: JSON-LD dates, a "read also" link inside the article, tags, comments
        site = "Sample Policy Wire"
        ld: dict[str, str] = {"@context": "https://schema.org", "@type": "NewsArticle", "headline": release.title}
        if release.date:
            ld["datePublished"] = f"{release.date}T08:30:00Z"
        if release.updated:
            ld["dateModified"] = f"{release.updated}T10:00:00Z"
        if release.url:
            ld["url"] = release.url
        head = [
            f"<title>{title} — {site}</title>",
            f'<meta name="twitter:title" content="{title}">',
            f'<script type="application/ld+json">{json.dumps(ld, ensure_ascii=False)}</script>',
        ]
        if url:
            head.append(f'<meta property="og:url" content="{url}">')
        body = f"""
  <header><div class="brand">{site}</div>
    <ul class="nav"><li><a href="/">{c["home"]}</a></li><li><a href="/wire">{c["news"]}</a></li>
      <li><a href="/topics">{c["topics"]}</a></li><li><a href="/contact">{c["contact"]}</a></li></ul></header>
  <ol class="breadcrumbs"><li><a href="/">{c["home"]}</a></li><li><a href="/wire">{c["news"]}</a></li></ol>
  <main id="content">
    <article class="post">
      <h1>{title}</h1>
      {_article_html(blocks, read_also=html.escape(related[0]), label=c["read_also"])}
      <p class="tags">{c["tags"]}: <a href="/t/defence">defence</a>, <a href="/t/alliance">alliance</a>,
        <a href="/t/example">example</a></p>
    </article>
    <section class="share-links"><h4>{c["share"]}</h4><a href="#">Mastodon</a> <a href="#">Bluesky</a>
      <a href="#">LinkedIn</a></section>
    <section class="more"><h2>{c["related"]}</h2>
      {"".join(f'<h3><a href="/wire/{i}">{html.escape(h)}</a></h3>' for i, h in enumerate(related[1:]))}
    </section>
    <section id="comments"><h2>{c["comments"]}</h2><form><textarea></textarea><button>Post</button></form></section>
  </main>
  <footer class="site-footer">{site} · {c["rights"]} · <a href="/terms">{c["terms"]}</a>
    <div id="consent">{c["cookies"]} <button>{c["accept"]}</button></div></footer>"""
    head_html = "\n  ".join(['<meta charset="utf-8">', *head])
    return (
        f'<!DOCTYPE html>\n<html lang="{lang}">\n<head>\n  {head_html}\n</head>\n'
        f'<body class="page-{slug}">{body}\n</body>\n</html>\n'
    )


# --------------------------------------------------------------------------- Markdown


def _md_body(blocks: list[str]) -> str:
    return "\n\n".join(f"- {_unbullet(b)}" if _is_bullet(b) else b for b in blocks)


def to_markdown(release: Release, name: str) -> str:
    """``# Title`` or a Setext title, then a date line in one of three styles; no front matter."""
    lang = _lang(release)
    c = _CHROME[lang]
    template = _pick(name, 3, "md")
    lines: list[str] = []
    if template == 2:
        lines += [release.title, "=" * min(len(release.title), 80), ""]
    else:
        lines += [f"# {release.title}", ""]
    if release.date:
        if template == 0:
            lines += [f"*{_human_date(release.date, lang)}*", ""]
        elif template == 1:
            line = f"**{c['published']}:** {release.date}"
            if release.updated:
                line += f" · **{c['updated']}:** {release.updated}"
            lines += [line, ""]
        else:
            lines += [f"{c['published']} {_human_date(release.date, lang)}", ""]
    lines.append(_md_body(_blocks(release.text)))
    if release.url:
        lines += ["", f"Source: <{release.url}>" if template == 1 else f"[Source]({release.url})"]
    return "\n".join(lines).rstrip() + "\n"


def to_markdown_front(release: Release, name: str) -> str:
    """YAML front matter under one of three usual key sets, then the body (with a heading in one of them)."""
    template = _pick(name, 3, "front")

    def q(value: str) -> str:
        return json.dumps(value, ensure_ascii=False)  # a JSON string is a YAML string

    fields: list[str] = [f"title: {q(release.title)}"]
    if template == 0:
        if release.date:
            fields.append(f"date: {release.date}")
        if release.updated:
            fields.append(f"updated: {release.updated}")
        fields.append(f"lang: {release.lang}")
        if release.url:
            fields.append(f"url: {release.url}")
    elif template == 1:
        if release.date:
            fields.append(f"published: {q(_human_date(release.date, _lang(release)))}")
        fields.append(f"language: {release.lang}")
        if release.url:
            fields.append(f"source: {release.url}")
        fields += ["author: Example Press Desk", "tags: [defence, alliance, example]"]
    else:  # Hugo-like
        if release.date:
            fields.append(f"date: {release.date}T09:00:00+01:00")
        if release.updated:
            fields.append(f"lastmod: {release.updated}T12:00:00+01:00")
        fields += ["draft: false", f"lang: {release.lang}"]
        if release.url:
            fields.append(f"link: {release.url}")
    parts = ["---", *fields, "---", ""]
    if template == 2:
        parts += [f"# {release.title}", ""]
    parts.append(_md_body(_blocks(release.text)))
    return "\n".join(parts).rstrip() + "\n"


# --------------------------------------------------------------------------- PDF

_FONT_DIRS = [Path("/usr/share/fonts/truetype/dejavu"), Path("/usr/share/fonts/dejavu")]
_PRINT_DATE = datetime(2026, 11, 30, 14, 5, tzinfo=UTC)


def _font(style: str = "") -> Path:
    name = {"": "DejaVuSans.ttf", "B": "DejaVuSans-Bold.ttf"}[style]
    for folder in _FONT_DIRS:
        if (folder / name).is_file():
            return folder / name
    raise SystemExit(f"benchmarks.reformat: font {name} not found (install fonts-dejavu-core)")


def _hyphen_split(word: str, room: float, width: object) -> tuple[str, str] | None:
    """(head + '-', tail) of a long word so that the head fits in ``room``; None if no split fits."""
    measure = width  # callable: text -> width
    if len(word) < 8 or not word.isalpha():
        return None
    for cut in range(len(word) - 3, 2, -1):
        head = word[:cut] + "-"
        if word[cut - 1] in "aeiouyéèàâêîôû" and measure(head) <= room:  # type: ignore[operator]
            return head, word[cut:]
    return None


def _wrap(text: str, width: float, measure: object, *, hyphenate: bool) -> list[str]:
    """Greedy line breaking of one paragraph; long words may be hyphenated at a line end."""
    lines: list[str] = []
    line = ""
    words = text.split()
    i = 0
    while i < len(words):
        word = words[i]
        candidate = f"{line} {word}" if line else word
        if measure(candidate) <= width:  # type: ignore[operator]
            line = candidate
            i += 1
            continue
        if hyphenate and line:
            split = _hyphen_split(word, width - measure(line + " "), measure)  # type: ignore[operator]
            if split:
                lines.append(f"{line} {split[0]}")
                words[i] = split[1]
                line = ""
                continue
        if line:
            lines.append(line)
            line = ""
        else:  # a word wider than the line
            lines.append(word)
            i += 1
    if line:
        lines.append(line)
    return lines


def to_pdf(release: Release, name: str) -> bytes:
    """A press-office PDF (release date in the info) or a page printed from a browser (print date)."""
    from fpdf import FPDF

    lang = _lang(release)
    c = _CHROME[lang]
    printed = _pick(name, 2, "pdf") == 1
    date_human = _human_date(release.date, lang) if release.date else ""

    class Document(FPDF):
        def header(self) -> None:
            self.set_font("DejaVu", size=8)
            if printed:
                self.cell(0, 5, _PRINT_DATE.strftime("%d/%m/%Y, %H:%M"), align="L")
                self.set_x(self.l_margin)
                self.cell(0, 5, release.title[:70], align="R")
            else:
                self.cell(0, 5, f"Example Press Office · {c['printed']}", align="L")
                self.set_x(self.l_margin)
                self.cell(0, 5, date_human, align="R")
            self.ln(10)

        def footer(self) -> None:
            self.set_y(-15)
            self.set_font("DejaVu", size=8)
            if printed:
                self.cell(0, 5, (release.url or "about:blank")[:90], align="L")
                self.set_x(self.l_margin)
                self.cell(0, 5, f"{self.page_no()}/{{nb}}", align="R")
            else:
                self.cell(0, 5, c["page"].format(n=self.page_no(), nb="{nb}"), align="C")

    pdf = Document(format="A4", unit="mm")
    pdf.add_font("DejaVu", "", str(_font("")))
    pdf.add_font("DejaVu", "B", str(_font("B")))
    pdf.set_auto_page_break(False)
    pdf.set_margins(25, 20, 25)
    pdf.set_title(release.title)
    pdf.set_author("Example Press Office" if not printed else "")
    pdf.set_creator("benchmarks.reformat (fpdf2)")
    if printed or not release.date:
        pdf.set_creation_date(_PRINT_DATE)
    else:
        pdf.set_creation_date(datetime.fromisoformat(f"{release.date}T09:00:00+00:00"))
    pdf.add_page()
    width = pdf.w - pdf.l_margin - pdf.r_margin
    bottom = pdf.h - 25

    def put(lines: list[str], size: float, style: str = "", gap: float = 2.5) -> None:
        pdf.set_font("DejaVu", style, size=size)
        height = size * 0.5
        for line in lines:
            if pdf.get_y() + height > bottom:
                pdf.add_page()
                pdf.set_font("DejaVu", style, size=size)
            pdf.cell(width, height, line, new_x="LMARGIN", new_y="NEXT")
        pdf.ln(gap)

    def measure_at(size: float, style: str = "") -> object:
        def measure(text: str) -> float:
            pdf.set_font("DejaVu", style, size=size)
            return float(pdf.get_string_width(text))

        return measure

    put(_wrap(release.title, width, measure_at(15, "B"), hyphenate=False), 15, "B", gap=3)
    if release.date:
        shown = date_human if printed else f"{c['published']}: {date_human}"
        if release.updated:
            shown += f" | {c['updated']}: {_human_date(release.updated, lang)}"
        put([shown], 9, gap=4)
    for block in _blocks(release.text):
        put(_wrap(block, width, measure_at(10.5), hyphenate=not printed), 10.5)
    return bytes(pdf.output())


# --------------------------------------------------------------------------- command line


def convert(release: Release, name: str, fmt: str) -> str | bytes:
    if fmt == "html":
        return to_html(release, name)
    if fmt == "md":
        return to_markdown(release, name)
    if fmt == "md-front":
        return to_markdown_front(release, name)
    return to_pdf(release, name)


def rewrite_questions(src: Path, out: Path, fmt: str) -> None:
    """A question file whose relevant file names carry the format's extension."""
    suffix = SUFFIX[fmt]
    lines = []
    for line in src.read_text(encoding="utf-8").splitlines():
        if not line.strip():
            continue
        record = json.loads(line)
        record["relevant"] = [str(Path(name).with_suffix(suffix)) for name in record.get("relevant", [])]
        lines.append(json.dumps(record, ensure_ascii=False))
    out.write_text("\n".join(lines) + "\n", encoding="utf-8")


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.reformat", description=__doc__.split("\n\n")[0])
    parser.add_argument("--to", required=True, choices=FORMATS)
    parser.add_argument("src", type=Path, help="corpus folder")
    parser.add_argument("out", type=Path, help="output folder (created)")
    parser.add_argument("--questions", nargs=2, type=Path, metavar=("IN", "OUT"), help="also rewrite a question file")
    args = parser.parse_args(argv)
    args.out.mkdir(parents=True, exist_ok=True)
    written = 0
    for path in list_release_files(args.src):
        try:
            release = load_file(path, max_bytes=20_000_000)
        except SourceError as exc:
            print(f"benchmarks.reformat: skipped {path.name}: {exc}", file=sys.stderr)
            continue
        target = args.out / path.with_suffix(SUFFIX[args.to]).name
        data = convert(release, path.name, args.to)
        if isinstance(data, bytes):
            target.write_bytes(data)
        else:
            target.write_text(data, encoding="utf-8")
        written += 1
    if args.questions:
        rewrite_questions(args.questions[0], args.questions[1], args.to)
    print(f"benchmarks.reformat: wrote {written} {args.to} files to {args.out}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
