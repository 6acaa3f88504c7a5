"""Stylizer core, real ONNX models, small images: shapes, strength, colours, blends, parsing,
style vectors, and the size-free arbitrary transformer (sharper than 384-and-upscale)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import onnx
import pytest
from PIL import Image

from services.stylizer.onnx_models import dynamic_size_transformer, kept_dynamic_transformer
from services.stylizer.resolve import resolve_style
from services.stylizer.styles import BuiltinStyle, ImageStyle, parse_builtin
from services.stylizer.stylizer import MAX_STYLE_CROPS, Stylizer, _covering_squares
from shared import gallery
from shared.builtin_styles import builtin_styles
from shared.errors import InvalidImageError, InvalidParameterError, SitterError, UnknownStyleError
from shared.imageio import decode_image
from shared.models import catalogue, model_path, sha256_of
from sitter.baseline_384 import stylize_at_384
from sitter.sharpness import sharpness


@pytest.fixture(scope="module")
def stylizer() -> Stylizer:
    return Stylizer(threads=2)


def portrait(width: int, height: int) -> np.ndarray:
    """The bundled portrait, resized to exactly width x height (aspect kept by cropping the bottom)."""
    photo = decode_image(gallery.SAMPLES_DIR / "obama-portrait.jpg")
    crop_h = min(photo.shape[0], round(photo.shape[1] * height / width))
    image = Image.fromarray(photo[:crop_h]).resize((width, height), Image.Resampling.LANCZOS)
    return np.asarray(image)


@pytest.fixture(scope="module")
def small() -> np.ndarray:
    return portrait(150, 201)  # odd sizes: not multiples of the networks' stride


@pytest.fixture(scope="module")
def starry(stylizer: Stylizer) -> ImageStyle:
    style = resolve_style("starry-night", stylizer)
    assert isinstance(style, ImageStyle)
    return style


def mean_abs(a: np.ndarray, b: np.ndarray) -> float:
    return float(np.abs(a.astype(np.float32) - b.astype(np.float32)).mean())


def chroma(rgb: np.ndarray) -> np.ndarray:
    return np.asarray(Image.fromarray(rgb).convert("YCbCr"), dtype=np.float32)[..., 1:]


@pytest.mark.parametrize("kind", ["builtin", "image"])
def test_output_is_uint8_rgb_at_the_working_size(
    stylizer: Stylizer, small: np.ndarray, starry: ImageStyle, kind: str
) -> None:
    style = parse_builtin("builtin-7") if kind == "builtin" else starry
    out = stylizer.stylize(small, style)
    assert out.shape == small.shape and out.dtype == np.uint8
    assert mean_abs(out, small) > 15  # really restyled
    capped = stylizer.stylize(small, style, max_size=100)
    assert capped.shape == (100, 75, 3)


@pytest.mark.parametrize("kind", ["builtin", "image"])
def test_strength_goes_from_the_photo_to_the_full_style(
    stylizer: Stylizer, small: np.ndarray, starry: ImageStyle, kind: str
) -> None:
    style = parse_builtin("builtin-7") if kind == "builtin" else starry
    distance = [mean_abs(stylizer.stylize(small, style, strength=s), small) for s in (0.0, 0.5, 1.0)]
    assert distance[0] < 1.0
    assert distance[0] < distance[1] < distance[2]


@pytest.mark.parametrize("kind", ["builtin", "image"])
def test_keep_colors_keeps_the_photo_chroma(
    stylizer: Stylizer, small: np.ndarray, starry: ImageStyle, kind: str
) -> None:
    style = parse_builtin("builtin-3") if kind == "builtin" else starry
    restyled = stylizer.stylize(small, style)
    kept = stylizer.stylize(small, style, keep_colors=True)
    assert mean_abs(chroma(kept), chroma(small)) < 2.0 < mean_abs(chroma(restyled), chroma(small))
    luma = np.asarray(Image.fromarray(restyled).convert("L"), dtype=np.float32)
    assert mean_abs(np.asarray(Image.fromarray(kept).convert("L")), luma) < 3.0  # strokes stay


def test_a_blend_differs_from_each_component(stylizer: Stylizer, small: np.ndarray) -> None:
    blend = stylizer.stylize(small, parse_builtin("builtin-3@0.6,builtin-12@0.4"))
    for component in ("builtin-3", "builtin-12"):
        assert mean_abs(blend, stylizer.stylize(small, parse_builtin(component))) > 5


def test_parse_builtin_forms() -> None:
    assert np.array_equal(parse_builtin("builtin-7").weights, parse_builtin("builtin:7").weights)
    assert parse_builtin("builtin-7").weights[7] == 1.0
    blend = parse_builtin(" builtin-3@3, builtin:12@1 ")
    assert blend.weights[3] == pytest.approx(0.75) and blend.weights[12] == pytest.approx(0.25)
    assert blend.weights.sum() == pytest.approx(1.0) and blend.weights.shape == (26,)


@pytest.mark.parametrize(
    ("spec", "error", "words"),
    [
        ("builtin-26", UnknownStyleError, "0..25"),
        ("builtin--1", UnknownStyleError, "whole number"),
        ("builtin-x", UnknownStyleError, "whole number"),
        ("builtin-3@abc", InvalidParameterError, "no number"),
        ("builtin-3@-1", InvalidParameterError, ">= 0"),
        ("builtin-3@nan", InvalidParameterError, "finite"),
        ("builtin-3@0,builtin-4@0", InvalidParameterError, "all zero"),
        ("builtin-3,,builtin-4", InvalidParameterError, "blend"),
        ("builtin-3,starry-night", UnknownStyleError, "builtin-N"),
    ],
)
def test_parse_builtin_rejects_bad_specs(spec: str, error: type[Exception], words: str) -> None:
    with pytest.raises(error, match=words):
        parse_builtin(spec)


def test_style_specs_validate_their_arrays() -> None:
    with pytest.raises(InvalidParameterError):
        BuiltinStyle(np.ones(25, dtype=np.float32))
    with pytest.raises(InvalidParameterError):
        ImageStyle(np.zeros(99, dtype=np.float32))
    assert BuiltinStyle(np.full(26, 2.0)).weights.sum() == pytest.approx(1.0)


def test_stylize_validates_its_arguments(stylizer: Stylizer, small: np.ndarray) -> None:
    style = parse_builtin("builtin-0")
    for strength in (-0.1, 1.5, float("nan")):
        with pytest.raises(InvalidParameterError, match="strength"):
            stylizer.stylize(small, style, strength=strength)
    with pytest.raises(InvalidParameterError, match="max_size"):
        stylizer.stylize(small, style, max_size=8)
    with pytest.raises(InvalidImageError):
        stylizer.stylize(small.astype(np.float32), style)
    with pytest.raises(InvalidImageError):
        stylizer.stylize(small[:8], style)


def test_style_vector_describes_the_image(stylizer: Stylizer) -> None:
    wave = stylizer.style_vector(gallery.load_painting("great-wave"))
    assert wave.shape == (100,) and wave.dtype == np.float32
    assert np.array_equal(wave, stylizer.style_vector(gallery.load_painting("great-wave")))
    starry = stylizer.style_vector(gallery.load_painting("starry-night"))
    assert np.linalg.norm(wave - starry) > 0.1 * np.linalg.norm(wave)


def test_resolve_style_accepts_every_kind(stylizer: Stylizer, tmp_path: Path) -> None:
    painting = gallery.load_painting("udnie")
    own = resolve_style("painting", stylizer, painting)
    by_id = resolve_style("udnie", stylizer)
    assert isinstance(own, ImageStyle) and isinstance(by_id, ImageStyle)
    assert np.allclose(own.vector, by_id.vector)
    again = resolve_style("udnie", stylizer)
    assert isinstance(again, ImageStyle) and np.shares_memory(again.vector, by_id.vector)  # cached
    blend = resolve_style("builtin-3@0.5,builtin:4@0.5", stylizer)
    assert isinstance(blend, BuiltinStyle) and blend.weights[4] == pytest.approx(0.5)
    path = tmp_path / "style.png"
    Image.fromarray(painting).save(path)
    from_file = resolve_style(str(path), stylizer)
    assert isinstance(from_file, ImageStyle) and np.allclose(from_file.vector, own.vector, atol=0.05)


def test_resolve_style_rejects_what_it_cannot_name(stylizer: Stylizer) -> None:
    with pytest.raises(UnknownStyleError, match=r"builtin-0\.\.builtin-25") as caught:
        resolve_style("picasso", stylizer)
    assert "starry-night" in caught.value.message and "path" in caught.value.message
    with pytest.raises(InvalidParameterError, match="target painting"):
        resolve_style("painting", stylizer)
    with pytest.raises(UnknownStyleError):
        resolve_style("builtin-99", stylizer)


def test_transformer_runs_at_any_size_and_keeps_the_model_file(
    stylizer: Stylizer, starry: ImageStyle
) -> None:
    for width, height in ((150, 201), (260, 130)):
        out = stylizer.stylize(portrait(width, height), starry)
        assert out.shape == (height, width, 3)
    spec = catalogue()["arbitrary-transform"]
    assert sha256_of(model_path("arbitrary-transform")) == spec.sha256


def test_full_resolution_is_sharper_than_384_and_upscale(stylizer: Stylizer, starry: ImageStyle) -> None:
    photo = portrait(450, 600)
    ours = stylizer.stylize(photo, starry)
    baseline = stylize_at_384(stylizer, photo, starry)
    assert ours.shape == baseline.shape == photo.shape
    face = (slice(40, 300), slice(110, 340))
    assert sharpness(ours[face]) > 3 * sharpness(baseline[face])
    # same painting, same photo: the colours agree, only the detail differs
    assert np.abs(ours.mean(axis=(0, 1)) - baseline.mean(axis=(0, 1))).max() < 12


def test_stylized_borders_match_the_interior(stylizer: Stylizer, starry: ImageStyle) -> None:
    """Stride padding and the network's own mirror padding leave no frame along the edges."""
    out = stylizer.stylize(portrait(203, 257), starry).astype(np.float32)
    step = np.abs(np.diff(out, axis=0)).mean(axis=(1, 2))  # row-to-row change
    assert step[-1] < 2.5 * np.median(step) and step[0] < 2.5 * np.median(step)
    step = np.abs(np.diff(out, axis=1)).mean(axis=(0, 2))
    assert step[-1] < 2.5 * np.median(step) and step[0] < 2.5 * np.median(step)


