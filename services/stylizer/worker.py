"""`python -m services.stylizer.worker [--styles a,b] [--check]`: one stylizer service for some styles.

It consumes `stylize.<style-id>` for each style it serves, so each painting style scales on its own.
`--styles` (default SITTER_STYLES) takes style ids, or `all`: every gallery painting, builtin-0..25,
`custom` (paintings uploaded with a job) and `gallery` (the operator's added paintings: this worker then
also analyses them, on the `paintings` queue). Each pool process opens its three networks and computes
the style vectors of the served gallery paintings once at start-up.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import redis

from shared import gallery
from shared.errors import UnknownStyleError
from shared.models import model_path
from shared.queues import ADDED_STYLES, CUSTOM_STYLE, all_style_ids, stylizer_queues
from shared.runtime.worker import serve, worker_parser
from shared.settings import Settings
from shared.worker_models import worker_models


@dataclass
class StylizerModels:
    """The warm stylizer, the painting analyser (it plans the placement) and the precomputed style of every
    served gallery or built-in style id."""

    stylizer: Any
    styles: dict[str, Any]
    analyser: Any


def expand_styles(
    specs: Sequence[str], trained_ids: list[str], added_ids: Callable[[], list[str]] = list
) -> list[str]:
    """`all` -> every style id; otherwise the ids themselves, each checked (an unknown id is an error).
    `trained_ids`: the trained styles there are (`ModelStore.trained_style_ids()`); `added_ids`: the
    operator's added paintings (asked only for an id that is none of the others: a worker group of one
    added painting's own, serving `stylize.<id>`)."""
    known = all_style_ids(list(gallery.paintings()), trained_ids)
    chosen: list[str] = []
    for spec in specs:
        for style in known if spec == "all" else [spec]:
            if style not in known and style in added_ids():
                known.append(style)
            if style not in known:
                raise UnknownStyleError(
                    f"unknown style {style!r}; known: all, {', '.join(known)}", field="styles"
                )
            if style not in chosen:
                chosen.append(style)
    return chosen


def _added_ids(settings: Settings) -> list[str]:
    from shared.runtime.gallery_store import gallery_store
    from shared.runtime.storage import redis_client

    return [item.id for item in gallery_store(settings, redis_client(settings.redis_url)).list()]


def checker(styles: Sequence[str]) -> Any:
    """Each model the worker opens for `styles` (shared.worker_models: also what its image carries)."""

    def check(settings: Settings) -> None:
        for name in worker_models("stylizer", styles):
            model_path(name, settings.models)

    return check


def loader(styles: Sequence[str]) -> Any:
    def load_models(settings: Settings) -> StylizerModels:
        from services.painting.analysis import PaintingAnalyser
        from services.stylizer.resolve import resolve_style
        from services.stylizer.stylizer import Stylizer
        from services.stylizer.trained import TrainedStyle

        stylizer = Stylizer(settings.models, threads=settings.inference_threads or None)
        stylizer.warm_up()  # a model that cannot load stops the worker now, not its first job
        # `custom` and the added paintings have no style ahead: each job brings (or names) its own
        bundled = set(all_style_ids(list(gallery.paintings()), settings.models.trained_style_ids()))
        ahead = [style for style in styles if style in bundled and style not in (CUSTOM_STYLE, ADDED_STYLES)]
        served = {style: resolve_style(style, stylizer) for style in ahead}
        for style, spec in served.items():
            if isinstance(spec, TrainedStyle) and spec.vector is None:
                stylizer.trained.session(style)  # its own network, opened now like the others
        analyser = PaintingAnalyser(settings.models, threads=settings.inference_threads or None)
        return StylizerModels(stylizer=stylizer, styles=served, analyser=analyser)

    return load_models


def main(argv: Sequence[str] | None = None) -> int:
    import services.stylizer.gallery_tasks
    import services.stylizer.tasks  # noqa: F401  (registers the tasks)

    parser = worker_parser("stylizer")
    parser.add_argument("--styles", help="comma-separated style ids, or `all` (default: SITTER_STYLES)")
    known, _ = parser.parse_known_args(argv)
    settings = Settings.from_env()
    specs = (
        [item.strip() for item in known.styles.split(",") if item.strip()]
        if known.styles
        else settings.styles
    )
    try:
        styles = expand_styles(specs, settings.models.trained_style_ids(), lambda: _added_ids(settings))
    except (UnknownStyleError, redis.RedisError) as exc:
        reason = exc.message if isinstance(exc, UnknownStyleError) else f"the gallery is unreachable: {exc}"
        print(f"stylizer worker cannot start: {reason}", file=sys.stderr)
        return 1
    queues = stylizer_queues(styles)
    return serve("stylizer", queues, checker(styles), loader(styles), argv, parser=parser)


if __name__ == "__main__":
    sys.exit(main())
