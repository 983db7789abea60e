"""The candidate page in real headless Chromium against a real daphne: a person's interview."""

from __future__ import annotations

import importlib.util
import os
import shutil
from typing import Any

import pytest

pytestmark = pytest.mark.slow

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
ANSWER = (
    "Add indexes for the filtered columns, read the query plan with EXPLAIN ANALYZE, cache hot reads "
    "with a TTL, and pool database connections."
)


def in_ci() -> bool:
    # The same reading of CI as the Makefile's `chromium` target.
    return os.environ.get("CI", "").lower() not in ("", "0", "false", "no")


def require_browser() -> None:
    """Fail under CI when Chromium or playwright is missing, so a green run cannot hide a browser
    test that never ran; elsewhere skip with the reason."""
    missing = []
    if not os.access(CHROMIUM, os.X_OK):
        missing.append(f"Debian's chromium ({CHROMIUM})")
    if importlib.util.find_spec("playwright") is None:
        missing.append("the playwright package (requirements-dev.txt)")
    if not missing:
        return
    what = " and ".join(missing) + " not installed"
    if in_ci():
        pytest.fail(f"{what}: CI must run the browser test (`make chromium` installs chromium as root)", pytrace=False)
    pytest.skip(f"{what} (outside CI; `make chromium` installs chromium as root)")


def test_candidate_completes_interview_in_browser(server_factory: Any, tmp_path: Any) -> None:
    require_browser()
    from playwright.sync_api import expect, sync_playwright

    server = server_factory()
    link = server.create_interview(questions=2, type="technical")
    server.start()
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        page = browser.new_page()
        page.goto(f"{server.http}/interview/{link['token']}")
        expect(page.locator("#q-label")).to_contain_text("Question 1 of 2", timeout=120_000)
        page.fill("#answer", ANSWER)
        page.click("#send")
        expect(page.locator(".feedback")).to_have_count(1, timeout=120_000)
        # Reload mid-interview: the page reconnects and shows the second question, not the first.
        page.reload()
        expect(page.locator("#q-label")).to_contain_text("Question 2 of 2", timeout=120_000)
        page.fill("#answer", ANSWER)
        page.click("#send")
        expect(page.locator(".feedback")).to_have_count(1, timeout=120_000)
        expect(page.locator("#result")).to_contain_text("Interview complete", timeout=120_000)
        page.screenshot(path=str(tmp_path / "candidate.png"), full_page=True)
        browser.close()
