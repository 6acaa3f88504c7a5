"""The model cache: verified files load, missing ones name the fetch command, corrupt ones are refused."""

import hashlib
import json
import shutil
from pathlib import Path

import pytest

from shared.errors import ModelChecksumError, ModelMissingError
from shared.models import BUILTIN_MODELS, ModelStore, catalogue, fetch, model_path, status
from shared.settings import Settings


def test_catalogue_has_every_issue_model() -> None:
    names = {spec.name for spec in BUILTIN_MODELS}
    assert names == {
        "selfie-segmenter",
        "selfie-segmenter-landscape",
        "face-detector",
        "face-detector-full-range",
        "pose-detector",
        "vgg16-hed",
        "multistyle26",
        "arbitrary-predict",
        "arbitrary-transform",
    }


def test_missing_model_names_the_fetch_command(tmp_path: Path) -> None:
    with pytest.raises(ModelMissingError, match="sitter models fetch"):
        model_path("multistyle26", ModelStore(tmp_path))


def test_unknown_model(tmp_path: Path) -> None:
    with pytest.raises(ModelMissingError, match="unknown model"):
        model_path("nope", ModelStore(tmp_path))


def test_corrupt_model_is_refused_and_refetched(tmp_path: Path) -> None:
    good = model_path("arbitrary-transform")  # fetched by the test set-up
    target = tmp_path / good.name
    shutil.copy(good, target)
    assert model_path("arbitrary-transform", ModelStore(tmp_path)) == target
    target.write_bytes(good.read_bytes()[:-10] + b"0123456789")
    with pytest.raises(ModelChecksumError, match="expected"):
        model_path("arbitrary-transform", ModelStore(tmp_path))
    states = {item.spec.name: item.state for item in status(ModelStore(tmp_path))}
    assert states["arbitrary-transform"] == "corrupt" and states["multistyle26"] == "missing"


def test_user_model_from_extra_catalogue(tmp_path: Path) -> None:
    weights = tmp_path / "src" / "my_style.onnx"
    weights.parent.mkdir()
    weights.write_bytes(b"user-trained weights")
    digest = hashlib.sha256(weights.read_bytes()).hexdigest()
    extra = tmp_path / "src" / "models.json"
    extra.write_text(json.dumps([{"name": "my-style", "path": "my_style.onnx", "sha256": digest}]))
    assert "my-style" in catalogue(extra) and "my-style" not in catalogue()
    cache = tmp_path / "cache"
    store = Settings.from_env({"SITTER_MODEL_DIR": str(cache), "SITTER_MODEL_CATALOG": str(extra)}).models
    assert store == ModelStore(cache, extra)  # Settings reads both variables; nothing else does
    fetched = fetch(store, names={"my-style"}, log=lambda _line: None)
    assert fetched == [cache / "my_style.onnx"]
    assert model_path("my-style", store).read_bytes() == b"user-trained weights"
    with pytest.raises(ModelMissingError, match="unknown model"):
        model_path("my-style", ModelStore(cache))  # without the catalogue it is not a model


def test_user_model_with_wrong_checksum_is_refused(tmp_path: Path) -> None:
    (tmp_path / "bad.onnx").write_bytes(b"tampered")
    extra = tmp_path / "models.json"
    extra.write_text(json.dumps([{"name": "bad", "path": "bad.onnx", "sha256": "0" * 64}]))
    with pytest.raises(ModelChecksumError):
        fetch(ModelStore(tmp_path / "cache", extra), names={"bad"}, log=lambda _line: None)
    assert not (tmp_path / "cache" / "bad.onnx").exists()
