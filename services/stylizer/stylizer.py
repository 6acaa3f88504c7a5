"""The Stylizer: a portrait in, the same portrait repainted in a built-in style or a painting's style out.

Built-in styles run the 26-style network (conditional instance norm, Dumoulin et al.); image styles run the
arbitrary-style network (Ghiasi et al.): a predictor turns any image into a 100-number style vector, and a
transformer paints the photo with it. Both are fully convolutional, so both run at the working resolution.
"""

from __future__ import annotations

import math
import threading

import numpy as np
import onnxruntime as ort
from PIL import Image

from services.stylizer.colour import keep_colors as apply_keep_colors
from services.stylizer.colour import mix
from services.stylizer.onnx_models import kept_dynamic_transformer, open_session
from services.stylizer.styles import BuiltinStyle, ImageStyle
from services.stylizer.trained import TrainedNetworks, TrainedStyle
from shared.errors import InvalidImageError, InvalidParameterError
from shared.limits import PHOTO_SIDE
from shared.models import ModelStore, model_path

STRIDE = 4  # both networks downsample twice by 2, then upsample back: sides must be multiples of 4
STYLE_SIDE = 256  # the predictor's fixed input
MAX_STYLE_CROPS = 6
MIN_SIDE = 16
MIN_MAX_SIZE = 64
MAX_MAX_SIZE = PHOTO_SIDE  # the photos' working size: the workers decode no more of a photo
LOCAL_STYLE_WEIGHT = 0.75  # share of the painting around the person in a local style; the rest is the whole


