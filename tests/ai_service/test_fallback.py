"""FallbackProvider around each networked provider: the interview goes on under every fault."""

from __future__ import annotations

import logging
import pickle
from collections.abc import Sequence
from typing import Any

import httpx
import pytest

from ai_service.base import AIProvider
from ai_service.errors import ProviderUnavailable
from ai_service.providers.embedded import EmbeddedProvider
from ai_service.registry import FallbackProvider, ProviderRegistry, QuestionSet, question_provenance
from ai_service.types import Evaluation, EvaluationRequest, GeneratedQuestion, InterviewContext, Provenance

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
)


def wrap(kind: str, url: str, **options: object) -> FallbackProvider:
    return FallbackProvider("default", make_provider(kind, url, **options), EmbeddedProvider("embedded"))


@pytest.mark.parametrize("fault", sorted(FAULT_KINDS))
@pytest.mark.parametrize("kind", PROVIDER_KINDS)
async def test_fallback_under_each_fault(ref_server: ReferenceServer, kind: str, fault: str) -> None:
    ref_server.control(fault=fault, latency_ms=800 if fault == "latency" else 0)
    provider = wrap(kind, ref_server.url, read_timeout=read_timeout(fault))
    evaluation = await provider.evaluate(STRONG)
    assert evaluation.provenance.fallback_used is True
    assert evaluation.provenance.error_kind == FAULT_KINDS[fault]
    assert evaluation.provenance.provider == "embedded"
    assert evaluation.provenance.details["primary_provider"] == provider.primary.name
    assert evaluation.score is not None and evaluation.score >= 8  # the embedded grader answered
    if fault != "out-of-range":
        questions = await provider.generate_questions(CONTEXT)
        assert len(questions) == CONTEXT.question_count
        provenance = question_provenance(questions)
        assert provenance is not None and provenance.fallback_used and provenance.provider == "embedded"
        assert provenance.error_kind == FAULT_KINDS[fault]
    await provider.aclose()


@pytest.mark.parametrize("kind", PROVIDER_KINDS)
async def test_no_fallback_when_the_primary_answers(ref_server: ReferenceServer, kind: str) -> None:
    provider = wrap(kind, ref_server.url)
    evaluation = await provider.evaluate(WEAK)
    questions = await provider.generate_questions(CONTEXT)
    assert not evaluation.provenance.fallback_used and evaluation.provenance.error_kind == ""
    assert evaluation.provenance.provider == provider.primary.name
    provenance = question_provenance(questions)
    assert provenance is not None and not provenance.fallback_used
    await provider.aclose()


@pytest.mark.parametrize("kind", PROVIDER_KINDS)
async def test_fallback_on_open_circuit_is_immediate(ref_server: ReferenceServer, kind: str) -> None:
    ref_server.control(fault="5xx")
    provider = wrap(kind, ref_server.url, breaker_threshold=2, breaker_cooldown=30)
    kinds = [(await provider.evaluate(STRONG)).provenance.error_kind for _ in range(4)]
    assert kinds == ["unavailable", "unavailable", "circuit_open", "circuit_open"]
    assert ref_server.stats()["requests"] == 2
    await provider.aclose()


