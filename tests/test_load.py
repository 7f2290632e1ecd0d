"""index.load: every kind of source becomes a Release, every bad one exactly one Failure.

Fixtures are generated in tmp_path or served from a local HTTP server on
127.0.0.1; the development corpus is read in place (never copied into the repo).
"""
from __future__ import annotations

import os
import re
import socket
import sys
import threading
import time
from collections import Counter
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

PROJECT_ROOT = Path(__file__).resolve().parents[1]
if str(PROJECT_ROOT) not in sys.path:  # the project is not installed in the venv
    sys.path.insert(0, str(PROJECT_ROOT))

from helpers.files import pdf_bytes, pdf_string  # noqa: E402
from index.load import (  # noqa: E402
    SUPPORTED_SUFFIXES,
    SourceError,
    decode_bytes,
    detect_lang,
    is_url,
    list_release_files,
    load_file,
    load_url,
    parse_date,
    parse_feed,
    parse_release_text,
    read_sources,
)
from index.release import Failure, Release, printable_name  # noqa: E402

CORPUS = Path(__file__).resolve().parents[2] / "shared" / "corpus"
CORPUS_FILES = sorted(CORPUS.glob("*.txt")) if CORPUS.is_dir() else []

# A header bullet line of the nato.int layout: date, separator or "last updated".
HEADER_LINE = re.compile(r"^\s*•\s*(\d{1,2} \w+\.? \d{4} -|\||Last updated:|Mis à jour le:)")

RELEASE_BODY = (
    "Le secrétaire général de l’OTAN a déclaré : « Nous sommes prêts à agir. »\n"
    "\n"
    "Les Alliés ont décidé d’investir 100 € par habitant – une décision « historique » pour la défense "
    "européenne et la sécurité de l’Alliance, a-t-il ajouté. Les ministres se réuniront à nouveau en été."
)
RELEASE_TEXT = (
    "Réunion des ministres de la Défense à Bruxelles\n"
    "\n"
    "  • 11 Jun. 2024 -\n"
    "  • |\n"
    "  • Mis à jour le: 20 Jun. 2024 12:12\n"
    "\n" + RELEASE_BODY + "\n"
)
ENGLISH_TEXT = (
    "NATO Defence Ministers meet in Brussels\n"
    "\n"
    "  • 14 Jun. 2023 -\n"
    "  • |\n"
    "  • Last updated: 15 Jun. 2023 11:21\n"
    "\n"
    "NATO Defence Ministers met in Brussels on Thursday to discuss support for Ukraine.\n"
    "\n"
    "The Secretary General said that Allies would step up their deterrence and defence.\n"
)


def releases(results: list[Release | Failure]) -> list[Release]:
    return [result for result in results if isinstance(result, Release)]


def failures(results: list[Release | Failure]) -> dict[str, str]:
    return {result.source: result.reason for result in results if isinstance(result, Failure)}


def write(path: Path, data: bytes | str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(data, str):
        path.write_text(data, encoding="utf-8")
    else:
        path.write_bytes(data)
    return path


# --------------------------------------------------------------------------- a minimal PDF writer


def make_pdf(lines: list[str], *, title: str | None = None, created: str | None = None) -> bytes:
    """One page of Helvetica text, one line per entry, with a correct xref table."""
    ops = ["BT", "/F1 12 Tf", "14 TL", "72 720 Td", *(f"({pdf_string(line)}) Tj T*" for line in lines), "ET"]
    stream = "\n".join(ops).encode("latin-1") if lines else b""
    info = []
    if title:
        info.append(f"/Title ({pdf_string(title)})")
    if created:
        info.append(f"/CreationDate ({created})")
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] "
        b"/Resources << /Font << /F1 5 0 R >> >> /Contents 4 0 R >>",
        b"<< /Length %d >>\nstream\n" % len(stream) + stream + b"\nendstream",
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica /Encoding /WinAnsiEncoding >>",
        ("<< " + " ".join(info) + " >>").encode("latin-1"),
    ]
    return pdf_bytes(objects, info=6)


# --------------------------------------------------------------------------- the development corpus


@pytest.mark.parametrize(
    "path",
    [pytest.param(path, id=path.name) for path in CORPUS_FILES]
    or [pytest.param(None, marks=pytest.mark.skip(reason=f"no corpus at {CORPUS}"))],
)
def test_corpus_file_parses(path: Path) -> None:
    release = load_file(path, max_bytes=20_000_000)
    first_line = path.read_text(encoding="utf-8").split("\n")[0]

    assert release.source == str(path.resolve())
    assert release.url is None
    assert release.title == first_line
    assert release.lang == ("fr" if "-fr-" in path.name else "en")
    if path.name.startswith("undated-"):
        assert release.date is None
    else:
        assert release.date == path.name[:10]
    assert release.text.split("\n")[0] != release.title  # the title line is not body text
    assert not any(HEADER_LINE.match(line) for line in release.text.split("\n"))
    assert release.text == release.text.strip()
    assert "\n\n\n" not in release.text and "\r" not in release.text