def test_sharpness_drops_with_blur() -> None:
    photo = portrait(200, 200)
    blurred = np.asarray(Image.fromarray(photo).resize((50, 50)).resize((200, 200), Image.Resampling.BICUBIC))
    assert sharpness(blurred) < 0.5 * sharpness(photo)


def test_builtin_catalogue_has_a_label_and_thumbnail_for_each_style() -> None:
    styles = builtin_styles()
    assert [s.id for s in styles] == [f"builtin-{i}" for i in range(26)]
    assert len({s.label for s in styles}) == 26
    for style in styles:
        assert style.thumbnail.is_file()
        with Image.open(style.thumbnail) as thumb:
            assert thumb.format == "JPEG" and max(thumb.size) <= 256
        assert parse_builtin(style.id).weights[style.index] == 1.0


def test_only_the_known_transformer_export_is_made_size_free() -> None:
    """Another network (here the 26-style one, NCHW with symbolic dims) is refused, not silently reshaped."""
    with pytest.raises(SitterError, match="384"):
        dynamic_size_transformer(model_path("multistyle26"))
    graph = onnx.load_from_string(dynamic_size_transformer(model_path("arbitrary-transform"))).graph
    dims = [
        [d.dim_param or d.dim_value for d in t.type.tensor_type.shape.dim]
        for t in (graph.input[0], graph.output[0])
    ]
    assert dims == [[1, "h", "w", 3], [1, "h", "w", 3]]


