"""Graded examples (reviewed answers of the same question) through the networked providers.

The model API sends them as `graded_examples` in `POST /evaluate-response`, the OpenAI-compatible
provider quotes them in the evaluation prompt; both record them in
`Provenance.details["calibration"]` and never send the team's leniency. Request shapes are checked
with httpx.MockTransport, the grading effect against the real reference server.
"""

from __future__ import annotations

import dataclasses
import json
from typing import Any

import httpx
import pytest

from ai_service import prompts, schemas
from ai_service.grading import fewshot, semantic
from ai_service.providers.http_model import HTTPModelProvider, calibration_details, evaluate_request
from ai_service.providers.openai_compat import OpenAICompatProvider
from ai_service.types import EvaluationRequest, GradedExample, Leniency
from tools.reference_server import PromptPayload, evaluation_request

from .conftest import PROVIDER_KINDS, STRONG, ReferenceServer, make_provider

TEAM = Leniency(knots=((0.0, 0.0), (10.0, 7.0)), grader_version=semantic.VERSION)
EVALUATION = {
    "score": 5.5,
    "feedback": "Covers the read speed-up but not the costs.",
    "strengths": [],
    "improvements": [],
    "covered_key_points": [],
    "missed_key_points": [],
    "insufficient_evidence": False,
    "follow_up": "",
}


def examples(n: int, answer_chars: int = 0) -> tuple[GradedExample, ...]:
    """n reviewed answers; odd ones without a review id (their key is a content hash)."""
    return tuple(
        GradedExample(
            answer=("x" * answer_chars) if answer_chars else f"Reviewed answer number {i}.",
            score=(i % 11) * 1.0,
            note=f"note {i}",
            id=f"review-{i}" if i % 2 == 0 else "",
        )
        for i in range(n)
    )


def with_examples(*given: GradedExample, **changes: Any) -> EvaluationRequest:
    return dataclasses.replace(STRONG, graded_examples=given, **changes)


def expected_calibration(request: EvaluationRequest, sent: int) -> dict[str, object]:
    return {
        "examples_version": fewshot.examples_version(request.graded_examples),
        "examples_given": len(request.graded_examples),
        "examples_sent": sent,
        "examples": [{"id": e.key, "score": float(e.score)} for e in request.graded_examples[:sent]],
        "leniency_version": "",
    }


# --- POST /evaluate-response: the body -----------------------------------------------------------


def test_the_body_carries_the_examples_in_the_documented_shape() -> None:
    request = with_examples(*examples(3))
    body = evaluate_request(request)
    assert body["graded_examples"] == [
        {"id": "review-0", "answer": "Reviewed answer number 0.", "score": 0.0, "note": "note 0"},
        {"id": request.graded_examples[1].key, "answer": "Reviewed answer number 1.", "score": 1.0, "note": "note 1"},
        {"id": "review-2", "answer": "Reviewed answer number 2.", "score": 2.0, "note": "note 2"},
    ]
    assert body["graded_examples"][1]["id"].startswith("sha256:")
    # What the reference server (and the published schema) accepts.
    assert schemas.EvaluateRequest.model_validate(body).model_dump() == body
    item_schema = schemas.json_schema(schemas.EvaluateRequest)["properties"]["graded_examples"]
    assert set(item_schema["items"]["required"]) == {"id", "answer", "score", "note"}
    assert item_schema["maxItems"] == schemas.MAX_GRADED_EXAMPLES == 20


def test_no_examples_send_an_empty_list() -> None:
    assert evaluate_request(STRONG)["graded_examples"] == []


def test_the_list_is_capped_in_order_and_answers_are_cut() -> None:
    body = evaluate_request(with_examples(*examples(25)))
    assert [e["answer"] for e in body["graded_examples"]] == [f"Reviewed answer number {i}." for i in range(20)]
    long = with_examples(GradedExample("y" * 20_000, 7, note="n" * 5000, id="r"))
    sent = evaluate_request(long)["graded_examples"][0]
    assert len(sent["answer"]) == schemas.MAX_EXAMPLE_ANSWER and len(sent["note"]) == schemas.MAX_EXAMPLE_NOTE
    assert sent["score"] == 7.0 and isinstance(sent["score"], float)