@pytest.mark.parametrize(
    "name, updated",
    [
        ("2024-06-11-fr-reunion-virtuelle-chefs-etat-major-partenaires.txt", "2024-06-20"),
        ("undated-en-resilience-committee.txt", "2022-10-07"),
        ("undated-fr-programme-sps-page-thematique.txt", "2023-04-17"),
        ("2019-08-05-en-sg-visit-australia-new-zealand.txt", "2019-08-08"),
        ("2012-06-04-en-new-zealand-partnership-accord.txt", None),
        ("undated-fr-nouveau-chapitre-afghanistan.txt", None),
    ],
)
def test_corpus_updated_dates(name: str, updated: str | None) -> None:
    path = CORPUS / name
    if not path.is_file():
        pytest.skip(f"{path} absent")
    assert load_file(path, max_bytes=20_000_000).updated == updated


def test_corpus_header_and_body_boundaries() -> None:
    if not CORPUS.is_dir():
        pytest.skip(f"no corpus at {CORPUS}")
    ranged = load_file(CORPUS / "2019-08-05-en-sg-visit-australia-new-zealand.txt", max_bytes=20_000_000)
    assert ranged.date == "2019-08-05"  # a date range: the first date
    assert ranged.text.startswith("NATO Secretary General Jens Stoltenberg paid his respects")
    topic = load_file(CORPUS / "undated-en-partnership-interoperability-initiative.txt", max_bytes=20_000_000)
    assert topic.text.startswith("The Partnership Interoperability Initiative (PII)")
    assert "  • NATO partners contribute" in topic.text  # body bullets are body text
    bare = load_file(CORPUS / "undated-fr-force-de-reaction-otan-prete.txt", max_bytes=20_000_000)
    assert bare.text.startswith("Sous couvert de l’obscurité")
    assert (bare.date, bare.updated) == (None, None)


def test_corpus_folder_reads_every_release_and_skips_housekeeping() -> None:
    if not CORPUS.is_dir():
        pytest.skip(f"no corpus at {CORPUS}")
    results = list(read_sources([str(CORPUS)]))
    assert failures(results) == {}
    assert sorted(release.source for release in releases(results)) == [str(path.resolve()) for path in CORPUS_FILES]
    assert not any(release.source.endswith("SOURCES.md") for release in releases(results))


# --------------------------------------------------------------------------- plain text layout


def test_parse_release_text_layout() -> None:
    release = parse_release_text(RELEASE_TEXT.replace("\n", "\r\n"), "/x/a.txt", url="https://www.nato.int/x")
    assert release.title == "Réunion des ministres de la Défense à Bruxelles"
    assert (release.date, release.updated, release.lang) == ("2024-06-11", "2024-06-20", "fr")
    assert release.text == RELEASE_BODY
    assert release.url == "https://www.nato.int/x"


def test_parse_release_text_normalises_body() -> None:
    text = "Title line\n\n  • 01 Dec. 2014 -\n\nFirst paragraph.   \r\n\r\n\r\n\r\nSecond paragraph.\t\n\n\n"
    release = parse_release_text(text, "s")
    assert release.text == "First paragraph.\n\nSecond paragraph."
    assert release.date == "2014-12-01"


def test_parse_release_text_without_layout() -> None:
    release = parse_release_text("A simple title\nFirst line of body.\nSecond line.", "s")
    assert (release.title, release.text, release.date) == ("A simple title", "First line of body.\nSecond line.", None)

    single = parse_release_text("Only one line of text about NATO.", "s")
    assert single.title == single.text == "Only one line of text about NATO."

    long_line = "word " * 100
    long = parse_release_text(long_line + "\n\nMore text.", "s")
    assert len(long.title) <= 201 and long.title.endswith("…")
    assert long.text.startswith("word word")  # a paragraph is never lost to the title


def test_parse_release_text_refuses_header_without_body() -> None:
    with pytest.raises(SourceError, match="no body text"):
        parse_release_text("Title\n\n  • 11 Jun. 2024 -\n  • |\n", "s")


