"""What every wire format shares: the inbound and outbound bases (`_In` strict and frozen,
`_Out` closed), the field types several formats use (ids, answer text, response type), their
limits, and `tags` (a discriminated union's tag values)."""

from __future__ import annotations

from typing import Annotated, Any, Literal, get_args

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field

from ..constants import CLIENT_ID_PATTERN, MAX_ANSWER_CHARS, RESPONSE_TYPES

UUID_PATTERN = r"[0-9a-fA-F]{8}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{12}"
# The last instant a datetime can hold (9999-12-31), in ms since the epoch.
MAX_TIMESTAMP_MS = 253_402_300_799_000
MAX_WAIT_SECONDS = 30
DEFAULT_WAIT_SECONDS = 10

ClientId = Annotated[
    str, Field(pattern=f"^{CLIENT_ID_PATTERN}$", description="chosen by the client, unique per answer")
]
UuidStr = Annotated[str, Field(pattern=f"^{UUID_PATTERN}$", max_length=36)]
AnswerText = Annotated[str, Field(max_length=MAX_ANSWER_CHARS)]
ResponseType = Literal["text", "code", "audio_transcript"]
# An empty response_type means the default, "text".
OptionalResponseType = Annotated[ResponseType | None, BeforeValidator(lambda v: None if v == "" else v)]
assert set(ResponseType.__args__) == set(RESPONSE_TYPES)  # type: ignore[attr-defined]


def tags(union: Any, field: str) -> tuple[str, ...]:
    """The tag values of a discriminated union `Annotated[A | B | ..., Field(discriminator=field)]`."""
    members = get_args(get_args(union)[0])
    return tuple(get_args(m.model_fields[field].annotation)[0] for m in members)


class _In(BaseModel):
    # Strict: a JSON string is not a number, `true` is not 1; unknown fields are ignored so
    # clients may add their own.
    model_config = ConfigDict(strict=True, extra="ignore", frozen=True)


class _Out(BaseModel):
    model_config = ConfigDict(extra="forbid")
