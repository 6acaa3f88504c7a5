"""Validate a job submission completely before anything is stored or queued.

A portrait can also be reused from an earlier job (`portrait_from`, for "try another placement"): it
was validated when first uploaded, so its blob is copied as is. The uploads are decoded once here, last, after
every cheap check, within a per-process memory budget, only to prove they are images within the limits (the
workers decode the stored original bytes themselves, with the same decoder, so EXIF rotation etc. are
settled alike).
The style rule: by default a job is painted in the style of its own painting, so the style id is the
gallery painting's id, or `custom` for an uploaded painting; `builtin-N` or another gallery id may be
chosen instead. Blends of several styles are a CLI feature only.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from werkzeug.datastructures import FileStorage, MultiDict

from gateway.decode_budget import DecodeBudget
from gateway.problems import ApiProblem
from shared import gallery
from shared.errors import InvalidParameterError, UnknownStyleError
from shared.flags import parse_flag
from shared.imageio import OUTPUT_FORMATS, finish_probe, open_for_probe
from shared.jobs import is_job_id
from shared.limits import check_box_bounds, check_output_pixels, check_output_scale
from shared.queues import BUILTIN_STYLE_PREFIX, CUSTOM_STYLE, PAINTING_STYLE, builtin_style_ids
from shared.settings import Settings
from shared.trained import trained_style_ids
from shared.webhook import check_callback_url


@dataclass(frozen=True)
class Submission:
    """What a valid request asks for: JSON-ready parameters (they travel with the tasks) and the uploads."""

    params: dict[str, Any]
    portrait: bytes | None  # None when `portrait_from` names an earlier job's portrait
    portrait_from: str | None
    painting: bytes | None


def parse_submission(
    form: MultiDict[str, str], files: MultiDict[str, FileStorage], settings: Settings, budget: DecodeBudget
) -> Submission:
    portrait_from = form.get("portrait_from", "").strip() or None
    portrait = read_file(files, "portrait", settings, required=portrait_from is None)
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
    placement = _placement(form)
    params: dict[str, Any] = {
        "painting": painting_id or None,
        "style": _style(form.get("style", PAINTING_STYLE).strip() or PAINTING_STYLE, painting_id or None),
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
    callback = form.get("callback_url", "").strip()
    if callback:
        check_callback_url(callback, settings.callback_allowed_hosts, settings.callback_allow_private)
        params["callback_url"] = callback
    # every cheap check is done: only now decode, within the process's memory budget
    if portrait is not None:
        validate_image(portrait, "portrait", settings, budget)
    if painting_file is not None:
        width, height = validate_image(painting_file, "painting_file", settings, budget)
    else:
        assert gallery_size is not None
        width, height = gallery_size
    check_box_bounds(placement["x"], placement["y"], placement["height"], width, height)
    check_output_pixels(width, height, params["output_scale"], settings.max_pixels)
    return Submission(params=params, portrait=portrait, portrait_from=portrait_from, painting=painting_file)


def validate_image(data: bytes, what: str, settings: Settings, budget: DecodeBudget) -> tuple[int, int]:
    """Prove the upload is an image within the limits (the workers decode it again for real)."""
    probe = open_for_probe(data, max_pixels=settings.max_pixels, what=what)
    with budget.reserve(probe.cost, what):
        return finish_probe(probe, what=what)


def read_file(
    files: MultiDict[str, FileStorage], name: str, settings: Settings, *, required: bool
) -> bytes | None:
    upload = files.get(name)
    if upload is None or not upload.filename:  # a browser sends an empty part for an unchosen file
        if required:
            raise InvalidParameterError(f"the `{name}` file is required (multipart/form-data)", field=name)
        return None
    data = upload.read(settings.max_upload_bytes + 1)
    if len(data) > settings.max_upload_bytes:
        raise ApiProblem(
            413,
            "upload-too-large",
            f"the {name} is larger than {settings.max_upload_bytes} bytes",
            field=name,
        )
    return data


def _style(spec: str, painting_id: str | None) -> str:
    """The style id that names the stylize queue for this job."""
    if spec in (PAINTING_STYLE, CUSTOM_STYLE) and painting_id is None:
        return CUSTOM_STYLE
    if spec == PAINTING_STYLE and painting_id is not None:
        return painting_id
    if spec in gallery.paintings() or spec in builtin_style_ids() or spec in trained_style_ids():
        return spec
    hint = (
        f"{BUILTIN_STYLE_PREFIX}0..{len(builtin_style_ids()) - 1}, a gallery painting id, a trained style "
        "(trained-<id>), or `painting`"
    )
    if spec == CUSTOM_STYLE:
        raise UnknownStyleError("style `custom` needs an uploaded `painting_file`", field="style")
    raise UnknownStyleError(f"unknown style {spec!r}; use {hint} (GET /v1/styles lists them)", field="style")


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
    values: dict[str, int | None] = {}
    for name in ("x", "y", "height"):
        raw = form.get(name, "").strip()
        if not raw:
            values[name] = None
            continue
        try:
            values[name] = int(raw)
        except ValueError:
            raise InvalidParameterError(
                f"{name} must be a whole number of pixels, got {raw!r}", field=name
            ) from None
    height = values["height"]
    if height is not None and height <= 0:
        raise InvalidParameterError(
            f"height must be a positive number of pixels, got {height}", field="height"
        )
    if _flag(form.get("auto", ""), "auto") and any(value is not None for value in values.values()):
        raise InvalidParameterError("auto placement cannot be combined with x, y or height", field="auto")
    return values


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
