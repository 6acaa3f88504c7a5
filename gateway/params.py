"""Validate a job submission completely before anything is stored or queued: the form's fields as
gateway/form.py describes them, then the uploads, then what needs the images' sizes.

A portrait can also be reused from an earlier job (`portrait_from`, for "try another placement"): it
was validated when first uploaded, so its blob is copied as is. The uploads are decoded once here, last, after
every cheap check, within a per-process memory budget, only to prove they are images within the limits (the
workers decode the stored original bytes themselves, with the same decoder, so EXIF rotation etc. are
settled alike). Last, the job's work budget (gateway/job_budget.py): from those sizes, what each worker
would need; a job over a worker's budget is refused here, before anything is stored.
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

from dataclasses import dataclass
from typing import Any

from werkzeug.datastructures import FileStorage, MultiDict

from gateway.decode_budget import DecodeBudget
from gateway.form import PLACEMENT_FIELDS, FormContext, missing_file, read_form
from gateway.job_budget import check_work
from gateway.problems import ApiProblem
from shared.errors import SitterError
from shared.imageio import finish_probe, open_for_probe
from shared.limits import check_box_bounds, check_output_pixels
from shared.painting_catalog import PaintingCatalog
from shared.queues import ADDED_KEY, CREDIT_KEY, STYLE_QUEUES_KEY, style_queue
from shared.settings import Settings
from shared.work_budget import Photo

MULTIPART_OVERHEAD = 64 * 1024  # form fields and part headers besides the two files


def max_request_bytes(settings: Settings) -> int:
    """The largest request body the gateway reads: two files' worth (a portrait and a painting; several
    portraits share it) and the form around them. Anything longer is refused (413) before it is read, so
    the memory a request can hold stays bounded whatever it carries."""
    return 2 * settings.max_upload_bytes + MULTIPART_OVERHEAD


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
    form: MultiDict[str, str],
    files: MultiDict[str, FileStorage],
    settings: Settings,
    budget: DecodeBudget,
    catalog: PaintingCatalog | None = None,
) -> Submission:
    """`catalog`: the gallery the job may name (default: the bundled paintings only)."""
    catalog = catalog or PaintingCatalog(None)
    portraits = [
        _read_upload(upload, "portrait", settings) for upload in files.getlist("portrait") if upload.filename
    ]
    painting_file = read_file(files, "painting_file", settings, required=False)
    trained = settings.models.trained_style_ids()  # SITTER_TRAINED_DIR's networks too
    fields = read_form(form, portraits, painting_file, FormContext(settings, trained, catalog))
    params: dict[str, Any] = {
        "painting": fields.painting,
        "style": fields.style,
        "strength": fields.strength,
        "keep_colors": fields.keep_colors,
        "harmonize": fields.harmonize,
        "placement": {name: getattr(fields, name) for name in PLACEMENT_FIELDS},
        "spot": fields.spot,
        "format": fields.format,
        "max_size": settings.max_working_size,
        "output_scale": fields.output_scale,
        "callback_url": fields.callback_url,
    }
    people = {str(number): person.model_dump(exclude_none=True) for number, person in fields.persons.items()}
    added = _added_versions(
        catalog, [fields.painting, fields.style, *(p.style for p in fields.persons.values())]
    )
    if added:  # the versions accepted now: a later delete or re-add does not change this job's painting
        params[ADDED_KEY] = added
        params[STYLE_QUEUES_KEY] = {
            painting_id: style_queue(painting_id, catalog.find(painting_id).own_queue)
            for painting_id in added
        }
    if fields.several:  # the one-person fields are refused by the form; each person has their own
        del params["placement"], params["spot"]
        params["group"] = {
            "photos": max(1, len(portraits)),
            "every_person": fields.people == "all",
            "order": [int(number) - 1 for number in fields.order.split(",")] if fields.order else None,
            "people": people,
        }
    # every cheap check is done: only now decode, within the process's memory budget
    photos = []
    for number, upload in enumerate(portraits, start=1):
        try:
            photos.append(
                validate_image(upload, "portrait" if number == 1 else f"portrait {number}", settings, budget)
            )
        except SitterError as exc:  # the message names the photo; the field is the form's
            exc.field = "portrait"
            raise
    if painting_file is not None:
        painting = validate_image(painting_file, "painting_file", settings, budget)
        width, height = painting.width, painting.height
    else:
        assert fields.painting is not None
        chosen = catalog.ready(fields.painting)
        width, height = chosen.width, chosen.height
        params[CREDIT_KEY] = chosen.credit()  # travels to the result: whose painting, on what terms
    check_box_bounds(fields.x, fields.y, fields.height, width, height)
    check_output_pixels(width, height, fields.output_scale, settings.max_pixels)
    for number, person in fields.persons.items():
        check_box_bounds(person.x, person.y, person.height, width, height, suffix=f".{number}")
    # an added painting is decoded by the workers per job (a bundled one is held decoded): it counts as
    # an uploaded one in the work budget
    decoded = painting_file is not None or (ADDED_KEY in params and fields.painting in params[ADDED_KEY])
    check_work(fields, photos, (width, height), decoded, settings)
    return Submission(
        params=params,
        portrait=portraits[0] if portraits else None,
        portrait_from=fields.portrait_from,
        painting=painting_file,
        more_portraits=tuple(portraits[1:]),
    )


def _added_versions(catalog: PaintingCatalog, ids: list[str | None]) -> dict[str, str]:
    """{id: version} of the operator's added paintings among the job's painting and styles."""
    found: dict[str, str] = {}
    for painting_id in ids:
        if painting_id and painting_id not in found and catalog.is_added(painting_id):
            found[painting_id] = catalog.ready(painting_id).version
    return found


def validate_image(data: bytes, what: str, settings: Settings, budget: DecodeBudget) -> Photo:
    """Prove the upload is an image within the limits (the workers decode it again for real); its upright
    size and stored bytes, for the job's work budget."""
    probe = open_for_probe(data, max_pixels=settings.max_pixels, what=what)
    with budget.reserve(probe.cost, what):
        width, height = finish_probe(probe, what=what)
    return Photo(width, height, probe.stored_bytes)


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
            raise missing_file(name)
        return None
    return _read_upload(upload, name, settings)
