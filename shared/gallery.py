"""The bundled gallery of public-domain paintings and the sample portraits."""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import numpy as np

from shared.errors import UnknownPaintingError
from shared.imageio import decode_image

DATA_DIR = Path(__file__).parent / "data"
PAINTINGS_DIR = DATA_DIR / "paintings"
SAMPLES_DIR = DATA_DIR / "samples"
ANALYSIS_PATH = (
    PAINTINGS_DIR / "analysis.json"
)  # faces, figures, spots: services/painting/gallery_analysis.py


@dataclass(frozen=True)
class Painting:
    id: str
    title: str
    artist: str
    year: str
    licence: str
    source: str
    path: Path


@cache
def paintings() -> dict[str, Painting]:
    """Every gallery painting by id, in gallery order."""
    entries = json.loads((PAINTINGS_DIR / "paintings.json").read_text())
    return {entry["id"]: Painting(path=PAINTINGS_DIR / f"{entry['id']}.jpg", **entry) for entry in entries}


def painting(painting_id: str) -> Painting:
    try:
        return paintings()[painting_id]
    except KeyError:
        raise UnknownPaintingError(
            f"unknown painting {painting_id!r}; `sitter paintings` lists the gallery", field="painting"
        ) from None


def load_painting(painting_id: str) -> np.ndarray:
    return decode_image(painting(painting_id).path, what="painting")


@cache
def _analyses() -> dict[str, dict[str, object]]:
    data: dict[str, dict[str, object]] = json.loads(ANALYSIS_PATH.read_text())
    return data


def spots(painting_id: str) -> list[dict[str, object]]:
    """The suggested places for a person in a gallery painting, best first (precomputed: ANALYSIS_PATH)."""
    painting(painting_id)
    found: list[dict[str, object]] = _analyses()[painting_id]["spots"]  # type: ignore[assignment]
    return found


def sample_portraits() -> list[Path]:
    return sorted(SAMPLES_DIR.glob("*.jpg"))
