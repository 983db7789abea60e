"""The staff's live actions (message the candidate, extend the time, add a question, end the
interview): each one's fields, declared once for the staff socket's frames and the REST actions
body, and that body (`ActionRequest`, discriminated by `action`)."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BeforeValidator, Field, RootModel, TypeAdapter

from ..constants import (
    MAX_EXTEND_SECONDS,
    MAX_FOLLOW_UP_CHARS,
    MAX_KEY_POINT_CHARS,
    MAX_KEY_POINTS,
    MAX_MESSAGE_CHARS,
    MAX_TIME_LIMIT_SECONDS,
    MIN_TIME_LIMIT_SECONDS,
)
from ..text import SPACES
from .base import _In, tags

# Each live action's fields, declared once: the staff socket's frames and the REST actions body
# (below) both validate with these, and the services take what they validated.
_NonBlank = BeforeValidator(lambda v: v.strip() if isinstance(v, str) else v)
# Not empty once trimmed: the JSON schema's minLength counts the untrimmed text, so it also says
# "not only whitespace" (schema only: the trim and min_length are what validate).
_NOT_BLANK = Field(min_length=1, json_schema_extra={"pattern": f"[^{SPACES}]"})


class MessageFields(_In):
    text: Annotated[str, _NonBlank, _NOT_BLANK, Field(max_length=MAX_MESSAGE_CHARS)]


class ExtendFields(_In):
    seconds: Annotated[int, Field(ge=1, le=MAX_EXTEND_SECONDS)]


class AddQuestionFields(_In):
    text: Annotated[str, _NonBlank, _NOT_BLANK, Field(max_length=MAX_FOLLOW_UP_CHARS)]
    key_points: (
        Annotated[
            list[Annotated[str, _NonBlank, _NOT_BLANK, Field(max_length=MAX_KEY_POINT_CHARS)]],
            Field(max_length=MAX_KEY_POINTS),
        ]
        | None
    ) = None
    competency: Annotated[str, _NonBlank, Field(max_length=100)] | None = None
    time_limit_seconds: Annotated[int, Field(ge=MIN_TIME_LIMIT_SECONDS, le=MAX_TIME_LIMIT_SECONDS)] | None = None


class EndFields(_In):
    reason: Annotated[str, _NonBlank, Field(max_length=MAX_MESSAGE_CHARS)] | None = None


# --- the staff REST actions body (POST .../sessions/<id>/actions/) --------------------------------


class MessageAction(MessageFields):
    """Message the candidate (as `candidate.message` on the staff socket)."""

    action: Literal["message"]


class ExtendTimeAction(ExtendFields):
    """Give the open question more time (as `question.extend`)."""

    action: Literal["extend_time"]


class AddQuestionAction(AddQuestionFields):
    """Add a question, asked next (as `question.add`)."""

    action: Literal["add_question"]


class EndAction(EndFields):
    """End the interview early (as `interview.end`)."""

    action: Literal["end"]


ActionRequestUnion = Annotated[
    MessageAction | ExtendTimeAction | AddQuestionAction | EndAction, Field(discriminator="action")
]
ACTION_KINDS = tags(ActionRequestUnion, "action")
action_request_adapter: TypeAdapter[ActionRequestUnion] = TypeAdapter(ActionRequestUnion)


class ActionRequest(RootModel[ActionRequestUnion]):
    """The body of a staff action over REST: one live action, named by `action`."""
