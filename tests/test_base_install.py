"""`pip install .` alone (numpy, pillow, pillow-heif, requests) gives a `sitter` command that starts.

The Docker image's `models` stage runs `pip install . && sitter models fetch` with no extra; a module-level
import of redis once made every command crash there. The slow tests install the wheel into a fresh venv
with only the base dependencies (pinned by docker/constraints.txt) and run the command from outside the
checkout, so nothing of the dev venv or the source tree can be imported by accident.
"""

from __future__ import annotations

import importlib.metadata
import os
import shutil
import subprocess
import sys
import tomllib
from dataclasses import dataclass
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

from sitter.cli import main
from sitter.extras import EXTRA_MODULES

ROOT = Path(__file__).resolve().parents[1]
PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())
CONSTRAINTS = ROOT / "docker" / "constraints.txt"
UP_EXTRAS = "segmenter, stylizer, compositor, worker and gateway extras"
IN_PROCESS = "segmenter, stylizer and compositor extras"


@dataclass(frozen=True)
class BaseVenv:
    """A venv with the project's wheel and its base dependencies only, and an empty model folder."""

    bin: Path
    cwd: Path
    env: dict[str, str]

    def sitter(self, *args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [str(self.bin / "sitter"), *args],
            cwd=self.cwd,
            env=self.env,
            capture_output=True,
            text=True,
            timeout=60,
        )


