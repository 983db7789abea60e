"""HTTPModelProvider: the seed's model API, against the real reference server and with pure validators."""

from __future__ import annotations

import dataclasses
import json
from typing import Any

import httpx
import pytest

from ai_service.errors import ProviderBadOutput, ProviderConfigError, ProviderError
from ai_service.providers.http_model import (
    HTTPModelProvider,
    evaluate_request,
    generate_request,
    parse_evaluation,
    parse_questions,
)
from ai_service.registry import ProviderRegistry, question_provenance

from .conftest import (
    CONTEXT,
    FAULT_KINDS,
    PROVIDER_KINDS,
    SERVER_API_KEY,
    STRONG,
    WEAK,
    ReferenceServer,
    make_provider,
    read_timeout,
    record_sleeps,
)

# --- pure request builders and validators ------------------------------------------------------


def test_request_bodies_follow_the_seed_api() -> None:
    assert generate_request(CONTEXT) == {
        "context": {
            "candidate_name": "Ada Lovelace",
            "job_title": "Backend Engineer",
            "interview_type": "mixed",
            "difficulty_level": "medium",
            "question_count": 4,
            "job_description": CONTEXT.job_description,
            "skills": ["python", "django", "postgresql"],
        }
    }
    assert evaluate_request(STRONG) == {
        "question": STRONG.question,
        "response": STRONG.response,
        "question_type": "technical",
        "difficulty": "medium",
        "reference_answer": STRONG.reference_answer,
        "key_points": list(STRONG.key_points),
        "graded_examples": [],
    }


def _question(i: int, **overrides: Any) -> dict[str, Any]:
    return {"text": f"Question {i}?", "question_type": "technical", **overrides}


def test_parse_questions_defaults_and_truncation() -> None:
    data = {"questions": [_question(i) for i in range(6)]}
    questions = parse_questions(data, CONTEXT)
    assert len(questions) == 4
    assert questions[0].difficulty == "medium" and questions[0].key_points == () and questions[0].source_id == ""


@pytest.mark.parametrize(
    "data",
    [
        None,
        [],
        {},
        {"questions": "many"},
        {"questions": [_question(i) for i in range(3)]},  # too few
        {"questions": [_question(0), _question(1), _question(2), {"text": "", "question_type": "technical"}]},
        {"questions": [_question(0), _question(1), _question(2), {"question_type": "technical"}]},
        {"questions": [_question(0), _question(1), _question(2), _question(3, question_type="trivia")]},
        {"questions": [_question(0), _question(1), _question(2), _question(3, difficulty="extreme")]},
        {"questions": [_question(0), _question(1), _question(2), _question(3, key_points="a, b")]},
        {"questions": [_question(0), _question(1), _question(2), _question(3, key_points=[1, 2])]},
        {"questions": [_question(0), _question(1), _question(2), _question(3, text=["Question?"])]},
        {"questions": [_question(0), _question(1), _question(2), _question(0)]},  # duplicate
        {"questions": [_question(0), _question(1), _question(2), "Question 3?"]},
    ],
)
def test_parse_questions_rejects_bad_output(data: Any) -> None:
    with pytest.raises(ProviderBadOutput):
        parse_questions(data, CONTEXT)


def test_parse_evaluation_accepts_the_documented_shape() -> None:
    evaluation = parse_evaluation(
        {
            "score": 7.5,
            "feedback": "Good.",
            "strengths": ["clear"],
            "improvements": [],
            "covered_key_points": ["a", {"point": "b", "evidence": "because b"}],
            "missed_key_points": ["c"],
            "insufficient_evidence": False,
            "follow_up": "What about c?",
            "unknown_extra_field": "is ignored",
        }
    )
    assert evaluation.score == 7.5
    assert [m.point for m in evaluation.covered_key_points] == ["a", "b"]
    assert evaluation.covered_key_points[1].evidence == "because b"
    assert evaluation.follow_up == "What about c?"


def test_parse_evaluation_null_score_means_insufficient_evidence() -> None:
    assert parse_evaluation({"score": None, "feedback": "Too short."}).insufficient_evidence
    flagged = parse_evaluation({"score": 3, "feedback": "Too short.", "insufficient_evidence": True})
    assert flagged.score is None and flagged.insufficient_evidence


