"""OpenAICompatProvider: chat completions with structured output, robust parsing, follow-ups."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import httpx
import pytest

from ai_service import prompts
from ai_service.errors import ProviderBadOutput, ProviderError
from ai_service.http import RequestRejected
from ai_service.providers.openai_compat import (
    GENERIC_FOLLOW_UP,
    OpenAICompatProvider,
    decode_reply,
    message_content,
    says_json_schema_unsupported,
)
from ai_service.registry import question_provenance

from .conftest import CONTEXT, SERVER_API_KEY, STRONG, WEAK, ReferenceServer, make_provider, record_sleeps

EVALUATION = {
    "score": 4,
    "feedback": "Partial answer.",
    "strengths": ["reads"],
    "improvements": ["costs"],
    "covered_key_points": [{"point": "reads", "evidence": "speeds up reads"}],
    "missed_key_points": ["writes"],
    "insufficient_evidence": False,
    "follow_up": "What does an index cost when you write?",
}


def completion(content: str | None, **extra: Any) -> dict[str, Any]:
    return {
        "id": "x",
        "object": "chat.completion",
        "model": "served-model-2",
        "choices": [
            {"index": 0, "message": {"role": "assistant", "content": content, **extra}, "finish_reason": "stop"}
        ],
        "usage": {"prompt_tokens": 10, "completion_tokens": 5, "total_tokens": 15},
    }


def mock_provider(handler: Any, **options: Any) -> OpenAICompatProvider:
    return OpenAICompatProvider(
        "mock",
        {
            "endpoint": "https://llm.example/v1",
            "api_key": "sk-mock",
            "model_name": "gpt-test",
            "transport": httpx.MockTransport(handler),
            "max_retries": 0,
            **options,
        },
    )


# --- pure helpers ------------------------------------------------------------------------------


def test_message_content_and_decode() -> None:
    assert message_content(completion("{}")) == ("{}", "stop")
    parts = completion(None)
    parts["choices"][0]["message"]["content"] = [{"type": "text", "text": '{"a": '}, {"type": "text", "text": "1}"}]
    assert decode_reply(message_content(parts)[0]) == {"a": 1}
    assert decode_reply('Sure!\n```json\n{"a": 1}\n```') == {"a": 1}
    bad: Any
    for bad in ({}, {"choices": []}, {"choices": [{"message": "x"}]}, [1]):
        with pytest.raises(ProviderBadOutput):
            message_content(bad)
    with pytest.raises(ProviderBadOutput, match="empty"):
        decode_reply("  ")
    with pytest.raises(ProviderBadOutput, match="cut at max_tokens"):
        decode_reply('{"questions": [', "length")
    with pytest.raises(ProviderBadOutput) as info:
        message_content(completion(None, refusal="I can't help with that."))
    assert info.value.kind == "refused"


@pytest.mark.parametrize(
    ("status", "body", "expected"),
    [
        (400, "response_format type 'json_schema' is not supported", True),
        (400, '{"error": {"message": "Invalid value for response_format.type: json_schema"}}', True),
        (422, "Unknown field json_schema", True),
        (400, "model 'gpt-5' not found", False),
        (400, "invalid messages", False),
        (500, "response_format json_schema unsupported", False),
    ],
)
def test_detects_json_schema_unsupported(status: int, body: str, expected: bool) -> None:
    error = RequestRejected("rejected", status_code=status, body_excerpt=body)
    assert says_json_schema_unsupported(error) is expected


def test_check_options() -> None:
    good = {"endpoint": "http://localhost:11434/v1", "model_name": "llama3.1"}
    assert OpenAICompatProvider.check_options(good) == []
    problems = OpenAICompatProvider.check_options(
        {"endpoint": "localhost:11434", "temperature": 5, "json_mode": "xml", "max_tokens": 0, "json_schema": "yes"}
    )
    text = "\n".join(problems)
    for fragment in ("endpoint", "model_name", "temperature", "json_mode", "max_tokens", "json_schema"):
        assert fragment in text


# --- with a mock transport ---------------------------------------------------------------------


async def test_request_shape_and_structured_output() -> None:
    bodies: list[dict[str, Any]] = []

    def handler(request: httpx.Request) -> httpx.Response:
        bodies.append(json.loads(request.content))
        assert request.url.path == "/v1/chat/completions"
        assert request.headers["authorization"] == "Bearer sk-mock"
        return httpx.Response(200, json=completion(json.dumps(EVALUATION)))

    provider = mock_provider(handler, temperature=0, max_tokens=500)
    evaluation = await provider.evaluate(WEAK)
    body = bodies[0]
    assert body["model"] == "gpt-test" and body["temperature"] == 0 and body["max_tokens"] == 500
    assert body["response_format"]["type"] == "json_schema"
    assert body["response_format"]["json_schema"]["schema"] == prompts.EVALUATION_OUTPUT_SCHEMA
    assert body["messages"] == prompts.evaluation_messages(WEAK, follow_up=True)
    assert evaluation.score == 4 and evaluation.follow_up == EVALUATION["follow_up"]
    assert evaluation.provenance.model_name == "served-model-2"
    assert evaluation.provenance.rubric_version == prompts.PROMPT_VERSION
    assert evaluation.provenance.details["usage"] == {"prompt_tokens": 10, "completion_tokens": 5, "total_tokens": 15}
    await provider.aclose()


async def test_falls_back_to_json_object_once_and_remembers() -> None:
    modes: list[str] = []

    def handler(request: httpx.Request) -> httpx.Response:
        mode = json.loads(request.content)["response_format"]["type"]
        modes.append(mode)
        if mode == "json_schema":
            return httpx.Response(400, json={"error": {"message": "response_format json_schema is not supported"}})
        return httpx.Response(200, json=completion(json.dumps(EVALUATION)))

    provider = mock_provider(handler)
    first = await provider.evaluate(WEAK)
    second = await provider.evaluate(WEAK)
    assert modes == ["json_schema", "json_object", "json_object"]
    assert first.provenance.details["json_mode"] == "json_object" and second.score == 4
    await provider.aclose()


async def test_other_400s_are_not_retried() -> None:
    calls = 0

    def handler(request: httpx.Request) -> httpx.Response:
        nonlocal calls
        calls += 1
        return httpx.Response(400, json={"error": {"message": "model 'gpt-test' does not exist"}})

    provider = mock_provider(handler)
    with pytest.raises(ProviderError) as info:
        await provider.evaluate(WEAK)
    assert info.value.kind == "rejected" and calls == 1
    await provider.aclose()


@pytest.mark.parametrize(
    "content",
    [
        json.dumps(EVALUATION),
        "```json\n" + json.dumps(EVALUATION, indent=2) + "\n```",
        "Here is my grading:\n```\n" + json.dumps(EVALUATION) + "\n```\nLet me know!",
        "The grade is " + json.dumps(EVALUATION) + " as requested.",
    ],
)
async def test_robust_parsing_without_json_mode(content: str) -> None:
    bodies: list[dict[str, Any]] = []

    def handler(request: httpx.Request) -> httpx.Response:
        bodies.append(json.loads(request.content))
        return httpx.Response(200, json=completion(content))

    provider = mock_provider(handler, json_mode="none")
    evaluation = await provider.evaluate(WEAK)
    assert "response_format" not in bodies[0]
    assert evaluation.score == 4
    await provider.aclose()


@pytest.mark.parametrize(
    ("reply", "max_follow_ups", "expected"),
    [
        ({**EVALUATION, "score": 4}, 1, EVALUATION["follow_up"]),
        ({**EVALUATION, "score": 4, "follow_up": ""}, 1, GENERIC_FOLLOW_UP),
        ({**EVALUATION, "score": 4}, 0, ""),
        ({**EVALUATION, "score": 8}, 1, ""),
        ({**EVALUATION, "score": None, "insufficient_evidence": True}, 1, ""),
    ],
)
async def test_follow_up_rules(reply: dict[str, Any], max_follow_ups: int, expected: str) -> None:
    bodies: list[dict[str, Any]] = []

    def handler(request: httpx.Request) -> httpx.Response:
        bodies.append(json.loads(request.content))
        return httpx.Response(200, json=completion(json.dumps(reply)))

    provider = mock_provider(handler, max_follow_ups=max_follow_ups)
    evaluation = await provider.evaluate(WEAK)
    assert evaluation.follow_up == expected
    payload = prompts.parse_prompt_payload(bodies[0]["messages"][-1]["content"])
    assert payload["follow_up"] is (max_follow_ups > 0)
    await provider.aclose()


# --- against the reference server --------------------------------------------------------------


async def test_generation_and_evaluation(ref_server: ReferenceServer) -> None:
    provider = make_provider("openai", ref_server.url)
    questions = await provider.generate_questions(CONTEXT)
    assert len(questions) == 4 and {q.question_type for q in questions} == {"technical", "behavioral"}
    provenance = question_provenance(questions)
    assert provenance is not None and provenance.provider == "openai_compat"
    assert provenance.rubric_version == prompts.PROMPT_VERSION and provenance.details["json_mode"] == "json_schema"

    strong = await provider.evaluate(STRONG)
    weak = await provider.evaluate(WEAK)
    # Transport, not grader, is under test: grades keep their order; follow-ups below 6.
    assert strong.score is not None and weak.score is not None and strong.score > weak.score
    assert bool(weak.follow_up) == (weak.score < 6) and bool(strong.follow_up) == (strong.score < 6)
    assert weak.provenance.model_name == "test-model"
    assert ref_server.stats()["by_path"] == {"/v1/chat/completions": 3}
    await provider.aclose()


async def test_server_without_json_schema(ref_server: ReferenceServer) -> None:
    ref_server.control(json_schema=False)
    provider = make_provider("openai", ref_server.url)
    first = await provider.evaluate(STRONG)
    second = await provider.evaluate(STRONG)
    assert first.provenance.details["json_mode"] == "json_object" == second.provenance.details["json_mode"]
    assert ref_server.stats()["requests"] == 3  # one rejected json_schema call, then json_object only
    await provider.aclose()


async def test_server_answering_in_markdown(ref_server: ReferenceServer) -> None:
    provider = make_provider("openai", ref_server.url, json_mode="none")
    questions = await provider.generate_questions(CONTEXT)
    evaluation = await provider.evaluate(STRONG)
    assert len(questions) == 4 and evaluation.score is not None
    await provider.aclose()


async def test_retry_honours_retry_after_from_the_server(ref_server: ReferenceServer) -> None:
    ref_server.control(fault="429", fault_count=1)
    provider = make_provider("openai", ref_server.url, max_retries=1)
    sleeps = record_sleeps(provider)
    evaluation = await provider.evaluate(STRONG)
    assert evaluation.score is not None
    assert sleeps == [1.0]  # the server's Retry-After: 1, not the 10 ms back-off
    assert evaluation.provenance.details["attempts"] == 2
    await provider.aclose()


async def test_circuit_breaker_opens_fails_fast_and_recovers(ref_server: ReferenceServer) -> None:
    ref_server.control(fault="5xx")
    provider = make_provider("openai", ref_server.url, breaker_threshold=2, breaker_cooldown=0.5)
    for _ in range(2):
        with pytest.raises(ProviderError) as info:
            await provider.evaluate(STRONG)
        assert info.value.kind == "unavailable"
    with pytest.raises(ProviderError) as info:
        await provider.evaluate(STRONG)
    assert info.value.kind == "circuit_open"
    assert ref_server.stats()["requests"] == 2  # the open circuit sent nothing: no round trip, no timeout
    ref_server.control(fault="none")
    await asyncio.sleep(0.55)
    assert (await provider.evaluate(STRONG)).score is not None  # the half-open probe closes it
    assert provider.http.breaker.state == "closed"
    await provider.aclose()


async def test_concurrency_limit_at_the_server(ref_server: ReferenceServer) -> None:
    ref_server.control(latency_ms=100, reset_stats=True)
    provider = make_provider("openai", ref_server.url, max_concurrency=3)
    evaluations = await provider.evaluate_many([STRONG] * 12)
    assert len(evaluations) == 12 and all(e.score is not None for e in evaluations)
    stats = ref_server.stats()
    # Never more than 3 at once, and the 100 ms each was spent: 12 / 3 * 100 ms at the least.
    assert stats["requests"] == 12 and stats["max_in_flight"] == 3 and stats["delayed_ms"] == 1200
    await provider.aclose()


async def test_api_key_is_sent_and_never_leaks(keyed_server: ReferenceServer) -> None:
    provider = make_provider("openai", keyed_server.url, api_key=SERVER_API_KEY)
    evaluation = await provider.evaluate(WEAK)
    questions = await provider.generate_questions(CONTEXT)
    assert SERVER_API_KEY not in repr(evaluation) + repr(question_provenance(questions))
    await provider.aclose()
    wrong = "sk-test-WRONG-OPENAI-KEY-000111"
    bad = make_provider("openai", keyed_server.url, api_key=wrong)
    with pytest.raises(ProviderError) as info:
        await bad.evaluate(WEAK)
    assert info.value.kind == "auth" and wrong not in f"{info.value}{info.value!r}"
    await bad.aclose()
