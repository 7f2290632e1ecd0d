"""index.load: title, dates, language and body from every common layout, in English and French.

Every fixture is fictional and written here (or generated in tmp_path); the dev2
corpus is read from ../shared when present, copied to tmp_path first.
"""
from __future__ import annotations

import re
import shutil
import sys
from pathlib import Path

import numpy as np
import pytest

PROJECT_ROOT = Path(__file__).resolve().parents[1]
if str(PROJECT_ROOT) not in sys.path:  # the project is not installed in the venv
    sys.path.insert(0, str(PROJECT_ROOT))

from helpers.files import load, pdf_bytes, write  # noqa: E402
from helpers.indexing import make_settings  # noqa: E402
from index.chunk import chunk_release  # noqa: E402
from index.embed import BundledStack, Vectors  # noqa: E402
from index.load import parse_release_text, read_sources  # noqa: E402
from index.load.dates import dateline_date, to_iso  # noqa: E402
from index.load.language import declared_lang  # noqa: E402
from index.release import Failure, Release, Skipped  # noqa: E402

DEV2_CORPUS = Path(__file__).resolve().parents[2] / "shared" / "dev2" / "corpus"
NATO_CORPUS = Path(__file__).resolve().parents[2] / "shared" / "corpus"
HEADER_KEY_LINE = re.compile(r"^(url|date|lang|title|source|updated)\s*:", re.IGNORECASE)

EN_BODY = ("The Fictional Council of Allies met in Testville to agree on a new exercise calendar.\n\n"
           "Ministers also reviewed the budget of the imaginary Joint Training Centre.")
FR_BODY = ("Le Conseil fictif des Alliés s’est réuni à Villetest pour arrêter un nouveau calendrier d’exercices.\n\n"
           "Les ministres ont également examiné le budget du Centre imaginaire d’entraînement conjoint.")


def assert_body_only(release: Release) -> None:
    assert not any(HEADER_KEY_LINE.match(line) for line in release.text.split("\n")), release.text
    assert not release.text.startswith("---")
    assert release.text.split("\n")[0].strip() != release.title


# --------------------------------------------------------------------------- YAML front matter


@pytest.mark.parametrize("suffix", [".md", ".txt"])
def test_front_matter_english(tmp_path: Path, suffix: str) -> None:
    text = ("---\ntitle: \"Allies agree a fictional exercise calendar\"\ndate: 2024-05-16\n"
            "updated: 2024-05-20\nurl: https://example.org/news/calendar\nlang: en\ntags: [test, fiction]\n---\n\n"
            + EN_BODY)
    release = load(write(tmp_path / f"calendar{suffix}", text))
    assert release.title == "Allies agree a fictional exercise calendar"
    assert (release.date, release.date_source, release.updated) == ("2024-05-16", "front_matter", "2024-05-20")
    assert (release.lang, release.url) == ("en", "https://example.org/news/calendar")
    assert release.text == EN_BODY
    assert_body_only(release)


def test_front_matter_french_with_written_date_and_heading(tmp_path: Path) -> None:
    text = ("---\nTitre: ignoré\nTitle: Les Alliés arrêtent un calendrier fictif\nDate: \"11 juin 2024\"\n"
            "Lang: fr-FR\n---\n# Les Alliés arrêtent un calendrier fictif\n\n" + FR_BODY)
    release = load(write(tmp_path / "calendrier.md", text))
    assert release.title == "Les Alliés arrêtent un calendrier fictif"
    assert (release.date, release.date_source, release.lang) == ("2024-06-11", "front_matter", "fr")
    assert release.text == FR_BODY


@pytest.mark.parametrize("block", ["title: [unclosed\ndate: 2024-05-16", "date: 2024-13-45", "- a list\n- of items"])
def test_invalid_front_matter_is_one_line_failure(tmp_path: Path, block: str) -> None:
    bad = write(tmp_path / "broken.md", f"---\n{block}\n---\n\n" + EN_BODY)
    (result,) = list(read_sources([str(bad)]))
    assert isinstance(result, Failure) and not isinstance(result, Skipped)
    assert result.source == str(bad)
    assert result.reason.startswith("invalid YAML front matter") and "\n" not in result.reason


