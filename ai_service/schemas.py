"""The wire formats of the model providers, each declared once as a pydantic model.

* the documented model API (docs/ai-model-api.md, section 1): `GenerateRequest` ->
  `GenerateResponse`, `EvaluateRequest` -> `EvaluateResponse`;
* the OpenAI-compatible mode: the strict output schemas sent as `response_format`
  (`QuestionsOutput`, `EvaluationOutput`) and the task payloads that prompts embed after
  `INPUT (JSON):` (`QuestionsPrompt`, `EvaluationPrompt`).

Everything else is derived from these models: the validation of what a server answers (field
errors name the field, e.g. `response.questions[2].text`), the bodies we send, the reference
server's request checks, and the JSON Schemas published in the docs and in prompts
(`json_schema()`). `python -m ai_service.schemas --write` regenerates the doc's schema blocks;
a test fails when they are stale.

No Django and no other part of the project: the models use only `ai_service.types`.
"""

from __future__ import annotations

import argparse
import json
import math
import re
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Annotated, Any, Literal, Self

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, ValidationError, model_validator

from .types import Difficulty, GradedExample, InterviewType, QuestionType

MAX_TEXT = 4000  # characters per string a model returns
MAX_ITEMS = 50  # entries per list a model returns; also the most questions one request asks for
# Graded examples (reviewed answers of the same question) in one `POST /evaluate-response`, and
# the characters of each example's answer and note we send (answers are cut like the OpenAI
# prompt's `response`).
MAX_GRADED_EXAMPLES = 20
MAX_EXAMPLE_ANSWER = 8000
MAX_EXAMPLE_NOTE = 2000

TASK_QUESTIONS = "generate_questions"
TASK_EVALUATION = "evaluate_response"

Text = Annotated[str, Field(max_length=MAX_TEXT)]
TextList = Annotated[list[Text], Field(max_length=MAX_ITEMS)]


class WireModel(BaseModel):
    """Strict JSON types (no "7" for 7, no 1 for true), unknown fields ignored.

    A null for an optional field reads as absent: models often write null for "nothing here",
    and the field's default says the same thing.
    """

    model_config = ConfigDict(strict=True, extra="ignore", frozen=True)

    @model_validator(mode="before")
    @classmethod
    def _null_means_absent(cls, data: Any) -> Any:
        return drop_optional_nones(cls, data)


def drop_optional_nones(model: type[BaseModel], data: Any) -> Any:
    """A null optional field means "not set": drop it so its default applies."""
    if not isinstance(data, dict):
        return data
    fields = model.model_fields
    return {k: v for k, v in data.items() if v is not None or k not in fields or fields[k].is_required()}


class AnswerModel(WireModel):
    """What a model wrote: strings are trimmed before their length is checked."""

    model_config = ConfigDict(str_strip_whitespace=True)


class StrictOutput(BaseModel):
    """OpenAI strict structured output: every field required, no other field allowed."""

    model_config = ConfigDict(strict=True, extra="forbid", frozen=True)


def error_path(loc: Sequence[int | str], root: str) -> str:
    """`("questions", 2, "text")` -> `root.questions[2].text`."""
    path = root
    for part in loc:
        path += f"[{part}]" if isinstance(part, int) else f".{part}"
    return path


def describe_errors(exc: ValidationError, root: str) -> str:
    """The errors of a validation as `path: message; ...` (never the offending values)."""
    return "; ".join(f"{error_path(e['loc'], root)}: {e['msg']}" for e in exc.errors(include_url=False))


# --- the model API: POST /generate-questions ---------------------------------------------------


class GenerateContext(WireModel):
    candidate_name: str
    job_title: str
    interview_type: InterviewType
    difficulty_level: Difficulty
    question_count: int = Field(ge=1, le=MAX_ITEMS)
    job_description: str
    skills: list[str]


class GenerateRequest(WireModel):
    """The body of `POST /generate-questions`."""

    context: GenerateContext


class QuestionItem(AnswerModel):
    text: Text = Field(min_length=1)
    question_type: QuestionType
    # Absent: the requested difficulty.
    difficulty: Difficulty | None = None
    competency: Text = ""
    reference_answer: Text = ""
    key_points: TextList = []