@pytest.mark.parametrize(
    "data",
    [
        {},
        "7",
        {"feedback": "no score"},
        {"score": 42, "feedback": "x"},
        {"score": -0.5, "feedback": "x"},
        {"score": 10.01, "feedback": "x"},
        {"score": float("nan"), "feedback": "x"},
        {"score": "7", "feedback": "x"},
        {"score": True, "feedback": "x"},
        {"score": 5},
        {"score": 5, "feedback": ""},
        {"score": 5, "feedback": "   "},
        {"score": 5, "feedback": 3},
        {"score": 5, "feedback": "x", "strengths": "clear"},
        {"score": 5, "feedback": "x", "insufficient_evidence": "no"},
        {"score": 5, "feedback": "x", "covered_key_points": [3]},
        {"score": 5, "feedback": "x", "follow_up": ["a"]},
    ],
)
def test_parse_evaluation_rejects_bad_output(data: Any) -> None:
    with pytest.raises(ProviderBadOutput):
        parse_evaluation(data)


def test_check_options_reports_endpoint_and_timeouts() -> None:
    assert HTTPModelProvider.check_options({"endpoint": "https://model.example"}) == []
    problems = HTTPModelProvider.check_options({"endpoint": "", "read_timeout": -3, "max_follow_ups": -1})
    assert len(problems) == 3
    registry = ProviderRegistry(
        {
            "default": {
                "BACKEND": "ai_service.providers.http_model.HTTPModelProvider",
                "OPTIONS": {"endpoint": "ftp://model.example", "connect_timeout": "soon"},
                "FALLBACK": "embedded",
            },
            "embedded": {"BACKEND": "ai_service.providers.embedded.EmbeddedProvider"},
        }
    )
    problems = registry.check()
    assert any("http:// or https://" in p for p in problems)
    assert any("connect_timeout" in p for p in problems)


async def test_misconfigured_provider_raises_config_error_per_call() -> None:
    provider = HTTPModelProvider("bad", {"endpoint": "not a url"})
    with pytest.raises(ProviderConfigError) as info:
        await provider.evaluate(STRONG)
    assert info.value.kind == "config"


async def test_mock_transport_round_trip() -> None:
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        if request.url.path.endswith("/generate-questions"):
            return httpx.Response(200, json={"questions": [_question(i) for i in range(4)], "model_name": "m1"})
        return httpx.Response(200, json={"score": 4, "feedback": "Partial.", "follow_up": "And then?"})

    provider = HTTPModelProvider(
        "mock", {"endpoint": "https://model.example/base/", "api_key": "k", "transport": httpx.MockTransport(handler)}
    )
    questions = await provider.generate_questions(CONTEXT)
    evaluation = await provider.evaluate(WEAK)
    assert [r.url.path for r in seen] == ["/base/generate-questions", "/base/evaluate-response"]
    assert json.loads(seen[0].content)["context"]["difficulty_level"] == "medium"
    assert question_provenance(questions) is not None and question_provenance(questions).model_name == "m1"  # type: ignore[union-attr]
    assert evaluation.score == 4 and evaluation.follow_up == "And then?"
    no_follow = HTTPModelProvider(
        "mock", {"endpoint": "https://model.example", "max_follow_ups": 0, "transport": httpx.MockTransport(handler)}
    )
    assert (await no_follow.evaluate(WEAK)).follow_up == ""
    await provider.aclose()
    await no_follow.aclose()


# --- against the reference server --------------------------------------------------------------


async def test_generation_and_evaluation(ref_server: ReferenceServer) -> None:
    provider = make_provider("http", ref_server.url, model_name="configured", model_version="9")
    questions = await provider.generate_questions(CONTEXT)
    assert len(questions) == 4 and len({q.text for q in questions}) == 4
    assert {q.question_type for q in questions} == {"technical", "behavioral"}
    assert all(q.reference_answer and q.key_points for q in questions)
    provenance = question_provenance(questions)
    assert provenance is not None and provenance.provider == "http_model"
    assert provenance.model_name == "reference-embedded"  # what the server reported wins

    strong = await provider.evaluate(STRONG)
    weak = await provider.evaluate(WEAK)
    # Transport, not grader, is under test: the grades only need to keep their order and the
    # follow-up rule (proposed below 6) must hold for whatever the grader gave.
    assert strong.score is not None and weak.score is not None and strong.score > weak.score
    assert len(strong.covered_key_points) > len(weak.covered_key_points) and weak.missed_key_points
    assert bool(weak.follow_up) == (weak.score < 6) and bool(strong.follow_up) == (strong.score < 6)
    assert strong.provenance.provider == "http_model" and strong.provenance.rubric_version == "seed-1"
    assert strong.provenance.latency_ms > 0 and not strong.provenance.fallback_used
    assert ref_server.stats()["by_path"] == {"/generate-questions": 1, "/evaluate-response": 2}
    await provider.aclose()


