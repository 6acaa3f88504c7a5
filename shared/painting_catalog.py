"""The gallery a caller sees: the bundled paintings (unless turned off) and the operator's added ones.

One view for the gateway, the workers and the CLI, whichever store holds the added paintings (Redis and
the blob store in the service, a directory for the CLI). Bundled paintings are always `ready` (their
analysis ships in shared/data/paintings/analysis.json); added ones are `ready` once a worker analysed them.
Added paintings are read by (id, version): a job carries the version it was accepted with.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from shared import gallery
from shared.gallery_store import (
    ANALYSIS_FILE,
    FAILED,
    IMAGE_FILE,
    READY,
    THUMBNAIL_FILE,
    GalleryStore,
    PaintingAnalysisFailedError,
    PaintingNotReadyError,
    StoredPainting,
    unknown_painting,
)
from shared.queues import style_queue


@dataclass(frozen=True)
class CatalogPainting:
    """What the API and the CLI show of a painting, bundled or added."""

    id: str
    title: str
    artist: str
    year: str
    licence: str
    source: str
    width: int
    height: int
    bundled: bool
    analysis: str = READY
    error: str = ""
    version: str = ""  # "" for bundled paintings
    own_queue: bool = True  # bundled: always; added: when the operator gave it a worker group

    @property
    def queue(self) -> str:
        return style_queue(self.id, self.own_queue)

    def credit(self) -> dict[str, str]:
        """What a result made from this painting says of it."""
        fields = ("id", "title", "artist", "year", "licence", "source")
        return {name: str(getattr(self, name)) for name in fields}

    def describe(self) -> dict[str, Any]:
        out = {
            "id": self.id,
            "title": self.title,
            "artist": self.artist,
            "year": self.year,
            "licence": self.licence,
            "source": self.source,
            "width": self.width,
            "height": self.height,
            "bundled": self.bundled,
            "analysis": self.analysis,
            "queue": self.queue,
        }
        if self.error:
            out["error"] = self.error
        return out


def _bundled(item: gallery.Painting) -> CatalogPainting:
    width, height = gallery.size(item.id)
    return CatalogPainting(
        item.id, item.title, item.artist, item.year, item.licence, item.source, width, height, True
    )


def _added(item: StoredPainting) -> CatalogPainting:
    return CatalogPainting(
        item.id,
        item.title,
        item.artist,
        item.year,
        item.licence,
        item.source,
        item.width,
        item.height,
        False,
        item.analysis,
        item.error,
        item.version,
        item.own_queue,
    )


class PaintingCatalog:
    def __init__(self, store: GalleryStore | None, *, bundled: bool = True) -> None:
        self.store = store
        self.bundled = bundled

    def items(self) -> list[CatalogPainting]:
        """Every painting, bundled first (gallery order), then the added ones by when they were added."""
        found = [_bundled(item) for item in gallery.paintings().values()] if self.bundled else []
        if self.store is not None:
            found += [_added(item) for item in self.store.list() if item.id not in gallery.paintings()]
        return found

    def ids(self) -> list[str]:
        return [item.id for item in self.items()]

    def find(self, painting_id: str) -> CatalogPainting:
        """The painting, whatever its analysis state; UnknownPaintingError when there is none."""
        if painting_id in gallery.paintings():
            if not self.bundled:
                raise unknown_painting(painting_id)
            return _bundled(gallery.painting(painting_id))
        stored = self.store.get(painting_id) if self.store is not None else None
        if stored is None:
            raise unknown_painting(painting_id)
        return _added(stored)

    def is_added(self, painting_id: str) -> bool:
        """Whether the id names one of the operator's added paintings (any analysis state)."""
        if painting_id in gallery.paintings() or self.store is None:
            return False
        return self.store.get(painting_id) is not None

    def ready(self, painting_id: str) -> CatalogPainting:
        """The painting a job may use: known, and analysed (PaintingNotReadyError while it is being)."""
        item = self.find(painting_id)
        if item.analysis == FAILED:
            raise PaintingAnalysisFailedError(
                f"painting {painting_id!r} could not be analysed ({item.error}); the operator should "
                "delete it and add it again",
                field="painting",
            )
        if item.analysis != READY:
            raise PaintingNotReadyError(
                f"painting {painting_id!r} is still being analysed; try again in a few seconds",
                field="painting",
            )
        return item

    def spots(self, item: CatalogPainting) -> list[dict[str, Any]]:
        if item.bundled:
            return gallery.spots(item.id)
        spots: list[dict[str, Any]] = self.analysis(item.id, item.version)["spots"]
        return spots

    def analysis(self, painting_id: str, version: str) -> dict[str, Any]:
        """An added painting's stored analysis (with `spots` and `style_vector`)."""
        data: dict[str, Any] = json.loads(self._store().read(painting_id, version, ANALYSIS_FILE))
        return data

    def image(self, item: CatalogPainting) -> bytes:
        return (
            gallery.painting(item.id).path.read_bytes()
            if item.bundled
            else self._store().read(item.id, item.version, IMAGE_FILE)
        )

    def image_of(self, painting_id: str, version: str) -> bytes:
        return self._store().read(painting_id, version, IMAGE_FILE)

    def thumbnail(self, item: CatalogPainting) -> bytes:
        """An added painting's thumbnail (bundled ones are made by the gateway from the file)."""
        return self._store().read(item.id, item.version, THUMBNAIL_FILE)

    def _store(self) -> GalleryStore:
        if self.store is None:
            raise RuntimeError("this catalog has no store of added paintings")
        return self.store
