"""Decode untrusted image bytes once, robustly, into RGB arrays; encode results.

Every stage works on `uint8` HxWx3 RGB arrays, so all the format quirks (EXIF rotation, CMYK, 16-bit,
palettes, alpha, HEIC) are settled here and nowhere else.
"""

from __future__ import annotations

import io
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

from shared.errors import ImageTooLargeError, InvalidImageError, InvalidParameterError
from shared.limits import PHOTO_SIDE, working_size
from shared.png_encode import encode_png

try:  # HEIC/HEIF photos from phones; optional so a slim install still decodes the common formats
    import pillow_heif

    pillow_heif.register_heif_opener()
except ImportError:  # pragma: no cover - pillow-heif is a base dependency
    pass

DEFAULT_MAX_PIXELS = 40_000_000
MIN_SIDE = 16
EXIF_ORIENTATION = 0x0112
OUTPUT_FORMATS = {"png": "PNG", "jpeg": "JPEG", "webp": "WEBP"}
CONTENT_TYPES = {"png": "image/png", "jpeg": "image/jpeg", "webp": "image/webp"}


def decode_image(
    data: bytes | Path,
    *,
    max_pixels: int = DEFAULT_MAX_PIXELS,
    what: str = "image",
    long_side: int | None = None,
) -> np.ndarray:
    """Return an upright uint8 RGB array, or raise InvalidImageError naming `what` and the reason.

    The pixel limit is checked on the declared size, before any pixel is decoded, so a tiny file that
    claims to be gigapixels costs nothing. With `long_side` the image comes at `working_size` (the same
    size in every process that decodes these bytes): a JPEG is decoded at the smallest 1/2^k scale still
    at least that large, anything else shrunk before it is converted, so no full-size RGB copy is made.
    """
    raw = _read(data, what)
    with _decoding_errors(what):
        image = _open_checked(raw, max_pixels, what)
        _check_min_side(image.size, what)
        target = _stored_target(image, long_side)
        if target is not None and image.format == "JPEG":
            image.draft(image.mode, target)
        image.load()
        return _to_rgb(ImageOps.exif_transpose(_shrunk(image, target)))


def decode_photo(
    data: bytes | Path, *, max_pixels: int = DEFAULT_MAX_PIXELS, what: str = "photo"
) -> np.ndarray:
    """A person's photo at the size every worker uses (long side at most PHOTO_SIDE): segmenter, plan and
    stylizer see the same pixels, so boxes and scales found by one hold for the others."""
    return decode_image(data, max_pixels=max_pixels, what=what, long_side=PHOTO_SIDE)


def _stored_target(image: Image.Image, long_side: int | None) -> tuple[int, int] | None:
    """The working size in the file's own orientation (before EXIF rotation), or None: no shrinking."""
    if long_side is None:
        return None
    width, height = image.size
    turned = image.getexif().get(EXIF_ORIENTATION, 1) in (5, 6, 7, 8)
    upright = (height, width) if turned else (width, height)
    size = working_size(*upright, long_side)
    if size == upright:
        return None
    return (size[1], size[0]) if turned else size


RESIZABLE_MODES = ("L", "LA", "RGB", "RGBA")  # Pillow resizes these itself (RGBA premultiplied)


def _shrunk(image: Image.Image, target: tuple[int, int] | None) -> Image.Image:
    """The loaded image 8-bit (banded, for 16-bit and float) and shrunk to `target`, in as few bytes as
    Pillow allows: reduce() by whole factors first, then Lanczos, before any conversion to RGB."""
    if image.mode in WIDE_MODES:
        image = _wide_to_8bit(image)
    if target is None or image.size == target:
        return image
    if image.mode not in RESIZABLE_MODES or "transparency" in image.info:
        transparent = image.mode in ("LA", "PA") or "transparency" in image.info
        image = image.convert("RGBA" if transparent else "RGB")
    return image.resize(target, Image.Resampling.LANCZOS, reducing_gap=3.0)