def test_scores_are_clamped_and_non_finite_ones_dropped() -> None:
    given = (
        GradedExample("a", 12.0, id="high"),
        GradedExample("b", float("nan"), id="nan"),
        GradedExample("c", -1.0, id="low"),
    )
    body = evaluate_request(with_examples(*given))
    assert [(e["id"], e["score"]) for e in body["graded_examples"]] == [("high", 10.0), ("low", 0.0)]


def test_the_leniency_is_not_sent() -> None:
    plain = evaluate_request(with_examples(*examples(2)))
    assert evaluate_request(with_examples(*examples(2), leniency=TEAM)) == plain
    assert "leniency" not in json.dumps(plain)


def test_calibration_details_follow_the_embedded_grader() -> None:
    request = with_examples(*examples(25), leniency=TEAM)
    details = calibration_details(request, schemas.sendable_examples(request.graded_examples, 20))
    assert details == expected_calibration(request, 20)
    assert str(details["examples_version"]).startswith("ex-")
    empty = calibration_details(STRONG, [])
    assert empty == {
        "examples_version": "",
        "examples_given": 0,
        "examples_sent": 0,
        "examples": [],
        "leniency_version": "",
    }


# --- the providers, against a mock transport ------------------------------------------------------


def _recording(answer: Any) -> tuple[httpx.MockTransport, list[dict[str, Any]]]:
    bodies: list[dict[str, Any]] = []

    def handler(request: httpx.Request) -> httpx.Response:
        bodies.append(json.loads(request.content))
        return httpx.Response(200, json=answer)

    return httpx.MockTransport(handler), bodies


async def test_http_provider_sends_the_examples_and_records_them() -> None:
    transport, bodies = _recording(EVALUATION)
    provider = HTTPModelProvider(
        "mock", {"endpoint": "https://models.example", "transport": transport, "max_retries": 0}
    )
    request = with_examples(*examples(25), leniency=TEAM)
    evaluation = await provider.evaluate(request)
    assert evaluation.score == 5.5
    (body,) = bodies
    assert len(body["graded_examples"]) == 20 and "leniency" not in body
    assert body["graded_examples"][0] == {
        "id": "review-0",
        "answer": "Reviewed answer number 0.",
        "score": 0.0,
        "note": "note 0",
    }
    assert evaluation.provenance.details["calibration"] == expected_calibration(request, 20)

    await provider.evaluate(STRONG)
    assert bodies[-1]["graded_examples"] == []


async def test_openai_provider_quotes_the_examples_and_records_them() -> None:
    transport, bodies = _recording(
        {"model": "m", "choices": [{"message": {"content": json.dumps(EVALUATION)}, "finish_reason": "stop"}]}
    )
    provider = OpenAICompatProvider(
        "mock",
        {"endpoint": "https://llm.example/v1", "model_name": "m", "transport": transport, "max_retries": 0},
    )
    request = with_examples(*examples(15, answer_chars=9000), leniency=TEAM)
    evaluation = await provider.evaluate(request)
    user = bodies[0]["messages"][-1]["content"]
    payload = prompts.parse_prompt_payload(user)
    assert len(payload["graded_examples"]) == prompts.MAX_PROMPT_EXAMPLES == 10
    assert payload["graded_examples"][3] == {"answer": "x" * prompts.MAX_ANSWER, "score": 3.0, "note": "note 3"}
    assert prompts.EXAMPLES_INSTRUCTION in user and "leniency" not in json.dumps(bodies[0])
    assert evaluation.provenance.details["calibration"] == expected_calibration(request, 10)
    assert evaluation.provenance.rubric_version == prompts.PROMPT_VERSION == "openai-prompts-3"


# --- the evaluation prompt -----------------------------------------------------------------------


