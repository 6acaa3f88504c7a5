"""Route (b) of issue 24: a new style for the 26-style network (training/cin.py): a few steps lower the loss
and change only gamma and beta, the ONNX export runs in onnxruntime and equals torch, and `sitter
train-style --from cin` trains, exports, compares and registers only with --keep-anyway (needs torch, else
skipped)."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

torch = pytest.importorskip("torch")

from services.stylizer.resolve import resolve_style  # noqa: E402
from services.stylizer.stylizer import Stylizer  # noqa: E402
from services.stylizer.trained import TrainedStyle  # noqa: E402
from shared import gallery  # noqa: E402
from shared.models import model_path  # noqa: E402
from shared.settings import model_store  # noqa: E402
from shared.trained import NETWORK  # noqa: E402
from sitter.cli import main  # noqa: E402
from training.cin import CinPreset, StyleLoss, train_cin  # noqa: E402
from training.export import check_export, export_onnx  # noqa: E402
from training.multistyle import OneStyle, load_multistyle  # noqa: E402
from training.vector import Photo, Region, placed_sample, region_boxes  # noqa: E402

CONTENT = Path(__file__).resolve().parent.parent / "training" / "data" / "content"


@pytest.fixture(autouse=True)
def one_thread() -> None:
    torch.set_num_threads(1)


def tiny(steps: int) -> CinPreset:
    return CinPreset(
        name="tiny",
        size=64,
        batch=1,
        steps=steps,
        lr=0.05,
        style_layers=("conv1_1", "conv2_1"),
        content_layers=("conv2_2",),
        style_weight=1.0,
        content_weight=1.0,
        face_weight=2.0,
        style_side=128,
        probes=1,
        checkpoint_every=4,
    )


def test_steps_lower_the_loss_change_only_gamma_beta_resume_and_export(tmp_path: Path) -> None:
    painting = gallery.load_painting("great-wave")
    rgb = np.asarray(Image.open(CONTENT / "model_face.jpg").convert("RGB").resize((72, 96)))
    photo = Photo(rgb, (20, 20, 52, 56))
    x0, y0, x1, y1 = region_boxes(*painting.shape[:2])[0]
    regions = [Region(painting[y0:y1, x0:x1], np.zeros(100, np.float32))]
    placed = [placed_sample(photo, 1.0, 0, 2.0)]  # one sample: every step sees the same loss
    multistyle = model_path("multistyle26")
    lines: list[str] = []
    result = train_cin(
        [photo], regions, tmp_path, "trained-t", tiny(8), multistyle, placed=placed, log=lines.append
    )
    assert any(line.startswith("starting from built-in style") for line in lines)
    assert len(result.start_losses) == 26 and result.start[int(np.argmin(result.start_losses))] == 1.0

    loss = StyleLoss(regions, tiny(8), torch.device("cpu"))
    fresh = load_multistyle(multistyle)
    sample = (placed[0].rgb[None], placed[0].weight[None], placed[0].matte[None], torch.tensor([0]))
    with torch.no_grad():
        before = float(loss.total(*loss(OneStyle(fresh, result.start), *sample)))
        after = float(loss.total(*loss(result.model, *sample)))
    assert after < before, (before, after)
    trunk = result.model.trunk
    for name, param in fresh.state_dict().items():  # the convolutions and the 26-row tables: untouched
        assert torch.equal(param, trunk.state_dict()[name]), name
    start = OneStyle(fresh, result.start)
    moved = [
        not torch.allclose(result.model.gamma[k], start.gamma[k])
        or not torch.allclose(result.model.beta[k], start.beta[k])
        for k in start.gamma
    ]
    assert all(moved)

    more = train_cin(
        [photo], regions, tmp_path, "trained-t", tiny(10), multistyle, placed=placed, log=lines.append
    )
    assert any("resuming trained-t from step 8" in line for line in lines)
    assert more.losses[:8] == result.losses and len(more.losses) == 10

    path = export_onnx(more.model, tmp_path / "t.onnx")
    assert check_export(more.model, path, sizes=[(64, 48), (100, 76)]) < 1e-4  # onnxruntime vs torch


def test_train_style_from_cin_compares_then_registers_only_with_keep_anyway(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    out, models, content, evals = (tmp_path / name for name in ("trained", "models", "content", "evals"))
    monkeypatch.setenv("SITTER_TRAINED_DIR", str(out))
    content.mkdir()
    evals.mkdir()
    shutil.copy(CONTENT / "model_face.jpg", content / "model_face.jpg")
    photo = Image.open(gallery.SAMPLES_DIR / "grace-hopper.jpg").convert("RGB")
    photo.resize((172, 202), Image.Resampling.LANCZOS).save(evals / "held-out.jpg")
    store = model_store(None)
    models.mkdir()
    for source in store.directory.iterdir():
        (models / source.name).symlink_to(source)
    command = [
        "--model-dir", str(models), "train-style", "great-wave", "--id", "tiny-cin",
        "--from", "cin", "--steps", "2", "--size", "64", "--threads", "1", "--out", str(out),
        "--work-dir", str(tmp_path / "w"), "--content", str(content),
        "--eval-photos", str(evals), "--eval-limit", "1",
    ]  # fmt: skip
    code = main(command)
    printed = capsys.readouterr().out
    assert "as a new style of the 26-style network" in printed and "ONNX vs torch max diff" in printed
    assert "comparing trained-tiny-cin with the arbitrary network on 1 held-out photo" in printed
    if code == 1:
        assert "not registered" in printed and not (out / "trained.json").exists()
        assert main([*command, "--keep-anyway"]) == 0
        printed = capsys.readouterr().out
    assert "registered trained-tiny-cin" in printed

    store = model_store(models)
    style = store.trained_styles()["trained-tiny-cin"]
    assert style.kind == NETWORK and style.file == "tiny-cin.onnx" and style.training["route"] == "cin"
    stylizer = Stylizer(store, threads=1)
    spec = resolve_style("trained-tiny-cin", stylizer)
    assert isinstance(spec, TrainedStyle) and spec.vector is None  # a network of its own, served as such
    small = np.asarray(photo.resize((75, 101)))
    painted = stylizer.stylize(small, spec, max_size=128)
    assert painted.shape == small.shape and not np.array_equal(painted, small)
