"""index.load on the same release in other formats: PDF lines and pages, HTML pages of other sites, Markdown.

Every fixture is fictional and written here (or generated in tmp_path). The PDFs are
written by hand (absolutely positioned lines, as a word processor or a browser's print
lays them out), so that line breaks, page headers and footers are where a real PDF has them.
"""
from __future__ import annotations

import sys
from pathlib import Path

import pytest

PROJECT_ROOT = Path(__file__).resolve().parents[1]
if str(PROJECT_ROOT) not in sys.path:  # the project is not installed in the venv
    sys.path.insert(0, str(PROJECT_ROOT))

from helpers.files import load, pdf_bytes, pdf_string, write  # noqa: E402
from index.load import parse_release_text  # noqa: E402
from index.release import Release  # noqa: E402

PAGE_HEIGHT = 842


def positioned_pdf(pages: list[list[tuple[float, float, str]]], *, info: str = "") -> bytes:
    """A PDF whose pages hold (baseline y from the bottom, font size, text) lines, each placed with Tm."""
    objects: list[bytes] = [b"<< /Type /Catalog /Pages 2 0 R >>", b""]
    kids = []
    font_number = 3
    objects.append(b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica /Encoding /WinAnsiEncoding >>")
    for lines in pages:
        ops = ["BT"]
        for y, size, text in lines:
            ops += [f"/F1 {size:g} Tf", f"1 0 0 1 72 {y:g} Tm", f"({pdf_string(text)}) Tj"]
        ops.append("ET")
        stream = "\n".join(ops).encode("latin-1")
        objects.append(b"<< /Length %d >>\nstream\n" % len(stream) + stream + b"\nendstream")
        content_number = len(objects)
        objects.append(
            b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 %d] " % PAGE_HEIGHT
            + b"/Resources << /Font << /F1 %d 0 R >> >> /Contents %d 0 R >>" % (font_number, content_number)
        )
        kids.append(len(objects))
    objects[1] = b"<< /Type /Pages /Kids [%s] /Count %d >>" % (
        " ".join(f"{k} 0 R" for k in kids).encode(),
        len(kids),
    )
    objects.append(f"<< {info} >>".encode("latin-1"))
    return pdf_bytes(objects, info=len(objects))


def body_lines(texts: list[str], *, top: float = 760, size: float = 10, leading: float = 13,
               gap: float = 9) -> list[tuple[float, float, str]]:
    """Lines of body text from ``top`` down; an empty string is a paragraph gap."""
    y, out = top, []
    for text in texts:
        if not text:
            y -= gap
            continue
        out.append((y, size, text))
        y -= leading
    return out


# Two pages of a fictional press release, wrapped as a word processor wraps it: a hyphenated
# word at a line end, a compound hyphen at a line end, a sentence running over the page break,
# a running header with the date and a footer with the page number on every page.
PAGE_1 = [
    (812, 8, "Example Press Office - Press release                         12 March 2021"),
    (770, 16, "Fictional Council opens a training centre in"),
    (750, 16, "Testville"),
    (728, 9, "Published: 12 March 2021 | Last updated: 13 March 2021"),
    *body_lines([
        "The Fictional Council of Allies opened its new training centre in Testville on",
        "Wednesday. The centre will host exercises for the imaginary coastguards of",
        "the Example Islands, and its first course on weather satellites starts in the",
        "spring. The invented budget of the centre is 42 million credits, shared by",
        "all twelve members of the Council.",
        "",
        "The chair of the Council, Ms Jane Placeholder, said the centre was a long-",
        "awaited step. \"Training together is the surest way to work together,\" she",
        "said, adding that the non-",
        "combat courses would be open to every partner of the Council. Non-combat courses",
        "are planned for the whole of 2031, and a second centre in Mockford is under",
    ], top=700),
    (30, 8, "Page 1 of 2"),
]
PAGE_2 = [
    (812, 8, "Example Press Office - Press release                         12 March 2021"),
    *body_lines([
        "study for the following year.",
        "",
        "The Council will meet again in Sampletown in May to review the first courses.",
    ], top=760),
    (30, 8, "Page 2 of 2"),
]
TITLE = "Fictional Council opens a training centre in Testville"


