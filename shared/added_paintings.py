"""What a worker reads of an operator's added painting, by (id, version): the decoded image, the stored
analysis document and its style vector.

A version's files never change, so what a process decoded or parsed is kept for the next job without any
invalidation; a small bound keeps a worker's memory flat (a 4000 px painting is ~50 MB as RGB).
"""

from __future__ import annotations

import json
from collections import OrderedDict
from collections.abc import Callable
from typing import Any, TypeVar

import numpy as np

from shared.gallery_store import ANALYSIS_FILE, IMAGE_FILE, GalleryStore
from shared.imageio import decode_image

CACHED_IMAGES = 1
CACHED_DOCUMENTS = 16
STYLE_VECTOR = "style_vector"  # the analysis document's member holding the painting's style vector

T = TypeVar("T")
_images: OrderedDict[tuple[str, str], Any] = OrderedDict()
_documents: OrderedDict[tuple[str, str], Any] = OrderedDict()


def _cached(
    cache: OrderedDict[tuple[str, str], Any], bound: int, key: tuple[str, str], make: Callable[[], T]
) -> T:
    if key in cache:
        cache.move_to_end(key)
        found: T = cache[key]
        return found
    made = make()
    cache[key] = made
    while len(cache) > bound:
        cache.popitem(last=False)
    return made


def added_document(store: GalleryStore, painting_id: str, version: str) -> dict[str, Any]:
    """The stored analysis (faces, figures, spots, style vector) of one version."""

    def load() -> dict[str, Any]:
        data: dict[str, Any] = json.loads(store.read(painting_id, version, ANALYSIS_FILE))
        return data

    return _cached(_documents, CACHED_DOCUMENTS, (painting_id, version), load)


def added_style_vector(store: GalleryStore, painting_id: str, version: str) -> np.ndarray:
    vector = np.asarray(added_document(store, painting_id, version)[STYLE_VECTOR], dtype=np.float32)
    vector.setflags(write=False)
    return vector


def added_image(store: GalleryStore, painting_id: str, version: str, max_pixels: int) -> np.ndarray:
    """The painting decoded as RGB (read-only: shared between the jobs of this process)."""

    def load() -> np.ndarray:
        raw = store.read(painting_id, version, IMAGE_FILE)
        image = decode_image(raw, max_pixels=max_pixels, what="painting")
        image.setflags(write=False)
        return image

    return _cached(_images, CACHED_IMAGES, (painting_id, version), load)
