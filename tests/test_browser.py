"""The web app in a real browser (Playwright driving Debian's Chromium), on fictional releases written by the tests.

`served`: the app builds its index at start-up from COMMUNIQUE_CORPUS (three fixture releases,
in the background). The first test asks questions (sources grouped per release), rates and
comments an answer, downloads the conversation, adds releases through "Add releases" (one
full of markup, which must stay text), sees the release list and chart follow, and removes
a release. `served_empty`: an app on an empty index, whose notice goes away once a release
is added, without a reload. Screenshots are saved under the test's tmp dir.
"""
from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from app import build_app, launch
from bot.feedback import FeedbackStore
from helpers.indexing import make_settings
from helpers.releases import AMBER, HOSTILE, HOSTILE_TITLE, QUARTZ, write_releases
from helpers.webserver import free_port

pytestmark = pytest.mark.browser

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-quic", "--no-first-run", "--disable-sync"]
CORPUS = ["2099-01-01-en-quartz-lantern.txt", "2098-06-12-fr-lanterne-violette.txt", "undated-en-copper-teaspoon.txt"]
TIMEOUT_MS = 60_000


@pytest.fixture(scope="module")
def chromium():
    if not CHROMIUM.exists():
        pytest.skip(f"{CHROMIUM} is missing: install Debian's chromium to run the browser tests")
    sync_api = pytest.importorskip("playwright.sync_api", reason="playwright (Python) is not installed")
    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield browser
        browser.close()


def _serve(settings, wait_for: int | None) -> Iterator[tuple[str, object]]:
    app = build_app(settings)
    keeper = app.index_keeper
    port = free_port()
    launch(app, settings, port=port, prevent_thread_lock=True, quiet=True)   # the UI starts while a build runs
    try:
        deadline = time.monotonic() + 120
        while keeper.building and time.monotonic() < deadline:
            time.sleep(0.2)
        if wait_for is not None:
            assert not keeper.building and keeper.status and keeper.status.releases == wait_for, keeper.build_note
        yield f"http://127.0.0.1:{port}/", app
    finally:
        app.close()


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, object]]:
    """The app on a fresh index whose COMMUNIQUE_CORPUS holds three fixture releases; waits for the start-up build."""
    root = tmp_path_factory.mktemp("browser-app")
    write_releases(root / "corpus", CORPUS)
    settings = make_settings(root / "home").model_copy(update={"corpus": [str(root / "corpus")]})
    yield from _serve(settings, wait_for=len(CORPUS))


@pytest.fixture(scope="module")
def served_empty(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, object]]:
    """The app on an empty index and no corpus."""
    settings = make_settings(tmp_path_factory.mktemp("browser-empty") / "home").model_copy(update={"corpus": []})
    yield from _serve(settings, wait_for=None)


def new_page(chromium, url: str, errors: list[str]):
    page = chromium.new_page(viewport={"width": 1400, "height": 1000}, accept_downloads=True)
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.goto(url)
    page.wait_for_selector("#cq-question textarea", timeout=TIMEOUT_MS)
    return page


def ask(page, question: str, expect_in_sources: str) -> None:
    page.fill("#cq-question textarea", question)
    page.press("#cq-question textarea", "Enter")
    page.locator("#cq-sources").get_by_text(expect_in_sources, exact=False).first.wait_for(timeout=TIMEOUT_MS)


def screenshot(page, path: Path, what: str) -> None:
    page.screenshot(path=str(path), full_page=True)
    print(f"\nscreenshot of {what}: {path}")


