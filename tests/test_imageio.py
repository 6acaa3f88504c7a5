"""Decoding untrusted bytes: odd-but-valid formats become upright RGB, every bad input is refused."""

import io

import numpy as np
import pytest
from PIL import Image

from shared.errors import ImageTooLargeError, InvalidImageError, InvalidParameterError
from shared.imageio import decode_image, decode_photo, encode_image, format_for_path
from shared.limits import working_size


def _encode(image: Image.Image, fmt: str, **options: object) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, fmt, **options)
    return buffer.getvalue()


def _gradient(width: int = 40, height: int = 30) -> Image.Image:
    xs = np.linspace(0, 255, width, dtype=np.uint8)
    arr = np.stack([np.tile(xs, (height, 1))] * 3, axis=-1)
    arr[..., 1] = 80
    return Image.fromarray(arr)


@pytest.mark.parametrize("mode", ["L", "P", "RGBA", "CMYK", "LA", "I;16", "RGB"])
def test_modes_normalise_to_rgb(mode: str) -> None:
    image = (
        _gradient().convert(mode)
        if mode != "I;16"
        else Image.fromarray((np.tile(np.linspace(0, 65535, 40), (30, 1))).astype(np.uint16))
    )
    fmt = "PNG" if mode not in ("CMYK",) else "TIFF"
    pixels = decode_image(_encode(image, fmt))
    assert pixels.shape == (30, 40, 3)
    assert pixels.dtype == np.uint8


def test_sixteen_bit_keeps_full_range() -> None:
    image = Image.fromarray(np.tile(np.linspace(0, 65535, 40), (30, 1)).astype(np.uint16))
    pixels = decode_image(_encode(image, "PNG"))
    assert pixels[0, 0, 0] == 0 and pixels[0, -1, 0] == 255


def test_alpha_is_flattened_on_white() -> None:
    image = Image.new("RGBA", (20, 20), (255, 0, 0, 0))
    assert (decode_image(_encode(image, "PNG")) == 255).all()


def test_exif_orientation_is_applied() -> None:
    image = Image.new("RGB", (40, 20), (0, 0, 0))
    image.paste((255, 255, 255), (0, 0, 20, 20))  # left half white
    exif = Image.Exif()
    exif[0x0112] = 6  # stored rotated: display needs a 90 degree clockwise turn
    pixels = decode_image(_encode(image, "JPEG", exif=exif, quality=95))
    assert pixels.shape == (40, 20, 3)
    assert pixels[:15].mean() > 200 and pixels[25:].mean() < 50  # the white half is now on top


def test_first_frame_of_animation() -> None:
    frames = [Image.new("RGB", (20, 20), colour) for colour in ((255, 0, 0), (0, 0, 255))]
    data = _encode(frames[0], "GIF", save_all=True, append_images=frames[1:])
    assert decode_image(data)[10, 10, 0] > 200


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"", "empty file"),
        (b"this is not an image at all", "not an image"),
        (b"\x89PNG\r\n\x1a\n" + b"\x00" * 30, "image"),
    ],
)
def test_bad_bytes_raise_typed_error(data: bytes, message: str) -> None:
    with pytest.raises(InvalidImageError, match=message):
        decode_image(data, what="portrait")


def test_truncated_jpeg_is_refused() -> None:
    data = _encode(_gradient(200, 200), "JPEG")
    with pytest.raises(InvalidImageError, match="corrupt or truncated"):
        decode_image(data[: len(data) // 2])


def test_pixel_limit_checked_before_decoding() -> None:
    bomb = _encode(Image.new("1", (6000, 6000)), "PNG")  # a few KB, 36 megapixels declared
    assert len(bomb) < 50_000
    with pytest.raises(ImageTooLargeError, match="limit"):
        decode_image(bomb, max_pixels=1_000_000)


def test_tiny_images_are_refused() -> None:
    with pytest.raises(InvalidImageError, match="at least"):
        decode_image(_encode(Image.new("RGB", (8, 100)), "PNG"))


@pytest.mark.parametrize("fmt", ["png", "jpeg", "webp"])
def test_encode_roundtrip(fmt: str) -> None:
    pixels = np.asarray(_gradient())
    decoded = decode_image(encode_image(pixels, fmt))
    assert decoded.shape == pixels.shape
    assert np.abs(decoded.astype(int) - pixels).mean() < 4


def test_encode_rgba_png_keeps_alpha_and_rejects_unknown_format() -> None:
    rgba = np.zeros((20, 20, 4), np.uint8)
    rgba[..., 3] = 128
    assert Image.open(io.BytesIO(encode_image(rgba, "png"))).mode == "RGBA"
    with pytest.raises(InvalidParameterError, match="unknown output format"):
        encode_image(rgba, "bmp")


def test_format_for_path() -> None:
    from pathlib import Path

    assert format_for_path(Path("a.JPG")) == "jpeg"
    assert format_for_path(Path("a")) == "png"


def test_heic_from_phones_decodes() -> None:
    import pillow_heif

    buffer = io.BytesIO()
    pillow_heif.from_pillow(Image.new("RGB", (64, 48), (200, 10, 10))).save(buffer, quality=90)
    pixels = decode_image(buffer.getvalue())
    assert pixels.shape == (48, 64, 3)
    assert abs(int(pixels[5, 5, 0]) - 200) < 12


@pytest.mark.parametrize("mode", ["RGB", "L", "P", "RGBA", "LA", "I;16", "CMYK"])
@pytest.mark.parametrize("fmt", ["PNG", "JPEG", "TIFF"])
def test_a_photo_comes_at_working_size_whatever_its_format(mode: str, fmt: str) -> None:
    """Every worker gets the same pixels from the same bytes: `working_size` of the upright size."""
    if (fmt == "JPEG" and mode not in ("RGB", "L", "CMYK")) or (fmt == "PNG" and mode == "CMYK"):
        pytest.skip(f"{fmt} does not store {mode}")
    big = _gradient(200, 150).resize((1000, 750))
    image = (
        big.convert(mode)
        if mode != "I;16"
        else Image.fromarray(np.asarray(big.convert("L"), np.uint16) * 257)
    )
    pixels = decode_image(_encode(image, fmt), long_side=300)
    assert pixels.shape == (225, 300, 3) and pixels.dtype == np.uint8
    small = decode_image(_encode(image, fmt), long_side=2000)  # never enlarged
    assert small.shape == (750, 1000, 3)


def test_a_rotated_jpeg_photo_is_shrunk_upright_and_drafted() -> None:
    exif = Image.Exif()
    exif[0x0112] = 6  # stored sideways: 1200 wide, shown 1200 tall
    data = _encode(_gradient(1200, 400).convert("RGB"), "JPEG", exif=exif)
    assert decode_photo(data).shape == (1200, 400, 3)  # under PHOTO_SIDE: as it is
    assert decode_image(data, long_side=300).shape == (300, 100, 3)
    assert working_size(400, 1200, 300) == (100, 300)


def test_a_16bit_photo_keeps_its_range_at_working_size() -> None:
    ramp = np.tile(np.linspace(0, 65535, 800), (600, 1)).astype(np.uint16)
    pixels = decode_image(_encode(Image.fromarray(ramp), "PNG"), long_side=400)
    assert pixels.shape == (300, 400, 3)
    assert pixels[0, 0, 0] < 3 and pixels[0, -1, 0] > 252
