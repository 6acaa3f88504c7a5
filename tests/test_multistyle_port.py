"""The torch port of the 26-style network (training/multistyle.py) is the product's network: it equals
onnxruntime running the shipped `multistyle26.onnx` to float precision, for one built-in style and for a mix,
and a single style (`OneStyle`, what route (b) trains) started from a row is that row (needs torch, else
skipped)."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

torch = pytest.importorskip("torch")

import onnxruntime as ort  # noqa: E402

from shared import gallery  # noqa: E402
from shared.imageio import decode_image  # noqa: E402
from shared.models import model_path  # noqa: E402
from training.multistyle import LAYERS, STYLES, OneStyle, load_multistyle  # noqa: E402

TOLERANCE = 1e-4  # measured 1.3e-6 (one row) and 2.4e-6 (a random mix) on 100x76


@pytest.fixture(scope="module")
def image() -> np.ndarray:
    """A small photo, 1x3xHxW RGB 0..1 (H, W multiples of 4, as the stylizer pads to)."""
    torch.set_num_threads(1)
    photo = Image.fromarray(decode_image(gallery.SAMPLES_DIR / "grace-hopper.jpg"))
    rgb = np.asarray(photo.resize((76, 100), Image.Resampling.LANCZOS), dtype=np.float32) / 255.0
    return np.ascontiguousarray(rgb.transpose(2, 0, 1)[None])


def run_graph(image: np.ndarray, weights: np.ndarray) -> np.ndarray:
    session = ort.InferenceSession(str(model_path("multistyle26")), providers=["CPUExecutionProvider"])
    out: np.ndarray = session.run(None, {"image": image, "style_weights": weights})[0]
    return out


@pytest.mark.parametrize("which", ["one row", "a mix"])
def test_port_equals_onnxruntime(image: np.ndarray, which: str) -> None:
    rng = np.random.default_rng(3)
    weights = np.eye(STYLES, dtype=np.float32)[19] if which == "one row" else rng.dirichlet(np.ones(STYLES))
    weights = weights.astype(np.float32)
    expected = run_graph(image, weights)
    net = load_multistyle(model_path("multistyle26"))
    with torch.no_grad():
        actual = net.stylize(torch.from_numpy(image), torch.from_numpy(weights)).numpy()
        single = OneStyle(net, weights)(torch.from_numpy(image)).numpy()
    assert actual.shape == expected.shape == (1, 3, 100, 76)
    assert float(np.abs(actual - expected).max()) < TOLERANCE
    assert float(np.abs(single - expected).max()) < TOLERANCE


def test_port_is_frozen_and_a_style_is_its_gamma_and_beta_alone() -> None:
    net = load_multistyle(model_path("multistyle26"))
    assert net.eps == pytest.approx(1e-5)
    assert not any(p.requires_grad for p in net.parameters())
    assert (
        sum(p.numel() for p in net.parameters()) == 140_364
    )  # the convolutions (the 26-row tables are buffers)
    style = OneStyle(net, np.full(STYLES, 1.0 / STYLES, np.float32))
    trainable = [p for p in style.parameters() if p.requires_grad]
    assert sum(p.numel() for p in trainable) == 2 * sum(cout for _, _, cout, _, _ in LAYERS) == 990
    gamma, _ = net.table("res.3.0")
    assert torch.allclose(style.gamma["res_3_0"], gamma.mean(dim=0))