# --------------------------------------------------------------------------- key: value header lines


def test_dev2_header_layout_english(tmp_path: Path) -> None:
    title = "Fictional Chiefs of Defence meet in Testville"
    text = f"{title}\ndate: 2023-01-18\nurl: https://example.org/chiefs\nlang: en\n\n{title}\n\n{EN_BODY}\n"
    release = load(write(tmp_path / "016-en-chiefs.txt", text))
    assert (release.title, release.date, release.date_source) == (title, "2023-01-18", "header")
    assert (release.url, release.lang) == ("https://example.org/chiefs", "en")
    assert release.text == EN_BODY   # the title repeated as first body line is metadata, not a passage
    assert_body_only(release)


def test_nato_bullets_under_a_repeated_title_leave_the_body(tmp_path: Path) -> None:
    # a nato.int page saved under a `key: value` header: title again, then the date and "updated" bullets
    title = "Rapport fictif de Villetest"
    text = (f"{title}\ndate: 2014-01-27\nurl: https://example.org/rapport\nlang: fr\n\n{title}\n\n"
            "  • 27 Jan. 2014 -\n  • |\n  • Mis à jour le: 28 Jan. 2015 09:02\n\n" + FR_BODY)
    release = load(write(tmp_path / "009-fr-rapport.txt", text))
    assert (release.date, release.date_source, release.updated) == ("2014-01-27", "header", "2015-01-28")
    assert release.text == FR_BODY
    assert_body_only(release)


def test_dev2_header_layout_french_unknown_date(tmp_path: Path) -> None:
    text = ("Mission fictive à Villetest\ndate: unknown\nurl: https://example.org/mission\nlang: fr\n\n"
            "Le 11 juin 2024, la mission fictive a été prolongée.\n\n" + FR_BODY)
    release = load(write(tmp_path / "032-fr-mission.txt", text))
    assert release.title == "Mission fictive à Villetest"
    assert (release.date, release.date_source, release.lang) == (None, None, "fr")   # "unknown" is not guessed
    assert release.text.startswith("Le 11 juin 2024, la mission fictive")
    assert_body_only(release)


def test_key_value_header_without_title_line_is_case_insensitive(tmp_path: Path) -> None:
    text = ("TITLE: Alliés et partenaires fictifs\nDate: 14 mars 2023\nUpdated: 2023-03-15\n"
            "Source: https://example.org/fr/partenaires\nLANG: FR\n" + FR_BODY)
    release = load(write(tmp_path / "partenaires.txt", text))
    assert release.title == "Alliés et partenaires fictifs"
    assert (release.date, release.date_source, release.updated) == ("2023-03-14", "header", "2023-03-15")
    assert (release.url, release.lang) == ("https://example.org/fr/partenaires", "fr")
    assert release.text == FR_BODY


def test_header_stops_at_the_first_other_line(tmp_path: Path) -> None:
    text = "title: A fictional note\ndate: 2022-02-02\nSource: NATO\nlang: en\n\n" + EN_BODY
    release = load(write(tmp_path / "note.txt", text))
    assert (release.title, release.date) == ("A fictional note", "2022-02-02")
    assert release.text.startswith("Source: NATO\nlang: en")   # a credit line ends the header


def test_declared_language_other_than_en_fr_is_detected(tmp_path: Path) -> None:
    text = "Fictional release\ndate: 2021-01-01\nlang: de\n\n" + FR_BODY
    assert load(write(tmp_path / "de.txt", text)).lang == "fr"


# --------------------------------------------------------------------------- HTML