def test_ask_rate_export_add_list_remove_and_markup_stays_text(chromium, served, tmp_path: Path) -> None:
    url, app = served
    keeper = app.index_keeper
    errors: list[str] = []
    page = new_page(chromium, url, errors)

    # 1. A question answered from one release: the release is listed once, its cited passages numbered under it
    #    (one or two passages, as the answer model decides; grouping of several is unit-tested in test_webapp).
    ask(page, "What is Exercise Quartz Lantern?", "Test fixture: NATO widget exercise 2099")
    chat = page.locator("#cq-chat")
    chat.get_by_text("Allied engineers", exact=False).last.wait_for(timeout=TIMEOUT_MS)
    assert "[1]" in chat.inner_text() and "Sources" in chat.inner_text()
    entries = page.locator("#cq-sources .cq-source")
    assert entries.count() == 1, "passages of one release, one entry"
    entry = entries.first
    passages = entry.locator(".cq-item").count()
    assert entry.locator(".cq-title").count() == 1 and passages in (1, 2)
    assert "2099-01-01" in entry.inner_text() and "English" in entry.inner_text()
    assert "2099-01-01-en-quartz-lantern.txt" in entry.inner_text()
    assert [n.inner_text() for n in entry.locator(".cq-item > .cq-n").all()] == [f"[{n}]" for n in range(1, passages + 1)]
    assert "Quartz Lantern" in entry.locator("mark").first.inner_text(), "the cited sentence is highlighted"
    screenshot(page, tmp_path / "answer-grouped-sources.png", "an answer with grouped sources")

    # Example questions come from what the index holds; one of them is answered from its release.
    examples = page.locator(".cq-example")
    labels = [b.inner_text() for b in examples.all() if b.is_visible()]
    assert labels == ["What does the release “Test fixture: NATO widget exercise 2099” say?",
                      "Que dit le communiqué « Fixture de test : réunion fictive sur les lanternes 2098 » ?",
                      "What does the release “Test fixture: Copper Teaspoon office” say?"]
    french = next(b for b in examples.all() if b.is_visible() and "lanternes" in b.inner_text())
    french.click()
    page.locator("#cq-sources").get_by_text("2098-06-12-fr-lanterne-violette.txt").first.wait_for(timeout=TIMEOUT_MS)
    chat.get_by_text("Allied engineers", exact=False).first.click()   # the first answer again
    page.locator("#cq-sources").get_by_text("2099-01-01-en-quartz-lantern.txt").first.wait_for(timeout=TIMEOUT_MS)

    # A bad date in the filters gets a message in the chat, not an answer.
    page.get_by_text("Filters").click()
    page.fill("#cq-from textarea, #cq-from input", "2024-13-01")
    page.fill("#cq-question textarea", "What is Exercise Quartz Lantern?")
    page.press("#cq-question textarea", "Enter")
    chat.get_by_text("does not exist in the calendar", exact=False).wait_for(timeout=TIMEOUT_MS)
    page.fill("#cq-from textarea, #cq-from input", "")

    # 2. 👍 on the first answer, with a comment: stored with the question, answer, citations, mode and time.
    chat.locator("button[aria-label='Like']").first.click()
    page.locator("#cq-feedback-note").get_by_text("stored", exact=False).first.wait_for(timeout=TIMEOUT_MS)
    page.get_by_text("Comment on a rating").click()
    page.fill("#cq-comment textarea", "Good: <b>both</b> passages cited")
    page.click("#cq-comment-send")
    page.locator("#cq-feedback-note").get_by_text("comment is stored", exact=False).wait_for(timeout=TIMEOUT_MS)
    rows = FeedbackStore.for_settings(keeper.settings).rows()
    assert [(r["rating"], r["question"], r["mode"], r["comment"]) for r in rows] == [
        ("up", "What is Exercise Quartz Lantern?", "extractive", "Good: <b>both</b> passages cited")]
    assert rows[0]["citations"][0]["source"] == "2099-01-01-en-quartz-lantern.txt" and rows[0]["time"]

    # 3. The conversation as Markdown, every answer with its sources.
    with page.expect_download(timeout=TIMEOUT_MS) as download:
        page.click("#cq-export")
    markdown = Path(download.value.path()).read_text(encoding="utf-8")
    assert "## 1. What is Exercise Quartz Lantern?" in markdown
    markers = "".join(f"[{n}]" for n in range(1, passages + 1))
    assert f"{markers} Test fixture: NATO widget exercise 2099 — 2099-01-01, English — file 2099-01-01-en-quartz-lantern.txt" in markdown
    assert "> Exercise Quartz Lantern is an invented NATO widget exercise" in markdown
    assert "2098-06-12-fr-lanterne-violette.txt" in markdown

    # 4. Add two releases through the Index tab; the status, the list and the chart follow.
    amber = tmp_path / "amber kettle.txt"
    amber.write_text(AMBER, encoding="utf-8")
    hostile = tmp_path / "velvet <img src=x onerror=window.__xss=5>.txt"
    hostile.write_text(HOSTILE, encoding="utf-8")
    page.get_by_role("tab", name="Index").click()
    page.locator("#cq-add").wait_for()
    assert "Start-up build: built from COMMUNIQUE_CORPUS: added 3" in page.locator("#cq-status").inner_text()
    releases = page.locator("#cq-releases")
    assert "Test fixture: NATO widget exercise 2099" in releases.inner_text()
    page.locator("#cq-chart canvas, #cq-chart svg").first.wait_for(timeout=TIMEOUT_MS)   # the coverage chart is drawn
    assert "1 undated release not in the chart" in page.locator("#cq-chart-note").inner_text()
    page.locator("#cq-files input[type=file]").set_input_files([str(amber), str(hostile)])
    page.locator('#cq-files td.filename[aria-label="amber kettle.txt"]').wait_for(timeout=TIMEOUT_MS)
    page.click("#cq-add")
    page.wait_for_function("() => document.querySelector('#cq-result textarea').value.startsWith('added')", timeout=TIMEOUT_MS)
    assert page.locator("#cq-result textarea").input_value().splitlines()[0] == "added 2, updated 0, unchanged 0, removed 0, failed 0"
    assert "Releases: 5" in page.locator("#cq-status").inner_text()
    releases.get_by_text("Test fixture: Amber Kettle committee 2097").first.wait_for(timeout=TIMEOUT_MS)
    assert "uploads/amber_kettle.txt" in releases.inner_text()
    assert "5 releases indexed" in page.locator("#cq-list-note").inner_text()

    # The list filters by text, language and date.
    page.fill("#cq-list-text input, #cq-list-text textarea", "kettle")
    page.press("#cq-list-text input, #cq-list-text textarea", "Enter")
    page.locator("#cq-list-note").get_by_text("1 of 5 releases shown").wait_for(timeout=TIMEOUT_MS)
    page.fill("#cq-list-text input, #cq-list-text textarea", "")
    page.press("#cq-list-text input, #cq-list-text textarea", "Enter")
    # the cleared text first: else the note still reads "1 of 5" from the text filter when French is chosen
    page.locator("#cq-list-note").get_by_text("5 releases indexed").wait_for(timeout=TIMEOUT_MS)
    page.locator("#cq-list-lang").get_by_text("French").click()
    page.locator("#cq-list-note").get_by_text("1 of 5 releases shown").wait_for(timeout=TIMEOUT_MS)
    releases.get_by_text("Amber Kettle").first.wait_for(state="detached", timeout=TIMEOUT_MS)
    assert "lanternes" in releases.inner_text() and "Amber" not in releases.inner_text()
    page.locator("#cq-list-lang").get_by_text("Any").click()
    page.fill("#cq-list-from input, #cq-list-from textarea", "2098")
    page.press("#cq-list-from input, #cq-list-from textarea", "Enter")
    page.locator("#cq-list-note").get_by_text("3 of 5 releases shown").wait_for(timeout=TIMEOUT_MS)
    page.fill("#cq-list-from input, #cq-list-from textarea", "")
    page.press("#cq-list-from input, #cq-list-from textarea", "Enter")
    page.locator("#cq-list-note").get_by_text("5 releases indexed").wait_for(timeout=TIMEOUT_MS)
    screenshot(page, tmp_path / "index-tab.png", "the Index tab")

    # Sorted by a column (Gradio's column menu).
    def dates() -> list[str]:
        return [c.inner_text().strip() for c in releases.locator("[role=gridcell][data-col='1']").all()]
    header = releases.locator("th").filter(has_text="Date").first
    header.hover()
    header.locator("button[aria-label='Open cell menu']").click(force=True)
    page.get_by_text("Sort ascending").first.click()
    deadline = time.monotonic() + 10
    while [d for d in dates() if d] != sorted(d for d in dates() if d) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert [d for d in dates() if d] == ["2097-03-15", "2098-02-02", "2098-06-12", "2099-01-01"]
    page.keyboard.press("Escape")

    # 5. Select a release by clicking its row, then remove it.
    releases.get_by_text("Test fixture: Amber Kettle committee 2097").first.click()
    page.locator("#cq-picked").get_by_text("Amber Kettle committee 2097", exact=False).first.wait_for(timeout=TIMEOUT_MS)
    page.click("#cq-remove")
    page.wait_for_function("() => document.querySelector('#cq-remove-result textarea').value.includes('removed 1')",
                           timeout=TIMEOUT_MS)
    page.locator("#cq-list-note").get_by_text("4 releases indexed").wait_for(timeout=TIMEOUT_MS)
    assert "Amber Kettle" not in releases.inner_text()
    assert [r.title for r in keeper.releases if "Amber" in r.title] == []

    # 6. Markup inside a release is shown as text: in the list, the removal picker, the examples, the chat, the sources.
    assert HOSTILE_TITLE in releases.inner_text()
    page.locator("#cq-picked input").click()
    page.get_by_role("option", name=HOSTILE_TITLE, exact=False).first.wait_for(timeout=TIMEOUT_MS)
    page.keyboard.press("Escape")
    page.get_by_role("tab", name="Ask").click()
    page.locator("#cq-question textarea").wait_for()
    assert any(HOSTILE_TITLE in b.inner_text() for b in page.locator(".cq-example").all() if b.is_visible())
    ask(page, "What is Operation Velvet Teapot?", "Test fixture: hostile <b>markup</b>")
    assert HOSTILE_TITLE in page.locator("#cq-sources .cq-title").first.inner_text()
    sources_text = page.locator("#cq-sources").inner_text()
    assert "<script>window.__xss=1</script>" in sources_text
    assert '<img src=x onerror="window.__xss=2">' in sources_text and "[click](javascript:window.__xss=3)" in sources_text
    assert "<script>window.__xss=1</script>" in chat.inner_text(), "the quoted sentence is shown as text in the chat"
    time.sleep(0.5)   # give any injected handler (an <img onerror>) the time to fire
    assert page.evaluate("() => typeof window.__xss") == "undefined"
    assert page.evaluate("""() => [...document.querySelectorAll('script')].filter(s => s.textContent.includes('__xss')).length""") == 0
    assert page.evaluate("() => document.querySelectorAll('[onerror]').length") == 0
    assert page.evaluate("""() => [...document.querySelectorAll('a[href]')].filter(a => /^\\s*javascript:/i.test(a.getAttribute('href'))).length""") == 0
    screenshot(page, tmp_path / "hostile-release.png", "the hostile release's answer")
    assert not errors, errors
    page.close()


