"""Training a per-painting network on tiny data (needs torch: `pip install -e '.[train]'`, else skipped):
the loss falls, the ONNX export matches torch at other sizes, and the new style id is served in-process,
listed and accepted by the API."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from werkzeug.datastructures import MultiDict

torch = pytest.importorskip("torch")

from gateway.form import FormContext, read_form  # noqa: E402
from services.stylizer.resolve import resolve_style  # noqa: E402
from services.stylizer.stylizer import Stylizer  # noqa: E402
from services.stylizer.trained import TrainedStyle  # noqa: E402
from shared import gallery  # noqa: E402
from shared.models import ModelStore, model_path  # noqa: E402
from shared.painting_catalog import PaintingCatalog  # noqa: E402
from shared.queues import all_style_ids  # noqa: E402
from shared.settings import Settings, model_store  # noqa: E402
from sitter.cli import main  # noqa: E402
from training.export import check_export, export_onnx  # noqa: E402
from training.network import Architecture, TransformerNet  # noqa: E402
from training.train import PRESETS, Preset, train  # noqa: E402


@pytest.fixture(autouse=True)
def one_thread() -> None:
    torch.set_num_threads(1)


def tiny_preset(steps: int) -> Preset:
    return Preset(
        name="tiny",
        size=48,
        batch=2,
        steps=steps,
        lr=5e-3,
        style_layers=("conv1_2", "conv2_2"),
        content_layers=("conv2_2",),
        style_weight=5.0,
        content_weight=1.0,
        tv_weight=0.5,
        style_side=96,
        arch=Architecture(channels=(8, 16, 16), res_blocks=1, edge_kernel=3),
        checkpoint_every=10,
    )


def test_loss_falls_and_a_run_resumes_from_its_checkpoint(tmp_path: Path) -> None:
    painting = gallery.load_painting("starry-night")
    content = gallery.sample_portraits()
    lines: list[str] = []
    first = train(painting, content, tmp_path, "trained-tiny", tiny_preset(30), log=lines.append, log_every=9)
    assert first.last_loss < 0.7 * first.first_loss, lines
    assert any("steps/s" in line and "left" in line for line in lines), lines
    more = train(painting, content, tmp_path, "trained-tiny", tiny_preset(40), log=lines.append, log_every=9)
    assert any("resuming trained-tiny from step 30" in line for line in lines)
    assert len(more.losses) == 40 and more.losses[:30] == first.losses


def test_onnx_export_matches_torch_at_random_sizes(tmp_path: Path) -> None:
    net = TransformerNet(PRESETS["cpu"].arch)
    path = export_onnx(net, tmp_path / "net.onnx")
    assert check_export(net, path, seed=1) < 1e-4
    assert check_export(net, path, sizes=[(36, 20), (100, 132)]) < 1e-4


def test_train_style_command_registers_a_style_that_the_stylizer_serves(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    out, models = tmp_path / "trained", tmp_path / "models"
    monkeypatch.setenv("SITTER_TRAINED_DIR", str(out))
    code = main(
        [
            "--model-dir",
            str(models),
            "train-style",
            "great-wave",
            "--id",
            "tiny-wave",
            "--steps",
            "4",
            "--size",
            "48",
            "--threads",
            "1",
            "--out",
            str(out),
            "--work-dir",
            str(tmp_path / "work"),
            "--keep-anyway",  # 4 steps do not beat the arbitrary network
            "--eval-photos",  # photos it trained on: not compared on (the comparison has its own tests)
            str(gallery.SAMPLES_DIR),
        ]
    )
    printed = capsys.readouterr().out
    assert code == 0, printed
    assert "ONNX vs torch max diff" in printed and "registered trained-tiny-wave" in printed
    assert "no comparison: no photo in" in printed  # every photo of that folder was trained on
    store = model_store(models)  # SITTER_TRAINED_DIR, read by Settings
    assert store.trained_dir == out
    style = store.trained_styles()["trained-tiny-wave"]
    assert style.painting == "great-wave" and style.training["steps"] == 4
    assert model_path("trained-tiny-wave", store).is_file()  # verified copy in the model cache

    assert "trained-tiny-wave" in all_style_ids(list(gallery.paintings()), store.trained_style_ids())
    asked = MultiDict({"painting": "starry-night", "style": "trained-tiny-wave"})
    context = FormContext(Settings(), store.trained_style_ids(), PaintingCatalog(None))
    assert read_form(asked, [b"a photo"], None, context).style == "trained-tiny-wave"  # the API takes it
    assert main(["styles"]) == 0 and "trained-tiny-wave" in capsys.readouterr().out
    assert "trained-tiny-wave" not in ModelStore(models).trained_styles()  # without the directory: unknown

    stylizer = Stylizer(store, threads=1)
    spec = resolve_style("trained-tiny-wave", stylizer)
    assert isinstance(spec, TrainedStyle)
    photo = np.asarray(Image.open(gallery.SAMPLES_DIR / "grace-hopper.jpg").convert("RGB").resize((75, 101)))
    out_image = stylizer.stylize(photo, spec, max_size=128)
    assert out_image.shape == photo.shape and out_image.dtype == np.uint8
    assert np.array_equal(stylizer.stylize(photo, spec, strength=0.0), photo)
