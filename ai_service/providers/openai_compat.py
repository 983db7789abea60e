"""Any OpenAI-compatible chat-completions server: OpenAI, vLLM, Ollama, llama.cpp, LiteLLM...

    POST {endpoint}/chat/completions   (endpoint includes the API prefix, e.g. https://api.openai.com/v1)

Output is structured JSON: `response_format: {"type": "json_schema", ...}` where the server
supports it; when a server answers 400 saying it does not, the call is retried once with
`{"type": "json_object"}` and the provider remembers that for later calls. Replies are parsed
robustly (code fences and prose around the object are tolerated) and then validated as strictly
as the documented model API (see http_model.parse_questions / parse_evaluation).
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Mapping, Sequence
from typing import Any, Literal

from pydantic import Field, field_validator

from .. import prompts
from ..errors import ProviderBadOutput
from ..http import (
    HTTPResult,
    RequestRejected,
    redact_url,
)
from ..options import option_error
from ..registry import QuestionSet
from ..types import Evaluation, EvaluationRequest, GeneratedQuestion, InterviewContext, Provenance
from .http_model import calibration_details, parse_evaluation, parse_questions
from .networked import NetworkedOptions, NetworkedProvider

logger = logging.getLogger("ai_service.providers.openai_compat")

JsonMode = Literal["json_schema", "json_object", "none"]
GENERIC_FOLLOW_UP = "Could you expand on your answer, with a concrete example of how you would apply it?"
_UNSUPPORTED_WORDS = (
    "unsupported",
    "not supported",
    "does not support",
    "unknown",
    "invalid",
    "unrecognized",
    "not allowed",
    "extra inputs",
    "not permitted",
)


def says_json_schema_unsupported(exc: RequestRejected) -> bool:
    """Whether a rejection reads like "this server does not support response_format json_schema"."""
    if exc.status_code not in (400, 422):
        return False
    body = exc.body_excerpt.lower()
    return ("response_format" in body or "json_schema" in body) and any(w in body for w in _UNSUPPORTED_WORDS)


def message_content(data: Any) -> tuple[str, str]:
    """(content, finish_reason) of the first choice of a chat completion; ProviderBadOutput if malformed."""
    if not isinstance(data, dict):
        raise ProviderBadOutput("invalid chat completion: the body is not a JSON object")
    choices = data.get("choices")
    if not isinstance(choices, list) or not choices or not isinstance(choices[0], dict):
        raise ProviderBadOutput("invalid chat completion: no choices")
    choice = choices[0]
    message = choice.get("message")
    if not isinstance(message, dict):
        raise ProviderBadOutput("invalid chat completion: choices[0].message is missing")
    refusal = message.get("refusal")
    if isinstance(refusal, str) and refusal.strip():
        raise ProviderBadOutput(f"the model refused: {refusal.strip()[:200]}", kind="refused")
    content = message.get("content")
    if isinstance(content, list):  # content parts
        content = "".join(
            str(part.get("text", "")) for part in content if isinstance(part, dict) and part.get("type") == "text"
        )
    if content is None:
        content = ""
    if not isinstance(content, str):
        raise ProviderBadOutput("invalid chat completion: message content is not text")
    finish = choice.get("finish_reason")
    return content, finish if isinstance(finish, str) else ""


def decode_reply(content: str, finish_reason: str = "") -> dict[str, Any]:
    if not content.strip():
        raise ProviderBadOutput("the model returned an empty reply")
    try:
        return prompts.extract_json_object(content)
    except ValueError as exc:
        cut = " (the reply was cut at max_tokens)" if finish_reason == "length" else ""
        raise ProviderBadOutput(f"the model's reply is not a JSON object{cut}: {exc}") from None


def _usage(data: Any) -> dict[str, int]:
    usage = data.get("usage") if isinstance(data, dict) else None
    if not isinstance(usage, dict):
        return {}
    return {
        key: value
        for key in ("prompt_tokens", "completion_tokens", "total_tokens")
        if isinstance(value := usage.get(key), int) and not isinstance(value, bool)
    }


class OpenAICompatOptions(NetworkedOptions):
    """OPTIONS of an OpenAI-compatible server: the networked options, a required `model_name`, and
    how to ask for JSON and sample."""

    model_name: str = Field("", validate_default=True)
    # False starts with json_object instead of json_schema.
    json_schema: bool = Field(True, description="a boolean")
    # Overrides `json_schema`; "none" sends no response_format at all.
    json_mode: JsonMode | None = Field(None, description="one of json_schema, json_object, none")
    temperature: float = Field(0.2, ge=0, le=2, allow_inf_nan=False, description="a number in 0..2")
    max_tokens: int | None = Field(None, gt=0, description="a positive integer")

    @field_validator("model_name", mode="after")
    @classmethod
    def _model_name_required(cls, value: str) -> str:
        if not value.strip():
            raise option_error("is missing (set AI_MODEL_NAME to the served model's name)")
        return value


class OpenAICompatProvider(NetworkedProvider):
    """OPTIONS (`OpenAICompatOptions`): `endpoint` (base URL incl. `/v1`), `api_key` (optional for
    local servers), `model_name` (required), `model_version`, `json_schema` (default True; False uses
    json_object), `json_mode` ("json_schema" | "json_object" | "none", overrides `json_schema`),
    `temperature` (default 0.2), `max_tokens`, `max_follow_ups` (default 1; 0 disables follow-up
    proposals), the transport options of `ai_service.http.HTTPSettings`, and `transport`/`client`
    for tests.
    """

    name = "openai_compat"
    options_model = OpenAICompatOptions

    def __init__(self, alias: str, options: Mapping[str, Any] | None = None) -> None:
        super().__init__(alias, options)
        settings = self.settings
        assert isinstance(settings, OpenAICompatOptions)
        self.json_mode: str = settings.json_mode or ("json_schema" if settings.json_schema else "json_object")
        self.temperature = settings.temperature
        self.max_tokens = settings.max_tokens

    def _body(self, task: str, messages: list[prompts.Message], mode: str) -> dict[str, Any]:
        body: dict[str, Any] = {"model": self.model_name, "messages": messages, "temperature": self.temperature}
        if self.max_tokens:
            body["max_tokens"] = self.max_tokens
        response_format = prompts.response_format(task, mode)
        if response_format is not None:
            body["response_format"] = response_format
        return body

    async def _complete(self, task: str, messages: list[prompts.Message]) -> tuple[dict[str, Any], HTTPResult, str]:
        """(the reply's JSON object, the HTTP result, the json mode used)."""
        mode = self.json_mode
        try:
            result = await self.http.post_json("chat/completions", self._body(task, messages, mode))
        except RequestRejected as exc:
            if mode != "json_schema" or not says_json_schema_unsupported(exc):
                raise
            logger.info("%s: the server does not support json_schema output; using json_object", self.alias)
            self.json_mode = mode = "json_object"
            result = await self.http.post_json("chat/completions", self._body(task, messages, mode))
        content, finish = message_content(result.data)
        return decode_reply(content, finish), result, mode

    def _provenance(self, result: HTTPResult, mode: str, calibration: dict[str, object] | None = None) -> Provenance:
        data = result.data
        served = data.get("model") if isinstance(data, dict) else None
        details: dict[str, object] = {
            "endpoint": redact_url(self.settings.endpoint),
            "attempts": result.attempts,
            "json_mode": mode,
            "usage": _usage(data),
        }
        if calibration is not None:
            details["calibration"] = calibration
        return Provenance(
            provider=self.name,
            model_name=served.strip()[:200] if isinstance(served, str) and served.strip() else self.model_name,
            model_version=self.model_version,
            rubric_version=prompts.PROMPT_VERSION,
            latency_ms=result.latency_ms,
            details=details,
        )

    async def generate_questions(self, context: InterviewContext) -> Sequence[GeneratedQuestion]:
        self._check_usable()
        reply, result, mode = await self._complete(prompts.TASK_QUESTIONS, prompts.question_messages(context))
        return QuestionSet(parse_questions(reply, context), self._provenance(result, mode))

    async def evaluate(self, request: EvaluationRequest) -> Evaluation:
        self._check_usable()
        messages = prompts.evaluation_messages(request, follow_up=self.follow_ups_enabled)
        reply, result, mode = await self._complete(prompts.TASK_EVALUATION, messages)
        evaluation = parse_evaluation(reply)
        follow_up = ""
        if self.follow_ups_enabled and evaluation.score is not None and evaluation.score < prompts.FOLLOW_UP_BELOW:
            follow_up = evaluation.follow_up or GENERIC_FOLLOW_UP
        return dataclasses.replace(
            evaluation,
            follow_up=follow_up,
            provenance=self._provenance(result, mode, calibration_details(request, prompts.prompt_examples(request))),
        )