def test_pdf_paragraphs_are_rejoined_and_furniture_removed(tmp_path: Path) -> None:
    pdf = positioned_pdf([PAGE_1, PAGE_2], info=f"/Title ({TITLE}) /CreationDate (D:20210312090000Z)")
    release = load(write(tmp_path / "centre.pdf", pdf))
    assert (release.title, release.date, release.updated) == (TITLE, "2021-03-12", "2021-03-13")
    paragraphs = release.text.split("\n\n")
    assert paragraphs[0].startswith("The Fictional Council of Allies opened its new training centre in Testville on "
                                    "Wednesday. The centre")
    assert paragraphs[0].endswith("shared by all twelve members of the Council.")
    # "long-" / "awaited": the document writes no "longawaited", a hyphenated word cut at the line end
    # ("non-" / "combat") keeps its hyphen because the document writes "Non-combat" too
    assert "was a long-awaited step" not in paragraphs[1] and "was a longawaited step" in paragraphs[1]
    assert "the non-combat courses would be open" in paragraphs[1]
    # the sentence runs on over the page break; the page header and footers are gone
    assert paragraphs[1].endswith("a second centre in Mockford is under study for the following year.")
    assert paragraphs[2] == "The Council will meet again in Sampletown in May to review the first courses."
    assert len(paragraphs) == 3
    assert "Page 1" not in release.text and "Example Press Office" not in release.text
    assert "Published" not in release.text


def test_pdf_printed_from_a_browser(tmp_path: Path) -> None:
    """A print stamp in the header is the day the file was made: no release date; the footer's URL is the release's."""
    stamp = "30/11/2026, 14:05                                 Fictional Council opens a training centre"
    url = "https://news.example.org/council/training-centre"

    def page(number: int, lines: list[tuple[float, float, str]]) -> list[tuple[float, float, str]]:
        return [(825, 7, stamp), *lines, (12, 7, f"{url}                               {number}/2")]

    pdf = positioned_pdf(
        [
            page(1, [(790, 14, TITLE), *body_lines([
                "The Fictional Council of Allies opened its new training centre in Testville to",
                "train the imaginary coastguards of the Example Islands. The centre has room",
                "for two hundred students.",
            ], top=765)]),
            page(2, body_lines(["The Council will meet again in Sampletown in May to review the first courses."],
                               top=790)),
        ],
        info=f"/Title ({TITLE}) /CreationDate (D:20261130140500Z)",
    )
    release = load(write(tmp_path / "printed.pdf", pdf))
    assert (release.title, release.date, release.url) == (TITLE, None, url)
    assert release.text == (
        "The Fictional Council of Allies opened its new training centre in Testville to train the imaginary "
        "coastguards of the Example Islands. The centre has room for two hundred students.\n\n"
        "The Council will meet again in Sampletown in May to review the first courses."
    )


def test_pdf_single_page_keeps_a_top_line_that_is_no_furniture(tmp_path: Path) -> None:
    """Only lines in the margin band that look like furniture go: a one-page PDF's first body line stays."""
    pdf = positioned_pdf([[(800, 10, "Fictional ministers meet in Testville"),
                           (787, 10, "The ministers of the Example Union met in Testville on Monday.")]])
    release = load(write(tmp_path / "one.pdf", pdf))
    assert release.title == "Fictional ministers meet in Testville"
    assert release.text == "The ministers of the Example Union met in Testville on Monday."


def test_pdf_dateline_comes_before_the_creation_date(tmp_path: Path) -> None:
    """A PDF's creation date is the day the file was made: a dateline in the text says more."""
    pdf = positioned_pdf([body_lines(["Fictional ministers meet in Testville", "",
                                      "TESTVILLE, 16 May 2021 - The ministers of the Example Union met on Monday."])],
                         info="/Title (Fictional ministers meet in Testville) /CreationDate (D:20261130140500Z)")
    release = load(write(tmp_path / "dated.pdf", pdf))
    assert (release.date, release.date_source) == ("2021-05-16", "dateline")


# --------------------------------------------------------------------------- date lines of other sites