@pytest.mark.parametrize(
    "text, expected",
    [
        ("11 Jun. 2024", "2024-06-11"),
        ("05 Aug. 2019", "2019-08-05"),
        ("11 juin 2024", "2024-06-11"),
        ("1er décembre 2014", "2014-12-01"),
        ("3 février 2020", "2020-02-03"),
        ("22 août 2014", "2014-08-22"),
        ("4 September 2014", "2014-09-04"),
        ("June 11, 2024", "2024-06-11"),
        ("2024-06-11", "2024-06-11"),
        ("31 Feb. 2024", None),
        ("11 Foo 2024", None),
        ("", None),
    ],
)
def test_parse_date(text: str, expected: str | None) -> None:
    assert parse_date(text) == expected


def test_french_month_names_in_header() -> None:
    text = "Titre du communiqué\n\n  • 1er décembre 2014 -\n  • Mis à jour le: 3 février 2015 10:00\n\nCorps du texte en français pour l'OTAN."
    release = parse_release_text(text, "s")
    assert (release.date, release.updated) == ("2014-12-01", "2015-02-03")


# --------------------------------------------------------------------------- languages


@pytest.mark.parametrize(
    "text, lang",
    [
        ("The North Atlantic Council met today to discuss the security situation in Europe.", "en"),
        ("Le Conseil de l'Atlantique Nord s'est réuni aujourd'hui pour discuter de la situation.", "fr"),
        ("Der Nordatlantikrat ist heute zusammengetreten, um die Sicherheitslage zu erörtern.", "de"),
        ("", "en"),
        ("12345 67890", "en"),
    ],
)
def test_detect_lang(text: str, lang: str) -> None:
    assert detect_lang(text) == lang
    assert detect_lang(text) == lang  # deterministic


# --------------------------------------------------------------------------- encodings


@pytest.mark.parametrize(
    "encoding",
    ["cp1252", "utf-16", "utf-8-sig", "utf-8", "utf-32"],
)
def test_encodings_decode_exactly(tmp_path: Path, encoding: str) -> None:
    path = write(tmp_path / f"release-{encoding}.txt", RELEASE_TEXT.encode(encoding))
    release = load_file(path, max_bytes=1_000_000)
    assert release.title == "Réunion des ministres de la Défense à Bruxelles"
    assert release.text == RELEASE_BODY
    assert release.lang == "fr"


def test_latin1_decodes_exactly(tmp_path: Path) -> None:
    text = "Réunion à Bruxelles\n\nLes ministres ont décidé de renforcer la défense collective de l'Alliance, déjà très présente à l'été."
    release = load_file(write(tmp_path / "latin1.txt", text.encode("latin-1")), max_bytes=1_000_000)
    assert release.title == "Réunion à Bruxelles"
    assert release.text == text.split("\n\n", 1)[1]


@pytest.mark.parametrize(
    "text",
    [
        "Café",
        "L’OTAN – « défense » coûte 5 €… déjà",
        "Le secrétaire général de l’OTAN a déclaré « Nous sommes prêts » — coût : 100 €.",
    ],
)
def test_decode_bytes_cp1252_round_trip(text: str) -> None:
    assert decode_bytes(text.encode("cp1252")) == text


def test_decode_bytes_other_scripts() -> None:
    russian = "Генеральный секретарь НАТО встретился с премьер-министром Грузии в штаб-квартире."
    assert decode_bytes(russian.encode("cp1251")) == russian
    polish = "Sekretarz generalny NATO spotkał się z premierem. Może władze będą zadowolone z tej współpracy."
    assert decode_bytes(polish.encode("cp1250")) == polish
    assert decode_bytes("déjà".encode("cp1252"), hint="cp1252") == "déjà"
    assert decode_bytes("l’OTAN".encode("cp1252"), hint="ISO-8859-1") == "l’OTAN"  # as browsers read it


# --------------------------------------------------------------------------- folders


def test_list_release_files(tmp_path: Path) -> None:
    for name in [
        "b.txt", "a.md", "sub/c.html", "sub/deeper/d.PDF", "e.htm", "f.markdown",
        "README.md", "sources.txt", "License.txt", "CHANGELOG.md",
        ".hidden.txt", ".git/config.txt", "sub/.cache/x.txt", "notes.docx", "data.json",
    ]:
        write(tmp_path / name, "x")
    found = [path.relative_to(tmp_path).as_posix() for path in list_release_files(tmp_path)]
    assert found == ["a.md", "b.txt", "e.htm", "f.markdown", "sub/c.html", "sub/deeper/d.PDF"]