def _run(*args: str | Path) -> None:
    done = subprocess.run([str(arg) for arg in args], capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, f"{' '.join(map(str, args))}:\n{done.stdout}\n{done.stderr}"


def _source_copy(into: Path) -> Path:
    """The files the build reads, copied so the build neither writes build/ into the checkout nor packs
    stale modules left there by an earlier one."""
    into.mkdir()
    for name in ("pyproject.toml", "README.md"):
        shutil.copy2(ROOT / name, into / name)
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc", "*.egg-info")
    for pattern in PYPROJECT["tool"]["setuptools"]["packages"]["find"]["include"]:
        package = pattern.rstrip("*")
        shutil.copytree(ROOT / package, into / package, ignore=ignore)
    return into


@pytest.fixture(scope="module")
def base_venv(tmp_path_factory: pytest.TempPathFactory) -> BaseVenv:
    work = tmp_path_factory.mktemp("base-install")
    wheels = work / "wheels"
    # No build isolation: the dev venv's setuptools builds the wheel, so no index is needed for it.
    source = _source_copy(work / "src")
    _run(
        sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "--no-build-isolation", "-w", wheels, source
    )
    (wheel,) = wheels.glob("sitter-*.whl")
    venv = work / "venv"
    _run(sys.executable, "-m", "venv", venv)
    pip: list[str | Path] = [
        venv / "bin" / "python",
        "-m",
        "pip",
        "install",
        "-q",
        "--disable-pip-version-check",
    ]
    _run(*pip, "-c", CONSTRAINTS, wheel)  # exactly the base dependencies, at the images' versions
    models = work / "models"
    models.mkdir()
    env = {key: value for key, value in os.environ.items() if not key.startswith(("PYTHON", "SITTER_"))}
    env |= {
        "SITTER_MODEL_DIR": str(models),
        "VIRTUAL_ENV": str(venv),
        "PATH": f"{venv / 'bin'}:{env['PATH']}",
    }
    cwd = work / "elsewhere"
    cwd.mkdir()
    return BaseVenv(venv / "bin", cwd, env)


@pytest.mark.slow
def test_the_venv_has_no_extra_and_no_checkout(base_venv: BaseVenv) -> None:
    """Guards what the other tests prove: no extra's module is importable, and sitter is the wheel's."""
    modules = sorted({module for modules in EXTRA_MODULES.values() for module in modules})
    probe = (
        "import importlib.util, sitter; "
        f"print(sitter.__file__); print([m for m in {modules!r} if importlib.util.find_spec(m)])"
    )
    done = subprocess.run(
        [str(base_venv.bin / "python"), "-c", probe],
        cwd=base_venv.cwd,
        env=base_venv.env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    where, importable = done.stdout.splitlines()
    assert "site-packages" in where and not where.startswith(str(ROOT))
    assert importable == "[]"


@pytest.mark.slow
@pytest.mark.parametrize(
    "args",
    [
        ["--help"],
        ["models", "--help"],
        ["models", "fetch", "--help"],
        ["models", "list", "--help"],
        ["paintings"],
        ["styles"],
        ["submit", "--help"],
        ["blend", "--help"],
        ["eval", "composite", "--help"],
        ["bench", "--help"],
        ["train-style", "--help"],
    ],
    ids=" ".join,
)
def test_base_commands_and_every_help_run(base_venv: BaseVenv, args: list[str]) -> None:
    done = base_venv.sitter(*args)
    assert done.returncode == 0, done.stderr
    assert done.stdout and not done.stderr


@pytest.mark.slow
def test_up_help_shows_the_stacks_options_without_redis(base_venv: BaseVenv) -> None:
    done = base_venv.sitter("up", "--help")
    assert done.returncode == 0, done.stderr
    for option in ("--styles", "--port", "--broker"):
        assert option in done.stdout


@pytest.mark.slow
def test_models_list_runs_and_says_how_to_fetch(base_venv: BaseVenv) -> None:
    """The model folder is empty, so every model is missing: exit 1 by design, with the fix named."""
    done = base_venv.sitter("models", "list")
    assert done.returncode == 1, done.stderr
    assert "model(s) not verified: run `sitter models fetch`" in done.stdout
    assert not done.stderr


@pytest.mark.slow
@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["up"], f"sitter up needs the {UP_EXTRAS}"),
        (
            ["blend", "p.jpg", "--painting", "great-wave", "-o", "o.png"],
            f"sitter blend needs the {IN_PROCESS}",
        ),
        (["bench"], f"sitter bench needs the {IN_PROCESS}"),
        (
            ["eval", "segmentation", "--images", "i", "--masks", "m"],
            "sitter eval segmentation needs the segmenter extra",
        ),
        (["train-style", "great-wave", "--id", "x"], "sitter train-style needs the train extra"),
    ],
    ids=["up", "blend", "bench", "eval-segmentation", "train-style"],
)
def test_a_command_without_its_extras_names_them(base_venv: BaseVenv, args: list[str], message: str) -> None:
    done = base_venv.sitter(*args)
    assert done.returncode == 2
    assert done.stderr.startswith(f"error: {message}"), done.stderr
    assert "pip install 'sitter[" in done.stderr and "Traceback" not in done.stderr
    assert len(done.stderr.splitlines()) == 1


def test_up_help_lists_the_stacks_options(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as stopped:
        main(["up", "--help"])
    assert stopped.value.code == 0
    out = capsys.readouterr().out
    for option in ("--styles", "--port", "--broker"):
        assert option in out


def test_the_extras_table_matches_pyproject() -> None:
    """sitter.extras names import modules; pyproject names distributions. Each extra's installed
    distributions must provide its listed modules and nothing it lists may come from elsewhere."""
    declared = PYPROJECT["project"]["optional-dependencies"]
    assert set(EXTRA_MODULES) == set(declared) - {"all", "dev"}
    providers = importlib.metadata.packages_distributions()
    for extra, modules in EXTRA_MODULES.items():
        wanted = {canonicalize_name(Requirement(text).name) for text in declared[extra]}
        provided: set[str] = set()
        for module in modules:
            dists = {canonicalize_name(name) for name in providers.get(module, [])}
            assert not dists or dists & wanted, f"{extra}: {module} comes from {dists}, not {wanted}"
            provided |= dists & wanted
        installed = {name for name in wanted if _installed(name)}
        assert installed <= provided, f"{extra}: no module listed for {installed - provided}"


def _installed(name: str) -> bool:
    try:
        importlib.metadata.distribution(name)
    except importlib.metadata.PackageNotFoundError:
        return False
    return True
