"""Form fields in our words: pydantic checks a field's type and limits, `Words` say what went wrong the way
Sitter always has, naming the field; `ours` lets a validator raise Sitter's typed errors in pydantic's flow.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import wraps
from typing import Annotated, Any, ParamSpec, TypeVar

from pydantic import BaseModel, BeforeValidator, Field, ValidationError
from pydantic_core import PydanticCustomError

from shared.errors import InvalidParameterError, SitterError
from shared.flags import parse_flag

# pydantic's error types that mean "a value of the right kind, out of its range"
RANGE_ERRORS = frozenset(
    {"greater_than", "greater_than_equal", "less_than", "less_than_equal", "finite_number", "too_long"}
)
P = ParamSpec("P")
R = TypeVar("R")


@dataclass(frozen=True)
class Words:
    """A field's error messages, whatever pydantic's error type; `{field}`, `{input}` and the error's
    context (`{actual_length}` ...) are filled in."""

    invalid: str
    out_of_range: str | None = None

    def say(self, error_type: str, values: dict[str, Any]) -> str:
        template = self.out_of_range if error_type in RANGE_ERRORS and self.out_of_range else self.invalid
        return template.format(**values)


def ours(check: Callable[P, R]) -> Callable[P, R]:
    """Let a validator raise Sitter's typed errors: pydantic collects them like its own (so the first in
    field order wins) and `first_error` hands back the original."""

    @wraps(check)
    def checked(*args: P.args, **kwargs: P.kwargs) -> R:
        try:
            return check(*args, **kwargs)
        except SitterError as error:
            context = {"message": error.message, "error": error}
            raise PydanticCustomError("sitter", "{message}", context) from None

    return checked


def _flag_word(value: Any) -> Any:
    return parse_flag(value) if isinstance(value, str) else value


Flag = Annotated[bool, BeforeValidator(_flag_word), Words("{field} must be true or false, got {input!r}")]
Pixels = Annotated[int | None, Words("{field} must be a whole number of pixels, got {input!r}")]
Height = Annotated[
    Annotated[int, Field(ge=1)] | None,
    Words(
        "{field} must be a whole number of pixels, got {input!r}",
        "{field} must be a positive number of pixels, got {input}",
    ),
]
UNIT_WORDS = Words(
    "{field} must be a number between 0 and 1, got {input!r}",
    "{field} must be between 0 and 1, got {input!r}",
)
UnitNumber = Annotated[float, Field(ge=0, le=1, allow_inf_nan=False)]
Unit = Annotated[UnitNumber, UNIT_WORDS]
OptionalUnit = Annotated[UnitNumber | None, UNIT_WORDS]


def first_error(error: ValidationError, model: type[BaseModel], person: int | None = None) -> SitterError:
    """The first of pydantic's errors as Sitter's typed error, in the field's own words."""
    found = error.errors()[0]
    ours_ = found.get("ctx", {}).get("error")
    if isinstance(ours_, SitterError):
        return ours_
    name = str(found["loc"][0])
    field = f"{name}.{person}" if person is not None else name
    words = [item for item in model.model_fields[name].metadata if isinstance(item, Words)]
    if not words:  # a field without its own words: pydantic's, naming the field
        return InvalidParameterError(f"{field}: {found['msg']}", field=field)
    values = {**found.get("ctx", {}), "field": field, "input": found["input"]}
    return InvalidParameterError(words[0].say(found["type"], values), field=field)
