"""Content images for training: photos of people, randomly cropped, scaled and flipped.

Only photos whose licence allows shipping the trained weights may go in (public domain / CC0, sources
recorded); the research-only EG1800 portraits may evaluate a network, never train a shipped one.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image

from shared.errors import SitterError
from shared.imageio import decode_image

IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".webp")
LOAD_SIDE = 800  # photos are kept at about the working resolution the network will see when serving
MAX_ZOOM_OUT = 2.5  # a crop covers between 1x and this many times the training size, then is resized


def content_files(folders: list[Path]) -> list[Path]:
    files = sorted(
        {
            path.resolve()
            for folder in folders
            for path in folder.iterdir()
            if path.suffix.lower() in IMAGE_SUFFIXES
        }
    )
    if not files:
        raise SitterError(
            f"no content images ({', '.join(IMAGE_SUFFIXES)}) in {', '.join(map(str, folders))}"
        )
    return files


def load_photos(files: list[Path], min_side: int) -> list[np.ndarray]:
    """Each photo decoded once (EXIF-rotated RGB), long side shrunk to LOAD_SIDE, short side >= min_side."""
    photos = []
    for path in files:
        image = Image.fromarray(decode_image(path, what="content image"))
        scale = min(1.0, LOAD_SIDE / max(image.size))
        scale = max(scale, min_side / min(image.size))
        size = (round(image.width * scale), round(image.height * scale))
        if size != image.size:
            image = image.resize(size, Image.Resampling.LANCZOS)
        photos.append(np.asarray(image))
    return photos


class CropSampler:
    """Random square crops of a random photo: side 1..MAX_ZOOM_OUT times `size`, resized to `size`,
    flipped half the time. Returns float32 Nx3xSxS RGB in 0..1."""

    def __init__(self, photos: list[np.ndarray], size: int, seed: int = 0) -> None:
        self.photos = photos
        self.size = size
        self.rng = np.random.default_rng(seed)

    def batch(self, count: int) -> np.ndarray:
        return np.stack([self.crop() for _ in range(count)])

    def crop(self) -> np.ndarray:
        photo = self.photos[int(self.rng.integers(len(self.photos)))]
        height, width = photo.shape[:2]
        largest = min(height, width, round(self.size * MAX_ZOOM_OUT))
        side = int(self.rng.integers(self.size, largest + 1)) if largest > self.size else min(height, width)
        top = int(self.rng.integers(0, height - side + 1))
        left = int(self.rng.integers(0, width - side + 1))
        crop = Image.fromarray(photo[top : top + side, left : left + side])
        if side != self.size:
            crop = crop.resize((self.size, self.size), Image.Resampling.BILINEAR)
        array = np.asarray(crop, dtype=np.float32) / 255.0
        if self.rng.random() < 0.5:
            array = array[:, ::-1]
        return np.ascontiguousarray(array.transpose(2, 0, 1))


def style_image(rgb: np.ndarray, side: int) -> np.ndarray:
    """The painting with its long side at `side` (brush strokes at the scale the network should paint),
    float32 1x3xHxW RGB 0..1."""
    image = Image.fromarray(rgb)
    scale = side / max(image.size)
    image = image.resize(
        (max(16, round(image.width * scale)), max(16, round(image.height * scale))), Image.Resampling.LANCZOS
    )
    return np.ascontiguousarray((np.asarray(image, dtype=np.float32) / 255.0).transpose(2, 0, 1)[None])
