"""The submission form is validated in gateway/params.py and described in gateway/openapi.py: these tests
hold the two to each other, so a field added (or dropped) in one place and not the other fails here.

Every form field and file the parser reads is documented, and every documented field is read; each
per-person field the parser accepts matches one of the documented patterns, and each pattern is accepted.
"""

from __future__ import annotations

import io
import re
from typing import Any

import pytest
from PIL import Image
from werkzeug.datastructures import FileStorage, MultiDict

from gateway.decode_budget import DecodeBudget
from gateway.openapi import SUBMISSION_SCHEMA
from gateway.params import parse_submission
from shared.settings import Settings

DOCUMENTED = set(SUBMISSION_SCHEMA["properties"])
PATTERNS = [re.compile(pattern) for pattern in SUBMISSION_SCHEMA["patternProperties"]]


class Reading(MultiDict):  # type: ignore[type-arg]
    """A form or file dict that remembers every name the parser asked for."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.asked: set[str] = set()

    def get(self, key: str, *args: Any, **kwargs: Any) -> Any:
        self.asked.add(key)
        return super().get(key, *args, **kwargs)

    def getlist(self, key: str, *args: Any, **kwargs: Any) -> Any:
        self.asked.add(key)
        return super().getlist(key, *args, **kwargs)


def _photo() -> FileStorage:
    buffer = io.BytesIO()
    Image.new("RGB", (64, 80), (200, 150, 120)).save(buffer, "JPEG")
    buffer.seek(0)
    return FileStorage(buffer, filename="me.jpg", name="portrait")


def _parse(form: dict[str, str], portraits: int = 1) -> tuple[dict[str, Any], set[str]]:
    fields = Reading(form)
    files = Reading([("portrait", _photo()) for _ in range(portraits)])
    submission = parse_submission(fields, files, Settings(), DecodeBudget(64 * 1024 * 1024, 1))
    return submission.params, fields.asked | files.asked


def test_every_field_the_parser_reads_is_documented_and_every_documented_field_is_read() -> None:
    _, one = _parse({"painting": "starry-night"})
    _, several = _parse({"painting": "starry-night"}, portraits=2)
    _, by_job = _parse({"painting": "starry-night", "portrait_from": "0" * 32}, portraits=0)
    asked = one | several | by_job
    assert asked - DOCUMENTED == set(), "read but not in the OpenAPI form"
    assert DOCUMENTED - asked == set(), "documented but never read"


@pytest.mark.parametrize(
    ("field", "value"),
    [("x.2", "40"), ("y.2", "-10"), ("height.2", "120"), ("style.2", "builtin-3"), ("strength.2", "0.5")],
)
def test_each_per_person_field_is_accepted_and_documented_by_a_pattern(field: str, value: str) -> None:
    params, _ = _parse({"painting": "starry-night", field: value}, portraits=2)
    name = field.split(".")[0]
    assert name in params["group"]["people"]["2"]
    assert [pattern.pattern for pattern in PATTERNS if pattern.fullmatch(field)], f"{field} is not documented"


def test_every_documented_pattern_is_accepted() -> None:
    examples = {"x.2": "40", "y.2": "-10", "height.2": "120", "style.2": "builtin-3", "strength.2": "0.5"}
    for pattern in PATTERNS:
        matching = [name for name in examples if pattern.fullmatch(name)]
        assert matching, f"no per-person field the parser takes matches {pattern.pattern}"