HTML_PAGE = """<!DOCTYPE html>
<html lang="{lang}"><head><meta charset="utf-8"><title>{title} | Fictional Site</title>
<meta property="og:title" content="{title}">
{meta}
</head><body>
<header><nav><a href="/">Home</a> <a href="/news">News</a> <a href="/about">About us</a></nav></header>
<div id="cookie-banner" class="cookie-consent">We use cookies to improve your experience. Accept all cookies</div>
<article>
<h1>{title}</h1>
{extra}
<p>{p1}</p>
<p>{p2}</p>
<p>{p3}</p>
<div class="share social-share">Share on Facebook Share on Twitter Share by e-mail</div>
</article>
<footer><p>Copyright © 2025 Fictional Site. All rights reserved. Privacy policy. Terms of use.</p></footer>
</body></html>"""

P1_EN = "The Fictional Council of Allies met in Testville to agree on a new exercise calendar for the coming years."
P2_EN = "Ministers also reviewed the budget of the imaginary Joint Training Centre and its new simulation wing."
P3_EN = ("The fictional delegations agreed to meet again next spring, after a review of the training needs of every "
         "imaginary member and of the partners that take part in the calendar.")
P3_FR = ("Les délégations fictives sont convenues de se retrouver au printemps prochain, après un examen des besoins "
         "d’entraînement de chaque membre imaginaire et des partenaires associés au calendrier.")
P1_FR = "Le Conseil fictif des Alliés s’est réuni à Villetest pour arrêter un nouveau calendrier d’exercices."
P2_FR = "Les ministres ont également examiné le budget du Centre imaginaire d’entraînement conjoint et de ses ailes."


def html_page(meta: str = "", *, lang: str = "en", title: str = "Allies agree a fictional calendar",
              extra: str = "", fr: bool = False) -> str:
    p1, p2, p3 = (P1_FR, P2_FR, P3_FR) if fr else (P1_EN, P2_EN, P3_EN)
    return HTML_PAGE.format(lang=lang, title=title, meta=meta, extra=extra, p1=p1, p2=p2, p3=p3)


@pytest.mark.parametrize(
    "meta, extra, date",
    [
        pytest.param('<meta property="article:published_time" content="2024-05-16T09:00:00+02:00">', "",
                     "2024-05-16", id="article-published_time"),
        pytest.param('<meta name="date" content="2023-03-14">', "", "2023-03-14", id="meta-date"),
        pytest.param('<meta name="DC.date" content="2022-06-29">', "", "2022-06-29", id="DC.date"),
        pytest.param('<meta name="dcterms.created" content="2021-02-03">', "", "2021-02-03", id="dcterms.created"),
        pytest.param("", '<time datetime="2019-11-05">5 November</time>', "2019-11-05", id="time-datetime"),
        pytest.param('<script type="application/ld+json">{"@context": "https://schema.org", "@type": "NewsArticle", '
                     '"headline": "Allies agree a fictional calendar", "datePublished": "2020-05-14T08:00:00Z"}</script>',
                     "", "2020-05-14", id="json-ld-datePublished"),
    ],
)
def test_html_date_meta_variants(tmp_path: Path, meta: str, extra: str, date: str) -> None:
    release = load(write(tmp_path / "page.html", html_page(meta, extra=extra)))
    assert release.title == "Allies agree a fictional calendar"
    assert (release.date, release.date_source, release.lang) == (date, "html_meta", "en")
    assert P1_EN in release.text and P2_EN in release.text


def test_html_modified_time_is_the_updated_date(tmp_path: Path) -> None:
    meta = ('<meta property="article:published_time" content="2024-05-16T09:00:00Z">'
            '<meta property="article:modified_time" content="2024-05-20T09:00:00Z">')
    release = load(write(tmp_path / "page.html", html_page(meta)))
    assert (release.date, release.updated) == ("2024-05-16", "2024-05-20")


def test_html_site_furniture_never_becomes_text(tmp_path: Path) -> None:
    release = load(write(tmp_path / "page.html", html_page('<meta name="date" content="2023-03-14">')))
    for furniture in ("Home", "About us", "cookies", "Share on", "Copyright", "Privacy", "Fictional Site"):
        assert furniture not in release.text, furniture
    assert release.text.split("\n")[0] == P1_EN