@pytest.mark.parametrize("kind", PROVIDER_KINDS)
async def test_fallback_on_wrong_key_and_connection_refused(
    keyed_server: ReferenceServer, kind: str, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    wrong_key = "sk-test-WRONG-KEY-FOR-FALLBACK-42"
    provider = wrap(kind, keyed_server.url, api_key=wrong_key)
    evaluation = await provider.evaluate(STRONG)
    assert evaluation.provenance.fallback_used and evaluation.provenance.error_kind == "auth"
    assert wrong_key not in repr(evaluation) and wrong_key not in caplog.text
    assert "auth" in caplog.text  # the fallback was logged
    await provider.aclose()

    refused = wrap(kind, "http://127.0.0.1:9")  # discard port: nothing listens
    evaluation = await refused.evaluate(STRONG)
    assert evaluation.provenance.error_kind == "connection"
    await refused.aclose()

    good = wrap(kind, keyed_server.url, api_key=SERVER_API_KEY)
    assert not (await good.evaluate(STRONG)).provenance.fallback_used
    await good.aclose()


async def test_fallback_evaluate_many_falls_back_per_answer(ref_server: ReferenceServer) -> None:
    ref_server.control(fault="5xx", fault_count=1)
    provider = wrap("http", ref_server.url, max_concurrency=1)
    evaluations = await provider.evaluate_many([STRONG, WEAK, STRONG])
    assert [e.provenance.fallback_used for e in evaluations] == [True, False, False]
    weak, strong = evaluations[1].score, evaluations[2].score
    assert weak is not None and strong is not None and weak < strong  # each answer got its own grade
    await provider.aclose()


def test_registry_builds_the_fallback_from_settings_and_reports_misconfiguration() -> None:
    config: dict[str, dict[str, Any]] = {
        "default": {
            "BACKEND": "ai_service.providers.openai_compat.OpenAICompatProvider",
            "OPTIONS": {"endpoint": "", "api_key": "sk-x", "model_name": ""},
            "FALLBACK": "embedded",
        },
        "embedded": {"BACKEND": "ai_service.providers.embedded.EmbeddedProvider"},
    }
    registry = ProviderRegistry(config)
    problems = registry.check()
    assert any("endpoint" in p for p in problems) and any("model_name" in p for p in problems)
    assert isinstance(registry.get(), FallbackProvider)


async def test_misconfigured_primary_falls_back_with_config_kind() -> None:
    registry = ProviderRegistry(
        {
            "default": {
                "BACKEND": "ai_service.providers.http_model.HTTPModelProvider",
                "OPTIONS": {"endpoint": ""},
                "FALLBACK": "embedded",
            },
            "embedded": {"BACKEND": "ai_service.providers.embedded.EmbeddedProvider"},
        }
    )
    evaluation = await registry.get().evaluate(STRONG)
    assert evaluation.provenance.fallback_used and evaluation.provenance.error_kind == "config"
    await registry.aclose()


class Broken(AIProvider):
    name = "broken"

    async def generate_questions(self, context: InterviewContext) -> Sequence[GeneratedQuestion]:
        raise RuntimeError("bug")

    async def evaluate(self, request: EvaluationRequest) -> Evaluation:
        raise ProviderUnavailable("down", kind="circuit_open")


async def test_unexpected_exceptions_fall_back_as_internal() -> None:
    provider = FallbackProvider("default", Broken("broken"), EmbeddedProvider("embedded"))
    questions = await provider.generate_questions(CONTEXT)
    provenance = question_provenance(questions)
    assert provenance is not None and provenance.error_kind == "internal"
    assert provenance.details["primary_provider"] == "broken"
    assert (await provider.evaluate(STRONG)).provenance.error_kind == "circuit_open"


def test_question_set_is_a_tuple_that_keeps_its_provenance() -> None:
    questions = QuestionSet([], Provenance(provider="p", fallback_used=True))
    assert isinstance(questions, tuple) and questions == ()
    restored = pickle.loads(pickle.dumps(questions))
    assert question_provenance(restored) == Provenance(provider="p", fallback_used=True)
    assert question_provenance([]) is None


async def test_registry_aclose_closes_every_built_providers_http_client() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, json={"score": 5, "feedback": "Fine."})

    registry = ProviderRegistry(
        {
            "default": {
                "BACKEND": "ai_service.providers.http_model.HTTPModelProvider",
                "OPTIONS": {"endpoint": "https://model.example", "transport": httpx.MockTransport(handler)},
                "FALLBACK": "embedded",
            },
            "other": {
                "BACKEND": "ai_service.providers.openai_compat.OpenAICompatProvider",
                "OPTIONS": {"endpoint": "https://llm.example/v1", "model_name": "m"},
            },
            "embedded": {"BACKEND": "ai_service.providers.embedded.EmbeddedProvider", "OPTIONS": {"grader": "lexical"}},
        }
    )
    default, other = registry.get(), registry.get("other")
    assert isinstance(default, FallbackProvider)
    assert (await default.evaluate(STRONG)).provenance.provider == "http_model"
    clients = [default.primary.http.client(), other.http.client()]  # type: ignore[attr-defined]
    await registry.aclose()
    assert all(client.is_closed for client in clients)
    assert registry.get() is not default  # built afresh after a close
    await registry.aclose()
