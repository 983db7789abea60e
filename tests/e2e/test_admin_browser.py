"""An interviewer watches a candidate live, in two real Chromium browsers against a real daphne:
the dashboard shows the draft as it is typed, the answer, then its score; the interviewer adds a
question and the candidate's page shows it next; the candidate's network drops and the page
resumes with nothing lost or repeated. Screenshots of both pages go to the test's temporary
directory, or to docs/screenshots/ with UPDATE_SCREENSHOTS=1 (so a test run leaves the checkout
as it was)."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import httpx
import pytest

from .conftest import CHROMIUM_ARGS, ROOT, csp_violations, require_chromium, watch_csp

pytestmark = pytest.mark.slow

SHOTS = ROOT / "docs" / "screenshots"
T = 30_000  # ms: generous bounds for a busy machine; every wait is on a condition
FIRST = (
    "I would add an index on the filtered columns, read the plan with EXPLAIN ANALYZE, cache hot reads "
    "with a TTL and pool the database connections."
)
ADDED = "How would you roll back a bad deploy in the middle of the day?"
SECOND = "Keep the previous release ready to switch back to, and turn the new code off behind a feature flag."


def test_admin_watches_and_acts_while_the_candidate_answers(server_factory: Any, tmp_path: Path) -> None:
    from playwright.sync_api import expect, sync_playwright

    chromium = require_chromium()
    server = server_factory()
    server.create_staff("lead", "pw-lead-1234")
    link = server.create_interview(questions=2, type="technical")
    server.start()
    # The Django admin is styled under daphne: its stylesheet is served.
    css = httpx.get(f"{server.http}/static/admin/css/base.css", timeout=30)
    assert css.status_code == 200 and css.headers["content-type"].startswith("text/css")

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=chromium, args=CHROMIUM_ARGS)
        admin_ctx = browser.new_context(viewport={"width": 1400, "height": 1000})
        cand_ctx = browser.new_context(viewport={"width": 900, "height": 1000})
        admin, cand = admin_ctx.new_page(), cand_ctx.new_page()
        admin_csp, cand_csp = watch_csp(admin), watch_csp(cand)

        admin.goto(f"{server.http}/staff/")
        admin.fill("#id_username", "lead")
        admin.fill("#id_password", "pw-lead-1234")
        admin.click("button[type=submit]")
        expect(admin.locator("#conn")).to_have_text("live", timeout=T)

        cand.goto(f"{server.http}/interview/{link['token']}")
        expect(cand.locator("#consent")).to_be_visible(timeout=T)
        expect(cand.locator("#notice-text")).to_contain_text("never change a score", timeout=T)
        cand.click("#accept")
        expect(cand.locator("#q-label")).to_contain_text("Question 1 of 2", timeout=T)

        row = admin.locator("tr.session", has_text="Grace")
        expect(row).to_be_visible(timeout=T)
        row.click()
        expect(admin.locator("#transcript .item")).to_have_count(1, timeout=T)

        # The draft as it is typed.
        cand.click("#answer")
        cand.keyboard.type(FIRST[:40], delay=15)
        expect(admin.locator("#draft")).to_contain_text(FIRST[:40], timeout=T)
        cand.keyboard.type(FIRST[40:], delay=2)
        expect(admin.locator("#draft")).to_have_text(FIRST, timeout=T)

        # The interviewer adds a question while the candidate is on the first.
        admin.fill("#add-text", ADDED)
        admin.fill("#add-points", "keep the previous release\nfeature flag")
        admin.click("#f-add button")
        expect(admin.locator("#action-note")).to_contain_text("Done: add question", timeout=T)

        cand.click("#send")
        first_item = admin.locator("#transcript .item").first
        expect(first_item.locator(".a")).to_have_text(FIRST, timeout=T)  # the answer ...
        expect(first_item.locator(".fbk .pill")).to_contain_text(" ", timeout=T)
        expect(first_item.locator(".fbk .pill")).not_to_have_text("grading…", timeout=T)  # ... then its score
        expect(cand.locator(".feedback")).to_have_count(1, timeout=T)
        expect(cand.locator(".feedback .fq")).to_contain_text("Question 1", timeout=T)
        # The added question comes next.
        expect(cand.locator("#q-text")).to_have_text(ADDED, timeout=T)
        expect(cand.locator("#q-label")).to_contain_text("Question 2 of 3", timeout=T)
        expect(admin.locator("#transcript .item")).to_have_count(2, timeout=T)
        expect(admin.locator("#transcript .item").nth(1)).to_contain_text("added by lead", timeout=T)

        # The network drops: the page says so; what happens meanwhile is not lost.
        cand_ctx.set_offline(True)
        expect(cand.locator("#conn")).to_be_visible(timeout=T)
        admin.fill("#message", "Take your time, no rush.")
        admin.click("#f-message button")
        expect(admin.locator("#action-note")).to_contain_text("Done: message", timeout=T)
        cand.fill("#answer", SECOND)
        cand.click("#send")
        expect(cand.locator("#send-note")).to_contain_text("offline", timeout=T)
        cand_ctx.set_offline(False)
        expect(cand.locator("#conn")).to_be_hidden(timeout=T)
        expect(cand.locator(".message")).to_have_count(1, timeout=T)
        expect(cand.locator(".message")).to_contain_text("Take your time", timeout=T)
        expect(cand.locator(".feedback")).to_have_count(2, timeout=T)
        expect(cand.locator("#q-label")).to_contain_text("Question 3 of 3", timeout=T)
        expect(admin.locator("#transcript .item").nth(1).locator(".a")).to_have_text(SECOND, timeout=T)
        expect(admin.locator("#signals li").first).to_be_visible(timeout=T)  # first keystroke etc.
        cand.click("#answer")
        cand.keyboard.type("Index the foreign keys and", delay=10)
        expect(admin.locator("#draft")).to_contain_text("Index the foreign keys", timeout=T)

        shots = SHOTS if os.environ.get("UPDATE_SCREENSHOTS", "") not in ("", "0") else tmp_path
        shots.mkdir(parents=True, exist_ok=True)
        cand.screenshot(path=str(shots / "candidate.png"), full_page=True)
        admin.screenshot(path=str(shots / "admin.png"), full_page=True)

        # Exactly the answers given, each once.
        cand.keyboard.type(" cache what is read often.", delay=2)
        cand.click("#send")
        expect(cand.locator("#result")).to_contain_text("Interview complete", timeout=T)
        expect(cand.locator("#result-answers li")).to_have_count(3, timeout=T)
        expect(cand.locator(".feedback")).to_have_count(3, timeout=T)
        expect(cand.locator(".message")).to_have_count(1, timeout=T)
        cand.screenshot(path=str(tmp_path / "candidate-done.png"), full_page=True)

        # The interviewer reviews it.
        admin.fill("#r-score", "7")
        admin.select_option("#r-decision", "hire")
        admin.fill("#r-notes", "Solid on rollbacks.")
        admin.click("#f-review button")
        expect(admin.locator("#review-note")).to_contain_text("Saved (hire)", timeout=T)
        # Both pages ran under the Content-Security-Policy without one violation; so do the staff
        # pages with inline styles (the request's nonce) and the report's print button (a script).
        assert csp_violations(admin, admin_csp) == [] and csp_violations(cand, cand_csp) == []
        sessions = httpx.get(f"{server.http}/api/ai-interview/sessions/", auth=("lead", "pw-lead-1234"), timeout=30)
        listed = sessions.json()
        session_id = (listed if isinstance(listed, list) else listed["results"])[0]["id"]
        for path in ("/staff/analytics/", f"/staff/sessions/{session_id}/report/"):
            assert admin.goto(f"{server.http}{path}") is not None
            expect(admin.locator("h1").first).to_be_visible(timeout=T)
            assert csp_violations(admin, admin_csp) == [], path
        browser.close()
