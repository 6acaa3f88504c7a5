"""The job submission form (`POST /v1/jobs`, multipart), described once: pydantic validates it and derives
its OpenAPI schema from the same model, so the document cannot promise what the parser does not do.

Fields are validated in the order they are declared and the first error is the one answered, so the order
below is the order of the checks (a missing painting is reported before a bad strength). Types and limits
(integers, 0..1, at least 1 px, at most MAX_PEOPLE photos) are pydantic's own; each field's `Words` say
them in our words, naming the field. What depends on other fields, the gallery or the settings (a known
style, a spot of this painting, one person's fields on a job with several) is a validator here, answering
with the same typed errors (`unknown-style`, `unknown-painting` ...) as the rest of Sitter.

Per-person fields carry the person's number after a dot (`x.2`): the form reader gathers them into
`persons` ({"x.2": "10"}), each validated as a `Person` field; the schema lists them as patternProperties.
An empty field counts as absent (a browser sends empty parts for inputs left alone), so its default holds.
"""

from __future__ import annotations

import re
from collections.abc import Collection
from dataclasses import dataclass
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    ValidationError,
    ValidationInfo,
    field_validator,
)
from pydantic.json_schema import SkipJsonSchema
from werkzeug.datastructures import MultiDict

from gateway.form_fields import Flag, Height, OptionalUnit, Pixels, Words, first_error, ours
from gateway.json_schema import OpenApiSchema
from shared.errors import InvalidParameterError, UnknownPaintingError, UnknownStyleError
from shared.imageio import OUTPUT_FORMATS
from shared.jobs import is_job_id
from shared.limits import MAX_OUTPUT_SCALE, MAX_PEOPLE, MIN_OUTPUT_SCALE, check_output_scale
from shared.painting_catalog import PaintingCatalog
from shared.queues import (
    BUILTIN_STYLE_COUNT,
    BUILTIN_STYLE_PREFIX,
    CUSTOM_STYLE,
    PAINTING_STYLE,
    builtin_style_ids,
)
from shared.settings import Settings
from shared.webhook import check_callback_url

# a per-person field: its name and the person's number (1-based)
PERSON_FIELD = re.compile(r"^(x|y|height|style|strength)\.([0-9]{1,3})$")
PLACEMENT_FIELDS = ("x", "y", "height")


def missing_file(name: str) -> InvalidParameterError:
    """A required upload that is not there (the preview's `portrait` too)."""
    return InvalidParameterError(f"the `{name}` file is required (multipart/form-data)", field=name)


@dataclass(frozen=True)
class FormContext:
    """What validation needs beyond the form: the settings, the trained style ids and the gallery (the
    bundled and the operator's added paintings)."""

    settings: Settings
    trained: Collection[str]
    catalog: PaintingCatalog


def _context(info: ValidationInfo) -> FormContext:
    context: FormContext = (info.context or {})["form"]
    return context


STYLE_TEXT = (
    f"`{PAINTING_STYLE}` (the painting's own style), a gallery id, "
    f"{BUILTIN_STYLE_PREFIX}0..{BUILTIN_STYLE_PREFIX}{BUILTIN_STYLE_COUNT - 1}, or a "
    "trained network trained-<id> (GET /v1/styles, kind `trained`)"
)


@ours
def _known_style(spec: Any, info: ValidationInfo) -> str:
    """The style id that names the stylize queue for this job or person (`painting` -> the painting's id,
    or `custom` for an uploaded painting)."""
    person = (info.context or {}).get("person")
    field = f"style.{person}" if person else "style"
    painting_id = (info.context or {}).get("painting_id") if person else (info.data.get("painting") or None)
    trained = _context(info).trained
    if spec in (PAINTING_STYLE, CUSTOM_STYLE) and painting_id is None:
        return CUSTOM_STYLE
    if spec == PAINTING_STYLE and painting_id is not None:
        return str(painting_id)
    if spec in builtin_style_ids() or spec in trained:
        return str(spec)
    if isinstance(spec, str) and spec and spec not in (PAINTING_STYLE, CUSTOM_STYLE):
        try:  # a gallery painting's style: it must be analysed (its style vector comes from that)
            _context(info).catalog.ready(spec)
            return spec
        except UnknownPaintingError:
            pass
    hint = (
        f"{BUILTIN_STYLE_PREFIX}0..{len(builtin_style_ids()) - 1}, a gallery painting id, a trained style "
        "(trained-<id>), or `painting`"
    )
    if spec == CUSTOM_STYLE:
        raise UnknownStyleError(f"{field} `custom` needs an uploaded `painting_file`", field=field)
    raise UnknownStyleError(f"unknown {field} {spec!r}; use {hint} (GET /v1/styles lists them)", field=field)