def test_explicit_files_are_never_skipped(tmp_path: Path) -> None:
    readme = write(tmp_path / "README.md", "# Notes about the corpus\n\nThese notes describe where the releases come from.")
    hidden = write(tmp_path / ".hidden.txt", "Hidden title\n\nHidden body text about NATO.")
    results = list(read_sources([str(readme), str(hidden)]))
    assert [result.title for result in releases(results)] == ["Notes about the corpus", "Hidden title"]
    assert list(read_sources([str(tmp_path)])) == [
        Failure(str(tmp_path.resolve()), f"no release files in folder (looked for {', '.join(SUPPORTED_SUFFIXES)})")
    ]


def test_same_source_twice_yields_once(tmp_path: Path) -> None:
    path = write(tmp_path / "a.txt", ENGLISH_TEXT)
    results = list(read_sources([str(path), str(tmp_path), f"  {path}  "]))
    assert [result.source for result in results] == [str(path.resolve())]


# --------------------------------------------------------------------------- bad files


def test_bad_files_fail_one_by_one(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    good = write(tmp_path / "good.txt", ENGLISH_TEXT)
    empty = write(tmp_path / "empty.txt", b"")
    blank = write(tmp_path / "blank.md", b" \n\n \t\n")
    nul = write(tmp_path / "binary.txt", b"GIF89a\x00\x01\x02\x03" * 50)
    controls = write(tmp_path / "controls.txt", bytes(range(1, 9)) * 200 + b"some text")
    big = tmp_path / "big.txt"
    with big.open("wb") as handle:  # sparse: instant, no 50 MB written
        handle.truncate(52_400_000)
    corrupt_pdf = write(tmp_path / "corrupt.pdf", b"%PDF-1.4\n" + bytes(range(256)) * 8)
    truncated_pdf = write(tmp_path / "truncated.pdf", make_pdf(["Some text"])[:200])
    not_pdf = write(tmp_path / "not-really.pdf", "This is plain text with a .pdf suffix.")
    textless_pdf = write(tmp_path / "scan.pdf", make_pdf([]))
    unsupported = write(tmp_path / "release.docx", b"PK\x03\x04 a word document")
    no_suffix = write(tmp_path / "release", "Title\n\nBody.")
    empty_html = write(tmp_path / "empty.html", "<html><head><script>alert(1)</script></head><body></body></html>")
    missing = tmp_path / "missing.txt"

    read_bytes = Path.read_bytes

    def guarded_read_bytes(self: Path) -> bytes:
        assert self != big.resolve(), "a file over the limit must be refused before it is read"
        return read_bytes(self)

    monkeypatch.setattr(Path, "read_bytes", guarded_read_bytes)
    sources = [good, empty, blank, nul, controls, big, corrupt_pdf, truncated_pdf, not_pdf, textless_pdf,
               unsupported, no_suffix, empty_html, missing]
    results = list(read_sources([str(path) for path in sources]))

    assert [release.source for release in releases(results)] == [str(good.resolve())]
    suffixes = ", ".join(SUPPORTED_SUFFIXES)
    expected = {
        empty: "empty file",
        blank: "empty file (only whitespace)",
        nul: "binary file, not text",
        controls: "binary file, not text",
        big: "file too large (52.4 MB, limit 20 MB)",
        corrupt_pdf: "corrupt or unreadable PDF",
        truncated_pdf: "corrupt or unreadable PDF",
        not_pdf: "corrupt or unreadable PDF (no PDF header)",
        textless_pdf: "no extractable text in PDF (scanned image?)",
        unsupported: f"unsupported file type '.docx' (supported: {suffixes})",
        no_suffix: f"unsupported file type (no suffix) (supported: {suffixes})",
        empty_html: "no text found in HTML",
        missing: "no such file or directory",
    }
    assert failures(results) == {str(path.resolve()): reason for path, reason in expected.items()}
    assert len(results) == len(sources)


def test_load_file_raises_source_error(tmp_path: Path) -> None:
    with pytest.raises(SourceError, match="^no such file or directory$"):
        load_file(tmp_path / "nope.txt", max_bytes=100)
    with pytest.raises(SourceError, match=r"^file too large \(0.0002 MB, limit 0.0001 MB\)$"):
        load_file(write(tmp_path / "a.txt", "x" * 200), max_bytes=100)


def test_every_reason_is_one_line(tmp_path: Path) -> None:
    bad = [write(tmp_path / "a.pdf", b"%PDF-1.7\n1 0 obj\n<<\n/Type /Catalog\n>>\ntrailer\n<< /Root 9 0 R >>\n"),
           write(tmp_path / "b.html", "<<<>>>"), tmp_path / "c\nd.txt", "ftp://example.org/x.txt", ""]
    results = list(read_sources([str(item) for item in bad]))
    assert len(results) == len(bad)
    for result in results:
        assert isinstance(result, Failure)
        assert "\n" not in result.reason and "Traceback" not in result.reason and result.reason
        assert str(result) == f"failed {printable_name(result.source)}: {result.reason}" and "\n" not in str(result)


def test_undecodable_file_name(tmp_path: Path) -> None:
    name = os.fsdecode(b"caf\xe9.txt")
    try:
        write(tmp_path / name, ENGLISH_TEXT)
    except (OSError, UnicodeEncodeError):
        pytest.skip("the file system refuses non-UTF-8 names")
    [failure] = read_sources([str(tmp_path)])
    assert isinstance(failure, Failure)
    assert failure.reason == "file name is not valid UTF-8; rename the file"
    failure.source.encode("utf-8")  # printable


# --------------------------------------------------------------------------- Markdown


def test_markdown_with_front_matter(tmp_path: Path) -> None:
    text = (
        "---\n"
        "title: \"Allies agree on a new plan\"\n"
        "date: 2024-06-11\n"
        "updated: 20 Jun. 2024\n"
        "lang: en-GB\n"
        "url: https://www.nato.int/cps/en/natohq/news_1.htm\n"
        "---\n"
        "# Allies agree on a new plan\n"
        "\n"
        "Allies **agreed** on a *new* plan, said the [Secretary General](https://nato.int/sg).\n"
        "\n"
        "![a photo](photo.jpg)\n"
        "## Next steps\n"
        "\n"
        "Work will continue under_score names.\n"
    )
    release = load_file(write(tmp_path / "plan.md", text), max_bytes=1_000_000)
    assert release.title == "Allies agree on a new plan"
    assert (release.date, release.updated, release.lang) == ("2024-06-11", "2024-06-20", "en")
    assert release.url == "https://www.nato.int/cps/en/natohq/news_1.htm"
    assert release.text == (
        "Allies agreed on a new plan, said the Secretary General.\n\nNext steps\n\nWork will continue under_score names."
    )


def test_markdown_without_front_matter(tmp_path: Path) -> None:
    text = "Some intro line\n\n# The real title\n\nThe body of the release, with _emphasis_ and `code`.\n"
    release = load_file(write(tmp_path / "a.markdown", text), max_bytes=1_000_000)
    assert release.title == "The real title"
    assert release.text == "Some intro line\n\nThe body of the release, with emphasis and code."
    assert release.date is None and release.url is None


def test_markdown_in_nato_layout(tmp_path: Path) -> None:
    text = "# NATO Defence Ministers meet\n\n- 14 Jun. 2023 -\n- |\n- Last updated: 15 Jun. 2023 11:21\n\nMinisters met in Brussels.\n"
    release = load_file(write(tmp_path / "a.md", text), max_bytes=1_000_000)
    assert (release.title, release.date, release.updated) == ("NATO Defence Ministers meet", "2023-06-14", "2023-06-15")
    assert release.text == "Ministers met in Brussels."

    plain = load_file(write(tmp_path / "b.md", ENGLISH_TEXT), max_bytes=1_000_000)
    assert (plain.title, plain.date) == ("NATO Defence Ministers meet in Brussels", "2023-06-14")


# --------------------------------------------------------------------------- HTML

SCRIPTED_HTML = """<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>Allies discuss Black Sea security</title>
<style>body { color: STYLETEXT; } .x::after { content: "STYLECONTENT"; }</style>
<script>alert(1)</script>
<script type="application/ld+json">{"@type": "NewsArticle", "headline": "JSONLD"}</script>
</head><body>
<nav><a href="/">Home</a> | <a href="/news">News</a></nav>
<article>
<h1>Allies discuss Black Sea security</h1>
<p>Secretary General Jens Stoltenberg welcomed the Romanian Prime Minister to NATO Headquarters to address
Black Sea security and the implications of the war for the region.</p>
<script>document.write("SCRIPTTEXT")</script>
<p>Mr Stoltenberg emphasised that NATO is reinforcing its presence from the Black Sea to the Baltic Sea.</p>
<noscript>NOSCRIPTTEXT</noscript>
</article>
<script>var tracking = "SCRIPTTEXT2";</script>
</body></html>"""

NATO_HTML = """<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>NATO - News: Réunion virtuelle, 11-Jun.-2024</title></head>
<body><div class="content">
<h1>Réunion virtuelle des chefs d’état-major</h1>
<ul><li>11 Jun. 2024 -</li><li>|</li><li>Mis à jour le: 20 Jun. 2024 12:12</li></ul>
<p>Le 11 juin 2024, le Comité militaire de l’OTAN a tenu une réunion virtuelle en session des chefs
d’état-major de la défense au siège de l’Organisation, à Bruxelles.</p>
<p>Organisée à l’initiative du président du Comité militaire, cette réunion vise à renforcer
l’interaction entre les partenaires d’opération et les Alliés.</p>
</div></body></html>"""


def test_html_scripts_and_styles_never_reach_the_text(tmp_path: Path) -> None:
    release = load_file(write(tmp_path / "page.html", SCRIPTED_HTML), max_bytes=1_000_000)
    assert release.title == "Allies discuss Black Sea security"
    assert release.text.startswith("Secretary General Jens Stoltenberg welcomed")
    assert "Baltic Sea" in release.text
    for leaked in ("alert", "SCRIPTTEXT", "STYLETEXT", "STYLECONTENT", "JSONLD", "document.write", "color:", "{"):
        assert leaked not in release.text
    assert release.lang == "en"


def test_html_in_nato_layout_and_lang_attribute(tmp_path: Path) -> None:
    release = load_file(write(tmp_path / "nato.htm", NATO_HTML), max_bytes=1_000_000)
    assert release.title == "Réunion virtuelle des chefs d’état-major"
    assert (release.date, release.updated) == ("2024-06-11", "2024-06-20")
    assert release.text.startswith("Le 11 juin 2024")
    assert "Mis à jour" not in release.text
    assert release.lang == "fr"  # the text wins over <html lang="en">


def test_html_in_legacy_encoding(tmp_path: Path) -> None:
    html = SCRIPTED_HTML.replace('charset="utf-8"', 'charset="windows-1252"').replace(
        "Black Sea security and", "Black Sea security – “together” – and"
    )
    release = load_file(write(tmp_path / "cp1252.html", html.encode("cp1252")), max_bytes=1_000_000)
    assert "Black Sea security – “together” – and" in " ".join(release.text.split())


def test_malformed_html_with_text_is_a_release(tmp_path: Path) -> None:
    html = "<html><body><div><p>Unclosed paragraph about NATO defence ministers meeting in Brussels <b>bold <i>text</div></p></span><p>Second para"
    release = load_file(write(tmp_path / "broken.html", html), max_bytes=1_000_000)
    assert "Unclosed paragraph about NATO defence ministers" in release.title + release.text
    assert "Second para" in release.text


# --------------------------------------------------------------------------- PDF


def test_pdf_in_nato_layout(tmp_path: Path) -> None:
    pdf = make_pdf(
        ["NATO test PDF release", "", "• 11 Jun. 2024 -", "• |", "• Last updated: 12 Jun. 2024 09:00", "",
         "Allies met in Brussels (today) to discuss défense – €5.", "Second line of the body."],
        title="Microsoft Word - draft7.docx",
    )
    release = load_file(write(tmp_path / "release.pdf", pdf), max_bytes=1_000_000)
    assert (release.title, release.date, release.updated) == ("NATO test PDF release", "2024-06-11", "2024-06-12")
    # the two body lines have no gap between them: one paragraph, re-joined
    assert release.text == "Allies met in Brussels (today) to discuss défense – €5. Second line of the body."


def test_pdf_metadata_title_and_creation_date(tmp_path: Path) -> None:
    pdf = make_pdf(
        ["NATO Policy Guidelines", "Terrorism is the most direct asymmetric threat to the security of our citizens."],
        title="NATO Policy Guidelines", created="D:20240710093000+02'00'",
    )
    release = load_file(write(tmp_path / "guidelines.pdf", pdf), max_bytes=1_000_000)
    assert (release.title, release.date, release.updated) == ("NATO Policy Guidelines", "2024-07-10", None)
    assert release.text == "Terrorism is the most direct asymmetric threat to the security of our citizens."

    untitled_pdf = write(tmp_path / "untitled.pdf", make_pdf(["First line title", "Body text here."]))
    untitled = load_file(untitled_pdf, max_bytes=1_000_000)
    assert (untitled.title, untitled.text, untitled.date) == ("First line title", "Body text here.", None)


# --------------------------------------------------------------------------- URLs and feeds


class _Site:
    """Routes served by the local test server, and how often each was requested."""

    def __init__(self) -> None:
        self.routes: dict[str, tuple[int, str, bytes]] = {}
        self.hits: Counter[str] = Counter()
        self.base = ""

    def add(
        self, path: str, body: str | bytes, content_type: str = "text/html; charset=utf-8", status: int = 200
    ) -> str:
        self.routes[path] = (status, content_type, body.encode("utf-8") if isinstance(body, str) else body)
        return self.base + path


@pytest.fixture
def site() -> Iterator[_Site]:
    served = _Site()

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802 (http.server's naming)
            served.hits[self.path] += 1
            if self.path == "/slow":
                time.sleep(1.5)
            if self.path == "/redirect":
                self.send_response(302)
                self.send_header("Location", "/page.html")
                self.end_headers()
                return
            status, content_type, body = served.routes.get(self.path, (404, "text/plain", b"not here"))
            try:
                self.send_response(status)
                self.send_header("Content-Type", content_type)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)
            except OSError:
                pass  # the client gave up (timeout test)

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    served.base = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        yield served
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)


