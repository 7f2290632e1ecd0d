"""The app's parts without Blocks or a server: release list, chart, examples, grouped sources, the Markdown
download, feedback storage and its CLI, the admin gate (Host/Origin, password back-off), uploads
kept or dropped, paths hidden beyond localhost, and the one date parser. No models, no ../shared."""
from __future__ import annotations

import csv
import io
import json
import subprocess
import sys
from pathlib import Path

import gradio as gr
import pytest

from bot.citations import Answer, Citation
from bot.feedback import FeedbackStore, export
from bot.search import Filters
from helpers.cli import PROJECT_ROOT, cli_env
from helpers.indexing import make_settings
from index.catalog import ReleaseInfo
from index.dates import date_bound, date_int
from webapp.admin import AddPolicy, ChangeGate, PasswordGuard, local_request_refusal
from webapp.examples import example_questions
from webapp.handlers import Asker, ChatHandlers, new_chat_state
from webapp.present import answer_dict, answer_markdown, citations_html, conversation_markdown
from webapp.releases import ReleaseFilter, coverage_frame, key_of_row, release_key, release_table
from webapp.uploads import gather_sources

UPLOADS = Path("/srv/home/uploads")


def release(source: str, title: str, date: str | None, lang: str = "en", chunks: int = 1, url: str | None = None) -> ReleaseInfo:
    return ReleaseInfo(source=source, title=title, date=date, date_source=None, updated=date, lang=lang, url=url, chunks=chunks)


RELEASES = [
    release("/srv/corpus/2099-quartz.txt", "Test fixture: Quartz Lantern exercise", "2099-01-01", chunks=3),
    release("/srv/home/uploads/lanterne.txt", "Fixture de test : lanternes", "2097-06-12", lang="fr"),
    release("https://example.org/amber", "Test fixture: Amber <b>Kettle</b>", "2096-03-15", url="https://example.org/amber"),
    release("/srv/corpus/undated.txt", "Test fixture: Copper Teaspoon", None),
]


def citation(n: int, source: str, text: str, quotes=((0, 10),), **extra) -> Citation:
    fields = dict(n=n, source=source, title="Test fixture: Quartz Lantern exercise", date="2099-01-01", lang="en",
                  url=None, text=text, score=0.5, chunk_id=f"c{n}", quotes=tuple(quotes))
    return Citation(**{**fields, **extra})


# --------------------------------------------------------------------------- release list and chart


def test_release_table_shows_no_server_folder_and_filters() -> None:
    frame, choices = release_table(RELEASES, UPLOADS)
    assert list(frame.columns) == ["Title", "Date", "Language", "Chunks", "Source"]
    assert list(frame["Source"]) == ["2099-quartz.txt", "uploads/lanterne.txt", "https://example.org/amber", "undated.txt"]
    assert list(frame["Language"]) == ["English", "French", "English", "English"] and frame["Chunks"][0] == 3
    assert [key for _, key in choices] == [release_key(r) for r in RELEASES] and "/srv" not in " ".join(k for _, k in choices)

    def titles(**where: object) -> list[str]:
        return list(release_table(RELEASES, UPLOADS, ReleaseFilter(**where))[0]["Title"])

    assert titles(text="KETTLE") == ["Test fixture: Amber <b>Kettle</b>"]
    assert titles(text="uploads/") == ["Fixture de test : lanternes"]
    assert titles(lang="fr") == ["Fixture de test : lanternes"]
    assert titles(date_from="2097", date_to="2099-01") == ["Test fixture: Quartz Lantern exercise", "Fixture de test : lanternes"]
    assert titles(date_to="2096-03-14") == []


def test_a_clicked_row_names_its_release() -> None:
    frame, _ = release_table(RELEASES, UPLOADS)
    assert key_of_row(RELEASES, UPLOADS, list(frame.iloc[1])) == release_key(RELEASES[1])
    assert key_of_row(RELEASES, UPLOADS, ["x", "", "English", 1, "nothing.txt"]) is None


