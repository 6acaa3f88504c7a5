"""Validate a job submission completely before anything is stored or queued.

A portrait can also be reused from an earlier job (`portrait_from`, for "try another placement"): it
was validated when first uploaded, so its blob is copied as is. The uploads are decoded once here, last, after
every cheap check, within a per-process memory budget, only to prove they are images within the limits (the
workers decode the stored original bytes themselves, with the same decoder, so EXIF rotation etc. are
settled alike).
The style rule: by default a job is painted in the style of its own painting, so the style id is the
gallery painting's id, or `custom` for an uploaded painting; `builtin-N` or another gallery id may be
chosen instead. Blends of several styles are a CLI feature only.

Several people (issue 14): `portrait` repeated (up to MAX_PEOPLE files), and/or `people=all` (every person
of each photo, a group photo); per-person fields carry the person's number after a dot (`x.2`, `y.2`,
`height.2`, `style.2`, `strength.2`), and `order` lists the people back to front (`2,1`). Such a job's
params carry a `group` object; a one-portrait request without these fields gets exactly the params it
always had. With `people=all` the number of people is known only once the worker has found their faces, so
a per-person field numbered above what the photos hold is refused by the job's plan step then (the job
fails with `invalid-parameter` naming the field); with separate portraits it is refused here.
"""

from __future__ import annotations

import math
import re
from collections.abc import Collection
from dataclasses import dataclass
from typing import Any

from werkzeug.datastructures import FileStorage, MultiDict

from gateway.decode_budget import DecodeBudget
from gateway.problems import ApiProblem
from shared import gallery
from shared.errors import InvalidParameterError, SitterError, UnknownStyleError
from shared.flags import parse_flag
from shared.imageio import OUTPUT_FORMATS, finish_probe, open_for_probe
from shared.jobs import is_job_id
from shared.limits import MAX_PEOPLE, check_box_bounds, check_output_pixels, check_output_scale
from shared.queues import BUILTIN_STYLE_PREFIX, CUSTOM_STYLE, PAINTING_STYLE, builtin_style_ids
from shared.settings import Settings
from shared.webhook import check_callback_url

# a per-person field: its name and the person's number (1-based)
PERSON_FIELD = re.compile(r"^(x|y|height|style|strength)\.([0-9]{1,3})$")
PLACEMENT_FIELDS = ("x", "y", "height")


@dataclass(frozen=True)
class Submission:
    """What a valid request asks for: JSON-ready parameters (they travel with the tasks) and the uploads."""

    params: dict[str, Any]
    portrait: bytes | None  # None when `portrait_from` names an earlier job's portrait
    portrait_from: str | None
    painting: bytes | None
    more_portraits: tuple[bytes, ...] = ()  # the 2nd, 3rd ... `portrait` files of a job with several

    @property
    def portraits(self) -> tuple[bytes, ...]:
        """Every uploaded portrait, in the order sent (none when `portrait_from` is used)."""
        return (self.portrait, *self.more_portraits) if self.portrait is not None else ()