def test_the_empty_index_notice_goes_once_releases_are_added(chromium, served_empty, tmp_path: Path) -> None:
    url, app = served_empty
    errors: list[str] = []
    page = new_page(chromium, url, errors)
    notice = page.locator("#cq-notice")
    notice.get_by_text("The index holds no releases yet", exact=False).wait_for(timeout=TIMEOUT_MS)
    assert page.locator(".cq-example:visible").count() == 0, "no example questions without releases"

    quartz = tmp_path / "quartz lantern.txt"
    quartz.write_text(QUARTZ, encoding="utf-8")
    page.get_by_role("tab", name="Index").click()
    assert "No release is indexed yet" in page.locator("#cq-list-note").inner_text()
    page.locator("#cq-files input[type=file]").set_input_files([str(quartz)])
    page.locator('#cq-files td.filename[aria-label="quartz lantern.txt"]').wait_for(timeout=TIMEOUT_MS)
    page.click("#cq-add")
    page.locator("#cq-list-note").get_by_text("1 release indexed").wait_for(timeout=TIMEOUT_MS)
    notice.wait_for(state="hidden", timeout=TIMEOUT_MS)

    page.get_by_role("tab", name="Ask").click()
    example = page.locator(".cq-example:visible")
    example.first.wait_for(timeout=TIMEOUT_MS)
    assert example.first.inner_text() == "What does the release “Test fixture: NATO widget exercise 2099” say?"
    ask(page, "What is Exercise Quartz Lantern?", "Test fixture: NATO widget exercise 2099")
    assert "quartz_lantern.txt" in page.locator("#cq-sources").inner_text()
    screenshot(page, tmp_path / "after-first-release.png", "the Ask tab after the first release")
    assert not errors, errors
    page.close()