def closed_port_url() -> str:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"http://127.0.0.1:{port}/release.html"


def rss(site: _Site, paths: list[str]) -> str:
    items = "".join(
        f"<item><title>Item {path}</title><link>{site.base}{path}</link>"
        f"<pubDate>Tue, 11 Jun 2024 10:00:00 GMT</pubDate></item>"
        for path in paths
    )
    channel = f"<title>NATO news</title><link>{site.base}/</link>{items}"
    return f'<?xml version="1.0"?><rss version="2.0"><channel>{channel}</channel></rss>'


def test_is_url() -> None:
    assert is_url("https://www.nato.int/cps/en/natohq/news_1.htm")
    assert is_url("http://127.0.0.1:8000/feed.xml")
    assert not is_url("/tmp/file.txt") and not is_url("corpus") and not is_url("ftp://x/y") and not is_url("http://")


def test_release_pages_from_urls(site: _Site) -> None:
    html_url = site.add("/page.html", SCRIPTED_HTML)
    text_url = site.add("/release.txt", ENGLISH_TEXT, "text/plain; charset=utf-8")
    legacy_url = site.add("/legacy", RELEASE_TEXT.encode("cp1252"), "text/plain; charset=windows-1252")
    pdf_url = site.add("/doc", make_pdf(["PDF title", "PDF body text."]), "application/pdf")
    results = list(read_sources([html_url, text_url, legacy_url, pdf_url, site.base + "/redirect"], timeout=5))

    assert failures(results) == {}
    page, text, legacy, pdf, redirected = releases(results)
    assert (page.source, page.url, page.title) == (html_url, html_url, "Allies discuss Black Sea security")
    assert "alert" not in page.text and "SCRIPTTEXT" not in page.text
    assert (text.title, text.date, text.updated, text.url) == (
        "NATO Defence Ministers meet in Brussels", "2023-06-14", "2023-06-15", text_url)
    assert not text.text.startswith("NATO Defence Ministers meet in Brussels")
    assert (legacy.text, legacy.lang) == (RELEASE_BODY, "fr")
    assert (pdf.title, pdf.text) == ("PDF title", "PDF body text.")
    assert (redirected.source, redirected.title) == (site.base + "/redirect", page.title)


