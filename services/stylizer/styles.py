"""Style specs: what a stylization is asked to look like, parsed and validated once, before any model runs."""

from __future__ import annotations

import math
import re
from dataclasses import dataclass

import numpy as np

from shared.errors import InvalidParameterError, UnknownStyleError

BUILTIN_COUNT = 26
STYLE_VECTOR_SIZE = 100

# one term of a spec: builtin-7, builtin:7, optionally @weight (a blend component)
_TERM = re.compile(r"^builtin[-:](?P<index>[^@]*)(?:@(?P<weight>.*))?$")


@dataclass(frozen=True, eq=False)
class BuiltinStyle:
    """A mix of the 26-style network's styles: `weights` has shape (26,), is non-negative and sums to 1."""

    weights: np.ndarray

    def __post_init__(self) -> None:
        weights = np.asarray(self.weights, dtype=np.float32)
        if weights.shape != (BUILTIN_COUNT,):
            raise InvalidParameterError(
                f"built-in style weights need shape ({BUILTIN_COUNT},), got {weights.shape}", field="style"
            )
        if not np.isfinite(weights).all() or (weights < 0).any() or weights.sum() <= 0:
            raise InvalidParameterError(
                "built-in style weights must be finite, non-negative and not all zero", field="style"
            )
        object.__setattr__(self, "weights", weights / weights.sum())

    @classmethod
    def single(cls, index: int) -> BuiltinStyle:
        weights = np.zeros(BUILTIN_COUNT, dtype=np.float32)
        weights[_check_index(index, str(index))] = 1.0
        return cls(weights)


@dataclass(frozen=True, eq=False)
class ImageStyle:
    """The style of an image (a painting) as the arbitrary-style predictor's 100-number vector."""

    vector: np.ndarray

    def __post_init__(self) -> None:
        vector = np.asarray(self.vector, dtype=np.float32).reshape(-1)
        if vector.shape != (STYLE_VECTOR_SIZE,) or not np.isfinite(vector).all():
            raise InvalidParameterError(
                f"a style vector needs {STYLE_VECTOR_SIZE} finite numbers, got shape {vector.shape}",
                field="style",
            )
        object.__setattr__(self, "vector", vector)


def is_builtin_spec(spec: str) -> bool:
    """Whether `spec` is meant as a built-in style (so a malformed one gets a parse error, not 'unknown')."""
    return spec.strip().lower().startswith(("builtin-", "builtin:"))


def parse_builtin(spec: str) -> BuiltinStyle:
    """`builtin-7`, `builtin:7` or a blend `builtin-3@0.6,builtin-12@0.4` (weights are normalised)."""
    weights = np.zeros(BUILTIN_COUNT, dtype=np.float32)
    terms = [term.strip() for term in spec.split(",")]
    if not spec.strip() or any(not term for term in terms):
        raise InvalidParameterError(
            f"bad style {spec!r}: use builtin-7 or a blend like builtin-3@0.6,builtin-12@0.4", field="style"
        )
    for term in terms:
        match = _TERM.match(term.lower())
        if match is None:
            raise UnknownStyleError(
                f"unknown built-in style {term!r}: use builtin-N with N in 0..{BUILTIN_COUNT - 1}",
                field="style",
            )
        index = _check_index(_parse_int(match["index"], term), term)
        weight = 1.0 if match["weight"] is None else _parse_weight(match["weight"], term)
        weights[index] += weight
    if weights.sum() <= 0:
        raise InvalidParameterError(f"the weights of {spec!r} are all zero", field="style")
    return BuiltinStyle(weights)


def _parse_int(text: str, term: str) -> int:
    if not text.strip().isdigit():
        raise UnknownStyleError(
            f"bad built-in style {term!r}: the index must be a whole number 0..{BUILTIN_COUNT - 1}",
            field="style",
        )
    return int(text)


def _check_index(index: int, term: str) -> int:
    if not 0 <= index < BUILTIN_COUNT:
        raise UnknownStyleError(
            f"no built-in style {term!r}: the index must be 0..{BUILTIN_COUNT - 1}", field="style"
        )
    return index


def _parse_weight(text: str, term: str) -> float:
    try:
        weight = float(text)
    except ValueError:
        raise InvalidParameterError(f"bad weight in {term!r}: {text!r} is no number", field="style") from None
    if not math.isfinite(weight) or weight < 0:
        raise InvalidParameterError(f"bad weight in {term!r}: weights must be finite and >= 0", field="style")
    return weight