@pytest.mark.parametrize(
    "line, date, updated",
    [
        ("Published: 12 March 2021", "2021-03-12", None),
        ("Publié le 12 mars 2021", "2021-03-12", None),
        ("Date: 2021-03-12", "2021-03-12", None),
        ("Posted on March 12, 2021", "2021-03-12", None),
        ("Published: 2021-03-12 · Last updated: 2021-03-13", "2021-03-12", "2021-03-13"),
        ("12 mars 2021 | Mis à jour le : 13 mars 2021", "2021-03-12", "2021-03-13"),
    ],
)
def test_date_line_under_the_title(tmp_path: Path, line: str, date: str, updated: str | None) -> None:
    release = load(write(tmp_path / "r.txt", f"Fictional Council meets\n\n{line}\n\nThe Council met in Testville."))
    assert (release.title, release.date, release.updated, release.text) == (
        "Fictional Council meets", date, updated, "The Council met in Testville.")


def test_published_as_a_word_in_a_sentence_is_body_text(tmp_path: Path) -> None:
    release = load(write(tmp_path / "r.txt", "Fictional Council meets\n\nPublished 12 March 2021 by the Council, "
                                           "the report covers the year.\n\nMore text."))
    assert release.text.startswith("Published 12 March 2021 by the Council")


# --------------------------------------------------------------------------- Markdown


def test_markdown_setext_title_and_closing_source_link(tmp_path: Path) -> None:
    text = ("Fictional Council meets in Testville\n====================================\n\n*12 March 2021*\n\n"
            "The Council met in Testville.\n\nBudget\n------\n\nThe budget is 42 credits.\n\n"
            "[Source](https://news.example.org/council)\n")
    release = load(write(tmp_path / "r.md", text))
    assert (release.title, release.date, release.url) == (
        "Fictional Council meets in Testville", "2021-03-12", "https://news.example.org/council")
    assert release.text == "The Council met in Testville.\n\nBudget\n\nThe budget is 42 credits."


@pytest.mark.parametrize("last", ["Source: <https://news.example.org/council>",
                                  "Source : https://news.example.org/council", "https://news.example.org/council"])
def test_closing_source_line_in_text(last: str) -> None:
    release = parse_release_text(f"Fictional Council meets\n\nThe Council met in Testville.\n\n{last}", "r.txt")
    assert (release.url, release.text) == ("https://news.example.org/council", "The Council met in Testville.")


def test_a_closing_sentence_with_a_link_stays() -> None:
    text = "Fictional Council meets\n\nThe Council met.\n\nMore on the Council at https://news.example.org/council"
    release = parse_release_text(text, "r.txt")
    assert release.url is None and release.text.endswith("https://news.example.org/council")


def test_front_matter_hugo_and_jekyll_key_names(tmp_path: Path) -> None:
    text = ("---\ntitle: Fictional Council meets\npublishDate: 2021-03-12T09:00:00+01:00\n"
            "lastmod: 2021-03-13\ncanonical_url: https://news.example.org/council\n---\n\nThe Council met.\n")
    release = load(write(tmp_path / "r.md", text))
    assert (release.date, release.updated, release.url) == ("2021-03-12", "2021-03-13",
                                                            "https://news.example.org/council")


def test_repeated_title_then_nato_bullets_under_a_key_header(tmp_path: Path) -> None:
    """The dev2 layout: a header, the title again, then the nato.int date bullets; none of it is body."""
    text = ("Fictional Council meets\ndate: 2021-03-12\nlang: en\n\nFictional Council meets\n\n"
            "  • 12 Mar. 2021 -\n  • |\n  • Last updated: 13 Mar. 2021 10:40\n\nThe Council met in Testville.")
    release = load(write(tmp_path / "r.txt", text))
    assert (release.date, release.date_source, release.updated, release.text) == (
        "2021-03-12", "header", "2021-03-13", "The Council met in Testville.")


# --------------------------------------------------------------------------- HTML of other sites


