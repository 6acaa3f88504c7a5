"""Trained styles (`trained-<id>`), two kinds (shared.trained):

- a network of their own: one ONNX transformer per painting, no style vector. Fully convolutional with its
  height and width exported as symbols; it takes and gives 1x3xHxW RGB in 0..1, and sides that are multiples
  of 4 (the photo is reflect-padded, then cropped);
- a style vector: 100 numbers optimised for the painting (training/vector.py), run by the shared
  arbitrary-style transformer exactly as a painting's predicted vector is. Its file is a model like any
  other (sha256-verified on every load).

Trained by `sitter train-style` (the `training` package, torch) and shipped as ONNX or JSON, so serving
needs only onnxruntime.
"""

from __future__ import annotations

import json
import threading
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import onnxruntime as ort

from services.stylizer.onnx_models import open_session
from shared.errors import ModelChecksumError, UnknownStyleError
from shared.models import ModelStore, model_path
from shared.trained import STYLE_PREFIX, VECTOR

STRIDE = 4
STYLE_VECTOR_SIZE = 100


@dataclass(frozen=True, eq=False)
class TrainedStyle:
    """A trained style; `style_id` is `trained-<id>`, also its model's catalogue name. `vector` is set for
    a style-vector style (run by the arbitrary-style transformer), None for one with its own network."""

    style_id: str
    vector: np.ndarray | None = None
    predicted: np.ndarray | None = None  # the predictor's vector of the whole painting it was trained from
    painting: str | None = None  # the painting it belongs to (a local style of it keeps the correction)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, TrainedStyle):
            return NotImplemented
        same_vector = (self.vector is None and other.vector is None) or (
            self.vector is not None and other.vector is not None and np.array_equal(self.vector, other.vector)
        )
        return self.style_id == other.style_id and same_vector

    def __hash__(self) -> int:
        return hash(self.style_id)


def parse_trained(spec: str, models: ModelStore | None = None) -> TrainedStyle:
    """A trained style of `models` (the shipped networks and its `trained_dir`'s)."""
    text = spec.strip()
    known = (models or ModelStore()).trained_styles()
    if text not in known:
        listed = ", ".join(known) or "none yet: train one with `sitter train-style PAINTING --id ID`"
        raise UnknownStyleError(f"unknown trained style {text!r}; known: {listed}", field="style")
    style = known[text]
    if style.kind == VECTOR:
        vector, predicted = read_style_vector(model_path(text, models))
        return TrainedStyle(text, vector, predicted, style.painting)
    return TrainedStyle(text, painting=style.painting)


def read_style_vector(path: Path) -> tuple[np.ndarray, np.ndarray | None]:
    """The (100,) float32 vector of a style-vector file (training/vector.py's `write_vector`), and the
    predictor's vector it was trained from when the file has it."""
    try:
        data = json.loads(path.read_text())
        vectors = [data["style_vector"], data.get("predicted_vector")]
        arrays = [None if v is None else np.asarray(v, dtype=np.float32) for v in vectors]
    except (ValueError, KeyError, TypeError, AttributeError) as exc:
        raise ModelChecksumError(f"{path} is not a style-vector file: {exc}") from None
    for array in arrays:
        if array is not None and (array.shape != (STYLE_VECTOR_SIZE,) or not np.isfinite(array).all()):
            raise ModelChecksumError(f"{path}: a style vector needs {STYLE_VECTOR_SIZE} finite numbers")
        if array is not None:
            array.setflags(write=False)
    vector, predicted = arrays
    assert vector is not None
    return vector, predicted


class TrainedNetworks:
    """The ONNX session of each trained style, opened on first use (sha256-verified) and kept."""

    def __init__(self, models: ModelStore | None = None, threads: int | None = None) -> None:
        self.models = models
        self.threads = threads
        self._sessions: dict[str, ort.InferenceSession] = {}
        self._lock = threading.Lock()

    def session(self, style_id: str) -> ort.InferenceSession:
        with self._lock:
            if style_id not in self._sessions:
                if not style_id.startswith(STYLE_PREFIX):
                    raise UnknownStyleError(f"{style_id!r} is not a trained style", field="style")
                path = model_path(style_id, self.models)
                self._sessions[style_id] = open_session(path, self.threads, style_id)
            return self._sessions[style_id]

    def run(self, photo: np.ndarray, style: TrainedStyle) -> np.ndarray:
        """uint8 HxWx3 RGB in, the stylized image of the same size out."""
        height, width = photo.shape[:2]
        pad_h, pad_w = -height % STRIDE, -width % STRIDE
        padded = np.pad(photo, ((0, pad_h), (0, pad_w), (0, 0)), mode="reflect") if pad_h or pad_w else photo
        image = np.ascontiguousarray(padded.transpose(2, 0, 1)[None], dtype=np.float32)
        image *= 1.0 / 255.0
        session = self.session(style.style_id)
        out = session.run(None, {session.get_inputs()[0].name: image})[0][0]
        out = out.transpose(1, 2, 0)[:height, :width] * 255.0
        out += 0.5
        np.clip(out, 0, 255, out=out)
        return out.astype(np.uint8)