@pytest.mark.parametrize("kind", PROVIDER_KINDS)
@pytest.mark.parametrize("fault", sorted(FAULT_KINDS))
async def test_faults_map_to_error_kinds(ref_server: ReferenceServer, fault: str, kind: str) -> None:
    # Both networked providers (the documented API's and the OpenAI-compatible one's).
    ref_server.control(fault=fault, latency_ms=800 if fault == "latency" else 0)
    provider = make_provider(kind, ref_server.url, read_timeout=read_timeout(fault))
    calls = 0
    with pytest.raises(ProviderError) as info:
        calls += 1
        await provider.evaluate(STRONG)
    assert info.value.kind == FAULT_KINDS[fault]
    if fault != "out-of-range":  # a score does not exist in a question set
        with pytest.raises(ProviderError) as info:
            calls += 1
            await provider.generate_questions(CONTEXT)
        assert info.value.kind == FAULT_KINDS[fault]
    assert ref_server.stats()["requests"] == calls  # one attempt each: surfaced, not retried
    await provider.aclose()


async def test_latency_below_read_timeout_succeeds(ref_server: ReferenceServer) -> None:
    ref_server.control(fault="latency", latency_ms=150)
    provider = make_provider("http", ref_server.url, read_timeout=2)
    evaluation = await provider.evaluate(STRONG)
    assert evaluation.score is not None and ref_server.stats()["delayed_ms"] == 150
    await provider.aclose()


async def test_retry_honours_retry_after_from_the_server(ref_server: ReferenceServer) -> None:
    ref_server.control(fault="429", fault_count=1)
    provider = make_provider("http", ref_server.url, max_retries=2)
    sleeps = record_sleeps(provider)
    evaluation = await provider.evaluate(STRONG)
    assert evaluation.score is not None and evaluation.provenance.details["attempts"] == 2
    assert sleeps == [1.0]  # the server's Retry-After: 1, not the 10 ms back-off (and waited)
    assert ref_server.stats()["requests"] == 2
    await provider.aclose()


async def test_wrong_api_key_is_auth_error_and_never_leaks(keyed_server: ReferenceServer) -> None:
    wrong = "sk-test-WRONG-KEY-fedcba9876543210"
    provider = make_provider("http", keyed_server.url, api_key=wrong)
    with pytest.raises(ProviderError) as info:
        await provider.evaluate(STRONG)
    assert info.value.kind == "auth"
    assert wrong not in str(info.value) and wrong not in repr(info.value)
    await provider.aclose()

    good = make_provider("http", keyed_server.url, api_key=SERVER_API_KEY)
    evaluation = await good.evaluate(STRONG)
    questions = await good.generate_questions(CONTEXT)
    dumped = repr(dataclasses.asdict(evaluation)) + repr(question_provenance(questions))
    assert SERVER_API_KEY not in dumped
    for fault in ("5xx", "garbage", "hang"):
        keyed_server.control(fault=fault)
        fast = make_provider("http", keyed_server.url, api_key=SERVER_API_KEY, read_timeout=read_timeout(fault))
        with pytest.raises(ProviderError) as info:
            await fast.evaluate(STRONG)
        assert SERVER_API_KEY not in f"{info.value}{info.value!r}"
        await fast.aclose()
    await good.aclose()


async def test_connection_refused_is_connection_error(server_factory: Any) -> None:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    provider = make_provider("http", f"http://127.0.0.1:{port}")
    with pytest.raises(ProviderError) as info:
        await provider.evaluate(STRONG)
    assert info.value.kind == "connection"
    await provider.aclose()
