"""What a painting holds, as plain data: faces, figures, their head size, a ground line, a saliency grid.

Kept apart from the detectors (analysis.py) so the compositor, which only follows a plan, needs no LiteRT.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from services.painting.abstraction import Abstraction

Rect = tuple[int, int, int, int]  # x0, y0, x1, y1 in painting pixels, end-exclusive


@dataclass(frozen=True)
class Face:
    box: Rect
    score: float


@dataclass(frozen=True)
class Figure:
    """A painted person from the pose detector: the body's box and where their feet are (None: off canvas)."""

    box: Rect
    score: float
    feet_y: int | None
    face_height: float


@dataclass(frozen=True)
class PaintingAnalysis:
    width: int
    height: int
    faces: list[Face]
    figures: list[Figure]
    head_height: float | None  # typical painted face-box height in pixels; None: no confident figure
    head_source: str  # "faces", "figures" or "none"
    ground_y: int | None  # where the painted figures stand; None: no full figure seen
    saliency: np.ndarray = field(repr=False)  # float32 grid, 0..1
    abstraction: Abstraction | None = None  # services/painting/abstraction.py; None: not estimated

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        data["saliency"] = np.rint(self.saliency * 255).astype(int).tolist()
        data["abstraction"] = None if self.abstraction is None else self.abstraction.to_json()
        return data

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> PaintingAnalysis:
        return cls(
            width=int(data["width"]),
            height=int(data["height"]),
            faces=[Face(tuple(f["box"]), float(f["score"])) for f in data["faces"]],
            figures=[
                Figure(tuple(f["box"]), float(f["score"]), f["feet_y"], float(f["face_height"]))
                for f in data["figures"]
            ],
            head_height=data["head_height"],
            head_source=data["head_source"],
            ground_y=data["ground_y"],
            saliency=np.asarray(data["saliency"], dtype=np.float32) / 255.0,
            # absent from analyses stored before it existed (added paintings): estimated in the job
            abstraction=Abstraction.from_json(data["abstraction"]) if data.get("abstraction") else None,
        )


def save_analyses(analyses: dict[str, PaintingAnalysis], path: Path) -> None:
    text = json.dumps({key: a.to_json() for key, a in analyses.items()}, separators=(",", ":"))
    path.write_text(text + "\n")


def load_analyses(path: Path) -> dict[str, PaintingAnalysis]:
    return {key: PaintingAnalysis.from_json(data) for key, data in json.loads(path.read_text()).items()}