def test_html_french_declared_language_and_og_title(tmp_path: Path) -> None:
    page = html_page('<meta name="date" content="2024-06-11">', lang="fr-FR", title="Les Alliés arrêtent un calendrier",
                     fr=True)
    release = load(write(tmp_path / "page.html", page))
    assert release.title == "Les Alliés arrêtent un calendrier"
    assert (release.date, release.date_source, release.lang) == ("2024-06-11", "html_meta", "fr")


def test_html_without_date_markup_uses_the_dateline_not_the_footer(tmp_path: Path) -> None:
    dated = html_page(extra="<p>BRUSSELS, 16 May 2024 - Allies met again.</p>")
    release = load(write(tmp_path / "dated.html", dated))
    assert (release.date, release.date_source) == ("2024-05-16", "dateline")
    undated = load(write(tmp_path / "undated.html", html_page()))
    assert (undated.date, undated.date_source) == (None, None)   # "© 2025" in the footer is no date


# --------------------------------------------------------------------------- PDF


def _pdf(lines: list[str], *, info: str = "", xmp: str | None = None) -> bytes:
    """One page of Helvetica text with an info dictionary and optionally an XMP packet; correct xref table."""
    stream = "\n".join(["BT", "/F1 12 Tf", "14 TL", "72 720 Td", *(f"({line}) Tj T*" for line in lines), "ET"])
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R" + (b" /Metadata 7 0 R" if xmp else b"") + b" >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Resources << /Font << /F1 5 0 R >> >> /Contents 4 0 R >>",
        b"<< /Length %d >>\nstream\n" % len(stream) + stream.encode("latin-1") + b"\nendstream",
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica /Encoding /WinAnsiEncoding >>",
        f"<< {info} >>".encode("latin-1"),
    ]
    if xmp:
        data = xmp.encode("utf-8")
        objects.append(b"<< /Type /Metadata /Subtype /XML /Length %d >>\nstream\n" % len(data) + data + b"\nendstream")
    return pdf_bytes(objects, info=6)


XMP = """<?xpacket begin="" id="W5M0MpCehiHzreSzNTczkc9d"?>
<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">
<rdf:Description rdf:about="" xmlns:dc="http://purl.org/dc/elements/1.1/" xmlns:xmp="http://ns.adobe.com/xap/1.0/">
<dc:title><rdf:Alt><rdf:li xml:lang="x-default">Rapport fictif sur les exercices</rdf:li></rdf:Alt></dc:title>
<xmp:CreateDate>2023-09-29T10:00:00+02:00</xmp:CreateDate>
</rdf:Description></rdf:RDF></x:xmpmeta>
<?xpacket end="w"?>"""


def test_pdf_document_info_english(tmp_path: Path) -> None:
    pdf = _pdf(["Allies agree a fictional calendar", "The Fictional Council of Allies met in Testville."],
               info="/Title (Allies agree a fictional calendar) /CreationDate (D:20240710093000+02'00')")
    release = load(write(tmp_path / "calendar.pdf", pdf))
    assert (release.title, release.date, release.date_source) == ("Allies agree a fictional calendar", "2024-07-10",
                                                                  "pdf_info")
    assert release.text == "The Fictional Council of Allies met in Testville."


def test_pdf_xmp_french(tmp_path: Path) -> None:
    pdf = _pdf(["Le Conseil fictif des Allies s'est reuni a Villetest pour arreter un calendrier."], xmp=XMP)
    release = load(write(tmp_path / "rapport.pdf", pdf))
    assert (release.title, release.date, release.date_source) == ("Rapport fictif sur les exercices", "2023-09-29",
                                                                  "pdf_info")
    assert release.lang == "fr"


# --------------------------------------------------------------------------- datelines in plain text


