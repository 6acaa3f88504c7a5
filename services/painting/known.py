"""Paintings whose analysis is known before the job: the bundled gallery's (shipped) and the operator's
added ones (stored when a worker analysed them: shared/added_paintings.py). Any other painting is
analysed during its job."""

from __future__ import annotations

from dataclasses import dataclass

from services.painting.gallery_analysis import gallery_analysis, gallery_spots
from services.painting.plan import Spot
from services.painting.scene import PaintingAnalysis
from shared.added_paintings import STYLE_VECTOR, added_document
from shared.gallery_store import GalleryStore


@dataclass(frozen=True)
class KnownPainting:
    analysis: PaintingAnalysis
    spots: list[Spot]


def bundled_known(painting_id: str) -> KnownPainting:
    return KnownPainting(gallery_analysis(painting_id), gallery_spots(painting_id))


def added_known(store: GalleryStore, painting_id: str, version: str) -> KnownPainting:
    data = added_document(store, painting_id, version)
    analysis = {key: value for key, value in data.items() if key not in ("spots", STYLE_VECTOR)}
    return KnownPainting(PaintingAnalysis.from_json(analysis), [Spot(**spot) for spot in data["spots"]])
