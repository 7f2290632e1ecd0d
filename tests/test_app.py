"""The web app (app.py) through its API, as a script would use it, plus unit tests of what it shows.

The app runs in this process (the embedded index is locked per process): `build_app(...)`
launched with `prevent_thread_lock=True` on 127.0.0.1 and a free port, closed at teardown.
Behaviour runs on the generated fictional corpus (`fictional_index`, hashing stack: no model, no
../shared); adding releases is tested on fresh indexes under tmp, hashing stack too. Only the
tests marked e2e answer real questions over the development corpus (`built_index`) with the
real models.
"""
from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from html.parser import HTMLParser
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest
from gradio_client import Client, handle_file

from app import build_app, launch
from bot.citations import Answer, Citation
from webapp.admin import AddPolicy
from webapp.handlers import InputError, parse_filters
from webapp.keeper import EMPTY_INDEX_TEXT
from webapp.present import answer_dict, answer_markdown, answer_plain_text, citations_html, escape_html, escape_markdown
from webapp.uploads import UploadRejected, safe_upload_name, store_upload
from helpers.cli import PROJECT_ROOT, cli_env
from helpers.indexing import make_settings
from helpers.releases import fiction, write_fictional_corpus
from helpers.webserver import free_port
from index.settings import Settings

PAF_N_RELEASE = "2024-06-11-fr-reunion-virtuelle-chefs-etat-major-partenaires.txt"   # real, development corpus
VKR_N = fiction("cadre-vivier-kepis")   # fictional, French, 2093-02-08: defines the identifier VKR-N
ALF = fiction("amber-lighthouse-fund")  # fictional, English, 2093-09-30

# Written for these tests; not a real NATO release.
FIXTURE_RELEASE = """Test fixture: NATO widget exercise 2099

  • 01 Jan. 2099 -
  • |
  • Last updated: 01 Jan. 2099 10:00

This text is a test fixture written for the app's tests; it is not a real NATO release.
Exercise Quartz Lantern is an invented NATO widget exercise in which Allied engineers test the interoperability of imaginary field widgets.
The exercise took place in the fictional town of Examplestad and brought together widget teams from several Allies.
"""


@contextmanager
def serving(settings: Settings, **options) -> Iterator[tuple[str, object]]:
    """build_app(settings, **options) served on 127.0.0.1:<free port> in this process."""
    app = build_app(settings, **options)
    port = free_port()
    launch(app, settings, host="127.0.0.1", port=port, prevent_thread_lock=True, quiet=True)
    try:
        yield f"http://127.0.0.1:{port}/", app
    finally:
        app.close()


@pytest.fixture(scope="module")
def corpus_client(built_index: Settings) -> Iterator[Client]:
    """A client of the app over the development corpus index (read-only; real models: e2e tests only)."""
    with serving(built_index) as (url, _):
        yield Client(url, verbose=False)


@pytest.fixture(scope="module")
def fiction_client(fictional_index: Settings) -> Iterator[Client]:
    """A client of the app over the fictional corpus index (read-only, hashing stack)."""
    with serving(fictional_index) as (url, _):
        yield Client(url, verbose=False)


@pytest.fixture(scope="module")
def fresh_app(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Client, Settings, object]]:
    """A client of the app over an empty index (no corpus), listening on localhost; and the app."""
    settings = make_settings(tmp_path_factory.mktemp("fresh") / "home", embeddings="hashing").model_copy(
        update={"corpus": [], "max_file_mb": 0.05})
    with serving(settings) as (url, app):
        yield Client(url, verbose=False), settings, app


@pytest.fixture
def fresh(fresh_app: tuple[Client, Settings, object]) -> tuple[Client, Settings]:
    return fresh_app[0], fresh_app[1]


def cited_files(result: dict) -> list[str]:
    return [c["source"] for c in result["citations"]]


# --------------------------------------------------------------------------- /chat


@pytest.mark.e2e
def test_chat_one_liner_answers_paf_n_from_the_french_release(corpus_client: Client) -> None:
    result = corpus_client.predict("What is PAF-N?", api_name="/chat")

    assert result["found"] is True and result["mode"] in ("extractive", "llm")
    assert PAF_N_RELEASE in cited_files(result)
    assert re.search(r"\[1\]", result["answer"])
    first = result["citations"][0]
    assert first["lang"] == "fr" and first["date"] == "2024-06-11" and first["title"].startswith("Réunion virtuelle")
    if first["url"] is None:
        assert "/" not in first["source"], "scripts get the file name, never the server's folders"
    if result["mode"] == "extractive":   # the sentence the answer quotes, as spans of the passage
        start, end = first["quotes"][0]
        assert "PAF-N" in first["passage"][start:end] and first["quoted"][0] == first["passage"][start:end]
    assert result["text"].startswith(result["answer"]) and f"[1] {first['title']}" in result["text"]
    assert set(result) == {"answer", "found", "mode", "lang", "error", "citations", "text"}


