"""shared.worker_models: the one list of each worker service's models, what `sitter models export` puts in
its image, and what the worker's `--check` verifies, including the trained networks of its styles."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from services.stylizer.worker import checker, expand_styles
from shared.errors import ModelMissingError
from shared.models import ModelStore, catalogue
from shared.settings import Settings
from shared.trained import trained_styles
from shared.worker_models import image_models, worker_models


def test_a_stylizer_serving_trained_styles_needs_their_networks() -> None:
    assert "trained-starry-night" in worker_models("stylizer", ["starry-night", "trained-starry-night"])
    assert not [name for name in worker_models("stylizer", ["starry-night"]) if name.startswith("trained-")]
    assert worker_models("segmenter", ["trained-starry-night"]) == worker_models("segmenter")
    with pytest.raises(ValueError, match="unknown worker service"):
        worker_models("painter")


def test_the_stylizer_image_carries_what_a_worker_serving_every_style_checks() -> None:
    every = expand_styles(["all"], list(trained_styles()))
    assert set(worker_models("stylizer", every)) == set(image_models("stylizer"))
    assert {style.style_id for style in trained_styles().values()} <= set(image_models("stylizer"))


@pytest.mark.parametrize("service", ["segmenter", "stylizer", "compositor"])
def test_export_copies_exactly_the_image_models_and_the_check_passes_on_them(
    service: str, tmp_path: Path
) -> None:
    into = tmp_path / service
    command = [sys.executable, "-m", "sitter.cli", "models", "export", service, str(into)]
    done = subprocess.run(command, capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stderr
    specs = catalogue()
    assert sorted(path.name for path in into.iterdir()) == sorted(
        specs[name].filename for name in image_models(service)
    )
    if service == "stylizer":  # a gallery stylizer, trained styles included, checks fine on exactly those
        settings = Settings.from_env({"SITTER_MODEL_DIR": str(into)})
        checker(expand_styles(["all"], list(trained_styles())))(settings)
        (into / "trained-starry-night.onnx").unlink()
        with pytest.raises(ModelMissingError, match="trained-starry-night"):
            checker(["trained-starry-night"])(settings)


def test_export_of_a_missing_model_fails_and_names_it(tmp_path: Path) -> None:
    from shared.worker_models import export

    with pytest.raises(ModelMissingError, match="not in"):
        export("segmenter", ModelStore(directory=tmp_path / "empty"), tmp_path / "out")
