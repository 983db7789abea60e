"""ai_service.schemas and ai_service.options: one declared model per wire format and per OPTIONS,
the JSON Schemas derived from them, and the docs that quote them."""

from __future__ import annotations

import re
from typing import Any

import pytest
from pydantic import BaseModel

from ai_service import prompts, schemas
from ai_service.http import HTTPSettings
from ai_service.providers.embedded import EmbeddedOptions, EmbeddedProvider
from ai_service.providers.networked import NetworkedOptions
from ai_service.providers.openai_compat import OpenAICompatOptions

DOC = schemas.DOC_PATH.read_text(encoding="utf-8")


def test_the_doc_quotes_the_schemas_derived_from_the_models() -> None:
    assert schemas.render_doc(DOC) == DOC, "docs/ai-model-api.md is stale: run python -m ai_service.schemas --write"
    assert sorted(schemas.doc_schema_names(DOC)) == sorted(schemas.PUBLISHED)  # each quoted exactly once


def test_a_stale_doc_is_detected() -> None:
    stale = DOC.replace('"maximum": 50', '"maximum": 20', 1)
    assert stale != DOC and schemas.render_doc(stale) == DOC
    assert schemas.main(["--doc", str(schemas.DOC_PATH)]) == 0


def test_the_prompts_send_the_derived_output_schemas() -> None:
    assert schemas.json_schema(schemas.QuestionsOutput) == prompts.QUESTIONS_OUTPUT_SCHEMA
    assert schemas.json_schema(schemas.EvaluationOutput) == prompts.EVALUATION_OUTPUT_SCHEMA


def _no_refs(node: Any) -> None:
    if isinstance(node, dict):
        assert "$ref" not in node and "$defs" not in node
        for key, value in node.items():
            if key != "properties":
                assert key != "title"
            _no_refs(value)
    elif isinstance(node, list):
        for item in node:
            _no_refs(item)


@pytest.mark.parametrize("name", sorted(schemas.PUBLISHED))
def test_published_schemas_are_self_contained(name: str) -> None:
    schema = schemas.json_schema(schemas.PUBLISHED[name])
    _no_refs(schema)
    assert schema["type"] == "object" and schema["required"]


def test_a_property_named_title_survives_inlining() -> None:
    class Book(BaseModel):
        title: str

    class Shelf(BaseModel):
        books: list[Book]

    schema = schemas.json_schema(Shelf)
    assert schema["properties"]["books"]["items"]["properties"] == {"title": {"type": "string"}}


@pytest.mark.parametrize(
    ("output", "answer"),
    [(schemas.QuestionsOutput, schemas.GenerateResponse), (schemas.EvaluationOutput, schemas.EvaluateResponse)],
)
def test_strict_outputs_are_subsets_of_the_model_api_answers(output: type[BaseModel], answer: type[BaseModel]) -> None:
    assert set(output.model_fields) <= set(answer.model_fields)
    sample: dict[str, Any]
    if output is schemas.QuestionsOutput:
        sample = {
            "questions": [
                {
                    "text": "Why index?",
                    "question_type": "technical",
                    "competency": "Databases",
                    "difficulty": "easy",
                    "reference_answer": "Reads.",
                    "key_points": ["reads"],
                }
            ]
        }
    else:
        sample = {
            "score": 7,
            "feedback": "Good.",
            "strengths": ["clear"],
            "improvements": [],
            "covered_key_points": [{"point": "reads", "evidence": "faster reads"}],
            "missed_key_points": ["writes"],
            "insufficient_evidence": False,
            "follow_up": "",
        }
    answer.model_validate(output.model_validate(sample).model_dump())  # what strict mode returns, we accept


def test_answer_errors_name_the_field_and_never_echo_values() -> None:
    secret = "sk-live-ECHOED-0123456789"
    with pytest.raises(Exception) as info:
        schemas.EvaluateResponse.model_validate({"score": secret, "feedback": "x"})
    text = schemas.describe_errors(info.value, "response")  # type: ignore[arg-type]
    assert text.startswith("response.score:") and secret not in text


# --- OPTIONS -----------------------------------------------------------------------------------


def test_option_problems_never_show_a_secret() -> None:
    problems = HTTPSettings.problems({"endpoint": "https://user:pw@h.example/v1", "api_key": 1234567})
    assert problems == ["OPTIONS['api_key'] must be a string, not <int>"]
    assert "pw" not in str(HTTPSettings.problems({"endpoint": "ftp://user:pw@h.example"}))
    assert repr(HTTPSettings.from_options({"endpoint": "https://h", "api_key": "sk-SECRET"})).count("sk-SECRET") == 0


def test_none_means_not_set() -> None:
    settings = OpenAICompatOptions.parse(
        {"endpoint": "https://h/v1/", "model_name": "m", "max_tokens": None, "read_timeout": None, "api_key": None}
    )
    assert settings.endpoint == "https://h/v1" and settings.read_timeout == 30.0 and settings.max_tokens is None


def test_embedded_options_are_declared_and_checked() -> None:
    assert EmbeddedProvider.check_options({"grader": "lexical", "batch_delay_ms": 20}) == []
    problems = EmbeddedProvider.check_options({"grader": "magic", "batch_max": 0})
    assert any("grader" in p for p in problems) and any("batch_max" in p for p in problems)
    assert EmbeddedOptions.parse({}).grader == "semantic"


def _documented_options() -> set[str]:
    section = DOC.split("Options (the `OPTIONS` mapping", 1)[1].split("### Prompts", 1)[0]
    return set(re.findall(r"`([a-z_]+)`", section))


@pytest.mark.parametrize("model", [NetworkedOptions, OpenAICompatOptions])
def test_every_option_is_documented(model: type[BaseModel]) -> None:
    for_tests_only = {"transport", "client"}
    assert set(model.model_fields) - for_tests_only <= _documented_options()
