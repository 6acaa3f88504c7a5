"""Queue, task and style-id names: spelled here once, used by the gateway, workers, compose and k8s."""

from __future__ import annotations

import re
from typing import Any

SEGMENT_QUEUE = "segment"
# the cut-out shown while the user places the person: its own queue, so a backlog of jobs' segment tasks does
# not stand between a user and the preview
PREVIEW_QUEUE = "preview"
# A segmenter's queues, by role (its `--queues`, comma-separated, in the order taken):
# - alone, by default: previews first (on Redis it takes them strictly in this order; on RabbitMQ it
#   alternates between them), but with one pool process a preview still waits for the task running;
SEGMENTER_QUEUES = (PREVIEW_QUEUE, SEGMENT_QUEUE)
# - the dedicated preview consumer (`segmenter-preview` in docker-compose.yml, k8s/workers.yaml and
#   `sitter up`): previews alone, so no segment task ever stands between a preview and a free segmenter;
PREVIEW_SEGMENTER = "segmenter-preview"
PREVIEW_SEGMENTER_QUEUES = (PREVIEW_QUEUE,)
# - beside a preview consumer: segment tasks alone. It must not consume `preview` as well: RabbitMQ hands
#   a queue's messages round-robin to its consumers, and a busy segmenter holds one preview (each queue's
#   consumer has a prefetch of its own) until its segment task ends.
SEGMENT_SEGMENTER_QUEUES = (SEGMENT_QUEUE,)
SEGMENTER_ROLES = {
    ",".join(queues): queues
    for queues in (SEGMENTER_QUEUES, PREVIEW_SEGMENTER_QUEUES, SEGMENT_SEGMENTER_QUEUES)
}
COMPOSITE_QUEUE = "composite"
STYLIZE_QUEUE_PREFIX = "stylize."
# the operator's added paintings (POST /v1/paintings): analysed on `paintings`, their styles served on
# `stylize.gallery` by whichever stylizer serves the style group `gallery` (no restart when one is added)
PAINTINGS_QUEUE = "paintings"
ADDED_STYLES = "gallery"
ADDED_KEY = "added"  # job params: {painting or style id: version} of the added paintings the job uses
STYLE_QUEUES_KEY = "style_queues"  # job params: {style id: queue} where it is not `stylize.<style id>`
CREDIT_KEY = "painting_credit"  # job params: a gallery painting's title, artist, year, licence, source

SEGMENT_TASK = "sitter.segment"
STYLIZE_TASK = "sitter.stylize"
COMPOSITE_TASK = "sitter.composite"
ANALYSE_PAINTING_TASK = "sitter.analyse_painting"  # an added painting's analysis (PAINTINGS_QUEUE)
PLAN_PEOPLE_TASK = "sitter.plan_people"  # a job with several people: runs on the job's stylize queue
JOB_FAILED_TASK = "sitter.job_failed"  # chord error callback, registered in every worker

PAINTING_STYLE = "painting"  # the default style: the target painting itself
CUSTOM_STYLE = "custom"  # a job's style when the painting was uploaded
BUILTIN_STYLE_PREFIX = "builtin-"
BUILTIN_STYLE_COUNT = 26

_STYLE_ID = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")


def is_style_id(style_id: str) -> bool:
    """Style ids are kebab-case so one id can name a queue, a compose service and a k8s object."""
    return bool(_STYLE_ID.match(style_id)) and len(style_id) <= 50


def is_builtin_style(style_id: str) -> bool:
    """Whether a job's style id names one of the built-in styles (builtin-0 .. builtin-25)."""
    return style_id in builtin_style_ids()


def stylize_queue(style_id: str) -> str:
    if not is_style_id(style_id):
        raise ValueError(f"style id {style_id!r} is not kebab-case")
    return f"{STYLIZE_QUEUE_PREFIX}{style_id}"


def style_queue(style_id: str, own: bool) -> str:
    """The stylize queue of a style: its own, or (an added painting not given its own worker group) the
    added paintings' shared queue."""
    return stylize_queue(style_id if own else ADDED_STYLES)


def job_style_queue(params: dict[str, Any], style_id: str) -> str:
    """Where a job's stylize (or plan) task for `style_id` goes, as decided when the job was accepted."""
    return str(params.get(STYLE_QUEUES_KEY, {}).get(style_id) or stylize_queue(style_id))


def stylizer_queues(styles: list[str] | tuple[str, ...]) -> list[str]:
    """What a stylizer serving `styles` consumes: `stylize.<style>` each; the one serving the added
    paintings' group also analyses them (PAINTINGS_QUEUE)."""
    queues = [stylize_queue(style) for style in styles]
    return [*queues, PAINTINGS_QUEUE] if ADDED_STYLES in styles else queues


def builtin_style_ids() -> list[str]:
    return [f"{BUILTIN_STYLE_PREFIX}{index}" for index in range(BUILTIN_STYLE_COUNT)]


def all_style_ids(gallery_ids: list[str], trained_ids: list[str]) -> list[str]:
    """Every style a stylizer can serve: each gallery painting, the built-ins, the trained networks
    (`trained-<id>`: `ModelStore.trained_style_ids()`, the shipped ones and SITTER_TRAINED_DIR's),
    uploaded paintings and the operator's added paintings (one group)."""
    return [*gallery_ids, *builtin_style_ids(), *trained_ids, CUSTOM_STYLE, ADDED_STYLES]


def segmenter_queues(spec: str) -> tuple[str, ...]:
    """The queues of a segmenter's `--queues` value: one of SEGMENTER_ROLES, else ValueError naming them."""
    if spec not in SEGMENTER_ROLES:
        *others, last = (repr(choice) for choice in SEGMENTER_ROLES)
        choices = f"{', '.join(others)} or {last}"
        raise ValueError(f"a segmenter's queues are {choices} (in the order taken), not {spec!r}")
    return SEGMENTER_ROLES[spec]


def all_queues(gallery_ids: list[str], trained_ids: list[str]) -> list[str]:
    """Every queue the system routes to, for monitoring queue depth and for deployment cross-checks."""
    styles = all_style_ids(gallery_ids, trained_ids)
    return [*SEGMENTER_QUEUES, COMPOSITE_QUEUE, PAINTINGS_QUEUE, *(stylize_queue(style) for style in styles)]
