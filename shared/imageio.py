"""Decode untrusted image bytes once, robustly, into RGB arrays; encode results.

Every stage works on `uint8` HxWx3 RGB arrays, so all the format quirks (EXIF rotation, CMYK, 16-bit,
palettes, alpha, HEIC) are settled here and nowhere else.
"""

from __future__ import annotations

import io
import warnings
from pathlib import Path

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

from shared.errors import ImageTooLargeError, InvalidImageError, InvalidParameterError

try:  # HEIC/HEIF photos from phones; optional so a slim install still decodes the common formats
    import pillow_heif

    pillow_heif.register_heif_opener()
except ImportError:  # pragma: no cover - pillow-heif is a base dependency
    pass

DEFAULT_MAX_PIXELS = 40_000_000
MIN_SIDE = 16
OUTPUT_FORMATS = {"png": "PNG", "jpeg": "JPEG", "webp": "WEBP"}
CONTENT_TYPES = {"png": "image/png", "jpeg": "image/jpeg", "webp": "image/webp"}


def decode_image(
    data: bytes | Path, *, max_pixels: int = DEFAULT_MAX_PIXELS, what: str = "image"
) -> np.ndarray:
    """Return an upright uint8 RGB array, or raise InvalidImageError naming `what` and the reason.

    The pixel limit is checked on the declared size, before any pixel is decoded, so a tiny file that
    claims to be gigapixels costs nothing.
    """
    if isinstance(data, Path):
        try:
            raw = data.read_bytes()
        except OSError as exc:  # missing, a folder, unreadable: one clear line, not a traceback
            raise InvalidImageError(
                f"cannot read the {what} {data}: {exc.strerror or exc}", field=what
            ) from exc
    else:
        raw = data
    if not raw:
        raise InvalidImageError(f"the {what} is an empty file", field=what)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            image = Image.open(io.BytesIO(raw))
            width, height = image.size
            if width * height > max_pixels:
                raise ImageTooLargeError(
                    f"the {what} is {width}x{height} pixels; the limit is {max_pixels} pixels", field=what
                )
            image.seek(0)  # animated GIF/WebP/APNG: the first frame is the picture
            image.load()
            if min(width, height) < MIN_SIDE:
                raise InvalidImageError(
                    f"the {what} is {width}x{height} pixels; each side must be at least {MIN_SIDE}",
                    field=what,
                )
            return _to_rgb(ImageOps.exif_transpose(image))
    except InvalidImageError:
        raise
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
        raise ImageTooLargeError(f"the {what} is too large to decode safely ({exc})", field=what) from exc
    except UnidentifiedImageError as exc:
        raise InvalidImageError(
            f"the {what} is not an image in a supported format (JPEG, PNG, WebP, GIF, BMP, TIFF, HEIC)",
            field=what,
        ) from exc
    # Pillow's parsers fail on damaged files with many exception types (OSError, TypeError, ...)
    except Exception as exc:
        raise InvalidImageError(f"the {what} is corrupt or truncated ({exc})", field=what) from exc


def _to_rgb(image: Image.Image) -> np.ndarray:
    """Normalise any Pillow mode to 8-bit RGB; transparency is flattened onto white."""
    if image.mode in ("I;16", "I;16B", "I;16L", "I", "F"):
        arr = np.asarray(image, dtype=np.float64)
        top = 65535.0 if arr.max() > 255 else 255.0
        image = Image.fromarray(np.clip(arr / top * 255.0 + 0.5, 0, 255).astype(np.uint8))
    if image.mode == "P" or image.mode == "LA" or "transparency" in image.info:
        image = image.convert("RGBA")
    if image.mode == "RGBA":
        white = Image.new("RGBA", image.size, (255, 255, 255, 255))
        image = Image.alpha_composite(white, image)
    return np.ascontiguousarray(np.asarray(image.convert("RGB"), dtype=np.uint8))


FAST_PNG_PIXELS = 4_000_000


def encode_image(pixels: np.ndarray, fmt: str = "png", *, quality: int = 92) -> bytes:
    """Encode an RGB or RGBA uint8 array; JPEG drops alpha, since it cannot carry it."""
    key = fmt.lower().replace("jpg", "jpeg")
    if key not in OUTPUT_FORMATS:
        raise InvalidParameterError(
            f"unknown output format {fmt!r}; choose one of {', '.join(OUTPUT_FORMATS)}", field="format"
        )
    image = Image.fromarray(pixels)
    if key == "jpeg" and image.mode == "RGBA":
        image = image.convert("RGB")
    buffer = io.BytesIO()
    options: dict[str, int] = {"quality": quality} if key in ("jpeg", "webp") else {"compress_level": 6}
    if key == "png" and pixels.shape[0] * pixels.shape[1] > FAST_PNG_PIXELS:
        # zlib level 6 takes ~7 s for a 4000x4500 painting here; level 1 with run-length strategy ~1.8 s
        # for a file only ~5 % larger
        options = {"compress_level": 1, "compress_type": 3}  # 3: zlib Z_RLE
    image.save(buffer, OUTPUT_FORMATS[key], **options)
    return buffer.getvalue()


def format_for_path(path: Path) -> str:
    """Pick the output format from a file name's suffix (png when there is none)."""
    suffix = path.suffix.lower().lstrip(".") or "png"
    return "jpeg" if suffix == "jpg" else suffix
