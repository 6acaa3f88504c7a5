"""`python -m services.compositor.worker [--check]`: the compositor service, consuming `composite`.

It needs no model; it keeps every gallery painting decoded in memory, since most jobs use one.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence

import numpy as np

from shared import gallery
from shared.errors import SitterError
from shared.queues import COMPOSITE_QUEUE
from shared.runtime.worker import serve
from shared.settings import Settings


def check_models(settings: Settings) -> None:
    for painting_id in gallery.paintings():
        if not gallery.painting(painting_id).path.is_file():
            raise SitterError(f"gallery painting {painting_id} is missing from the install; reinstall sitter")


def load_models(settings: Settings) -> dict[str, np.ndarray]:
    return {painting_id: gallery.load_painting(painting_id) for painting_id in gallery.paintings()}


def main(argv: Sequence[str] | None = None) -> int:
    import services.compositor.tasks  # noqa: F401  (registers the task)

    return serve("compositor", [COMPOSITE_QUEUE], check_models, load_models, argv)


if __name__ == "__main__":
    sys.exit(main())
