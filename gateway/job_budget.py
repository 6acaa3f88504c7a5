"""Refuse, at submission, a job that would take a worker past its memory budget (issue 22).

Thin: the sizes come from the uploads' headers (gateway/params.py), the formulas from shared/work_budget.py,
the budgets from settings; a job over one is answered 413 `job-too-large` before anything is stored,
naming the setting and the largest value of the field to change that fits.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

from gateway.form import SubmissionForm
from gateway.problems import ApiProblem
from shared.limits import MAX_PEOPLE, output_size
from shared.settings import Settings
from shared.work_budget import MIB, OverBudget, Photo, Work, over_budget


def check_work(
    fields: SubmissionForm,
    photos: Sequence[Photo],
    painting: tuple[int, int],
    uploaded: bool,
    settings: Settings,
) -> None:
    budgets = {
        "segmenter": settings.segmenter_budget_bytes,
        "stylizer": settings.stylizer_budget_bytes,
        "compositor": settings.compositor_budget_bytes,
    }
    budgets = {worker: budget or 2**62 for worker, budget in budgets.items()}  # 0: no budget
    work = Work(
        photos=tuple(photos) or (_unknown_photo(settings.max_pixels),),
        painting=painting,
        painting_uploaded=uploaded,
        output_scale=fields.output_scale,
        max_size=settings.max_working_size,
        every_person=fields.people == "all",
        visible_rows=_visible_rows(fields, len(photos), painting),
    )
    refused = over_budget(work, budgets)
    if refused is not None:
        raise _problem(refused)


def _unknown_photo(max_pixels: int) -> Photo:
    """An earlier job's portrait (`portrait_from`), not read here: the largest photo the limits allow."""
    side = math.isqrt(max_pixels)
    return Photo(side, side, side * side * 4)


def _visible_rows(fields: SubmissionForm, photos: int, painting: tuple[int, int]) -> tuple[int, ...]:
    """Per person, the result rows their box can cover: from y and height where given, else all of them."""
    scale = fields.output_scale
    out_h = output_size(*painting, scale)[1]
    if not fields.several:
        return (_rows(fields.y, fields.height, scale, out_h),)
    people = MAX_PEOPLE if fields.people == "all" else max(1, photos)
    boxes = {
        number: _rows(person.y, person.height, scale, out_h) for number, person in fields.persons.items()
    }
    return tuple(boxes.get(number, out_h) for number in range(1, people + 1))


def _rows(y: int | None, height: int | None, scale: float, out_h: int) -> int:
    if height is None:
        return out_h
    if y is None:
        return min(out_h, math.ceil(height * scale))
    top, bottom = math.floor(y * scale), math.ceil((y + height) * scale)
    return max(0, min(bottom, out_h) - max(top, 0))


def _problem(refused: OverBudget) -> ApiProblem:
    setting = f"SITTER_{refused.worker.upper()}_BUDGET_BYTES"
    unit = {"output_scale": "", "portrait": " megapixels", "painting_file": " megapixels"}[refused.field]
    fits = (
        f"{refused.field} up to {refused.largest:g}{unit} fits"
        if refused.largest is not None
        else "send smaller photos or a smaller painting"
    )
    detail = (
        f"this job would take the {refused.worker} about {refused.predicted / MIB:.0f} MiB, more than its "
        f"budget {setting} ({refused.budget / MIB:.0f} MiB); {fits}"
    )
    return ApiProblem(
        413,
        "job-too-large",
        detail,
        field=refused.field,
        extra={"limit": setting, "largest": refused.largest},
    )
