"""The torch port of the arbitrary-style transformer (training/arbitrary.py) is the product's network: it
equals onnxruntime running the shipped graph without its activation quantisation to float precision, and
the shipped int8 graph within that quantisation's error (needs torch, else skipped)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image

torch = pytest.importorskip("torch")

import onnxruntime as ort  # noqa: E402

from services.stylizer.onnx_models import dynamic_size_transformer, session_options  # noqa: E402
from services.stylizer.stylizer import Stylizer  # noqa: E402
from shared import gallery  # noqa: E402
from shared.imageio import decode_image  # noqa: E402
from shared.models import model_path  # noqa: E402
from training.arbitrary import float_graph, load_arbitrary  # noqa: E402


@pytest.fixture(scope="module")
def inputs() -> tuple[np.ndarray, np.ndarray]:
    """A small photo (1xHxWx3, 0..1) and Starry Night's predicted style vector (1x1x1x100)."""
    torch.set_num_threads(1)
    photo = Image.fromarray(decode_image(gallery.SAMPLES_DIR / "grace-hopper.jpg"))
    image = np.asarray(photo.resize((76, 100), Image.Resampling.LANCZOS), dtype=np.float32)[None] / 255.0
    vector = Stylizer(threads=1).style_vector(gallery.load_painting("starry-night"))
    return image, vector.reshape(1, 1, 1, -1)


def run_graph(model: bytes, image: np.ndarray, vector: np.ndarray) -> np.ndarray:
    session = ort.InferenceSession(model, session_options(1), providers=["CPUExecutionProvider"])
    names = [item.name for item in session.get_inputs()]
    out: np.ndarray = session.run(None, {names[0]: image, names[1]: vector})[0][0]
    return out


def run_port(image: np.ndarray, vector: np.ndarray) -> np.ndarray:
    ported = load_arbitrary(model_path("arbitrary-transform"))
    with torch.no_grad():
        rgb = torch.from_numpy(np.ascontiguousarray(image.transpose(0, 3, 1, 2)))
        out = ported.net.stylize(rgb, torch.from_numpy(vector.reshape(1, -1)))
    result: np.ndarray = out[0].numpy().transpose(1, 2, 0)
    return result


def test_port_equals_the_float_graph(tmp_path: Path, inputs: tuple[np.ndarray, np.ndarray]) -> None:
    image, vector = inputs
    plain = tmp_path / "float.onnx"
    plain.write_bytes(float_graph(model_path("arbitrary-transform")))
    expected = run_graph(dynamic_size_transformer(plain), image, vector)
    actual = run_port(image, vector)
    assert actual.shape == expected.shape == (100, 76, 3)
    assert float(np.abs(actual - expected).max()) < 1e-4


def test_port_is_the_shipped_int8_graph_within_its_quantisation(
    inputs: tuple[np.ndarray, np.ndarray],
) -> None:
    image, vector = inputs
    shipped = run_graph(dynamic_size_transformer(model_path("arbitrary-transform")), image, vector)
    diff = np.abs(run_port(image, vector) - shipped)
    assert float(diff.mean()) < 0.05  # measured 0.031 here: the int8 activations' rounding, not the port


def test_port_reads_the_style_inputs_int8_range() -> None:
    ported = load_arbitrary(model_path("arbitrary-transform"))
    assert -3.0 < ported.style_low < -2.5 and 2.5 < ported.style_high < 3.0
    assert sum(p.numel() for p in ported.net.parameters()) > 100_000
    assert not any(p.requires_grad for p in ported.net.parameters())