def test_the_prompt_payload_shape_and_instruction() -> None:
    request = with_examples(GradedExample("It speeds up reads.", 4, note="no costs", id="r1"))
    messages = prompts.evaluation_messages(request, follow_up=False)
    payload = prompts.parse_prompt_payload(messages[-1]["content"])
    assert payload["graded_examples"] == [{"answer": "It speeds up reads.", "score": 4.0, "note": "no costs"}]
    read = PromptPayload.validate_python(payload)  # as the reference server reads it
    assert isinstance(read, schemas.EvaluationPrompt) and read.graded_examples[0].score == 4.0
    assert "graded_examples are answers to the same question" in messages[-1]["content"]

    plain = prompts.evaluation_messages(STRONG, follow_up=False)[-1]["content"]
    assert prompts.parse_prompt_payload(plain)["graded_examples"] == []
    assert prompts.EXAMPLES_INSTRUCTION not in plain


def test_the_reference_server_passes_the_examples_to_its_grader() -> None:
    request = with_examples(GradedExample("It speeds up reads.", 4, note="n", id="r1"), GradedExample("b", 9))
    from_api = evaluation_request(schemas.EvaluateRequest.model_validate(evaluate_request(request)))
    assert from_api.graded_examples == (
        GradedExample("It speeds up reads.", 4.0, note="n", id="r1"),
        GradedExample("b", 9.0, note="", id=request.graded_examples[1].key),
    )
    payload = PromptPayload.validate_python(prompts.evaluation_payload(request, follow_up=True))
    assert isinstance(payload, schemas.EvaluationPrompt)
    from_prompt = evaluation_request(payload)
    assert [(e.answer, e.score, e.id) for e in from_prompt.graded_examples] == [
        ("It speeds up reads.", 4.0, ""),
        ("b", 9.0, ""),
    ]


# --- against the reference server -----------------------------------------------------------------

QUESTION = "Why would you put a cache in front of a database, and what problem does it bring?"
REFERENCE = (
    "A cache keeps frequently read data in memory so repeated reads are served quickly and the database gets "
    "less load. The main problem is invalidation: cached data can become stale when the underlying rows change."
)
ANSWER = "Caching keeps hot data in memory, which makes reads quicker; the downside is that entries can go stale."
NEAR = (
    "A cache keeps hot data in memory so reads are faster; the downside is stale entries.",
    "Hot rows sit in memory, so reading them is quick, but the cached copies can become out of date.",
    "Keeping popular data in memory speeds reads up; the catch is that cache entries may go stale.",
)
CACHE = EvaluationRequest(
    question=QUESTION, response=ANSWER, question_type="technical", difficulty="medium", reference_answer=REFERENCE
)


@pytest.mark.parametrize("kind", PROVIDER_KINDS)
async def test_reviewed_scores_move_the_reference_servers_grade(ref_server: ReferenceServer, kind: str) -> None:
    provider = make_provider(kind, ref_server.url, read_timeout=60.0)
    plain = await provider.evaluate(CACHE)
    high_request = dataclasses.replace(
        CACHE, graded_examples=tuple(GradedExample(t, 10.0, id=f"r{i}") for i, t in enumerate(NEAR))
    )
    high = await provider.evaluate(high_request)
    low = await provider.evaluate(
        dataclasses.replace(CACHE, graded_examples=tuple(GradedExample(t, 1.0, id=f"r{i}") for i, t in enumerate(NEAR)))
    )
    assert plain.score is not None and high.score is not None and low.score is not None
    assert low.score < plain.score < high.score
    assert plain.provenance.details["calibration"] == expected_calibration(CACHE, 0)
    assert high.provenance.details["calibration"] == expected_calibration(high_request, 3)
    assert not plain.provenance.fallback_used and not high.provenance.fallback_used


def test_the_reference_server_checks_graded_examples(ref_server: ReferenceServer) -> None:
    body = evaluate_request(with_examples(GradedExample("It speeds up reads.", 4, id="r1")))
    assert ref_server.http.post("/evaluate-response", json=body).status_code == 200
    older = {k: v for k, v in body.items() if k != "graded_examples"}  # a client from before the field
    assert ref_server.http.post("/evaluate-response", json=older).status_code == 200
    out_of_range = {**body, "graded_examples": [{**body["graded_examples"][0], "score": 11}]}
    refused = ref_server.http.post("/evaluate-response", json=out_of_range)
    assert refused.status_code == 400 and "graded_examples[0].score" in refused.json()["error"]["message"]
    too_many = {**body, "graded_examples": body["graded_examples"] * 21}
    assert ref_server.http.post("/evaluate-response", json=too_many).status_code == 400
