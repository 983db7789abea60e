"""The candidate page in real headless Chromium against a real daphne: a person's interview."""

from __future__ import annotations

from typing import Any

import pytest

from .conftest import CHROMIUM_ARGS as ARGS
from .conftest import require_chromium

pytestmark = pytest.mark.slow
ANSWER = (
    "Add indexes for the filtered columns, read the query plan with EXPLAIN ANALYZE, cache hot reads "
    "with a TTL, and pool database connections."
)


def test_candidate_completes_interview_in_browser(server_factory: Any, tmp_path: Any) -> None:
    from playwright.sync_api import expect, sync_playwright

    chromium = require_chromium()
    server = server_factory()
    link = server.create_interview(questions=2, type="technical")
    server.start()
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=chromium, args=ARGS)
        page = browser.new_page()
        page.goto(f"{server.http}/interview/{link['token']}")
        page.click("#accept")  # the consent and AI notice comes first
        expect(page.locator("#q-label")).to_contain_text("Question 1 of 2", timeout=120_000)
        page.fill("#answer", ANSWER)
        page.click("#send")
        expect(page.locator(".feedback")).to_have_count(1, timeout=120_000)
        # Reload mid-interview: the page reconnects and shows the second question, not the first,
        # with the first one's feedback (replayed from the log, once).
        page.reload()
        expect(page.locator("#q-label")).to_contain_text("Question 2 of 2", timeout=120_000)
        expect(page.locator(".feedback")).to_have_count(1, timeout=120_000)
        page.fill("#answer", ANSWER)
        page.click("#send")
        expect(page.locator(".feedback")).to_have_count(2, timeout=120_000)
        expect(page.locator("#result")).to_contain_text("Interview complete", timeout=120_000)
        page.screenshot(path=str(tmp_path / "candidate.png"), full_page=True)
        browser.close()
