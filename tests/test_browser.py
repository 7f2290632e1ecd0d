"""The web app in a real browser (Playwright driving Debian's Chromium).

The app runs in this process on its own small index: two corpus releases copied to tmp and
named by COMMUNIQUE_CORPUS, so the app builds its index at start-up (in the background).
The test then asks questions, adds releases through "Add releases", and checks that markup
inside a release stays text.
"""
from __future__ import annotations

import shutil
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from app import build_app, launch
from helpers.indexing import make_settings
from helpers.webserver import free_port

pytestmark = pytest.mark.browser

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-quic", "--no-first-run", "--disable-sync"]
RELEASES = ["2024-06-11-fr-reunion-virtuelle-chefs-etat-major-partenaires.txt", "undated-en-resilience-committee.txt"]
TIMEOUT_MS = 60_000

# Test fixtures written for this test; neither is a real NATO release.
QUARTZ_RELEASE = """Test fixture: NATO widget exercise 2099

  • 01 Jan. 2099 -
  • |
  • Last updated: 01 Jan. 2099 10:00

This text is a test fixture written for the app's browser test; it is not a real NATO release.
Exercise Quartz Lantern is an invented NATO widget exercise in which Allied engineers test the interoperability of imaginary field widgets.
The exercise took place in the fictional town of Examplestad and brought together widget teams from several Allies.
"""
HOSTILE_RELEASE = """Test fixture: hostile markup release 2098

  • 02 Feb. 2098 -
  • |
  • Last updated: 02 Feb. 2098 10:00

This text is a test fixture for the app's escaping; it is not a real NATO release.
Operation Velvet Teapot is an invented drill whose log shows <script>window.__xss=1</script> as plain text.
Operation Velvet Teapot also records <img src=x onerror="window.__xss=2"> and [click](javascript:window.__xss=3) as plain text.
"""


@pytest.fixture(scope="module")
def chromium():
    if not CHROMIUM.exists():
        pytest.skip(f"{CHROMIUM} is missing: install Debian's chromium to run the browser tests")
    sync_api = pytest.importorskip("playwright.sync_api", reason="playwright (Python) is not installed")
    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture(scope="module")
def served(shared_corpus: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, object]]:
    """The app on a fresh index whose COMMUNIQUE_CORPUS holds two releases; waits for the start-up build."""
    root = tmp_path_factory.mktemp("browser-app")
    corpus = root / "corpus"
    corpus.mkdir()
    for name in RELEASES:
        shutil.copy2(shared_corpus / name, corpus / name)
    settings = make_settings(root / "home").model_copy(update={"corpus": [str(corpus)]})
    app = build_app(settings)
    keeper = app.index_keeper
    assert keeper.building, "an empty index with a corpus folder is built at start-up"
    port = free_port()
    launch(app, settings, port=port, prevent_thread_lock=True, quiet=True)   # the UI starts while the build runs
    try:
        deadline = time.monotonic() + 120
        while keeper.building and time.monotonic() < deadline:
            time.sleep(0.2)
        assert not keeper.building and keeper.status and keeper.status.releases == 2, keeper.build_note
        yield f"http://127.0.0.1:{port}/", app
    finally:
        app.close()


def ask(page, question: str, expect_in_sources: str) -> None:
    page.fill("#cq-question textarea", question)
    page.press("#cq-question textarea", "Enter")
    page.locator("#cq-sources").get_by_text(expect_in_sources, exact=False).first.wait_for(timeout=TIMEOUT_MS)