def parse_submission(
    form: MultiDict[str, str], files: MultiDict[str, FileStorage], settings: Settings, budget: DecodeBudget
) -> Submission:
    portrait_from = form.get("portrait_from", "").strip() or None
    portraits = _read_portraits(files, settings, required=portrait_from is None)
    portrait = portraits[0] if portraits else None
    if portrait is not None and portrait_from is not None:
        raise InvalidParameterError(
            "send either a `portrait` file or `portrait_from`, not both", field="portrait"
        )
    if portrait_from is not None and not is_job_id(portrait_from):
        raise InvalidParameterError("portrait_from must be the id of an earlier job", field="portrait_from")
    painting_file = read_file(files, "painting_file", settings, required=False)
    painting_id = form.get("painting", "").strip()
    if painting_file is not None and painting_id:
        raise InvalidParameterError(
            "send either `painting` (a gallery id) or `painting_file`, not both", field="painting"
        )
    if painting_file is None and not painting_id:
        raise InvalidParameterError(
            "a painting is required: `painting` (a gallery id, see GET /v1/paintings) or `painting_file`",
            field="painting",
        )
    # unknown id -> UnknownPaintingError (422), before any decoding
    gallery_size = gallery.size(painting_id) if painting_file is None else None
    every_person = _people(form.get("people", ""))
    photos = max(1, len(portraits))
    several = photos > 1 or every_person
    trained = settings.models.trained_style_ids()  # SITTER_TRAINED_DIR's networks too
    people = _person_fields(form, several, every_person, photos, painting_id or None, trained)
    placement = _placement(form) if not several else _no_single_placement(form)
    params: dict[str, Any] = {
        "painting": painting_id or None,
        "style": _style(
            form.get("style", PAINTING_STYLE).strip() or PAINTING_STYLE, painting_id or None, trained
        ),
        "strength": _unit_float(form.get("strength", "1"), "strength"),
        "keep_colors": _flag(form.get("keep_colors", ""), "keep_colors"),
        "harmonize": _flag(form.get("harmonize", "true"), "harmonize"),
        "placement": placement,
        "spot": _spot(form, painting_id or None),
        "format": _format(form.get("format", "png")),
        "max_size": settings.max_working_size,
        "output_scale": check_output_scale(form.get("output_scale", "1").strip() or "1"),
        "callback_url": None,
    }
    if several:  # the one-person fields are refused above; each person has their own
        del params["placement"], params["spot"]
        count = None if every_person else photos
        params["group"] = {
            "photos": photos,
            "every_person": every_person,
            "order": _order(form.get("order", ""), count),
            "people": people,
        }
    elif form.get("order", "").strip():
        raise InvalidParameterError("order is for jobs with several people", field="order")
    callback = form.get("callback_url", "").strip()
    if callback:
        check_callback_url(callback, settings.callback_allowed_hosts, settings.callback_allow_private)
        params["callback_url"] = callback
    # every cheap check is done: only now decode, within the process's memory budget
    for number, photo in enumerate(portraits, start=1):
        try:
            validate_image(photo, "portrait" if number == 1 else f"portrait {number}", settings, budget)
        except SitterError as exc:  # the message names the photo; the field is the form's
            exc.field = "portrait"
            raise
    if painting_file is not None:
        width, height = validate_image(painting_file, "painting_file", settings, budget)
    else:
        assert gallery_size is not None
        width, height = gallery_size
    check_box_bounds(placement["x"], placement["y"], placement["height"], width, height)
    check_output_pixels(width, height, params["output_scale"], settings.max_pixels)
    for person, given in people.items():
        x, y, tall = (given.get(name) for name in PLACEMENT_FIELDS)
        check_box_bounds(x, y, tall, width, height, suffix=f".{person}")
    return Submission(
        params=params,
        portrait=portrait,
        portrait_from=portrait_from,
        painting=painting_file,
        more_portraits=tuple(portraits[1:]),
    )


def validate_image(data: bytes, what: str, settings: Settings, budget: DecodeBudget) -> tuple[int, int]:
    """Prove the upload is an image within the limits (the workers decode it again for real)."""
    probe = open_for_probe(data, max_pixels=settings.max_pixels, what=what)
    with budget.reserve(probe.cost, what):
        return finish_probe(probe, what=what)


def _read_portraits(files: MultiDict[str, FileStorage], settings: Settings, *, required: bool) -> list[bytes]:
    """Every `portrait` file (the field may be repeated, up to MAX_PEOPLE), each within the upload limit."""
    uploads = [upload for upload in files.getlist("portrait") if upload.filename]
    if len(uploads) > MAX_PEOPLE:
        raise InvalidParameterError(
            f"at most {MAX_PEOPLE} portraits per job, got {len(uploads)}", field="portrait"
        )
    if not uploads:
        read_file(files, "portrait", settings, required=required)  # today's error when one is required
        return []
    return [_read_upload(upload, "portrait", settings) for upload in uploads]


