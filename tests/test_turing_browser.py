"""The Turing test as students take it: headless Chromium (Debian's ``chromium``, driven by Playwright) answers
``quiz.html`` from a file and from the live server, and the downloaded or submitted answers are scored.

Skipped without Chromium or Playwright, except where ``MEDGAN_REQUIRE_BROWSER=1`` (``.ci/run`` sets it and installs
Chromium), where a missing browser fails instead of skipping."""

from __future__ import annotations

import os
import shutil
import threading

import numpy as np
import pytest

from medgan_lib.turing import build_turing_test, read_answers, save_kit, score

CHROMIUM = os.environ.get("MEDGAN_CHROMIUM") or shutil.which("chromium") or shutil.which("chromium-browser")
# The flags Chromium needs as root in a container with no network (no sandbox, no background connections).
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-sync",
                 "--disable-background-networking", "--disable-component-update"]


def _missing(what: str):
    if os.environ.get("MEDGAN_REQUIRE_BROWSER") == "1":
        pytest.fail(f"{what}, and MEDGAN_REQUIRE_BROWSER=1 asks for the browser tests to run")
    pytest.skip(what)


@pytest.fixture(scope="module")
def browser():
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        _missing("the playwright package is not installed")
    if not CHROMIUM:
        _missing("no Chromium found (apt install chromium, or set MEDGAN_CHROMIUM)")
    with sync_playwright() as driver:
        chromium = driver.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


def _kit(tmp_path, n):
    rng = np.random.default_rng(0)
    real = rng.uniform(-1, 1, (n, 1, 16, 16)).astype(np.float32)
    fake = rng.uniform(-1, 1, (n, 1, 16, 16)).astype(np.float32)
    test = build_turing_test(real, fake, n=n, seed=4)
    return test, save_kit(test, tmp_path / "kit")


def _take_quiz(page, is_real, name, wrong=(), skip=(), confidence=None):
    """Answer the page's images as they come: right, except the presented positions in ``wrong`` (answered the
    other way) and ``skip``; by keyboard on even positions and with the buttons on odd ones."""
    page.fill("#reader", name)
    page.click("#start")
    shown = []
    for position in range(len(is_real)):
        image = int(page.get_attribute("#image", "alt").split()[-1])
        shown.append(image)
        assert page.inner_text("#count") == f"{position + 1} / {len(is_real)}"
        if confidence:
            page.keyboard.press(str(confidence))
        truly_real = bool(is_real[image - 1])
        said_real = truly_real != (position in wrong)
        if position in skip:
            page.click("#skip") if position % 2 else page.keyboard.press("k")
        elif position % 2:
            page.click("#real" if said_real else "#synthetic")
        else:
            page.keyboard.press("r" if said_real else "s")
    return shown


def test_quiz_html_from_a_file_answers_downloads_and_scores(tmp_path, browser):
    test, kit = _kit(tmp_path, 12)
    context = browser.new_context(accept_downloads=True)
    page = context.new_page()
    page.goto(kit["quiz_html"].as_uri())
    page.click("#start")  # no name yet: the quiz asks for one instead of starting
    assert page.is_visible("#need-name") and not page.is_visible("#quiz")
    shown = _take_quiz(page, test.is_real, "Ada Lovelace", wrong=(0, 5), skip=(10, 11), confidence=4)
    assert sorted(shown) == list(range(1, 13))  # every image once
    assert "10 of 12 images answered, 2 skipped" in page.inner_text("#summary")
    with page.expect_download() as download:
        page.click("#download")
    assert download.value.suggested_filename == "Ada_Lovelace.csv"
    sheet_path = tmp_path / "answers" / "ada.csv"
    sheet_path.parent.mkdir()
    download.value.save_as(sheet_path)
    sheet = read_answers(sheet_path, 12)
    result = score(test.is_real, sheet.said, sheet.reader)
    assert sheet.reader == "Ada Lovelace"
    assert (result.n, result.skipped, result.accuracy) == (10, 2, pytest.approx(0.8))
    skipped = [shown[10] - 1, shown[11] - 1]
    assert np.isnan(sheet.said[skipped]).all() and (sheet.confidence[~np.isnan(sheet.said)] == 4).all()
    assert (sheet.seconds >= 0).all()
    # a second reader gets an order of their own
    page.goto(kit["quiz_html"].as_uri())
    assert _take_quiz(page, test.is_real, "Bob") != shown
    context.close()


def test_live_mode_two_readers_submit_at_once(tmp_path, browser):
    from medgan_lib.turing.serve import make_server
    from medgan_lib.turing import Kit, class_result, read_sheets

    test, kit = _kit(tmp_path, 10)
    server = make_server(kit["quiz_html"].parent.parent, port=0)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        pages = [browser.new_context().new_page() for _ in range(2)]
        for page, name in zip(pages, ("Cleo", "Dan")):
            page.goto(server.url)
            page.fill("#reader", name)
            page.click("#start")
        for position in range(10):  # both readers answer in step; the last answers submit at the same moment
            for page, wrong in zip(pages, (False, True)):
                image = int(page.get_attribute("#image", "alt").split()[-1])
                page.keyboard.press("r" if bool(test.is_real[image - 1]) != wrong else "s")
        for page in pages:
            page.wait_for_function("document.getElementById('sent').textContent.startsWith('sent')", timeout=10000)
        sheets = read_sheets(Kit(server.kit.root).answers, 10)
        assert sorted(s.reader for s in sheets) == ["Cleo", "Dan"]
        result = class_result(test.is_real, sheets)
        assert sorted(r.accuracy for r in result.readers) == [0.0, 1.0] and result.pooled.value == 0.5
        results_page = pages[0].context.new_page()
        results_page.goto(server.results_url)
        assert "2 readers; class accuracy 50%" in results_page.inner_text("body")
        assert results_page.goto(server.url + "results").status == 403
    finally:
        server.shutdown()
        server.server_close()
