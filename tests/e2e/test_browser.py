"""The candidate page in real headless Chromium against a real daphne: a person's interview."""

from __future__ import annotations

from typing import Any

import pytest

from .conftest import CHROMIUM_ARGS as ARGS
from .conftest import csp_violations, require_chromium, watch_csp

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
        console = watch_csp(page)
        response = page.goto(f"{server.http}/interview/{link['token']}")
        assert response is not None and "script-src 'self'" in response.headers["content-security-policy"]
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
        # The whole interview ran under the Content-Security-Policy without one violation.
        assert csp_violations(page, console) == []
        page.screenshot(path=str(tmp_path / "candidate.png"), full_page=True)
        browser.close()


def test_page_waits_out_a_refused_connect_and_resumes(server_factory: Any) -> None:
    """Connects beyond the token's burst are refused (`rate_limited`, close 4429): the page waits
    the `retry_after` it was given and resumes, instead of calling the link unusable."""
    from playwright.sync_api import expect, sync_playwright

    chromium = require_chromium()
    # Two connects at once, then one per 4 s: the third load in a row is refused.
    server = server_factory(RATE_LIMITS_ENABLED="1", RATE_LIMIT_SOCKET_CONNECT_TOKEN="2/0.25")
    link = server.create_interview(questions=1, type="technical")
    server.start()
    received: list[str] = []
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=chromium, args=ARGS)
        page = browser.new_page()
        page.on("websocket", lambda ws: ws.on("framereceived", lambda payload: received.append(str(payload))))
        page.goto(f"{server.http}/interview/{link['token']}")
        page.click("#accept")
        expect(page.locator("#q-label")).to_contain_text("Question 1 of 1", timeout=120_000)
        page.reload()
        page.reload()
        expect(page.locator("#q-label")).to_contain_text("Question 1 of 1", timeout=120_000)
        expect(page.locator("#conn")).to_be_hidden()  # connected, not "this link cannot be used"
        assert any('"rate_limited"' in frame for frame in received), received
        browser.close()


def test_page_that_missed_the_completion_frame_lists_the_answers_from_the_snapshot(server_factory: Any) -> None:
    """A page that reconnects or reloads after the end without `interview.completed` reaching it
    (here the frame is dropped on the way, every time) still lists the answers: the snapshot of a
    completed session carries them."""
    import json
    import re

    from playwright.sync_api import WebSocketRoute, expect, sync_playwright

    chromium = require_chromium()
    server = server_factory()
    link = server.create_interview(questions=1, type="technical")
    server.start()
    dropped: list[str] = []

    def without_completion(ws: WebSocketRoute) -> None:
        upstream = ws.connect_to_server()

        def relay(message: str | bytes) -> None:
            if isinstance(message, str) and json.loads(message).get("type") == "interview.completed":
                dropped.append(message)
                return
            ws.send(message)

        upstream.on_message(relay)

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=chromium, args=ARGS)
        page = browser.new_page()
        page.route_web_socket(re.compile(r"/ws/interview/"), without_completion)
        page.goto(f"{server.http}/interview/{link['token']}")
        page.click("#accept")
        expect(page.locator("#q-label")).to_contain_text("Question 1 of 1", timeout=120_000)
        page.fill("#answer", ANSWER)
        page.click("#send")
        expect(page.locator(".feedback")).to_have_count(1, timeout=120_000)
        for _ in range(600):  # the completion is committed (and dropped) soon after the feedback
            if dropped:
                break
            page.wait_for_timeout(200)
        assert dropped, "the completion frame never came, so this would not test the snapshot"
        page.reload()
        expect(page.locator("#result")).to_contain_text("Interview complete", timeout=120_000)
        expect(page.locator("#result-answers li")).to_have_count(1, timeout=120_000)
        expect(page.locator("#result-answers li .score")).to_contain_text("/ 10", timeout=120_000)
        assert len(dropped) >= 2  # the reload's replay held it too, and it was dropped again
        browser.close()