@pytest.mark.e2e
def test_chat_history_carries_follow_ups(corpus_client: Client) -> None:
    first = corpus_client.predict("What is PAF-N?", api_name="/chat")
    history = [{"role": "user", "content": "What is PAF-N?"}, {"role": "assistant", "content": first["answer"]}]

    result = corpus_client.predict("Who presented it?", history=history, api_name="/chat")

    assert PAF_N_RELEASE in cited_files(result)
    assert "Cavoli" in result["citations"][0]["passage"]


def test_chat_answers_with_citations_scripts_can_read(fiction_client: Client) -> None:
    result = fiction_client.predict("What is VKR-N?", api_name="/chat")

    assert result["found"] is True and result["mode"] == "extractive"
    assert cited_files(result)[0] == VKR_N.name
    assert re.search(r"\[1\]", result["answer"])
    first = result["citations"][0]
    assert (first["lang"], first["date"], first["title"], first["url"]) == ("fr", "2093-02-08", VKR_N.title, None)
    assert "/" not in first["source"], "scripts get the file name, never the server's folders"
    start, end = first["quotes"][0]   # the sentence the answer quotes, as spans of the passage
    assert "VKR-N" in first["passage"][start:end] and first["quoted"][0] == first["passage"][start:end]
    assert result["text"].startswith(result["answer"]) and f"[1] {first['title']}" in result["text"]
    assert set(result) == {"answer", "found", "mode", "lang", "error", "citations", "text"}


def test_chat_language_filter_keeps_french_releases_out(fiction_client: Client) -> None:
    result = fiction_client.predict("What is VKR-N?", lang="en", api_name="/chat")

    assert all(c["lang"] == "en" for c in result["citations"])
    assert VKR_N.name not in cited_files(result)
    assert result["found"] is False and result["mode"] == "abstain"


def test_chat_date_filter_limits_the_cited_releases(fiction_client: Client) -> None:
    result = fiction_client.predict("What is VKR-N?", date_from="2093-02-01", date_to="2093-02-28", api_name="/chat")
    assert cited_files(result) == [VKR_N.name]

    result = fiction_client.predict("What is VKR-N?", date_to="2092-12-31", api_name="/chat")
    assert VKR_N.name not in cited_files(result)
    assert all(c["date"] <= "2092-12-31" for c in result["citations"])


@pytest.mark.parametrize(("date_from", "date_to", "message"), [
    ("11/06/2094", "", "is not a date: use YYYY-MM-DD"),
    ("2094-02-30", "", "does not exist in the calendar"),
    ("2094-06-12", "2094-06-11", "The date range is empty"),
])
def test_chat_bad_dates_get_a_clear_message(fiction_client: Client, date_from: str, date_to: str, message: str) -> None:
    result = fiction_client.predict("What is VKR-N?", date_from=date_from, date_to=date_to, api_name="/chat")

    assert result["mode"] == "error" and result["found"] is False and not result["citations"]
    assert message in result["answer"] and result["error"] == result["answer"]


def test_chat_history_carries_follow_ups_on_fiction(fiction_client: Client) -> None:
    first = fiction_client.predict("What is ALF-1?", api_name="/chat")
    assert cited_files(first)[0] == ALF.name
    history = [{"role": "user", "content": "What is ALF-1?"}, {"role": "assistant", "content": first["answer"]}]

    result = fiction_client.predict("Who presented it?", history=history, api_name="/chat")

    assert cited_files(result)[0] == ALF.name
    assert ALF.person in result["citations"][0]["passage"]


def test_chat_reports_an_unreachable_index_as_a_message(tmp_path: Path) -> None:
    dead = f"http://127.0.0.1:{free_port()}"
    settings = make_settings(tmp_path / "home", chroma_url=dead, embeddings="hashing").model_copy(update={"corpus": []})
    with serving(settings) as (url, _):
        result = Client(url, verbose=False).predict("What is PAF-N?", api_name="/chat")

    assert result["mode"] == "error" and result["found"] is False
    assert "unavailable" in result["answer"] and dead in result["answer"]
    assert "Traceback" not in result["answer"]