@pytest.mark.parametrize(
    "opening, expected",
    [
        ("BRUSSELS, 16 May 2024 - Allies met in Testville.", "2024-05-16"),
        ("Le 11 juin 2024, le Conseil fictif s’est réuni.", "2024-06-11"),
        ("On 20-21 March 2023, ministers met in Testville.", "2023-03-20"),
        ("Ce mardi (14 mars 2023), les Alliés fictifs se sont réunis.", "2023-03-14"),
        ("Allies met today (10 July 2024) in Testville.", "2024-07-10"),
        ("On Thursday (March 14, 2024), the fictional board met.", "2024-03-14"),
        ("The chiefs gathered in Testville from 13 to 15 September 2024.", "2024-09-13"),
        ("Les chefs se sont réunis du 19 au 24 mai 2013 à Villetest.", "2013-05-19"),
        ("The conference ran from 30 June - 1 July 2022 in Testville.", "2022-06-30"),
        ("The meeting was held on May 14th, 2020, via teleconference.", "2020-05-14"),
        ("Le 1er décembre 2014, la mission a commencé.", "2014-12-01"),
        ("Ce mardi, les Alliés fictifs se sont réunis à Villetest.", None),       # a weekday, no year
        ("The chiefs met on Tuesday (14 March) in Testville.", None),            # no year
        ("Allies discussed the 2024 budget and the 31st member.", None),
    ],
)
def test_dateline_date(opening: str, expected: str | None) -> None:
    later = "\n\nA second paragraph.\n\nA third one.\n\nA fourth paragraph about 2 February 2001."
    assert dateline_date(opening + later) == expected


def test_dateline_only_in_the_opening_lines() -> None:
    body = "\n".join(["Allies met in Testville."] * 3 + ["They recalled the meeting of 16 May 2024."])
    assert dateline_date(body) is None
    assert dateline_date("Press Release\n\nBRUSSELS, 16 May 2024 - Allies met.") == "2024-05-16"


@pytest.mark.parametrize(
    "value, expected",
    [("2024-05-16", "2024-05-16"), ("16 May 2024", "2024-05-16"), ("11 juin 2024", "2024-06-11"),
     ("May 16, 2024", "2024-05-16"), ("2024-05-16T10:00:00Z", "2024-05-16"), ("unknown", None), ("2024", None),
     ("mardi", None), ("", None), (None, None)],
)
def test_to_iso(value: str | None, expected: str | None) -> None:
    assert to_iso(value) == expected


def test_plain_text_with_english_dateline(tmp_path: Path) -> None:
    text = "Allies agree a fictional calendar\n\nBRUSSELS, 16 May 2024 - " + EN_BODY
    release = load(write(tmp_path / "calendar.txt", text))
    assert (release.title, release.date, release.date_source, release.lang) == (
        "Allies agree a fictional calendar", "2024-05-16", "dateline", "en")
    assert release.text.startswith("BRUSSELS, 16 May 2024 - ")


def test_plain_text_with_french_dateline(tmp_path: Path) -> None:
    text = "Les Alliés arrêtent un calendrier fictif\n\nCe mardi (14 mars 2023), " + FR_BODY
    release = load(write(tmp_path / "calendrier.txt", text))
    assert (release.date, release.date_source, release.lang) == ("2023-03-14", "dateline", "fr")


def test_page_with_no_date_at_all(tmp_path: Path) -> None:
    release = load(write(tmp_path / "topic.txt", "A fictional topic page\n\n" + EN_BODY))
    assert (release.title, release.date, release.date_source, release.updated) == (
        "A fictional topic page", None, None, None)
    assert release.text == EN_BODY


def test_nato_layout_keeps_its_date_source() -> None:
    text = "Fictional ministers meet\n\n  • 11 Jun. 2024 -\n  • |\n\nOn 12 June 2024 the ministers met again."
    release = parse_release_text(text, "s")
    assert (release.date, release.date_source) == ("2024-06-11", "nato_layout")


@pytest.mark.parametrize("value, lang", [("en", "en"), ("FR", "fr"), ("fr-FR", "fr"), ("en_GB", "en"),
                                         ("English", "en"), ("français", "fr"), ("de", None), ("", None), (None, None)])
def test_declared_lang(value: str | None, lang: str | None) -> None:
    assert declared_lang(value) == lang