class Person(BaseModel):
    """One person's own fields on a job with several people (`x.2` ...); absent ones take the job's."""

    model_config = ConfigDict(extra="forbid")

    x: Pixels = Field(None, description="Person N's left edge in painting pixels (may be negative)")
    y: Pixels = Field(None, description="Person N's top edge in painting pixels (may be negative)")
    height: Height = Field(None, description="Person N's height in painting pixels")
    style: Annotated[str | None, BeforeValidator(_known_style)] = Field(
        None, description="Person N's own style (default: `style`)"
    )
    strength: OptionalUnit = Field(None, description="Person N's own style strength")


def _person_patterns(schema: dict[str, Any]) -> None:
    """The per-person fields in the OpenAPI form: one pattern per `Person` field (`^x\\.[1-9]$`)."""
    person = Person.model_json_schema(schema_generator=OpenApiSchema)["properties"]
    schema["patternProperties"] = {rf"^{name}\.[1-9]$": spec for name, spec in person.items()}


def _lower(value: Any) -> Any:
    return value.strip().lower() if isinstance(value, str) else value


class SubmissionForm(BaseModel):
    """The form of `POST /v1/jobs` (multipart/form-data). Fields are checked in this order and the first
    problem found is answered (`field` names it)."""

    model_config = ConfigDict(extra="ignore", json_schema_extra=_person_patterns, title="Submission")

    portrait: Annotated[
        list[bytes],
        Words("portrait must be files", "at most {max_length} portraits per job, got {actual_length}"),
    ] = Field(
        default_factory=list,
        max_length=MAX_PEOPLE,
        description="Photo of one person (JPEG, PNG, WebP, HEIC...); repeat the field for several people in "
        f"one painting (up to {MAX_PEOPLE}: one person per photo, or every person of it with `people=all`)",
        json_schema_extra={"minItems": 1},
    )
    portrait_from: str | None = Field(
        None, description="Reuse the portrait of an earlier job (its id)", validate_default=True
    )
    painting_file: bytes | None = Field(None, description="Your own painting, instead of `painting`")
    painting: str | None = Field(
        None, description="Gallery painting id (GET /v1/paintings)", validate_default=True
    )
    people: Annotated[
        Literal["main", "all"],
        BeforeValidator(_lower),
        Words("people must be `main` (each photo's main person) or `all` (everyone in it), got {input!r}"),
    ] = Field(
        "main",
        description="`all`: every person of each photo (a group photo), numbered photo by photo, left to "
        "right; `main`: each photo's main person",
    )
    persons: SkipJsonSchema[dict[int, Person]] = Field(default_factory=dict)
    x: Pixels = Field(
        None,
        description="Left edge of the person in painting pixels (may be negative)",
        validate_default=True,
    )
    y: Pixels = Field(None, description="Top edge of the person in painting pixels (may be negative)")
    height: Height = Field(None, description="Height of the person in painting pixels")
    auto: Flag = Field(False, description="Automatic placement (the default when x, y, height are absent)")
    style: Annotated[str, BeforeValidator(_known_style)] = Field(
        PAINTING_STYLE, description=STYLE_TEXT, validate_default=True
    )
    strength: OptionalUnit = Field(
        None,
        description="How much of the style: 0 keeps the photo, 1 is fully painted. Absent: automatic, by the "
        "painting's abstraction (full strokes on expressive paintings, a gentler glaze on realistic ones)",
    )
    keep_colors: Flag = Field(False, description="Keep the photo's colours")
    harmonize: Flag = Field(
        True,
        description="Paint the person in with the painting around them: its local style, at the size they "
        "are placed, its local tone and colour, clean soft edges. false: only cut out and resized",
    )
    spot: Annotated[int | None, Field(ge=0)] = Field(
        None,
        description="One of the gallery painting's suggested spots (GET /v1/paintings/{id}); not with x, y "
        "or height",
    )
    format: str = Field(
        "png", description="The result's image format", json_schema_extra={"enum": list(OUTPUT_FORMATS)}
    )
    output_scale: Annotated[float, Field(ge=MIN_OUTPUT_SCALE, le=MAX_OUTPUT_SCALE)] = Field(
        1.0,
        description="Size of the result, in times the painting's size: the painting is enlarged, the person "
        "is painted at that size (not enlarged). x, y, height stay in the painting's own pixels; the "
        "result's box is in the result's",
    )
    order: Annotated[str | None, Field(pattern=r"^[1-9](,[1-9])*$")] = Field(
        None,
        description="Several people: their numbers back to front, e.g. `2,1` (default: as numbered; in a "
        "group photo the smaller faces behind)",
    )
    callback_url: str | None = Field(
        None, json_schema_extra={"format": "uri"}, description="Webhook on completion (if enabled)"
    )

    @property
    def several(self) -> bool:
        """More than one person: several photos, or everyone in the photo."""
        return _several(self.portrait, self.people)

    @field_validator("portrait_from")
    @classmethod
    @ours
    def _one_portrait(cls, value: str | None, info: ValidationInfo) -> str | None:
        if not info.data.get("portrait") and value is None:
            raise missing_file("portrait")
        if info.data.get("portrait") and value is not None:
            raise InvalidParameterError(
                "send either a `portrait` file or `portrait_from`, not both", field="portrait"
            )
        if value is not None and not is_job_id(value):
            raise InvalidParameterError(
                "portrait_from must be the id of an earlier job", field="portrait_from"
            )
        return value

    @field_validator("painting")
    @classmethod
    @ours
    def _one_painting(cls, value: str | None, info: ValidationInfo) -> str | None:
        uploaded = info.data.get("painting_file") is not None
        if uploaded and value:
            raise InvalidParameterError(
                "send either `painting` (a gallery id) or `painting_file`, not both", field="painting"
            )
        if not uploaded and not value:
            raise InvalidParameterError(
                "a painting is required: `painting` (a gallery id, see GET /v1/paintings) or `painting_file`",
                field="painting",
            )
        if value:  # unknown (422), being analysed (409) or failed (422), before any decoding
            _context(info).catalog.ready(value)
        return value

    @field_validator("persons", mode="before")
    @classmethod
    @ours
    def _each_person(cls, value: dict[str, str], info: ValidationInfo) -> dict[int, Person]:
        """Each person's fields, by form key (`x.2`), in the key's order; a person the job cannot hold is
        refused: above MAX_PEOPLE, above the photos sent, or any on a one-person job."""
        photos = max(1, len(info.data.get("portrait") or ()))
        every_person = info.data.get("people") == "all"
        given: dict[int, dict[str, Any]] = {}
        for key, raw in sorted(value.items()):
            name, _, number = key.partition(".")
            person = int(number)
            if not (photos > 1 or every_person):
                raise InvalidParameterError(
                    f"{key} is a per-person field, for jobs with several people; use {name} for one person",
                    field=key,
                )
            if not 1 <= person <= (MAX_PEOPLE if every_person else photos):
                held = (
                    f"{photos} portraits were sent"
                    if not every_person
                    else f"at most {MAX_PEOPLE} people fit"
                )
                raise InvalidParameterError(
                    f"{key} names person {person}, but {held} (people are numbered from 1)", field=key
                )
            context = {**(info.context or {}), "person": person, "painting_id": info.data.get("painting")}
            try:
                field = Person.model_validate({name: raw}, context=context)
            except ValidationError as error:
                raise first_error(error, Person, person) from None
            given.setdefault(person, {})[name] = getattr(field, name)
        return {person: Person.model_construct(**fields) for person, fields in sorted(given.items())}

    @field_validator("x", mode="before")
    @classmethod
    @ours
    def _one_person_only(cls, value: Any, info: ValidationInfo) -> Any:
        """With several people the one-person placement would be ambiguous: each person has their own."""
        if _several_so_far(info):
            given = (info.context or {}).get("given", ())
            for name in (*PLACEMENT_FIELDS, "spot", "auto"):
                if name in given:
                    raise InvalidParameterError(
                        f"{name} is for one person; with several give x.1, y.1, height.1 ... per person",
                        field=name,
                    )
        return value

    @field_validator("auto")
    @classmethod
    @ours
    def _auto_alone(cls, value: bool, info: ValidationInfo) -> bool:
        if value and any(info.data.get(name) is not None for name in PLACEMENT_FIELDS):
            raise InvalidParameterError("auto placement cannot be combined with x, y or height", field="auto")
        return value

    @field_validator("spot", mode="before")
    @classmethod
    @ours
    def _painting_spot(cls, raw: str, info: ValidationInfo) -> int:
        """One of the gallery painting's suggested spots; not with x, y or height."""
        painting_id = info.data.get("painting")
        if not painting_id:
            raise InvalidParameterError(
                "spot needs a gallery `painting` (uploaded paintings have none)", field="spot"
            )
        catalog = _context(info).catalog
        count = len(catalog.spots(catalog.ready(painting_id)))
        try:
            spot = int(raw)
        except ValueError:
            spot = -1
        if not 0 <= spot < count:
            raise InvalidParameterError(
                f"spot must be 0..{count - 1} for {painting_id} (GET /v1/paintings/{painting_id}), "
                f"got {raw!r}",
                field="spot",
            )
        if any(info.data.get(name) is not None for name in PLACEMENT_FIELDS):
            raise InvalidParameterError("spot cannot be combined with x, y or height", field="spot")
        return spot

    @field_validator("format", mode="before")
    @classmethod
    @ours
    def _known_format(cls, raw: str) -> str:
        key = raw.strip().lower().replace("jpg", "jpeg")
        if key not in OUTPUT_FORMATS:
            raise InvalidParameterError(
                f"unknown output format {raw!r}; choose one of {', '.join(OUTPUT_FORMATS)}", field="format"
            )
        return key

    @field_validator("output_scale", mode="before")
    @classmethod
    @ours
    def _output_scale(cls, raw: str) -> float:
        return check_output_scale(raw)

    @field_validator("order", mode="before")
    @classmethod
    @ours
    def _back_to_front(cls, raw: str, info: ValidationInfo) -> str:
        """Each person once; how many there are is known here for separate photos, for a group photo only
        once the worker has found them."""
        photos, every_person = len(info.data.get("portrait") or ()), info.data.get("people") == "all"
        if not _several_so_far(info):
            raise InvalidParameterError("order is for jobs with several people", field="order")
        count = None if every_person else photos
        try:
            numbers = [int(item) for item in raw.split(",")]
        except ValueError:
            numbers = []
        wanted = range(1, (count or MAX_PEOPLE) + 1)
        complete = count is None or sorted(numbers) == list(wanted)
        if (
            not numbers
            or len(set(numbers)) != len(numbers)
            or not set(numbers) <= set(wanted)
            or not complete
        ):
            people = f"1..{count}" if count is not None else f"numbers from 1..{MAX_PEOPLE}"
            raise InvalidParameterError(
                f"order must list each person once, back to front ({people}, e.g. 2,1), got {raw!r}",
                field="order",
            )
        return ",".join(map(str, numbers))

    @field_validator("callback_url", mode="before")
    @classmethod
    @ours
    def _allowed_callback(cls, url: str, info: ValidationInfo) -> str:
        settings = _context(info).settings
        check_callback_url(url, settings.callback_allowed_hosts, settings.callback_allow_private)
        return url


def _several(portraits: Any, people: Any) -> bool:
    return len(portraits or ()) > 1 or people == "all"


def _several_so_far(info: ValidationInfo) -> bool:
    """`several`, from the fields validated before this one (portrait and people come first)."""
    return _several(info.data.get("portrait"), info.data.get("people"))


def read_form(
    form: MultiDict[str, str], portraits: list[bytes], painting_file: bytes | None, context: FormContext
) -> SubmissionForm:
    """The validated form, or the first problem in field order as Sitter's typed error naming the field."""
    values: dict[str, Any] = {"portrait": portraits, "painting_file": painting_file}
    persons: dict[str, str] = {}
    for key in form:
        raw = form.get(key, "").strip()
        if not raw:
            continue  # an empty field is an absent one
        if PERSON_FIELD.match(key):
            persons[key] = raw
        elif key in SubmissionForm.model_fields and key not in values and key != "persons":
            values[key] = raw
    if persons:
        values["persons"] = persons
    try:
        return SubmissionForm.model_validate(values, context={"form": context, "given": set(values)})
    except ValidationError as error:
        raise first_error(error, SubmissionForm) from None