def _read_upload(upload: FileStorage, name: str, settings: Settings) -> bytes:
    data = upload.read(settings.max_upload_bytes + 1)
    if len(data) > settings.max_upload_bytes:
        raise ApiProblem(
            413,
            "upload-too-large",
            f"the {name} is larger than {settings.max_upload_bytes} bytes",
            field=name,
        )
    return data


def read_file(
    files: MultiDict[str, FileStorage], name: str, settings: Settings, *, required: bool
) -> bytes | None:
    upload = files.get(name)
    if upload is None or not upload.filename:  # a browser sends an empty part for an unchosen file
        if required:
            raise InvalidParameterError(f"the `{name}` file is required (multipart/form-data)", field=name)
        return None
    return _read_upload(upload, name, settings)


def _style(spec: str, painting_id: str | None, trained: Collection[str], field: str = "style") -> str:
    """The style id that names the stylize queue for this job (or person: `field` is `style.2`); `trained`
    holds the trained style ids (`ModelStore.trained_style_ids()`)."""
    if spec in (PAINTING_STYLE, CUSTOM_STYLE) and painting_id is None:
        return CUSTOM_STYLE
    if spec == PAINTING_STYLE and painting_id is not None:
        return painting_id
    if spec in gallery.paintings() or spec in builtin_style_ids() or spec in trained:
        return spec
    hint = (
        f"{BUILTIN_STYLE_PREFIX}0..{len(builtin_style_ids()) - 1}, a gallery painting id, a trained style "
        "(trained-<id>), or `painting`"
    )
    if spec == CUSTOM_STYLE:
        raise UnknownStyleError(f"{field} `custom` needs an uploaded `painting_file`", field=field)
    raise UnknownStyleError(f"unknown {field} {spec!r}; use {hint} (GET /v1/styles lists them)", field=field)


def _unit_float(raw: str, name: str) -> float:
    try:
        value = float(raw)
    except ValueError:
        raise InvalidParameterError(
            f"{name} must be a number between 0 and 1, got {raw!r}", field=name
        ) from None
    if not math.isfinite(value) or not 0.0 <= value <= 1.0:
        raise InvalidParameterError(f"{name} must be between 0 and 1, got {raw!r}", field=name)
    return value


def _flag(raw: str, name: str) -> bool:
    try:
        return parse_flag(raw)
    except ValueError:
        raise InvalidParameterError(f"{name} must be true or false, got {raw!r}", field=name) from None


def _placement(form: MultiDict[str, str]) -> dict[str, int | None]:
    """x, y (may be negative: the person can stand partly off the canvas) and a positive height."""
    values = {name: _pixels(form.get(name, ""), name) for name in PLACEMENT_FIELDS}
    if _flag(form.get("auto", ""), "auto") and any(value is not None for value in values.values()):
        raise InvalidParameterError("auto placement cannot be combined with x, y or height", field="auto")
    return values


def _pixels(raw: str, name: str) -> int | None:
    """A whole number of pixels (`name` is x, y or height, or a person's x.2 ...); None when empty."""
    raw = raw.strip()
    if not raw:
        return None
    try:
        value = int(raw)
    except ValueError:
        raise InvalidParameterError(
            f"{name} must be a whole number of pixels, got {raw!r}", field=name
        ) from None
    if name.partition(".")[0] == "height" and value <= 0:
        raise InvalidParameterError(f"{name} must be a positive number of pixels, got {value}", field=name)
    return value


def _people(raw: str) -> bool:
    """`people`: `main` (the default: each photo's main person) or `all` (every person of each photo)."""
    value = raw.strip().lower()
    if value not in ("", "main", "all"):
        raise InvalidParameterError(
            f"people must be `main` (each photo's main person) or `all` (everyone in it), got {raw!r}",
            field="people",
        )
    return value == "all"