@dataclass(frozen=True)
class Probe:
    """An upload opened for validation: the image (headers read), its upright size, the bytes to load it."""

    image: Image.Image
    size: tuple[int, int]
    cost: int
    stored_bytes: int  # the whole image as Pillow stores it: what a worker's full-size load takes at most


def open_for_probe(
    data: bytes, *, max_pixels: int = DEFAULT_MAX_PIXELS, what: str = "image", long_side: int | None = None
) -> Probe:
    """Open (headers only) an upload to validate: the pixel limit checked, a JPEG set to decode at 1/8, or
    just large enough for a `long_side` preview (`preview_of`).

    A JPEG decoded at 1/8 scale still runs every entropy-coded byte through the decoder, so damage is
    found, in 1/64 of the memory; other formats load at full size, as stored (no conversion). The cost
    is known before a pixel is decoded, so a caller can budget memory first.
    """
    with _decoding_errors(what):
        image = _open_checked(_read(data, what), max_pixels, what)
        width, height = image.size
        orientation = image.getexif().get(EXIF_ORIENTATION, 1)
        size = (height, width) if orientation in (5, 6, 7, 8) else (width, height)
        stored = width * height * _stored_bytes_per_pixel(image.mode)
        if image.format == "JPEG":
            scale = 1 / 8 if long_side is None else min(1.0, long_side / max(width, height))
            image.draft(image.mode, (max(round(width * scale), 1), max(round(height * scale), 1)))
        per_pixel = _stored_bytes_per_pixel(image.mode)
        if long_side is not None and image.mode in WIDE_MODES:
            per_pixel += PREVIEW_WIDE_EXTRA  # a preview also makes it 8-bit before shrinking it
        cost = image.size[0] * image.size[1] * per_pixel
        return Probe(image, size, cost, stored)


def finish_probe(probe: Probe, *, what: str = "image") -> tuple[int, int]:
    """Decode every pixel of an opened upload, proving it is an image; its upright (width, height)."""
    with _decoding_errors(what):
        probe.image.load()
        _check_min_side(probe.size, what)
        return probe.size


def preview_of(probe: Probe, long_side: int, *, what: str = "image") -> np.ndarray:
    """The opened upload decoded, upright, RGB, shrunk so its long side is at most `long_side`: what a
    quick preview needs, without ever holding a full-size RGB copy of a large photo."""
    finish_probe(probe, what=what)
    with _decoding_errors(what):
        image = probe.image
        if image.mode in WIDE_MODES:  # Pillow shrinks few 16-bit modes: make it 8-bit first
            image = _wide_to_8bit(image)
        image.thumbnail((long_side, long_side), Image.Resampling.BOX)
        return _to_rgb(ImageOps.exif_transpose(image))


def _read(data: bytes | Path, what: str) -> bytes:
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
    return raw


def _open_checked(raw: bytes, max_pixels: int, what: str) -> Image.Image:
    image = Image.open(io.BytesIO(raw))
    width, height = image.size
    if width * height > max_pixels:
        raise ImageTooLargeError(
            f"the {what} is {width}x{height} pixels; the limit is {max_pixels} pixels", field=what
        )
    image.seek(0)  # animated GIF/WebP/APNG: the first frame is the picture
    return image


def _check_min_side(size: tuple[int, int], what: str) -> None:
    width, height = size
    if min(width, height) < MIN_SIDE:
        raise InvalidImageError(
            f"the {what} is {width}x{height} pixels; each side must be at least {MIN_SIDE}", field=what
        )


