"""Which models each worker service needs: the one list that a worker's `--check` verifies, that
`sitter models export` copies into its image, and that the deploy tests hold the two to.

A stylizer serves the networks of its styles too (`trained-<id>` is the model of that name), so its image
carries every shipped trained network: any stylizer may be started with `--styles all`.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterable
from pathlib import Path

from shared.models import ModelStore, model_path
from shared.trained import STYLE_PREFIX, trained_styles

SERVICE_MODELS: dict[str, tuple[str, ...]] = {
    "segmenter": (
        "selfie-segmenter",
        "selfie-segmenter-landscape",
        "face-detector",
        "face-detector-full-range",
        "pose-detector",
    ),
    "stylizer": (
        "multistyle26",
        "arbitrary-predict",
        "arbitrary-transform",
        "face-detector-full-range",
        "pose-detector",
        "selfie-segmenter",  # the painting analysis: small painted people (services/painting/small_people.py)
    ),
    "compositor": (),
}


def worker_models(service: str, styles: Iterable[str] = ()) -> list[str]:
    """The models a `service` worker serving `styles` opens: its own, then each trained style's network."""
    if service not in SERVICE_MODELS:
        raise ValueError(f"unknown worker service {service!r}; known: {', '.join(SERVICE_MODELS)}")
    names = list(SERVICE_MODELS[service])
    for style in styles:
        if service == "stylizer" and style.startswith(STYLE_PREFIX) and style not in names:
            names.append(style)
    return names


def image_models(service: str) -> list[str]:
    """What the `service` image carries: what a worker serving every shipped style opens."""
    return worker_models(service, trained_styles())


def export(service: str, store: ModelStore, into: Path) -> list[Path]:
    """Copy the verified files of `image_models(service)` from `store` into `into` (an image's model
    directory): a model missing or corrupt in the store stops the build here, not the worker later."""
    into.mkdir(parents=True, exist_ok=True)
    copied = []
    for name in image_models(service):
        source = model_path(name, store)
        copied.append(Path(shutil.copy2(source, into / source.name)))
    return copied
