"""`python -m services.segmenter.worker [--check]`: the segmenter service, consuming the `preview` queue
first, then `segment`."""

from __future__ import annotations

import sys
from collections.abc import Sequence

from shared.models import model_path
from shared.queues import SEGMENTER_QUEUES
from shared.runtime.worker import serve
from shared.settings import Settings
from shared.worker_models import worker_models


def check_models(settings: Settings) -> None:
    for name in worker_models("segmenter"):
        model_path(name, settings.models)


def load_models(settings: Settings) -> object:
    from services.segmenter.matting import PersonMatter

    return PersonMatter(settings.models, threads=settings.inference_threads or None)


def main(argv: Sequence[str] | None = None) -> int:
    import services.segmenter.preview
    import services.segmenter.tasks  # noqa: F401  (registers the task)

    return serve("segmenter", list(SEGMENTER_QUEUES), check_models, load_models, argv, in_order=True)


if __name__ == "__main__":
    sys.exit(main())