def _no_single_placement(form: MultiDict[str, str]) -> dict[str, int | None]:
    """With several people the one-person placement fields would be ambiguous: each person has their own."""
    for name in (*PLACEMENT_FIELDS, "spot", "auto"):
        if form.get(name, "").strip():
            raise InvalidParameterError(
                f"{name} is for one person; with several give x.1, y.1, height.1 ... per person",
                field=name,
            )
    return {name: None for name in PLACEMENT_FIELDS}


def _person_fields(
    form: MultiDict[str, str],
    several: bool,
    every_person: bool,
    photos: int,
    painting_id: str | None,
    trained: Collection[str],
) -> dict[str, dict[str, Any]]:
    """The per-person fields, by person number: {"2": {"x": 10, "height": 300, "style": "builtin-3"}}.

    A field for a person the job cannot hold is refused, naming it: above MAX_PEOPLE, above the number of
    portraits sent (separate portraits), or any per-person field on a one-person job."""
    people: dict[str, dict[str, Any]] = {}
    for key in sorted(form.keys()):
        match = PERSON_FIELD.match(key)
        raw = form.get(key, "").strip()
        if match is None or not raw:
            continue
        name, person = match.group(1), int(match.group(2))
        if not several:
            raise InvalidParameterError(
                f"{key} is a per-person field, for jobs with several people; use {name} for one person",
                field=key,
            )
        limit = MAX_PEOPLE if every_person else photos
        if not 1 <= person <= limit:
            held = f"{photos} portraits were sent" if not every_person else f"at most {MAX_PEOPLE} people fit"
            raise InvalidParameterError(
                f"{key} names person {person}, but {held} (people are numbered from 1)", field=key
            )
        value: Any
        if name in PLACEMENT_FIELDS:
            value = _pixels(raw, key)
        elif name == "style":
            value = _style(raw, painting_id, trained, field=key)
        else:
            value = _unit_float(raw, key)
        people.setdefault(str(person), {})[name] = value
    return dict(sorted(people.items(), key=lambda item: int(item[0])))


def _order(raw: str, count: int | None) -> list[int] | None:
    """`order`: the people back to front by number (`2,1`), stored 0-based; None: the default order.
    `count` is the number of people when known (separate portraits); a group photo's is checked later."""
    raw = raw.strip()
    if not raw:
        return None
    try:
        numbers = [int(item) for item in raw.split(",")]
    except ValueError:
        numbers = []
    wanted = range(1, (count or MAX_PEOPLE) + 1)
    complete = count is None or sorted(numbers) == list(wanted)
    if not numbers or len(set(numbers)) != len(numbers) or not set(numbers) <= set(wanted) or not complete:
        people = f"1..{count}" if count is not None else f"numbers from 1..{MAX_PEOPLE}"
        raise InvalidParameterError(
            f"order must list each person once, back to front ({people}, e.g. 2,1), got {raw!r}",
            field="order",
        )
    return [number - 1 for number in numbers]


def _spot(form: MultiDict[str, str], painting_id: str | None) -> int | None:
    """One of the gallery painting's suggested spots (GET /v1/paintings/{id}); not with x, y or height."""
    raw = form.get("spot", "").strip()
    if not raw:
        return None
    if painting_id is None:
        raise InvalidParameterError(
            "spot needs a gallery `painting` (uploaded paintings have none)", field="spot"
        )
    count = len(gallery.spots(painting_id))
    try:
        spot = int(raw)
    except ValueError:
        spot = -1
    if not 0 <= spot < count:
        raise InvalidParameterError(
            f"spot must be 0..{count - 1} for {painting_id} (GET /v1/paintings/{painting_id}), got {raw!r}",
            field="spot",
        )
    if any(form.get(name, "").strip() for name in ("x", "y", "height")):
        raise InvalidParameterError("spot cannot be combined with x, y or height", field="spot")
    return spot


def _format(raw: str) -> str:
    key = raw.strip().lower().replace("jpg", "jpeg")
    if key not in OUTPUT_FORMATS:
        raise InvalidParameterError(
            f"unknown output format {raw!r}; choose one of {', '.join(OUTPUT_FORMATS)}", field="format"
        )
    return key
