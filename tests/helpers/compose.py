"""docker-compose.yml read as compose reads it: variables interpolated."""

from __future__ import annotations

import re
from typing import Any

from tests.helpers.deploy import ROOT

COMPOSE = ROOT / "docker-compose.yml"


VARIABLE = re.compile(r"\$\{(?P<name>[A-Z0-9_]+)(?::(?P<op>[-?])(?P<arg>[^}]*))?\}")


USER_ENV = {"SITTER_API_KEYS": "compose-test-key"}  # what a user must put in .env: compose refuses without


def _substitute(match: re.Match[str]) -> str:
    if match.group("op") == "?":
        return USER_ENV[match.group("name")]
    return match.group("arg") or ""


def interpolate(value: Any) -> Any:
    """Compose's `${NAME:-default}` and `${NAME:?error}` with only USER_ENV set: every default applies."""
    if isinstance(value, str):
        return VARIABLE.sub(_substitute, value)
    if isinstance(value, list):
        return [interpolate(item) for item in value]
    if isinstance(value, dict):
        return {key: interpolate(item) for key, item in value.items()}
    return value