class Stylizer:
    """Holds the three ONNX sessions, each opened on first use and kept (a worker stylizes many photos)."""

    def __init__(self, models: ModelStore | None = None, threads: int | None = None) -> None:
        self.models = models
        self.threads = threads
        self._sessions: dict[str, ort.InferenceSession] = {}
        self._lock = threading.Lock()
        self.trained = TrainedNetworks(models, threads)  # per-painting networks, opened on first use

    def _session(self, name: str) -> ort.InferenceSession:
        with self._lock:
            if name not in self._sessions:
                path = model_path(name, self.models)
                model = kept_dynamic_transformer(path) if name == "arbitrary-transform" else path
                self._sessions[name] = open_session(model, self.threads, name)
            return self._sessions[name]

    def warm_up(self) -> None:
        """Open every session now (a worker's start-up), so the first job pays no load time."""
        for name in ("multistyle26", "arbitrary-predict", "arbitrary-transform"):
            self._session(name)

    # -- style vectors ---------------------------------------------------------------------------------

    def style_vector(self, style_rgb: np.ndarray) -> np.ndarray:
        """The (100,) float32 style of any image: the mean of the predictor's vectors over square crops that
        together cover the whole image, each resized to 256 px.

        Square crops keep brush strokes undistorted (squashing a wide painting into 256x256 stretches them);
        covering the image, not only its centre, keeps colours and motifs at the edges (Starry Night's
        village, the Great Wave's boat) in the style.
        """
        image = check_rgb(style_rgb, "style image")
        session = self._session("arbitrary-predict")
        vectors = []
        for box in _covering_squares(*image.shape[:2]):
            crop = _square_resize(image, box)[None].astype(np.float32)
            crop *= 1.0 / 255.0
            vectors.append(session.run(None, {"style_image": crop})[0].reshape(-1))
        return np.mean(vectors, axis=0).astype(np.float32)

    # -- stylization -----------------------------------------------------------------------------------

    def stylize(
        self,
        rgb: np.ndarray,
        style: BuiltinStyle | ImageStyle | TrainedStyle,
        *,
        strength: float = 1.0,
        keep_colors: bool = False,
        max_size: int = 1024,
        scale: float | None = None,
    ) -> np.ndarray:
        """The stylized photo, uint8 RGB, at the working resolution: the photo's, or the photo resized by
        `scale` (the size it will be placed at, so strokes come out at the painting's scale and nothing
        is enlarged after stylization), long side capped at `max_size` either way. strength 0 is the
        photo, 1 the full style; keep_colors keeps the photo's own colours."""
        photo = check_rgb(rgb, "portrait")
        if scale is None:
            photo = fit(photo, max_size)
        else:  # one resize, straight to the placed size or the cap
            photo = rescale(photo, min(scale, check_max_size(max_size) / max(photo.shape[:2])))
        strength = check_strength(strength)
        if isinstance(style, BuiltinStyle):
            stylized = self._run_builtin(photo, style.weights) if strength > 0 else photo
        elif isinstance(style, ImageStyle):
            stylized = self._run_image_style(photo, style, strength) if strength > 0 else photo
        elif isinstance(style, TrainedStyle) and style.vector is not None:  # the arbitrary network's
            vector_style = ImageStyle(style.vector)
            stylized = self._run_image_style(photo, vector_style, strength) if strength > 0 else photo
        elif isinstance(style, TrainedStyle):
            stylized = self.trained.run(photo, style) if strength > 0 else photo
        else:
            raise InvalidParameterError(f"unknown style kind {type(style).__name__}", field="style")
        if keep_colors:
            stylized = apply_keep_colors(stylized, photo)
        return mix(photo, stylized, strength)

    def local_style(
        self,
        painting_rgb: np.ndarray,
        region: tuple[int, int, int, int],
        whole: np.ndarray,
        weight: float = LOCAL_STYLE_WEIGHT,
    ) -> ImageStyle:
        """The painting's style around a place: the vector of the square `region` (x0, y0, x1, y1) mixed
        with the whole painting's vector `whole`, `weight` being the local share. A person standing in
        Starry Night's village takes its dark roofs, not the swirling sky's yellow."""
        x0, y0, x1, y1 = region
        crop = check_rgb(np.ascontiguousarray(painting_rgb[y0:y1, x0:x1]), "style region")
        local = self.style_vector(crop)
        return ImageStyle((weight * local + (1.0 - weight) * whole).astype(np.float32))

    def _run_image_style(self, photo: np.ndarray, style: ImageStyle, strength: float) -> np.ndarray:
        """The transformer at the photo's own resolution, with the style vector interpolated from the
        photo's own style to the painting's (Ghiasi et al.'s strength). The caller also blends pixels by
        strength: the photo's own vector alone still repaints it (mean error ~25/255), so strength 0 would
        otherwise not be the photo."""
        vector = self.blended_vector(photo, style, strength)
        out = self.run_transformer(_pad_to_stride(photo), vector)
        return out[: photo.shape[0], : photo.shape[1]]

    def blended_vector(self, photo: np.ndarray, style: ImageStyle, strength: float) -> np.ndarray:
        if strength == 1.0:
            return style.vector
        own = self.style_vector(photo)
        return (own + strength * (style.vector - own)).astype(np.float32)

    def _run_builtin(self, photo: np.ndarray, weights: np.ndarray) -> np.ndarray:
        padded = _pad_to_stride(photo)
        image = np.ascontiguousarray(padded.transpose(2, 0, 1)[None], dtype=np.float32)
        image *= 1.0 / 255.0
        out = self._session("multistyle26").run(None, {"image": image, "style_weights": weights})[0][0]
        return _to_uint8(out.transpose(1, 2, 0))[: photo.shape[0], : photo.shape[1]]

    def run_transformer(self, padded: np.ndarray, vector: np.ndarray) -> np.ndarray:
        """One pass of the size-free transformer on an HxWx3 uint8 image whose sides are multiples of 4."""
        content = padded[None].astype(np.float32)
        content *= 1.0 / 255.0
        session = self._session("arbitrary-transform")
        feeds = {
            session.get_inputs()[0].name: content,
            session.get_inputs()[1].name: vector.reshape(1, 1, 1, -1).astype(np.float32),
        }
        return _to_uint8(session.run(None, feeds)[0][0])


def fit(rgb: np.ndarray, max_size: int) -> np.ndarray:
    """The working image: `rgb` itself, or Lanczos-downscaled so its long side is `max_size` (never up)."""
    check_max_size(max_size)
    height, width = rgb.shape[:2]
    if max(height, width) <= max_size:
        return rgb
    scale = max_size / max(height, width)
    size = (max(MIN_SIDE, round(width * scale)), max(MIN_SIDE, round(height * scale)))
    return np.asarray(Image.fromarray(rgb).resize(size, Image.Resampling.LANCZOS))