def test_date_source_is_stored_in_chunk_metadata(tmp_path: Path) -> None:
    release = load(write(tmp_path / "a.txt", "Fictional title\ndate: 2024-01-02\n\n" + EN_BODY))
    metadata = chunk_release(release)[0].to_document().metadata
    assert (metadata["date"], metadata["date_source"], metadata["date_int"]) == ("2024-01-02", "header", 20240102)
    undated = load(write(tmp_path / "b.txt", "Fictional title\n\n" + EN_BODY))
    assert "date_source" not in chunk_release(undated)[0].to_document().metadata


# --------------------------------------------------------------------------- duplicates


def test_same_release_under_two_names_is_skipped(tmp_path: Path) -> None:
    text = "Allies agree a fictional calendar\ndate: 2024-05-16\n\n" + EN_BODY
    first = write(tmp_path / "a-calendar.txt", text)
    copy = write(tmp_path / "b-calendar-copy.txt", text.replace("\n\n", "\n\n\n").replace("Testville", "Testville  "))
    other_date = write(tmp_path / "c-calendar-2025.txt", text.replace("2024-05-16", "2025-05-16"))
    french = write(tmp_path / "d-calendrier.txt", "Les Alliés arrêtent un calendrier fictif\ndate: 2024-05-16\n\n" + FR_BODY)
    results = list(read_sources([str(tmp_path)]))
    skipped = [r for r in results if isinstance(r, Skipped)]
    assert [str(s) for s in skipped] == [f"skipped {copy}: same release as {first}"]
    assert sorted(r.source for r in results if isinstance(r, Release)) == sorted(map(str, [first, other_date, french]))


# --------------------------------------------------------------------------- the dev2 corpus


@pytest.fixture(scope="module")
def dev2_copy(tmp_path_factory: pytest.TempPathFactory) -> Path:
    if not DEV2_CORPUS.is_dir():
        pytest.skip(f"no dev2 corpus at {DEV2_CORPUS}")
    return Path(shutil.copytree(DEV2_CORPUS, tmp_path_factory.mktemp("dev2") / "corpus"))


def test_dev2_corpus_dates_and_bodies(dev2_copy: Path) -> None:
    results = list(read_sources([str(dev2_copy)]))
    assert not [str(r) for r in results if isinstance(r, Failure)]
    by_source = {r.source: r for r in results}
    assert len(by_source) == 58
    for path in sorted(dev2_copy.glob("*.txt")):
        release = by_source[str(path.resolve())]
        head = path.read_text(encoding="utf-8").split("\n")[:5]
        declared = next(line.split(":", 1)[1].strip() for line in head if line.startswith("date:"))
        if re.fullmatch(r"\d{4}-\d{2}-\d{2}", declared):
            assert (release.date, release.date_source) == (declared, "header"), path.name
        else:
            assert release.date is None, path.name
        lang = next(line.split(":", 1)[1].strip() for line in head if line.startswith("lang:"))
        assert release.lang == lang, path.name
        assert release.title == head[0].strip()
        for chunk in chunk_release(release):
            assert not chunk.text.startswith(("url:", "date:", "lang:")), (path.name, chunk.text[:60])
        assert not any(re.match(r"(url|date|lang):", line) for line in release.text.split("\n")), path.name
    dated = sorted(r.date for r in by_source.values() if r.date)
    assert (len(dated), len(by_source) - len(dated)) == (49, 9)
    assert (dated[0][:4], dated[-1][:4]) == ("1999", "2025")


# --------------------------------------------------------------------------- `index list` and `status --undated`