def test_load_url(site: _Site) -> None:
    url = site.add("/nato.html", NATO_HTML)
    release = load_url(url, timeout=5, max_bytes=1_000_000)
    assert (release.source, release.url, release.date, release.lang) == (url, url, "2024-06-11", "fr")
    with pytest.raises(SourceError, match="^HTTP 404 Not Found$"):
        load_url(site.base + "/missing.html", timeout=5, max_bytes=1_000_000)


def test_rss_feed_skips_known_items_without_fetching_them(site: _Site) -> None:
    site.add("/a.html", SCRIPTED_HTML)
    site.add("/b.txt", ENGLISH_TEXT, "text/plain")
    site.add("/known.html", NATO_HTML)
    site.add("/undated.html", "<html><body><h1>Undated page</h1>"
                              "<p>A page without any date anywhere, only text about the Alliance.</p></body></html>")
    feed_url = site.add("/feed.xml", rss(site, ["/a.html", "/known.html", "/b.txt", "/gone.html", "/undated.html"]),
                        "application/rss+xml")
    known = {site.base + "/known.html"}

    results = list(read_sources([feed_url], timeout=5, is_known=lambda link: link in known))

    assert [release.source for release in releases(results)] == [
        site.base + "/a.html", site.base + "/b.txt", site.base + "/undated.html"]
    assert failures(results) == {site.base + "/gone.html": "HTTP 404 Not Found"}
    assert site.hits["/feed.xml"] == 1
    assert site.hits["/known.html"] == 0
    assert all(release.url == release.source for release in releases(results))
    undated = releases(results)[2]
    assert undated.date == "2024-06-11"  # the feed's pubDate fills in