def test_ask_add_releases_and_markup_stays_text(chromium, served, tmp_path: Path) -> None:
    url, app = served
    page = chromium.new_page(viewport={"width": 1400, "height": 1000})
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.goto(url)
    page.wait_for_selector("#cq-question textarea", timeout=TIMEOUT_MS)

    # 1. A question, its streamed answer and its sources.
    ask(page, "What is PAF-N?", "Réunion virtuelle des chefs d’état-major")
    chat = page.locator("#cq-chat")
    chat.get_by_text("PAF-N", exact=False).last.wait_for(timeout=TIMEOUT_MS)
    assert "[1]" in chat.inner_text() and "Sources" in chat.inner_text()
    source = page.locator("#cq-sources .cq-source").first
    assert "2024-06-11" in source.inner_text() and "French" in source.inner_text()
    assert "2024-06-11-fr-reunion-virtuelle-chefs-etat-major-partenaires.txt" in source.inner_text()
    assert "PAF-N" in source.locator("mark").first.inner_text(), "the cited sentence is highlighted"
    screenshot = tmp_path / "answered-chat.png"
    page.screenshot(path=str(screenshot), full_page=True)
    print(f"\nscreenshot of the answered chat: {screenshot}")

    # An example question; then clicking the first answer shows its sources again.
    page.get_by_role("button", name="What is NATO's Resilience Committee?").click()
    page.locator("#cq-sources").get_by_text("undated-en-resilience-committee.txt").first.wait_for(timeout=TIMEOUT_MS)
    chat.get_by_text("From the French release").click()
    page.locator("#cq-sources").get_by_text("Réunion virtuelle des chefs d’état-major").first.wait_for(timeout=TIMEOUT_MS)

    # A bad date in the filters gets a message in the chat, not an answer.
    page.get_by_text("Filters").click()
    page.fill("#cq-from textarea, #cq-from input", "2024-13-01")
    page.fill("#cq-question textarea", "What is PAF-N?")
    page.press("#cq-question textarea", "Enter")
    chat.get_by_text("does not exist in the calendar", exact=False).wait_for(timeout=TIMEOUT_MS)
    page.fill("#cq-from textarea, #cq-from input", "")

    # 2. Add two releases through the Index tab.
    quartz = tmp_path / "quartz lantern.txt"
    quartz.write_text(QUARTZ_RELEASE, encoding="utf-8")
    hostile = tmp_path / "velvet <img src=x onerror=window.__xss=5>.txt"
    hostile.write_text(HOSTILE_RELEASE, encoding="utf-8")
    page.get_by_role("tab", name="Index").click()
    page.locator("#cq-add").wait_for()
    assert "Start-up build: built from COMMUNIQUE_CORPUS: added 2" in page.locator("#cq-status").inner_text()
    page.locator("#cq-files input[type=file]").set_input_files([str(quartz), str(hostile)])
    page.locator('#cq-files td.filename[aria-label="quartz lantern.txt"]').wait_for(timeout=TIMEOUT_MS)
    assert page.locator("#cq-files tr.file").count() == 2
    page.click("#cq-add")
    result = page.locator("#cq-result textarea")
    page.wait_for_function("() => document.querySelector('#cq-result textarea').value.startsWith('added')", timeout=TIMEOUT_MS)
    assert result.input_value().splitlines()[0] == "added 2, updated 0, unchanged 0, removed 0, failed 0"
    page.locator("#cq-status").get_by_text("Releases:").wait_for()
    assert "Releases: 4" in page.locator("#cq-status").inner_text()
    uploaded = sorted(p.name for p in app.index_keeper.settings.uploads_dir.iterdir())
    assert uploaded == ["quartz_lantern.txt", "velvet_img_src_x_onerror_window.__xss_5.txt"]

    # 3. The new release answers.
    page.get_by_role("tab", name="Ask").click()
    page.locator("#cq-question textarea").wait_for()
    ask(page, "What is Exercise Quartz Lantern?", "Test fixture: NATO widget exercise 2099")
    assert "quartz_lantern.txt" in page.locator("#cq-sources").inner_text()

    # 4. Markup inside a release is shown as text, in the chat and in the sources.
    ask(page, "What is Operation Velvet Teapot?", "Test fixture: hostile markup release 2098")
    sources_text = page.locator("#cq-sources").inner_text()
    assert "<script>window.__xss=1</script>" in sources_text
    assert '<img src=x onerror="window.__xss=2">' in sources_text and "[click](javascript:window.__xss=3)" in sources_text
    assert "<script>window.__xss=1</script>" in chat.inner_text(), "the quoted sentence is shown as text in the chat"
    time.sleep(0.5)   # give any injected handler (an <img onerror>) the time to fire
    assert page.evaluate("() => typeof window.__xss") == "undefined"
    assert page.evaluate("""() => [...document.querySelectorAll('script')].filter(s => s.textContent.includes('__xss')).length""") == 0
    assert page.evaluate("() => document.querySelectorAll('[onerror]').length") == 0
    assert page.evaluate("""() => [...document.querySelectorAll('a[href]')].filter(a => /^\\s*javascript:/i.test(a.getAttribute('href'))).length""") == 0
    page.screenshot(path=str(tmp_path / "hostile-release.png"), full_page=True)
    print(f"screenshot of the hostile release's answer: {tmp_path / 'hostile-release.png'}")
    assert not errors, errors
    page.close()