class _FakeStack:
    """Deterministic vectors instead of the real models: these tests are about metadata, not retrieval."""

    name, dim, has_sparse = BundledStack.name, BundledStack.dim, False
    sentence_dim, sentence_baseline, sentences_in_dense_space = dim, (0.0, 1.0), True

    def embed_dense(self, texts: list[str]) -> np.ndarray:
        rng = [np.random.default_rng(abs(hash(text)) % 2**32).standard_normal(self.dim) for text in texts]
        matrix = np.array(rng, dtype=np.float32).reshape(len(texts), self.dim)
        return matrix / np.linalg.norm(matrix, axis=1, keepdims=True)

    def embed_passages(self, texts: list[str]) -> Vectors:
        return Vectors(self.embed_dense(texts))

    embed_queries = embed_passages
    embed_sentences = embed_sentence_queries = embed_dense


def test_list_and_status_undated(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture) -> None:
    import json

    import index.update
    from index.cli import main

    monkeypatch.setattr(index.update, "load_stack", lambda spec: _FakeStack())
    folder = tmp_path / "releases"
    folder.mkdir()
    write(folder / "en.txt", "Allies agree a fictional calendar\ndate: 2024-05-16\n\n" + EN_BODY)
    write(folder / "fr.md", "---\ntitle: Les Alliés arrêtent un calendrier fictif\ndate: 2023-03-14\nlang: fr\n---\n" + FR_BODY)
    write(folder / "topic.txt", "A fictional topic page\n\n" + EN_BODY.replace("Testville", "Topictown"))
    write(folder / "copy.txt", "Allies agree a fictional calendar\ndate: 2024-05-16\n\n" + EN_BODY)
    settings = make_settings(tmp_path / "home")

    assert main(["build", str(folder)], settings=settings) == 0
    out, err = capsys.readouterr()
    assert f"skipped {(folder / 'en.txt').resolve()}: same release as {(folder / 'copy.txt').resolve()}" in err
    assert out.strip().endswith("added 3, updated 0, unchanged 0, removed 0, failed 0, skipped 1")

    assert main(["status", "--undated"], settings=settings) == 0
    out = capsys.readouterr().out
    assert "undated:    1" in out.splitlines()
    assert "dates:      2023-03-14 to 2024-05-16" in out.splitlines()
    assert re.search(r"^undated\s+-\s+en\s+\d+\s+A fictional topic page\s+\S*topic\.txt$", out, re.MULTILINE)

    assert main(["list", "--json"], settings=settings) == 0
    listed = json.loads(capsys.readouterr().out)
    assert [(r["title"], r["date"], r["date_source"], r["lang"]) for r in listed] == [
        ("Allies agree a fictional calendar", "2024-05-16", "header", "en"),
        ("Les Alliés arrêtent un calendrier fictif", "2023-03-14", "front_matter", "fr"),
        ("A fictional topic page", None, None, "en"),
    ]
    assert all(r["chunks"] >= 1 and r["source"].startswith(str(folder.resolve())) for r in listed)

    assert main(["list", "--lang", "fr"], settings=settings) == 0
    table = capsys.readouterr().out.splitlines()
    assert table[0].split()[:2] == ["date", "date"] and len(table) == 3 and "front_matter" in table[1]
    assert table[-1] == "1 releases, 0 undated"

    assert main(["list", "--from", "2024", "--to", "2024-12", "--json"], settings=settings) == 0
    assert [r["date"] for r in json.loads(capsys.readouterr().out)] == ["2024-05-16"]

    again = write(tmp_path / "uploaded-again.txt", "Allies agree a fictional calendar\ndate: 2024-05-16\n\n" + EN_BODY)
    assert main(["update", str(again)], settings=settings) == 0   # the same release, indexed by an earlier run
    out, err = capsys.readouterr()
    assert f"skipped {again}: same release as {(folder / 'copy.txt').resolve()}" in err
    assert out.strip().endswith("added 0, updated 0, unchanged 0, removed 0, failed 0, skipped 1")
    assert main(["update", str(folder)], settings=settings) == 0   # the indexed copy itself is no duplicate
    assert capsys.readouterr().out.strip().endswith("unchanged 3, removed 0, failed 0, skipped 1")

    with pytest.raises(SystemExit) as exit_info:
        main(["list", "--from", "May 2024"], settings=settings)
    assert exit_info.value.code == 2
    assert "is not a date" in capsys.readouterr().err
