"""`python -m services.segmenter.worker [--queues QUEUES] [--check]`: the segmenter service.

By default it consumes the `preview` queue first, then `segment`; `--queues preview` makes it the
dedicated preview consumer (shared.queues.PREVIEW_SEGMENTER), which no segment task can keep busy, and
`--queues segment` the segmenter beside it (shared.queues' SEGMENTER_ROLES)."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from shared.models import model_path
from shared.queues import (
    PREVIEW_SEGMENTER_QUEUES,
    SEGMENT_SEGMENTER_QUEUES,
    SEGMENTER_QUEUES,
    SEGMENTER_ROLES,
    segmenter_queues,
)
from shared.runtime.worker import serve, worker_parser
from shared.settings import Settings
from shared.worker_models import worker_models


def check_models(settings: Settings) -> None:
    for name in worker_models("segmenter"):
        model_path(name, settings.models)


def load_models(settings: Settings) -> object:
    from services.segmenter.matting import PersonMatter

    return PersonMatter(settings.models, threads=settings.inference_threads or None)


def _queues(spec: str) -> tuple[str, ...]:
    try:
        return segmenter_queues(spec)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def main(argv: Sequence[str] | None = None) -> int:
    import services.segmenter.preview
    import services.segmenter.tasks  # noqa: F401  (registers the task)

    parser = worker_parser("segmenter")
    parser.add_argument(
        "--queues",
        type=_queues,
        default=SEGMENTER_QUEUES,
        metavar="QUEUES",
        help=f"{' | '.join(SEGMENTER_ROLES)}: the queues to serve, in the order taken (default: "
        f"{','.join(SEGMENTER_QUEUES)}; {','.join(PREVIEW_SEGMENTER_QUEUES)}: the dedicated preview "
        f"consumer; {','.join(SEGMENT_SEGMENTER_QUEUES)}: a segmenter beside it)",
    )
    known, _ = parser.parse_known_args(argv)
    return serve("segmenter", list(known.queues), check_models, load_models, argv, parser, in_order=True)


if __name__ == "__main__":
    sys.exit(main())