@contextmanager
def _decoding_errors(what: str) -> Iterator[None]:
    """Turn everything Pillow raises on a bad file into one InvalidImageError naming `what`."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            yield
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


def _stored_bytes_per_pixel(mode: str) -> int:
    """Pillow keeps 1-band 8-bit modes in a byte, 16-bit in two, everything else in four (RGB as RGBX)."""
    if mode in ("1", "L", "P"):
        return 1
    if mode.startswith("I;16"):
        return 2
    return 4


WIDE_MODES = ("I;16", "I;16B", "I;16L", "I", "F")
ROWS_PER_STEP = 256  # 16-bit and float images are scaled to 8 bits a band of rows at a time
# the 8-bit copy of a 16-bit or float image and the shrinking's copies, per pixel: a 16-bit 6324x6324 PNG's
# preview peaks at 136 MiB over the 76 MiB its pixels take as stored
PREVIEW_WIDE_EXTRA = 2


def _to_rgb(image: Image.Image) -> np.ndarray:
    """Normalise any Pillow mode to 8-bit RGB; transparency is flattened onto white."""
    if image.mode in WIDE_MODES:
        image = _wide_to_8bit(image)
    if image.mode == "P" or image.mode == "LA" or "transparency" in image.info:
        image = image.convert("RGBA")
    if image.mode == "RGBA":
        white = Image.new("RGBA", image.size, (255, 255, 255, 255))
        image = Image.alpha_composite(white, image)
    if image.mode != "RGB":  # an RGB image is read as it is: a converted copy of a 40 MP one is 160 MB
        image = image.convert("RGB")
    return np.ascontiguousarray(np.asarray(image, dtype=np.uint8))


def _wide_to_8bit(image: Image.Image) -> Image.Image:
    """16-bit, 32-bit or float greyscale to 8-bit (full range when it exceeds 255), a band of rows at a
    time, so a 40 MP 16-bit image never has a float copy, nor a numpy copy, of itself (a float64 copy once
    cost 0.65 GB at 6300x6300)."""
    top = 65535.0 if float(image.getextrema()[1]) > 255 else 255.0  # type: ignore[arg-type]
    width, height = image.size
    out = np.empty((height, width), dtype=np.uint8)
    for row in range(0, height, ROWS_PER_STEP):
        rows = np.asarray(image.crop((0, row, width, min(row + ROWS_PER_STEP, height))))
        band = rows.astype(np.float32) * np.float32(255.0 / top) + np.float32(0.5)
        out[row : row + ROWS_PER_STEP] = np.clip(band, 0, 255)
    return Image.fromarray(out)


FAST_PNG_PIXELS = 4_000_000


def encode_image(pixels: np.ndarray, fmt: str = "png", *, quality: int = 92) -> bytes:
    """Encode an RGB or RGBA uint8 array; JPEG drops alpha, since it cannot carry it."""
    key = fmt.lower().replace("jpg", "jpeg")
    if key not in OUTPUT_FORMATS:
        raise InvalidParameterError(
            f"unknown output format {fmt!r}; choose one of {', '.join(OUTPUT_FORMATS)}", field="format"
        )
    big = pixels.shape[0] * pixels.shape[1] > FAST_PNG_PIXELS
    if key == "png" and big and pixels.dtype == np.uint8 and pixels.ndim == 3 and pixels.shape[2] in (3, 4):
        # PIL's level 1 took ~1.1 s for a 4000x4500 painting here, one core; every core, ~0.4 s
        return encode_png(pixels)
    image = Image.fromarray(pixels)
    if key == "jpeg" and image.mode == "RGBA":
        image = image.convert("RGB")
    buffer = io.BytesIO()
    options: dict[str, int] = {"quality": quality} if key in ("jpeg", "webp") else {"compress_level": 6}
    if key == "png" and big:  # zlib level 6 takes ~7 s for a 4000x4500 painting here
        options = {"compress_level": 1, "compress_type": 3}  # 3: zlib Z_RLE
    image.save(buffer, OUTPUT_FORMATS[key], **options)
    return buffer.getvalue()


THUMBNAIL_SIDE = 256


def encode_thumbnail(pixels: np.ndarray, long_side: int = THUMBNAIL_SIDE) -> bytes:
    """A small JPEG of a picture, for lists of results: a few kB instead of the whole picture."""
    image = Image.fromarray(pixels)
    image.thumbnail((long_side, long_side), Image.Resampling.LANCZOS)
    return encode_image(np.asarray(image), "jpeg", quality=85)


def format_for_path(path: Path) -> str:
    """Pick the output format from a file name's suffix (png when there is none)."""
    suffix = path.suffix.lower().lstrip(".") or "png"
    return "jpeg" if suffix == "jpg" else suffix