# --------------------------------------------------------------------------- adding releases


def test_empty_index_says_how_to_add_releases(fresh: tuple[Client, Settings]) -> None:
    client, _ = fresh
    result = client.predict("What is PAF-N?", api_name="/chat")

    assert result["mode"] == "error" and result["answer"] == EMPTY_INDEX_TEXT
    assert "Index" in result["answer"] and "COMMUNIQUE_CORPUS" in result["answer"]


def test_questions_during_the_start_up_build_are_told_so(fresh_app: tuple[Client, Settings, object]) -> None:
    client, _, app = fresh_app
    keeper = app.index_keeper
    keeper.building, keeper.build_note = True, "1/2 releases read, 3 chunks embedded"   # as the build thread sets them
    try:
        result = client.predict("What is PAF-N?", api_name="/chat")
    finally:
        keeper.building, keeper.build_note = False, ""
    assert result["mode"] == "error"
    assert result["answer"] == "The index is being built (1/2 releases read, 3 chunks embedded). Please ask again in a moment."


@pytest.mark.e2e   # a process of its own: gradio's import alone takes seconds
def test_python_app_py_starts_on_an_empty_index(tmp_path: Path) -> None:
    port = free_port()
    env = cli_env(COMMUNIQUE_HOME=str(tmp_path / "home"), COMMUNIQUE_CORPUS=str(tmp_path / "no-corpus"))
    with open(tmp_path / "app.log", "wb") as log:
        process = subprocess.Popen([sys.executable, "app.py", "--port", str(port)], cwd=PROJECT_ROOT, env=env,
                                   stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
        try:
            url = f"http://127.0.0.1:{port}/"
            deadline = time.monotonic() + 90
            while time.monotonic() < deadline and process.poll() is None:
                try:
                    if httpx.get(url, timeout=1).status_code == 200:
                        break
                except httpx.HTTPError:
                    time.sleep(0.3)
            assert process.poll() is None, (tmp_path / "app.log").read_text(errors="replace")
            result = Client(url, verbose=False).predict("What is PAF-N?", api_name="/chat")
            assert result["answer"] == EMPTY_INDEX_TEXT
        finally:
            os.killpg(process.pid, signal.SIGTERM)
            process.wait(timeout=20)


def test_upload_is_stored_under_uploads_with_a_sanitised_name_and_answered(fresh: tuple[Client, Settings], tmp_path: Path,
                                                                           monkeypatch: pytest.MonkeyPatch) -> None:
    client, settings = fresh
    base = client.src.rstrip("/")
    # A hostile name straight to Gradio's upload route, then handed to the add-releases endpoint.
    uploaded = httpx.post(f"{base}/gradio_api/upload",
                          files=[("files", ("../../evil name.txt", FIXTURE_RELEASE.encode(), "text/plain"))]).json()
    result, status, files_after = client.predict([handle_file(uploaded[0])], "", "", api_name="/add_releases")

    assert result.splitlines()[0] == "added 1, updated 0, unchanged 0, removed 0, failed 0"
    uploads = settings.uploads_dir.resolve()
    stored = sorted(p.name for p in uploads.iterdir())
    assert len(stored) == 1 and re.fullmatch(r"[A-Za-z0-9._-]+\.txt", stored[0]) and ".." not in stored[0]
    assert "evil_name" in stored[0]
    assert [p.parent for p in settings.home.parent.rglob("evil*")] == [uploads], "nothing written outside uploads"
    assert "Releases:** 1" in status and files_after is None

    answer = client.predict("What is Exercise Quartz Lantern?", api_name="/chat")
    assert answer["found"] and cited_files(answer) == [stored[0]]
    assert answer["citations"][0]["title"] == "Test fixture: NATO widget exercise 2099"

    # The same file again is recognised, not duplicated.
    again, _, _ = client.predict([handle_file(uploaded[0])], "", "", api_name="/add_releases")
    assert again.splitlines()[0].startswith("added 0, updated 0, unchanged 1")
    assert sorted(p.name for p in uploads.iterdir()) == stored

    # Questions are answered while another update runs: the update is held inside its embedding step
    # (this process's index.update) until the chat has answered.
    import index.update

    embedding, release = threading.Event(), threading.Event()
    real_load_stack = index.update.load_stack

    class HeldStack:
        def __init__(self, stack) -> None:
            self._stack, self.name, self.dim, self.has_sparse = stack, stack.name, stack.dim, stack.has_sparse

        def embed_passages(self, texts):
            embedding.set()
            assert release.wait(60), "the test never let the update go on"
            return self._stack.embed_passages(texts)

        def __getattr__(self, attr):
            return getattr(self._stack, attr)

    monkeypatch.setattr(index.update, "load_stack", lambda spec: HeldStack(real_load_stack(spec)))
    other = tmp_path / "amber kettle.txt"
    other.write_text(FIXTURE_RELEASE.replace("Quartz Lantern", "Amber Kettle").replace("2099", "2097"), encoding="utf-8")
    batch = [other] + write_fictional_corpus(tmp_path / "fiction", slugs=["quartz-ferry-compact", "copper-kite-board",
                                                                           "reseau-bruine-argentee", "granite-owl-partnership"])
    job = client.submit([handle_file(str(p)) for p in batch], "", "", api_name="/add_releases")
    try:
        assert embedding.wait(60), "the update never reached its embedding step"
        during = client.predict("What is Exercise Quartz Lantern?", api_name="/chat")
        assert not job.done(), "the chat did not wait for the update"
    finally:
        release.set()
    assert during["found"] and cited_files(during) == [stored[0]]
    assert job.result(timeout=120)[0].splitlines()[0] == "added 5, updated 0, unchanged 0, removed 0, failed 0"


def test_too_large_or_wrong_files_get_a_clear_message(fresh: tuple[Client, Settings], tmp_path: Path) -> None:
    client, settings = fresh
    big = tmp_path / "big.txt"
    big.write_text(FIXTURE_RELEASE * 200, encoding="utf-8")          # > the 0.05 MB limit of this app
    with pytest.raises(Exception, match="maximum file size"):
        client.predict([handle_file(str(big))], "", "", api_name="/add_releases")

    # Behind Gradio's own limit, the app checks again: the message names the limit and the setting.
    with pytest.raises(UploadRejected, match=r"larger than the 0\.05 MB limit \(COMMUNIQUE_MAX_FILE_MB\)"):
        store_upload(big, tmp_path / "uploads", int(settings.max_file_mb * 1_000_000))
    exe = tmp_path / "tool.exe"
    exe.write_bytes(b"MZ")
    with pytest.raises(UploadRejected, match="unsupported file type .exe"):
        store_upload(exe, tmp_path / "uploads", 1_000_000)
    assert not (tmp_path / "uploads").exists() or not any((tmp_path / "uploads").iterdir())

    result, _, _ = client.predict(None, "not a url\nftp://example.org/x", "", api_name="/add_releases")
    assert "failed not a url: not an http(s) URL" in result and "failed ftp://example.org/x" in result


def test_beyond_localhost_adding_needs_the_admin_password(tmp_path: Path) -> None:
    release = tmp_path / "release.txt"
    release.write_text(FIXTURE_RELEASE, encoding="utf-8")
    settings = make_settings(tmp_path / "home", embeddings="hashing").model_copy(update={"corpus": []})

    with serving(settings, host="0.0.0.0") as (url, app):
        assert not app.add_policy.enabled
        # uploads are accepted only where they are used: this app takes none at all
        refused = httpx.post(f"{url}gradio_api/upload", files=[("files", ("release.txt", FIXTURE_RELEASE.encode()))])
        assert refused.status_code >= 400, refused.text
        result, _, _ = Client(url, verbose=False).predict(None, "https://example.invalid/r.html", "", api_name="/add_releases")
    assert result.startswith("Adding releases is disabled") and "COMMUNIQUE_ADMIN_PASSWORD" in result

    with serving(settings.model_copy(update={"admin_password": "s3cret"}), host="0.0.0.0") as (url, app):
        assert app.add_policy.enabled and app.add_policy.needs_password
        result, _, _ = Client(url, verbose=False).predict([handle_file(str(release))], "", "wrong", api_name="/add_releases")
    assert result == "Wrong admin password: releases were not added."
    assert not settings.uploads_dir.exists(), "nothing was stored"


def test_add_policy() -> None:
    base = make_settings(Path("/nonexistent"))
    with_password = base.model_copy(update={"admin_password": "pw"})
    for host in ("127.0.0.1", "localhost", "::1", "[::1]"):
        assert AddPolicy.for_launch(host, False, base).refusal(None) is None
    assert AddPolicy.for_launch("127.0.0.1", True, base).refusal(None), "a share link is not localhost"
    assert AddPolicy.for_launch("0.0.0.0", False, base).refusal("anything")
    assert AddPolicy.for_launch("192.168.1.5", False, with_password).refusal("pw") is None
    assert AddPolicy.for_launch("192.168.1.5", False, with_password).refusal("") == "Wrong admin password: releases were not added."


# --------------------------------------------------------------------------- inputs and files (unit)


@pytest.mark.parametrize(("name", "expected"), [
    ("../../evil name.txt", "evil_name.txt"),
    ("/etc/passwd.txt", "passwd.txt"),
    ("C:\\Users\\x\\..\\réunion été.TXT", "reunion_ete.txt"),
    ("..", "release"),
    (".hidden.md", "hidden.md"),
    ("<img src=x onerror=alert(1)>.html", "img_src_x_onerror_alert_1.html"),
])
def test_safe_upload_name(name: str, expected: str) -> None:
    assert safe_upload_name(name) == expected


def test_store_upload_replaces_a_file_of_the_same_name(tmp_path: Path) -> None:
    a, b = tmp_path / "a" / "r.txt", tmp_path / "b" / "r.txt"
    for path, text in ((a, "one"), (b, "two")):
        path.parent.mkdir()
        path.write_text(text)
    uploads = tmp_path / "uploads"
    first, second = (store_upload(p, uploads, 1000) for p in (a, b))
    assert first == second == uploads.resolve() / "r.txt"
    assert first.read_text() == "two" and sorted(p.name for p in uploads.iterdir()) == ["r.txt"]


def test_parse_filters() -> None:
    filters = parse_filters("French", " 2024 ", "2024-02")
    assert (filters.lang, filters.date_from, filters.date_to) == ("fr", "2024", "2024-02")
    assert parse_filters("any", "", None).lang is None and parse_filters("en", "", "").lang == "en"
    assert parse_filters("Any", "2024-02-01", "2024-02").date_to == "2024-02"
    with pytest.raises(InputError, match="Language filter"):
        parse_filters("German", "", "")


# --------------------------------------------------------------------------- webapp.present (unit)

HOSTILE = ('Notes: <script>window.__xss=1</script> <img src=x onerror="window.__xss=2"> '
           '[click](javascript:window.__xss=3) <https://evil.example> www.evil.example $$x$$ `code` **bold**')


def hostile_citation(**changes) -> Citation:
    fields = dict(n=1, source="/srv/releases/<img src=x onerror=alert(2)>.txt", title='Title <img src=x onerror="alert(1)">', date="2024-01-02",
                  lang="en", url=None, text=HOSTILE, score=0.5, chunk_id="c1", quotes=((7, 40),))
    return Citation(**{**fields, **changes})


class _Elements(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.found: list[tuple[str, dict[str, str | None]]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.found.append((tag, dict(attrs)))


def assert_inert(markup: str, *, markdown: bool = False) -> None:
    """Only our own elements, no event handlers, links only to http(s); for Markdown, no link/code/LaTeX syntax left."""
    parser = _Elements()
    parser.feed(markup)
    for tag, attrs in parser.found:
        assert tag in {"div", "article", "span", "blockquote", "mark", "a", "p", "b", "small", "br", "code"}, tag
        assert not [a for a in attrs if a.startswith("on")], (tag, attrs)
        if tag == "a":
            assert re.match(r"https?://", attrs.get("href") or ""), attrs
    if markdown:
        assert "](" not in markup and "<https" not in markup and "$$" not in markup and "`" not in markup and "**" not in markup


def test_escape_markdown_makes_release_text_inert() -> None:
    escaped = escape_markdown(HOSTILE)
    assert_inert(escaped, markdown=True)
    assert "www.evil" not in escaped, "GFM would autolink it"


def test_sources_panel_escapes_everything_from_releases() -> None:
    html = citations_html([hostile_citation()])
    assert_inert(html)
    assert "&lt;script&gt;window.__xss=1&lt;/script&gt;" in html
    assert f'<mark class="cq-quote">{escape_html(HOSTILE[7:40])}</mark>' in html
    assert "&lt;img src=x onerror=alert(2)&gt;.txt" in html and "/srv/releases" not in html, "file sources are named by file name only"
    assert "<a " not in html, "no link for a file source"


def test_only_http_links_to_the_source_are_clickable() -> None:
    good = citations_html([hostile_citation(url="https://www.nato.int/cps/en/natohq/news_1.htm?x=\"y\"")])
    assert good.count("<a ") == 1 and 'href="https://www.nato.int/cps/en/natohq/news_1.htm?x=&quot;y&quot;"' in good
    assert 'rel="noopener noreferrer nofollow"' in good
    for bad in ("javascript:alert(1)", "data:text/html,<script>x</script>", "https://x y", "//evil.example/x", "file:///etc/passwd"):
        html = citations_html([hostile_citation(url=bad)])
        assert "<a " not in html, bad
        assert_inert(html)


def test_chat_markdown_of_an_answer_is_inert_and_lists_sources() -> None:
    answer = Answer(question="q", text=f"From the release: “{HOSTILE}” [1]", found=True, citations=[hostile_citation()])
    markdown = answer_markdown(answer)
    assert_inert(markdown, markdown=True)
    assert "<b>Sources</b>" in markdown and "&#91;1&#93;" in markdown and "<code>&lt;img src&#61;x onerror&#61;alert&#40;2&#41;&gt;.txt</code>" in markdown


def test_answer_dict_and_text_for_scripts() -> None:
    answer = Answer(question="q", text="It is a drill. [1]", found=True, citations=[hostile_citation(url="https://www.nato.int/a.htm")])
    data = answer_dict(answer)
    assert data["citations"][0]["url"] == data["citations"][0]["source"] == "https://www.nato.int/a.htm"
    assert data["citations"][0]["quoted"] == [HOSTILE[7:40]]
    assert answer_plain_text(answer) == ("It is a drill. [1]\n\nSources:\n[1] Title <img src=x onerror=\"alert(1)\"> "
                                         "(2024-01-02, en) — https://www.nato.int/a.htm")


# --------------------------------------------------------------------------- release list and removal (fictional releases)


def test_added_releases_are_listed_and_removed_through_the_api(tmp_path: Path) -> None:
    from helpers.releases import write_releases
    from webapp.handlers import IndexHandlers

    paths = write_releases(tmp_path / "new", ["2099-01-01-en-quartz-lantern.txt", "2098-06-12-fr-lanterne-violette.txt"])
    settings = make_settings(tmp_path / "home", embeddings="hashing").model_copy(update={"corpus": []})
    with serving(settings) as (url, app):
        client, keeper = Client(url, verbose=False), app.index_keeper
        view = IndexHandlers(keeper, app.add_policy).view
        assert keeper.notice() == EMPTY_INDEX_TEXT and view()[0].visible is True

        result, _, _ = client.predict([handle_file(str(p)) for p in paths], "", "", api_name="/add_releases")
        assert result.splitlines()[0] == "added 2, updated 0, unchanged 0, removed 0, failed 0"
        assert keeper.notice() == "", "the notice goes with the first release"
        notice, _, _, table, _, note, chart, *_ = view()
        assert notice.visible is False
        assert sorted(table["Title"]) == ["Fixture de test : réunion fictive sur les lanternes 2098",
                                          "Test fixture: NATO widget exercise 2099"]
        assert set(table["Source"]) == {"uploads/2099-01-01-en-quartz-lantern.txt", "uploads/2098-06-12-fr-lanterne-violette.txt"}
        assert note == "2 releases indexed." and list(chart.itertuples(index=False, name=None)) == [("2098", "English", 0), ("2098", "French", 1), ("2099", "English", 1), ("2099", "French", 0)]

        quartz = next(r for r in keeper.releases if "widget" in r.title)
        removed, _ = client.predict([quartz.source], "", api_name="/remove_releases")
        assert removed == "added 0, updated 0, unchanged 0, removed 1, failed 0"
        assert [r.title for r in keeper.releases] == ["Fixture de test : réunion fictive sur les lanternes 2098"]
        assert not client.predict("What is Exercise Quartz Lantern?", api_name="/chat")["found"]

    with serving(settings.model_copy(update={"admin_password": "s3cret"}), host="0.0.0.0") as (url, app):
        refused, _ = Client(url, verbose=False).predict([app.index_keeper.releases[0].source], "wrong",
                                                          api_name="/remove_releases")
        assert refused == "Wrong admin password: no release was removed." and len(app.index_keeper.releases) == 1
