"""The `stylize` task: portrait blob -> placement plan + stylized portrait blobs, at fixed keys.

The plan comes first: the stylizer paints the person at the size they will be placed and in the style of
the painting around that place, so it decides the place (from the painting's analysis and the portrait's
face box, which it can compute without the matte) and stores the decision for the compositor.
Gallery and built-in styles come precomputed from the worker's start-up; `custom` analyses and computes
the style vector of the painting uploaded with the job.

Several people (issue 14): one `plan_people` task first, then one stylize task per person. Where the
joint plan is computed: once, in that plan task, not in each stylize task. The plan of one person depends
on everyone's face box (no one may cover another's face), and with `people=all` on the faces found in the
group photo, which also decides how many tasks there are; computing it once means each task reads the
one stored plan (no two workers can disagree on a float rounding, an uploaded painting is analysed once,
not once per person), at the cost of one short step (face detection, ~tens of ms a photo) before the
fan-out. It runs on a stylizer because the stylizers hold the painting analyser, as for one person.
"""

from __future__ import annotations

import json
from functools import lru_cache
from typing import TYPE_CHECKING, Any

import numpy as np
from celery import Task, shared_task

from shared.added_paintings import added_image, added_style_vector
from shared.blob_codec import encode_png_fast
from shared.errors import UnknownStyleError
from shared.imageio import decode_image, decode_photo
from shared.jobs import (
    PAINTING_BLOB,
    PEOPLE_BLOB,
    PLAN_BLOB,
    PLAN_STAGE,
    PORTRAIT_BLOB,
    STYLIZED_BLOB,
    blob_key,
    person_blob,
    person_stage,
)
from shared.queues import ADDED_KEY, CUSTOM_STYLE, PAINTING_STYLE, PLAN_PEOPLE_TASK, STYLIZE_TASK
from shared.runtime.fanout import person_style, send_people_chord
from shared.runtime.worker import Runtime, run_stage, runtime

if TYPE_CHECKING:
    from services.painting.abstraction import Abstraction


@shared_task(name=STYLIZE_TASK, bind=True)
def stylize(self: Task, job_id: str, params: dict[str, Any], person: int | None = None) -> str:
    if person is not None:
        stage = person_stage("stylize", person)
        done: str = run_stage(self, job_id, stage, lambda rt: _stylize_person(rt, job_id, params, person))
        return done

    def work(rt: Runtime) -> str:
        from services.painting.options import Harmonize
        from services.painting.placement import Placement
        from services.painting.planning import analysis_for, plan_for
        from services.stylizer.planned import own_style, stylize_for_plan

        models = rt.models
        portrait = decode_photo(
            rt.blobs.get(blob_key(job_id, PORTRAIT_BLOB)), max_pixels=rt.settings.max_pixels, what="portrait"
        )
        painting_id = params["painting"]
        painting = _painting(rt, job_id, params)
        known = _known(rt, params)
        analysis = analysis_for(models.analyser, painting, known)
        plan = plan_for(
            models.analyser,
            portrait,
            painting,
            known,
            Placement(**params["placement"]),
            params.get("spot"),
            analysis=analysis,
        )
        steps = Harmonize.from_flag(params["harmonize"])
        style_id = params["style"]
        style = _served_style(rt, params, style_id, painting)
        stylized = stylize_for_plan(
            models.stylizer,
            portrait,
            painting,
            style,
            plan,
            steps,
            own_painting=own_style(style_id, painting_id, style),
            strength=params["strength"],
            keep_colors=params["keep_colors"],
            max_size=params["max_size"],
            output_scale=params.get("output_scale", 1.0),  # absent from jobs queued before it existed
            abstraction=_abstraction(params, analysis.abstraction, painting, params["strength"]),
        )
        rt.blobs.put(
            blob_key(job_id, PLAN_BLOB), json.dumps(plan.to_json()).encode(), content_type="application/json"
        )
        rt.blobs.put(blob_key(job_id, STYLIZED_BLOB), encode_png_fast(stylized), content_type="image/png")
        return STYLIZED_BLOB

    result: str = run_stage(self, job_id, "stylize", work)
    return result


def _served_style(rt: Runtime, params: dict[str, Any], style_id: str, painting: np.ndarray) -> Any:
    """The style this worker holds for `style_id` (`custom`: the uploaded painting's, computed now; an
    added painting's: its stored vector, of the version the job was accepted with)."""
    from services.stylizer.resolve import resolve_style
    from services.stylizer.styles import ImageStyle

    models = rt.models
    added = params.get(ADDED_KEY, {})
    if style_id in added:
        return ImageStyle(added_style_vector(rt.added, style_id, added[style_id]))
    if style_id == CUSTOM_STYLE:
        return resolve_style(PAINTING_STYLE, models.stylizer, painting)
    if style_id in models.styles:
        return models.styles[style_id]
    raise UnknownStyleError(f"this stylizer worker does not serve style {style_id!r}", field="style")