class GenerateResponse(AnswerModel):
    """The answer of `POST /generate-questions`."""

    questions: list[QuestionItem] = Field(min_length=1)
    model_name: str = ""
    model_version: str = ""

    @model_validator(mode="after")
    def _distinct_questions(self) -> Self:
        seen: set[str] = set()
        for i, question in enumerate(self.questions):
            normalised = " ".join(question.text.lower().split())
            if normalised in seen:
                raise ValueError(f"questions[{i}].text repeats an earlier question")
            seen.add(normalised)
        return self


# --- the model API: POST /evaluate-response ----------------------------------------------------


class GradedExampleItem(WireModel):
    """A reviewed answer to the same question and the 0-10 score the hiring team gave it."""

    id: str
    answer: str
    score: float = Field(ge=0, le=10, allow_inf_nan=False)
    note: str


class EvaluateRequest(WireModel):
    """The body of `POST /evaluate-response`."""

    question: str
    response: str
    question_type: QuestionType
    difficulty: Difficulty
    reference_answer: str
    key_points: list[str]
    # Absent (older clients): none.
    graded_examples: list[GradedExampleItem] = Field(default=[], max_length=MAX_GRADED_EXAMPLES)


def sendable_examples(examples: Sequence[GradedExample], limit: int) -> list[tuple[GradedExample, float]]:
    """The first `limit` examples with a finite score, in the order given, each with its score
    clamped to 0..10.

    Callers put the most relevant examples first. Answers and notes are left whole: each wire
    format cuts them to its own limits.
    """
    sent: list[tuple[GradedExample, float]] = []
    for example in examples:
        if len(sent) >= limit:
            break
        score = float(example.score)
        if math.isfinite(score):
            sent.append((example, min(10.0, max(0.0, score))))
    return sent


class KeyPointCovered(AnswerModel):
    point: Text = Field(min_length=1)
    evidence: Text = ""


def _point_object(value: Any) -> Any:
    # A bare string names a covered point without evidence.
    return {"point": value} if isinstance(value, str) else value


CoveredPoint = Annotated[KeyPointCovered, BeforeValidator(_point_object, json_schema_input_type=str | KeyPointCovered)]


class EvaluateResponse(AnswerModel):
    """The answer of `POST /evaluate-response` (and, in OpenAI mode, the model's reply)."""

    # Required, but null says "too little evidence to grade".
    score: float | None = Field(ge=0, le=10, allow_inf_nan=False)
    feedback: Text = Field(min_length=1)
    strengths: TextList = []
    improvements: TextList = []
    covered_key_points: list[CoveredPoint] = Field(default=[], max_length=MAX_ITEMS)
    missed_key_points: TextList = []
    insufficient_evidence: bool = False
    follow_up: Text = ""
    model_name: str = ""
    model_version: str = ""


# --- OpenAI-compatible mode: strict output schemas ---------------------------------------------
# Subsets of the model API's answers (a test checks it), so one validator reads both.


class QuestionOutput(StrictOutput):
    text: str
    question_type: QuestionType
    competency: str
    difficulty: Difficulty
    reference_answer: str
    key_points: list[str]


# The docstrings and descriptions of these models are sent to the model inside the schema.


class QuestionsOutput(StrictOutput):
    """Interview questions, in the order they are asked."""

    questions: list[QuestionOutput]


class KeyPointOutput(StrictOutput):
    point: str
    evidence: str


class EvaluationOutput(StrictOutput):
    """The grade of one answer."""

    score: float | None = Field(description="0 to 10, or null when the answer gives too little evidence to grade")
    feedback: str
    strengths: list[str]
    improvements: list[str]
    covered_key_points: list[KeyPointOutput]
    missed_key_points: list[str]
    insufficient_evidence: bool
    follow_up: str


# --- OpenAI-compatible mode: the task payload of each prompt -----------------------------------


class QuestionMix(WireModel):
    technical: int = Field(ge=0)
    behavioral: int = Field(ge=0)


class QuestionsPrompt(WireModel):
    """The data of a question-generation prompt. The candidate's name is left out on purpose."""

    task: Literal["generate_questions"] = "generate_questions"
    prompt_version: str
    job_title: str
    job_description: str
    skills: list[str]
    interview_type: InterviewType
    difficulty: Difficulty
    question_count: int = Field(ge=1, le=MAX_ITEMS)
    question_mix: QuestionMix


class PromptGradedExample(WireModel):
    """A reviewed answer to the same question, as an evaluation prompt quotes it."""

    answer: str
    score: float = Field(ge=0, le=10, allow_inf_nan=False)
    note: str