def test_atom_feed_with_relative_links(site: _Site) -> None:
    site.add("/news/one.html", SCRIPTED_HTML)
    site.add("/news/two.txt", ENGLISH_TEXT, "text/plain")
    atom = (
        '<?xml version="1.0" encoding="utf-8"?><feed xmlns="http://www.w3.org/2005/Atom"><title>NATO</title>'
        '<id>urn:x</id><updated>2024-06-11T00:00:00Z</updated>'
        '<entry><title>One</title><id>urn:1</id><link href="/news/one.html"/><updated>2024-06-11T00:00:00Z</updated></entry>'
        '<entry><title>Two</title><id>urn:2</id><link rel="alternate" href="two.txt"/><updated>2024-06-12T00:00:00Z</updated></entry>'
        "</feed>"
    )
    feed_url = site.add("/news/atom", atom, "application/atom+xml")
    results = list(read_sources([feed_url], timeout=5))
    assert failures(results) == {}
    assert [release.source for release in releases(results)] == [
        site.base + "/news/one.html", site.base + "/news/two.txt"]


def test_feed_detected_by_content_even_as_text_html(site: _Site) -> None:
    site.add("/a.html", SCRIPTED_HTML)
    feed_url = site.add("/feed", rss(site, ["/a.html"]), "text/html")
    assert [result.source for result in read_sources([feed_url], timeout=5)] == [site.base + "/a.html"]


