"""Yes/no words, the same for SITTER_* variables and form fields: `1/true/yes/on` and `0/false/no/off/""`."""

from __future__ import annotations

TRUE_WORDS = ("1", "true", "yes", "on")
FALSE_WORDS = ("0", "false", "no", "off", "")


def parse_flag(raw: str) -> bool:
    """The flag's value; ValueError for any other word (callers name the field or variable)."""
    lowered = raw.strip().lower()
    if lowered in TRUE_WORDS:
        return True
    if lowered in FALSE_WORDS:
        return False
    raise ValueError(raw)
