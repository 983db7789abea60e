"""Provider OPTIONS as declared pydantic models: one model per provider, validated in one place.

Each provider names its model in `AIProvider.options_model`; `check_options` (used by
`manage.py check` through the registry) and the provider's constructor both validate with it.
A problem names the option (`OPTIONS['read_timeout'] must be a positive number of seconds, not
-3`); a field's `description` says what it must be, and a validator may raise `option_error`
for a message of its own. Secret options (`repr=False`) never have their value shown.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Self

from pydantic import BaseModel, ConfigDict, ValidationError, model_validator
from pydantic_core import PydanticCustomError

from .errors import ProviderConfigError
from .schemas import drop_optional_nones

_OPTION_ERROR = "option"


def option_error(message: str) -> PydanticCustomError:
    """Raise from a validator: the problem reads `OPTIONS['name'] <message>`."""
    return PydanticCustomError(_OPTION_ERROR, message)


class ProviderOptions(BaseModel):
    """Base of the OPTIONS models: strict types (no "30" for 30, no true for 1), unknown keys ignored.

    A None value means "not set", as it did when options were read with `options.get(...)`.
    """

    model_config = ConfigDict(strict=True, extra="ignore", frozen=True, arbitrary_types_allowed=True)

    @model_validator(mode="before")
    @classmethod
    def _none_means_default(cls, data: Any) -> Any:
        return drop_optional_nones(cls, data)

    @classmethod
    def problems(cls, options: Mapping[str, Any]) -> list[str]:
        """Human-readable problems of `options` (empty when fine)."""
        try:
            cls.model_validate(dict(options))
        except ValidationError as exc:
            return cls._describe(exc, options)
        return []

    @classmethod
    def parse(cls, options: Mapping[str, Any]) -> Self:
        """The validated options; `ProviderConfigError` naming every bad option otherwise."""
        try:
            return cls.model_validate(dict(options))
        except ValidationError as exc:
            # `from None`: the pydantic error would carry the raw values, secrets included.
            raise ProviderConfigError("; ".join(cls._describe(exc, options))) from None

    @classmethod
    def _describe(cls, exc: ValidationError, options: Mapping[str, Any]) -> list[str]:
        problems: dict[str, str] = {}
        for error in exc.errors(include_url=False):
            name = str(error["loc"][0]) if error["loc"] else ""
            if name in problems:  # a union reports once per member: the first says enough
                continue
            field = cls.model_fields.get(name)
            if error["type"] == _OPTION_ERROR or field is None:
                problems[name] = f"OPTIONS[{name!r}] {error['msg']}" if name else error["msg"]
                continue
            value = options.get(name)
            shown = repr(value) if field.repr else f"<{type(value).__name__}>"
            problems[name] = f"OPTIONS[{name!r}] must be {field.description or 'valid'}, not {shown}"
        return list(problems.values())