def test_parse_feed_directly() -> None:
    feed = b"<rss version='2.0'><channel><item><link>/x.html</link></item></channel></rss>"
    items = parse_feed(feed, "http://h/feed.xml")
    assert [item.link for item in items] == ["http://h/x.html"]
    with pytest.raises(SourceError, match="not a valid RSS/Atom feed"):
        parse_feed(b"<html><body>no feed</body></html>", "http://h/")


def test_bad_urls_fail_one_by_one(site: _Site) -> None:
    good = site.add("/good.html", SCRIPTED_HTML)
    not_feed = site.add("/data.xml", '<?xml version="1.0"?><root><value>1</value></root>', "application/xml")
    garbage_feed = site.add("/broken.rss", "this is <not> xml at all & never closed", "application/rss+xml")
    empty_feed = site.add("/empty.rss", rss(site, []), "application/rss+xml")
    empty_page = site.add("/blank.html", "<html><body><script>alert(1)</script></body></html>")
    image = site.add("/image", b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", "image/png")
    binary = site.add("/binary.txt", b"GIF89a\x00\x01\x02" * 20, "text/plain")
    server_error = site.add("/error", "boom", "text/plain", status=500)
    missing = site.base + "/missing.html"
    slow = site.base + "/slow"
    unreachable = closed_port_url()

    started = time.monotonic()
    results = list(read_sources(
        [not_feed, missing, unreachable, good, slow, garbage_feed, empty_feed, empty_page, image, binary, server_error],
        timeout=0.5,
    ))
    assert time.monotonic() - started < 5

    assert [release.source for release in releases(results)] == [good]
    reasons = failures(results)
    host = unreachable.split("/")[2]
    assert reasons == {
        not_feed: "not a valid RSS/Atom feed (no items found)",
        missing: "HTTP 404 Not Found",
        unreachable: f"cannot reach {host} (connection refused)",
        slow: "timed out after 0.5 s",
        garbage_feed: "not a valid RSS/Atom feed (cannot parse it as XML)",
        empty_feed: "not a valid RSS/Atom feed (no items found)",
        empty_page: "no text found in HTML",
        image: "unsupported content type 'image/png'",
        binary: "binary file, not text",
        server_error: "HTTP 500 Internal Server Error",
    }
    assert all("\n" not in reason for reason in reasons.values())


def test_response_size_cap(site: _Site) -> None:
    url = site.add("/big.txt", "Title\n\n" + "x" * 5000, "text/plain")
    assert list(read_sources([url], max_bytes=1000, timeout=5)) == [
        Failure(url, "response too large (more than 0.001 MB)")
    ]


def test_files_and_urls_mixed(tmp_path: Path, site: _Site) -> None:
    path = write(tmp_path / "a.txt", ENGLISH_TEXT)
    url = site.add("/page.html", SCRIPTED_HTML)
    results = list(read_sources([str(path), site.base + "/missing", url], timeout=5))
    assert [type(result).__name__ for result in results] == ["Release", "Failure", "Release"]
    assert [result.source for result in results] == [str(path.resolve()), site.base + "/missing", url]
