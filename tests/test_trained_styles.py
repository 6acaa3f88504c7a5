"""The shipped per-painting networks (shared/data/trained/trained.json), without torch: each file matches its
catalogued sha256, belongs to a gallery painting, and is served by the stylizer with the usual semantics."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from gateway.app import create_app
from services.stylizer.resolve import resolve_style
from services.stylizer.stylizer import Stylizer
from services.stylizer.trained import TrainedStyle, parse_trained
from services.stylizer.worker import checker, expand_styles
from shared import gallery
from shared.errors import UnknownStyleError
from shared.imageio import decode_image
from shared.models import catalogue, model_path, sha256_of
from shared.queues import is_style_id, stylize_queue
from shared.settings import Settings
from shared.trained import TRAINED_DIR, register, trained_style_ids, trained_styles
from sitter.cli import main

SHIPPED = sorted(style_id for style_id, style in trained_styles().items() if style.directory == TRAINED_DIR)
MAX_SHIPPED_BYTES = 30_000_000


@pytest.fixture(scope="module")
def stylizer() -> Stylizer:
    return Stylizer(threads=1)


@pytest.fixture(scope="module")
def photo() -> np.ndarray:
    image = Image.fromarray(decode_image(gallery.SAMPLES_DIR / "grace-hopper.jpg"))
    return np.asarray(image.resize((150, 177), Image.Resampling.LANCZOS))  # sides not multiples of 4


def test_shipped_networks_are_catalogued_verified_and_small() -> None:
    total = 0
    for style_id in SHIPPED:
        style = trained_styles()[style_id]
        assert is_style_id(style_id) and stylize_queue(style_id) == f"stylize.{style_id}"
        assert style.painting in gallery.paintings()
        assert sha256_of(style.path) == style.sha256 == catalogue()[style_id].sha256
        assert sha256_of(model_path(style_id)) == style.sha256  # the verified copy in the model cache
        total += style.path.stat().st_size
    assert total <= MAX_SHIPPED_BYTES


@pytest.mark.parametrize("style_id", SHIPPED)
def test_stylizer_serves_each_shipped_network(stylizer: Stylizer, photo: np.ndarray, style_id: str) -> None:
    spec = resolve_style(style_id, stylizer)
    assert isinstance(spec, TrainedStyle)
    full = stylizer.stylize(photo, spec)
    assert full.shape == photo.shape and full.dtype == np.uint8
    assert np.abs(full.astype(int) - photo).mean() > 10  # it does repaint the photo
    half = stylizer.stylize(photo, spec, strength=0.5)
    assert np.abs(half.astype(int) - (photo.astype(int) + full) / 2).max() <= 1
    kept = stylizer.stylize(photo, spec, keep_colors=True)
    chroma = np.asarray(Image.fromarray(kept).convert("YCbCr"), dtype=np.float32)[..., 1:]
    own = np.asarray(Image.fromarray(photo).convert("YCbCr"), dtype=np.float32)[..., 1:]
    assert np.abs(chroma - own).mean() < 3
    assert expand_styles([style_id], trained_style_ids()) == [style_id]
    checker([style_id])(Settings.from_env())


def test_unknown_trained_style_is_refused() -> None:
    with pytest.raises(UnknownStyleError, match="trained-nope"):
        parse_trained("trained-nope")


def test_train_style_without_torch_names_the_extra(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setitem(sys.modules, "torch", None)  # as in a worker image: import torch fails
    assert main(["train-style", "starry-night", "--id", "x"]) == 2
    assert "pip install -e '.[train]'" in capsys.readouterr().err


def test_a_trained_dir_is_read_by_settings_alone_and_reaches_every_reader(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    shipped = trained_styles()[SHIPPED[0]]
    onnx = tmp_path / "mine.onnx"
    onnx.write_bytes(shipped.path.read_bytes())
    measured = {  # as sitter train-style records it (training/compare.py's Comparison.as_dict)
        "photos": ["a.jpg", "b.jpg"],
        "arbitrary": {"style_ratio": 0.6, "legibility": 0.5},
        "trained": {"style_ratio": 0.48, "legibility": 0.52},
        "wins": True,
    }
    register(
        tmp_path,
        {
            "id": "mine",
            "painting": shipped.painting,
            "file": onnx.name,
            "sha256": shipped.sha256,
            "comparison": measured,
        },
    )
    monkeypatch.setenv("SITTER_TRAINED_DIR", str(tmp_path))
    assert "trained-mine" not in trained_styles()  # shared.trained reads no environment
    settings = Settings.from_env({**os.environ, "SITTER_REDIS_URL": "redis://127.0.0.1:9/0"})
    store = settings.models
    assert settings.trained_dir == store.trained_dir == tmp_path
    assert (
        "trained-mine" in store.trained_style_ids()
        and store.catalogue()["trained-mine"].path == onnx.resolve()
    )
    assert expand_styles(["trained-mine"], store.trained_style_ids()) == ["trained-mine"]  # the worker
    assert parse_trained("trained-mine", store) == TrainedStyle("trained-mine")  # the stylizer
    with pytest.raises(UnknownStyleError):
        parse_trained("trained-mine")  # the shipped networks alone
    listed = create_app(settings).test_client().get("/v1/styles").get_json()["styles"]  # the gateway
    mine = next(item for item in listed if item["id"] == "trained-mine")
    assert mine["kind"] == "trained" and mine["queue"] == "stylize.trained-mine"
    assert mine["network"] == "network" and mine["versus_arbitrary"] == {
        "style_ratio": 0.48,
        "arbitrary_style_ratio": 0.6,
        "ratio": 0.8,
        "legibility": 0.52,
        "arbitrary_legibility": 0.5,
        "photos": 2,
        "wins": True,
    }
    unmeasured = next(item for item in listed if item["id"] == SHIPPED[0])
    assert unmeasured["versus_arbitrary"] is None