def _painting(rt: Runtime, job_id: str, params: dict[str, Any]) -> np.ndarray:
    """The job's painting: bundled (decoded once per process), added (its accepted version), or uploaded."""
    painting_id = params["painting"]
    version = params.get(ADDED_KEY, {}).get(painting_id) if painting_id else None
    if painting_id and version:
        return added_image(rt.added, painting_id, version, rt.settings.max_pixels)
    if painting_id:
        return _gallery_painting(painting_id)
    raw = rt.blobs.get(blob_key(job_id, PAINTING_BLOB))
    return decode_image(raw, max_pixels=rt.settings.max_pixels, what="painting")


def _known(rt: Runtime, params: dict[str, Any]) -> Any:
    """The painting's analysis when known ahead (bundled or added); None: analyse it now."""
    from services.painting.known import added_known, bundled_known

    painting_id = params["painting"]
    if not painting_id:
        return None
    version = params.get(ADDED_KEY, {}).get(painting_id)
    return added_known(rt.added, painting_id, version) if version else bundled_known(painting_id)


def _known_abstraction(rt: Runtime, params: dict[str, Any]) -> Abstraction | None:
    """A gallery painting's estimate from its analysis; None for an uploaded painting (not analysed here)."""
    known = _known(rt, params)
    return known.analysis.abstraction if known else None


def _abstraction(
    params: dict[str, Any], known: Abstraction | None, painting: np.ndarray, strength: float | None
) -> Abstraction | None:
    """The painting's abstraction where the automatic strength uses it (services/stylizer/painterly.py): the
    one its analysis carries (`known`: a gallery painting's shipped or stored one, an uploaded painting's
    made for this job's plan), else (an added painting analysed before the estimate existed) estimated now,
    ~10-50 ms. None where the user gave a strength or turned harmonisation off."""
    from services.painting.abstraction import known_or_estimated

    if strength is not None or not params["harmonize"]:
        return None
    return known_or_estimated(known, painting)


def _stylize_person(rt: Runtime, job_id: str, params: dict[str, Any], person: int) -> str:
    """One person of a job with several, stylized for their part of the stored joint plan, in their own
    style and strength (`style.<n>`, `strength.<n>`) or the job's."""
    from services.painting.options import Harmonize
    from services.people_io import load_people, person_fields, person_photo
    from services.stylizer.planned import own_style, stylize_for_plan

    out = blob_key(job_id, person_blob(STYLIZED_BLOB, person))
    if rt.blobs.exists(out):  # a redelivered task: this person was done before
        return out
    people = load_people(rt.blobs, job_id)
    photo = person_photo(rt.blobs, job_id, people, person, rt.settings.max_pixels)
    painting = _painting(rt, job_id, params)
    style_id = person_style(params, person)
    served = _served_style(rt, params, style_id, painting)
    strength = person_fields(params, person).get("strength", params["strength"])
    stylized = stylize_for_plan(
        rt.models.stylizer,
        photo,
        painting,
        served,
        people.group.plans[person - 1],
        Harmonize.from_flag(params["harmonize"]),
        own_painting=own_style(style_id, params["painting"], served),
        strength=strength,
        keep_colors=params["keep_colors"],
        max_size=params["max_size"],
        output_scale=params.get("output_scale", 1.0),
        abstraction=_abstraction(params, _known_abstraction(rt, params), painting, strength),
    )
    rt.blobs.put(out, encode_png_fast(stylized), content_type="image/png")
    return out


@shared_task(name=PLAN_PEOPLE_TASK, bind=True)
def plan_people(self: Task, job_id: str, params: dict[str, Any]) -> int:
    """The first task of a job with several people: find everyone, plan them together, store the plan
    (`people.json`), then send the chord of one segment and one stylize task per person and a composite.
    A redelivered plan task reuses the stored plan, and sends the chord again only if it was not sent."""

    def work(rt: Runtime) -> int:
        from services.people_io import load_people, store_people

        if rt.blobs.exists(blob_key(job_id, PEOPLE_BLOB)):
            return len(load_people(rt.blobs, job_id).sources)
        people = _plan(rt, job_id, params)
        store_people(rt.blobs, job_id, people)
        return len(people.sources)

    count: int = run_stage(self, job_id, PLAN_STAGE, work)
    rt = runtime()
    if not rt.jobs.fanned_out(job_id):
        send_people_chord(self.app, job_id, params, count)
        rt.jobs.note_fanout(job_id, count)
    return count


def _plan(rt: Runtime, job_id: str, params: dict[str, Any]) -> Any:
    from services.painting.people import check_order, person_placements, plan_people, sources_of
    from services.people_io import load_photos

    group = params["group"]
    models = rt.models
    photos = load_photos(rt.blobs, job_id, group["photos"], rt.settings.max_pixels)
    sources = sources_of(photos, models.analyser.faces, every_person=group["every_person"])
    placements = person_placements(len(sources), group["people"])
    order = check_order(group["order"], len(sources))
    known = _known(rt, params)
    analysis = known.analysis if known else models.analyser.analyse(_painting(rt, job_id, params))
    return plan_people(analysis, sources, placements, order, every_person=group["every_person"])


@lru_cache(maxsize=16)
def _gallery_painting(painting_id: str) -> np.ndarray:
    """Decoded once per process: the local style crops it on every job for that painting."""
    from shared.gallery import load_painting

    image = load_painting(painting_id)
    image.setflags(write=False)
    return image
