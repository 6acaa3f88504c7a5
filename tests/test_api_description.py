"""The submission form is described once (gateway/form.py) and the OpenAPI document derives its schema from
that model. These tests read the published document as a client would and hold the parser to it: every
field it reads is documented, every documented field changes what is stored, and every limit the document
states (type, minimum, maximum, enum, per-person pattern) is one the parser enforces, answered with a 422
naming the field.
"""

from __future__ import annotations

import contextlib
import io
import re
from typing import Any

import pytest
from PIL import Image
from werkzeug.datastructures import FileStorage, MultiDict

from gateway.decode_budget import DecodeBudget
from gateway.openapi import openapi_document
from gateway.params import Submission, parse_submission
from shared.errors import InvalidParameterError
from shared.settings import Settings

FORM = openapi_document("/")["paths"]["/v1/jobs"]["post"]["requestBody"]["content"]["multipart/form-data"][
    "schema"
]
FILES = {"portrait", "painting_file"}
# a valid value of each field, for the fields that need more than their schema says
VALID = {"portrait_from": "0" * 32, "painting": "starry-night", "callback_url": "", "style": "builtin-3"}


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


def _submit(form: dict[str, str], portraits: int = 1, asked: set[str] | None = None) -> Submission:
    """Parse the form with `portraits` photos; the names the parser reads are added to `asked`."""
    fields = Reading(form)
    files = Reading([("portrait", _photo()) for _ in range(portraits)])
    try:
        return parse_submission(fields, files, Settings(), DecodeBudget(64 * 1024 * 1024, 1))
    finally:
        if asked is not None:
            asked |= fields.asked | files.asked


def _refused(form: dict[str, str], portraits: int = 1) -> InvalidParameterError:
    with pytest.raises(InvalidParameterError) as caught:
        _submit({"painting": "starry-night", **form}, portraits)
    return caught.value


def test_the_published_form_is_the_validating_model() -> None:
    assert FORM["type"] == "object" and set(FORM["properties"]) >= {"portrait", "painting", "x", "style"}
    assert "persons" not in FORM["properties"], "the reader's gathering of x.2 ... is not a form field"
    assert FORM["patternProperties"], "per-person fields are documented as patterns"


def test_every_field_the_parser_reads_is_documented() -> None:
    every = {name: VALID.get(name, "1") for name in FORM["properties"] if name not in FILES}
    asked: set[str] = set()
    for form, portraits in (({"painting": "starry-night"}, 1), (every, 0), ({"painting": "starry-night"}, 2)):
        with contextlib.suppress(InvalidParameterError):  # a combination refused still shows what was read
            _submit(form, portraits, asked)
    patterns = [re.compile(pattern) for pattern in FORM["patternProperties"]]
    undocumented = {
        name for name in asked - set(FORM["properties"]) if not any(p.match(name) for p in patterns)
    }
    assert undocumented == set()


def _bad_values(spec: dict[str, Any]) -> list[str]:
    """Values the document rules out for a field: the wrong type, and each side of its range or enum."""
    bad = []
    kind = spec.get("type")
    if kind in ("integer", "number"):
        bad.append("lots")
        if "minimum" in spec:
            bad.append(str(spec["minimum"] - 1))
        if "maximum" in spec:
            bad.append(str(spec["maximum"] + 1))
    if kind == "integer":
        bad.append("1.5")
    if kind == "boolean":
        bad.append("maybe")
    if "enum" in spec:
        bad.append("none-of-these")
    if "pattern" in spec:
        bad.append("not,a,pattern!")
    return bad


ONE_PERSON = [
    (name, value)
    for name, spec in FORM["properties"].items()
    if name not in FILES and name != "order"
    for value in _bad_values(spec)
]


@pytest.mark.parametrize(("field", "value"), ONE_PERSON)
def test_every_stated_limit_is_enforced(field: str, value: str) -> None:
    refused = _refused({field: value})
    assert refused.field == field and refused.message


@pytest.mark.parametrize(
    ("pattern", "value"),
    [(pattern, value) for pattern, spec in FORM["patternProperties"].items() for value in _bad_values(spec)],
)
def test_every_stated_per_person_limit_is_enforced(pattern: str, value: str) -> None:
    field = pattern.strip("^$").replace("\\.", ".").replace("[1-9]", "2")
    refused = _refused({field: value}, portraits=2)
    assert refused.field == field and refused.message


@pytest.mark.parametrize("value", _bad_values(FORM["properties"]["order"]))
def test_the_order_pattern_is_enforced(value: str) -> None:
    assert _refused({"order": value}, portraits=2).field == "order"


@pytest.mark.parametrize("pattern", list(FORM["patternProperties"]))
def test_each_documented_per_person_field_is_stored_for_that_person(pattern: str) -> None:
    field = pattern.strip("^$").replace("\\.", ".").replace("[1-9]", "2")
    name = field.split(".")[0]
    value = {"style": "builtin-3", "strength": "0.5", "height": "120"}.get(name, "-10")
    submission = _submit({"painting": "starry-night", field: value}, portraits=2)
    assert name in submission.params["group"]["people"]["2"]


def test_documented_defaults_are_the_stored_ones() -> None:
    params = _submit({"painting": "starry-night"}).params
    stored = {
        "keep_colors": params["keep_colors"],
        "harmonize": params["harmonize"],
        "format": params["format"],
    }
    stored |= {"output_scale": params["output_scale"]}
    for name, value in stored.items():
        assert FORM["properties"][name]["default"] == value, name
    # no strength given: stored as not given, and the stylizer sets it from the painting's abstraction
    assert params["strength"] is None and FORM["properties"]["strength"].get("default") is None