def test_html_canonical_url_teaser_credit_and_link_list_inside_the_article(tmp_path: Path) -> None:
    page = """<!DOCTYPE html><html lang="en"><head><meta charset="utf-8">
<title>Fictional Council meets | Example News Portal</title>
<link rel="canonical" href="https://news.example.org/council">
<meta property="article:published_time" content="2021-03-12T09:00:00+00:00"></head>
<body><nav><a href="/">Home</a> <a href="/news">News</a></nav>
<main><article><h1>Fictional Council meets</h1>
<p>The Fictional Council of Allies met in Testville on Wednesday to open a training centre for coastguards.</p>
<p>The centre will host its first course on weather satellites in the spring of 2031.</p>
<p><strong>Read also:</strong> <a href="/news/2">Imaginary coastguard exercise held off Testland</a></p>
<p>The Council will meet again in Sampletown in May to review the first courses.</p>
<p>Photo: Example picture library</p>
<h3>More on this topic</h3>
<ul><li><a href="/n/4">Fictional envoy visits the Dummy Islands</a></li>
<li><a href="/n/5">Invented cyber drill links three pretend capitals</a></li></ul>
</article>
<aside><h2>Related news</h2><ul><li><a href="/n/3">Sample Council publishes its made-up report</a></li></ul></aside>
</main><footer>© 2031 Example News Portal. All rights reserved.</footer></body></html>"""
    release = load(write(tmp_path / "r.html", page))
    assert (release.title, release.date, release.url) == ("Fictional Council meets", "2021-03-12",
                                                          "https://news.example.org/council")
    assert "Read also" not in release.text and "Imaginary coastguard" not in release.text
    assert "Related news" not in release.text and "All rights reserved" not in release.text
    assert "Photo" not in release.text and "More on this topic" not in release.text
    assert "Dummy Islands" not in release.text and "pretend capitals" not in release.text
    assert release.text.endswith("to review the first courses.")


def test_html_page_that_only_says_when_it_was_updated_has_no_publication_date(tmp_path: Path) -> None:
    page = """<html lang="en"><head><title>Fictional partnership tools</title>
<meta property="article:modified_time" content="2021-03-13T10:00:00+00:00"></head><body><article>
<h1>Fictional partnership tools</h1><p>Last updated: <time datetime="2021-03-13">13 March 2021</time></p>
<p>The Example Union offers its imaginary partners a menu of training courses and exercises, from weather
satellites to coastguard drills, each of them open to every member of the invented partnership.</p>
<p>Partners choose the courses they need, and the Union reviews the menu every year in Testville with the
chiefs of its fictional coastguards and the ministers of the Example Islands.</p>
</article></body></html>"""
    release = load(write(tmp_path / "topic.html", page))
    assert (release.date, release.updated) == (None, "2021-03-13")


# --------------------------------------------------------------------------- benchmarks.reformat round trip


RELEASE = Release(
    source="fictional.txt",
    title="Fictional Council opens a training centre in Testville",
    text=("The Fictional Council of Allies opened its new training centre in Testville on Wednesday. The centre "
          "will host exercises for the imaginary coastguards of the Example Islands, and its first course on "
          "weather satellites starts in the spring.\n\nThe chair of the Council, Ms Jane Placeholder, said the "
          "centre was a long-awaited step for all twelve members of the Council."),
    lang="en",
    date="2021-03-12",
    url="https://news.example.org/council/training-centre",
)


@pytest.mark.parametrize("fmt", ["html", "md", "md-front", "pdf"])
@pytest.mark.parametrize("name", ["a-release.txt", "b-release.txt", "c-release.txt", "d-release.txt"])
def test_reformatted_release_reads_back_the_same(tmp_path: Path, fmt: str, name: str) -> None:
    if fmt == "pdf":
        pytest.importorskip("fpdf")
        if not Path("/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf").exists():
            pytest.skip("no DejaVu font (setup.sh --browser installs fonts-dejavu-core)")
    from benchmarks.reformat import SUFFIX, convert

    data = convert(RELEASE, name, fmt)
    release = load(write(tmp_path / Path(name).with_suffix(SUFFIX[fmt]).name, data))
    assert (release.title, release.date, release.lang) == (RELEASE.title, RELEASE.date, RELEASE.lang)
    if fmt != "pdf":  # a PDF made by a word processor carries no URL
        assert release.url == RELEASE.url
    assert release.text.split() == RELEASE.text.split()