def test_the_size_free_transformer_is_kept_and_a_damaged_copy_rewritten(tmp_path: Path) -> None:
    """The CLI skips the onnx import (~0.6 s) once a checked copy is kept; a copy whose bytes do not match
    its checksum is rewritten, and where nothing can be kept the graph is still returned."""
    model = tmp_path / "arbitrary_transform.onnx"
    model.write_bytes(model_path("arbitrary-transform").read_bytes())
    expected = dynamic_size_transformer(model)
    assert kept_dynamic_transformer(model) == expected
    (kept,) = (tmp_path / "derived").glob("*.onnx")
    kept.write_bytes(expected[:-1] + b"x")
    assert kept_dynamic_transformer(model) == expected and kept.read_bytes() == expected
    blocked = tmp_path / "blocked"
    blocked.mkdir()
    (blocked / model.name).write_bytes(model.read_bytes())
    (blocked / "derived").write_text("not a directory")  # nowhere to keep it: rewritten every time
    assert kept_dynamic_transformer(blocked / model.name) == expected


def test_style_crops_cover_the_painting_and_stay_few() -> None:
    assert _covering_squares(300, 300) == [(0, 0, 300, 300)]
    wide = _covering_squares(300, 400)
    assert len(wide) == 2 and wide[0][0] == 0 and wide[-1][2] == 400
    tall = _covering_squares(1000, 300)
    assert len(tall) == 4 and tall[0][1] == 0 and tall[-1][3] == 1000
    strip = _covering_squares(16, 5000)
    assert len(strip) == MAX_STYLE_CROPS and strip[-1][2] == 5000