def check_max_size(max_size: int) -> int:
    if isinstance(max_size, bool) or not isinstance(max_size, int | np.integer):
        raise InvalidParameterError(f"max_size must be a whole number, got {max_size!r}", field="max_size")
    if not MIN_MAX_SIZE <= max_size <= MAX_MAX_SIZE:
        raise InvalidParameterError(
            f"max_size must be {MIN_MAX_SIZE}..{MAX_MAX_SIZE} pixels, got {max_size}", field="max_size"
        )
    return int(max_size)


def rescale(rgb: np.ndarray, scale: float) -> np.ndarray:
    """The photo resized by `scale` (area filter to shrink, Lanczos to enlarge), sides at least MIN_SIDE."""
    if not math.isfinite(scale) or scale <= 0:
        raise InvalidParameterError(f"scale must be a positive number, got {scale}", field="scale")
    height, width = rgb.shape[:2]
    size = (max(MIN_SIDE, round(width * scale)), max(MIN_SIDE, round(height * scale)))
    if size == (width, height):
        return rgb
    filt = Image.Resampling.BOX if scale < 1 else Image.Resampling.LANCZOS
    return np.asarray(Image.fromarray(rgb).resize(size, filt))


def check_rgb(rgb: np.ndarray, what: str) -> np.ndarray:
    if not isinstance(rgb, np.ndarray) or rgb.dtype != np.uint8 or rgb.ndim != 3 or rgb.shape[2] != 3:
        raise InvalidImageError(f"the {what} must be a uint8 HxWx3 RGB array", field=what)
    if min(rgb.shape[:2]) < MIN_SIDE:
        raise InvalidImageError(
            f"the {what} is {rgb.shape[1]}x{rgb.shape[0]}; each side must be at least {MIN_SIDE}", field=what
        )
    return np.ascontiguousarray(rgb)


def check_strength(strength: float) -> float:
    value = float(strength)
    if not math.isfinite(value) or not 0.0 <= value <= 1.0:
        raise InvalidParameterError(f"strength must be between 0 and 1, got {strength}", field="strength")
    return value


def _pad_to_stride(image: np.ndarray) -> np.ndarray:
    """Reflect-pad bottom/right to multiples of the networks' stride (cropped off after)."""
    pad_h, pad_w = -image.shape[0] % STRIDE, -image.shape[1] % STRIDE
    if not pad_h and not pad_w:
        return image
    return np.pad(image, ((0, pad_h), (0, pad_w), (0, 0)), mode="reflect")


def _to_uint8(out: np.ndarray) -> np.ndarray:
    out = out * 255.0
    out += 0.5
    np.clip(out, 0, 255, out=out)
    return out.astype(np.uint8)


def _covering_squares(height: int, width: int) -> list[tuple[int, int, int, int]]:
    """Evenly spaced side x side squares (side = the short side) covering the image: 1 for a near-square
    image, 2 for 4:3 up to 2:1, and so on, at most MAX_STYLE_CROPS (a panorama is sampled, not covered,
    so a strip-shaped upload cannot cost hundreds of predictor runs). Boxes are (left, top, right, bottom)."""
    side = min(height, width)
    count = min(MAX_STYLE_CROPS, math.ceil(max(height, width) / side - 0.05))  # 5%: near-square is 1
    starts = (
        np.linspace(0, max(height, width) - side, count).round().astype(int)
        if count > 1
        else [(max(height, width) - side) // 2]
    )
    if width >= height:
        return [(int(s), 0, int(s) + side, side) for s in starts]
    return [(0, int(s), side, int(s) + side) for s in starts]


def _square_resize(image: np.ndarray, box: tuple[int, int, int, int]) -> np.ndarray:
    left, top, right, bottom = box
    crop = Image.fromarray(image[top:bottom, left:right])
    factor = crop.width // (2 * STYLE_SIDE)
    if factor >= 2:  # a 4000 px square: box-average it down first, or Lanczos alone takes ~0.4 s per crop
        crop = crop.reduce(factor)
    return np.asarray(crop.resize((STYLE_SIDE, STYLE_SIDE), Image.Resampling.LANCZOS))
