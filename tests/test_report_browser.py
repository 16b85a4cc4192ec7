"""The report in a real browser: headless Chromium opens report.html from disk.

The report is the session's ``report`` (tests/report_fits.py: every kind of fit, and a
language named like a script tag). The browser must show it without a console error, a page
error, a broken image, a dialog (an injected script that ran) or any request beyond the file
itself and its embedded data: URLs. A full-page screenshot is kept under the test's tmp
folder; with ``ATLAS_SCREENSHOT_DIR`` set it is also written there as
``report-screenshot.png`` (``ATLAS_SCREENSHOT_DIR=benchmarks/results``).

Needs Debian's chromium (``apt-get install -y chromium``) and the ``playwright`` package (the
``dev`` extra); without them the tests are skipped. No browser is downloaded
(``playwright install`` is never run): Playwright drives the system's chromium.
"""

import os
import shutil
from pathlib import Path

import pytest

CHROMIUM = Path("/usr/bin/chromium")
#: Headless, and nothing that talks to the network or the user's profile on its own.
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
SCREENSHOT_NAME = "report-screenshot.png"
#: A laptop-sized window: the width a reader most often has.
VIEWPORT = {"width": 1280, "height": 900}

IMAGES = """() => Array.from(document.images).map(img => ({
    alt: img.alt, complete: img.complete, width: img.naturalWidth, height: img.naturalHeight,
    src: img.currentSrc.slice(0, 30)}))"""


def _sync_playwright():
    if not CHROMIUM.exists():
        pytest.skip(
            f"{CHROMIUM} not found: install Debian's chromium with `apt-get install -y chromium` "
            "(make test does this where apt-get exists)"
        )
    module = pytest.importorskip(
        "playwright.sync_api", reason="playwright is missing: pip install -e '.[dev]'"
    )
    return module.sync_playwright


@pytest.fixture(scope="module")
def browsed(report, tmp_path_factory) -> dict:
    """Open the report in headless Chromium; record what the page did; take a screenshot."""
    sync_playwright = _sync_playwright()
    seen = {"console": [], "page_errors": [], "requests": [], "dialogs": []}
    screenshot = tmp_path_factory.mktemp("browser") / SCREENSHOT_NAME
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(viewport=VIEWPORT)
            page.on("console", lambda m: seen["console"].append((m.type, m.text)))
            page.on("pageerror", lambda e: seen["page_errors"].append(str(e)))
            page.on("request", lambda r: seen["requests"].append(r.url))

            def on_dialog(dialog) -> None:
                seen["dialogs"].append(dialog.message)
                dialog.dismiss()

            page.on("dialog", on_dialog)
            page.goto(report["paths"].html.as_uri(), wait_until="load")
            seen["images"] = page.evaluate(IMAGES)
            seen["title"] = page.title()
            page.screenshot(path=str(screenshot), full_page=True)
        finally:
            browser.close()
    seen["screenshot"] = screenshot
    target = os.environ.get("ATLAS_SCREENSHOT_DIR")
    if target:
        Path(target).mkdir(parents=True, exist_ok=True)
        shutil.copyfile(screenshot, Path(target) / SCREENSHOT_NAME)
    return seen


def test_page_loads_without_errors(browsed):
    # Guards: no JavaScript runs wrongly (the report has none) and nothing fails to load.
    errors = [text for kind, text in browsed["console"] if kind == "error"]
    assert errors == []
    assert browsed["page_errors"] == []
    assert "uncertainty report" in browsed["title"]


def test_user_strings_do_not_run_in_the_browser(browsed):
    # Guards: the language called <script>alert(1)</script> is text, so no alert appears.
    assert browsed["dialogs"] == []


def test_every_image_renders(browsed):
    # Guards: every embedded figure decodes (a broken data: URI has naturalWidth 0).
    images = browsed["images"]
    assert len(images) >= 8
    broken = [img for img in images if not img["complete"] or img["width"] == 0]
    assert broken == []


def test_no_network_requests(browsed):
    # Guards: the file is self-contained; opening it fetches nothing from anywhere.
    outside = [url for url in browsed["requests"] if not url.startswith(("file:", "data:"))]
    assert outside == []


def test_full_page_screenshot_is_saved(browsed):
    # Guards: the screenshot exists and is a PNG taller than one window (the whole page).
    from PIL import Image

    with Image.open(browsed["screenshot"]) as shot:
        assert shot.format == "PNG"
        assert shot.width == VIEWPORT["width"]
        assert shot.height > VIEWPORT["height"]