def test_coverage_chart_counts_per_year_and_language_with_missing_years_at_zero() -> None:
    frame = coverage_frame(RELEASES)
    counts = {(y, lang): n for y, lang, n in frame.itertuples(index=False)}
    assert counts == {("2096", "English"): 1, ("2096", "French"): 0, ("2097", "English"): 0, ("2097", "French"): 1,
                      ("2098", "English"): 0, ("2098", "French"): 0, ("2099", "English"): 1, ("2099", "French"): 0}
    assert coverage_frame([]).empty


# --------------------------------------------------------------------------- examples


def test_examples_are_configured_or_built_from_the_index_or_absent(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    settings = make_settings(tmp_path)
    assert example_questions(settings, []) == []
    assert example_questions(settings, RELEASES) == [
        "What does the release “Test fixture: Quartz Lantern exercise” say?",
        "Que dit le communiqué « Fixture de test : lanternes » ?",
        "What does the release “Test fixture: Amber <b>Kettle</b>” say?"]
    monkeypatch.setenv("COMMUNIQUE_EXAMPLES", "What is Quartz Lantern? | Qui, quoi ?|")
    configured = type(settings)(home=tmp_path)
    assert configured.examples == ["What is Quartz Lantern?", "Qui, quoi ?"]
    assert example_questions(configured, RELEASES) == ["What is Quartz Lantern?", "Qui, quoi ?"]
    assert example_questions(configured, []) == [], "an empty index has no answer to any example"


# --------------------------------------------------------------------------- grouped sources and the download


def test_passages_of_one_release_are_grouped_under_one_entry() -> None:
    one, two = "/srv/corpus/2099-quartz.txt", "/srv/corpus/other.txt"
    cited = [citation(1, one, "Quartz Lantern is a drill."), citation(2, two, "Other text.", title="Other <i>release</i>"),
             citation(3, one, "It took place in Examplestad.", quotes=((0, 2),))]
    html = citations_html(cited)
    assert html.count('<article class="cq-source"') == 2
    assert html.count("Test fixture: Quartz Lantern exercise") == 1, "the title once"
    assert html.index('data-n="1"') < html.index('data-n="3"') < html.index("Other &lt;i&gt;release&lt;/i&gt;")
    assert '<span class="cq-n">[1][3]</span>' in html and html.count('<div class="cq-item"') == 3
    markdown = answer_markdown(Answer(question="q", text="A [1] B [2] C [3]", found=True, citations=cited))
    assert "&#91;1&#93;&#91;3&#93; Test fixture&#58; Quartz Lantern exercise" in markdown
    assert markdown.count("Quartz Lantern exercise") == 1


def test_conversation_markdown_lists_every_answer_with_its_sources() -> None:
    cited = [citation(1, "/srv/corpus/2099-quartz.txt", "Quartz Lantern is a drill. More text."),
             citation(2, "/srv/corpus/2099-quartz.txt", "It was held in Examplestad.", quotes=()),
             citation(3, "https://example.org/amber", "Amber text.", title="Amber", url="https://example.org/amber",
                      date=None, lang="fr")]
    first = answer_dict(Answer(question="What is Quartz Lantern?", text="A drill [1][2]. Amber [3].", found=True,
                               citations=cited))
    second = answer_dict(Answer(question="Who won?", text="The releases do not say.", found=False, mode="abstain"))
    markdown = conversation_markdown([{"question": "What is Quartz Lantern?", "answer": first},
                                      {"question": "Who won?", "answer": second}])
    assert "## 1. What is Quartz Lantern?\n\nA drill [1][2]. Amber [3]." in markdown
    assert "- [1][2] Test fixture: Quartz Lantern exercise — 2099-01-01, English — file 2099-quartz.txt" in markdown
    assert "  > Quartz Lan" in markdown and "  > It was held in Examplestad." in markdown, "the quote, else the passage"
    assert "- [3] Amber — undated, French — https://example.org/amber" in markdown
    assert "## 2. Who won?" in markdown and "No source cited (abstain)" in markdown
    assert "/srv/corpus" not in markdown


# --------------------------------------------------------------------------- feedback


def test_likes_and_comments_are_stored_and_exported(tmp_path: Path) -> None:
    settings = make_settings(tmp_path / "home")
    handlers = ChatHandlers(Asker.__new__(Asker), settings)   # like/comment need no bot
    data = answer_dict(Answer(question="q", text="A drill [1].", found=True, citations=[citation(1, "/srv/c/q.txt", "A drill.")]))
    state = {**new_chat_state(), "turns": {1: {"question": "What is <b>Quartz</b>?", "answer": data}}}
    note, state = handlers.like(state, gr.LikeData(None, {"index": 1, "value": "A drill", "liked": True}))
    assert "stored" in note
    _, state = handlers.like(state, gr.LikeData(None, {"index": 1, "value": "A drill", "liked": False}))
    note, box = handlers.comment("  Wrong drill  ", state)
    assert "comment is stored" in note and box == ""
    assert handlers.like(state, gr.LikeData(None, {"index": 5, "value": "x", "liked": True}))[1] == state, "not an answer"

    rows = FeedbackStore.for_settings(settings).rows()
    assert len(rows) == 1, "a second click changes the rating"
    row = rows[0]
    assert (row["rating"], row["comment"], row["question"], row["answer"], row["mode"]) == (
        "down", "Wrong drill", "What is <b>Quartz</b>?", "A drill [1].", "extractive")
    assert row["citations"][0]["source"] == "q.txt" and row["time"].endswith("+00:00")
    assert (settings.home / "feedback.sqlite").is_file()

    env = cli_env(settings)
    as_json = subprocess.run([sys.executable, "-m", "bot", "feedback", "export", "--json"], cwd=PROJECT_ROOT, env=env,
                             capture_output=True, text=True, timeout=120)
    assert as_json.returncode == 0, as_json.stderr
    assert json.loads(as_json.stdout) == rows
    out = tmp_path / "feedback.csv"
    as_csv = subprocess.run([sys.executable, "-m", "bot", "feedback", "export", "--csv", "-o", str(out)], cwd=PROJECT_ROOT,
                            env=env, capture_output=True, text=True, timeout=120)
    assert as_csv.returncode == 0, as_csv.stderr
    table = list(csv.DictReader(io.StringIO(out.read_text(encoding="utf-8"))))
    assert [(r["rating"], r["question"]) for r in table] == [("down", "What is <b>Quartz</b>?")]
    assert json.loads(table[0]["citations"])[0]["n"] == 1
    assert export([], "csv").startswith("id,time,rating,comment,question,answer,mode,lang,citations")


def test_the_question_cli_still_parses_its_options() -> None:
    result = subprocess.run([sys.executable, "-m", "bot", "--help"], cwd=PROJECT_ROOT, env=cli_env(),
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 0 and "question" in result.stdout and "--lang" in result.stdout


# --------------------------------------------------------------------------- gate and dates


def test_removing_is_behind_the_same_gate_as_adding() -> None:
    base = make_settings(Path("/nonexistent"))
    assert AddPolicy.for_launch("127.0.0.1", False, base).refusal(None, "remove") is None
    assert "disabled" in AddPolicy.for_launch("0.0.0.0", False, base).refusal("x", "remove")
    guarded = AddPolicy.for_launch("0.0.0.0", False, base.model_copy(update={"admin_password": "pw"}))
    assert guarded.refusal("pw", "remove") is None
    assert guarded.refusal("no", "remove") == "Wrong admin password: no release was removed."


class FakeRequest:
    """What the gate reads of a gr.Request: its headers and client address."""

    def __init__(self, headers: dict[str, str], client: str = "127.0.0.1") -> None:
        self.headers = {k.lower(): v for k, v in headers.items()}
        self.client = type("Client", (), {"host": client})()


def test_without_a_password_removing_too_needs_a_localhost_page() -> None:
    gate = ChangeGate(AddPolicy.for_launch("127.0.0.1", False, make_settings(Path("/nonexistent"))))
    for headers in ({"Host": "evil.example:7860", "Origin": "http://evil.example:7860"},
                    {"Host": "127.0.0.1:7860", "Origin": "http://evil.example"},
                    {"Host": "127.0.0.1:7860", "Forwarded": "for=203.0.113.7"}):
        assert gate.refusal(None, FakeRequest(headers), "remove") == (
            "Refused: without COMMUNIQUE_ADMIN_PASSWORD, releases can only be removed from a page served on localhost.")
    for headers in ({"Host": "127.0.0.1:7860"}, {"Host": "[::1]:7860", "Origin": "http://[::1]:7860"},
                    {"Host": "LOCALHOST:7860", "Origin": "http://localhost:7860"}):
        assert gate.refusal(None, FakeRequest(headers), "remove") is None, headers
    assert local_request_refusal(None) is None, "in-process calls have no headers"


def test_the_password_back_off_doubles_per_client_and_a_right_password_resets_it() -> None:
    guard = PasswordGuard(first=60)
    gate = ChangeGate(AddPolicy(local=False, password="pw"), guard)
    assert gate.refusal("no", FakeRequest({}, "10.0.0.1")) == "Wrong admin password: releases were not added."
    assert gate.refusal("pw", FakeRequest({}, "10.0.0.1")).startswith("Too many wrong admin passwords: try again in 60 s")
    assert gate.refusal("pw", FakeRequest({}, "10.0.0.2"), "remove") is None, "per client"
    guard.missed("10.0.0.2")
    guard.missed("10.0.0.2")
    assert 60 < guard.wait("10.0.0.2") <= 120
    guard.passed("10.0.0.2")
    assert guard.wait("10.0.0.2") == 0


def test_new_uploads_that_fail_are_dropped_and_replaced_ones_kept(tmp_path: Path) -> None:
    uploads = tmp_path / "uploads"
    old, new, upload = tmp_path / "old.txt", tmp_path / "new.txt", tmp_path / "in" / "old.txt"
    old.write_text("first version")
    new.write_text("brand new")
    gather_sources([str(old)], "", uploads, 1000)
    upload.parent.mkdir()
    upload.write_text("second version")
    gathered = gather_sources([str(upload), str(new)], "https://example.org/r\nnot a url", uploads, 1000)
    stored = [str(uploads.resolve() / "old.txt"), str(uploads.resolve() / "new.txt")]
    assert gathered.sources == [*stored, "https://example.org/r"] and gathered.created == {stored[1]}
    assert [f.source for f in gathered.rejected] == ["not a url"]
    assert gathered.drop_new_uploads(stored) == [stored[1]]
    assert sorted(p.name for p in uploads.iterdir()) == ["old.txt"] and (uploads / "old.txt").read_text() == "second version"


def test_the_servers_paths_are_hidden_beyond_localhost(tmp_path: Path) -> None:
    from webapp.keeper import IndexKeeper

    settings = make_settings(tmp_path / "home")
    for show in (True, False):
        keeper = IndexKeeper(settings, show_location=show)
        assert (str(settings.home) in keeper.status_markdown().replace("&#95;", "_")) == show, keeper.status_markdown()
        assert keeper.shown(f"no index yet in {settings.home}/chroma") == (
            f"no index yet in {settings.home}/chroma" if show else "no index yet in COMMUNIQUE_HOME/chroma")


@pytest.mark.parametrize("text", ["2024", "2024-02", "2024-02-29", "2023-02", "2024-12-31"])
def test_one_date_parser_serves_the_search_filter_too(text: str) -> None:
    for end in (False, True):
        bound = date_bound(text, end)
        assert date_int(text, end) == bound.year * 10000 + bound.month * 100 + bound.day
    day = {"date_int": date_int(text)}
    assert Filters(date_from=text, date_to=text).admits(day)
    for bad in ("2024-13", "2024-02-30", "24-01", "2024/01"):
        with pytest.raises(ValueError):
            date_bound(bad)