class EvaluationPrompt(WireModel):
    """The data of an evaluation prompt."""

    task: Literal["evaluate_response"] = "evaluate_response"
    prompt_version: str
    question: str
    question_type: QuestionType
    difficulty: Difficulty
    competency: str
    reference_answer: str
    key_points: list[str]
    response: str
    follow_up: bool
    # Absent (older prompts): none.
    graded_examples: list[PromptGradedExample] = []


# --- JSON Schemas ------------------------------------------------------------------------------


def json_schema(model: type[BaseModel]) -> dict[str, Any]:
    """The JSON Schema of `model`, self-contained: `$ref`s inlined, pydantic's titles dropped.

    Inlined, it reads well in the docs and in prompts, and stays within what OpenAI's strict
    mode accepts.
    """
    raw = model.model_json_schema()
    definitions = raw.pop("$defs", {})
    cleaned = _inline(raw, definitions)
    assert isinstance(cleaned, dict)
    return cleaned


def _inline(node: Any, definitions: dict[str, Any]) -> Any:
    if isinstance(node, list):
        return [_inline(item, definitions) for item in node]
    if not isinstance(node, dict):
        return node
    if "$ref" in node:
        target = definitions[node["$ref"].rsplit("/", 1)[-1]]
        return _inline({**target, **{k: v for k, v in node.items() if k != "$ref"}}, definitions)
    cleaned: dict[str, Any] = {}
    # "type" first: the schemas read better in the docs and prompts.
    for key, value in sorted(node.items(), key=lambda item: item[0] != "type"):
        if key == "title":
            continue
        if key == "properties":  # property names are data, not keywords: keep a property called "title"
            cleaned[key] = {name: _inline(child, definitions) for name, child in value.items()}
        else:
            cleaned[key] = _inline(value, definitions)
    return cleaned


# Published in docs/ai-model-api.md, each after a `<!-- schema: NAME -->` marker.
PUBLISHED: dict[str, type[BaseModel]] = {
    model.__name__: model
    for model in (
        GenerateRequest,
        GenerateResponse,
        EvaluateRequest,
        EvaluateResponse,
        QuestionsOutput,
        EvaluationOutput,
    )
}
DOC_PATH = Path(__file__).resolve().parents[1] / "docs" / "ai-model-api.md"
_BLOCK_RE = re.compile(r"(<!-- schema: (?P<name>\w+) -->\n```json\n)(?P<body>.*?)(\n```)", re.DOTALL)


def compact_json(value: Any, indent: int = 0, width: int = 100) -> str:
    """JSON with an object or list on one line when it fits in `width`, else one entry per line."""
    flat = json.dumps(value, ensure_ascii=False)
    if indent + len(flat) <= width or not isinstance(value, dict | list) or not value:
        return flat
    pad = " " * (indent + 2)
    if isinstance(value, dict):
        items = [f"{pad}{json.dumps(k)}: {compact_json(v, indent + 2, width)}" for k, v in value.items()]
        return "{\n" + ",\n".join(items) + "\n" + " " * indent + "}"
    items = [pad + compact_json(v, indent + 2, width) for v in value]
    return "[\n" + ",\n".join(items) + "\n" + " " * indent + "]"


def render_doc(text: str) -> str:
    """`text` with every marked schema block replaced by the schema derived from its model."""

    def block(match: re.Match[str]) -> str:
        name = match.group("name")
        if name not in PUBLISHED:
            raise KeyError(f"the doc marks an unknown schema {name!r}")
        return match.group(1) + compact_json(json_schema(PUBLISHED[name])) + match.group(4)

    return _BLOCK_RE.sub(block, text)


def doc_schema_names(text: str) -> list[str]:
    return [m.group("name") for m in _BLOCK_RE.finditer(text)]


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m ai_service.schemas", description="Regenerate the JSON Schemas quoted in the model API doc."
    )
    parser.add_argument("--write", action="store_true", help=f"rewrite {DOC_PATH.name} in place")
    parser.add_argument("--doc", type=Path, default=DOC_PATH)
    args = parser.parse_args(argv)
    text = args.doc.read_text(encoding="utf-8")
    rendered = render_doc(text)
    if args.write:
        args.doc.write_text(rendered, encoding="utf-8")
        return 0
    if rendered != text:
        print(f"{args.doc} is out of date: run python -m ai_service.schemas --write", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
