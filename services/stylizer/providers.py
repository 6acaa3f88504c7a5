"""Which onnxruntime execution providers the stylizer asks for: CUDA first wherever this install has it.

The GPU image (`docker build --build-arg STYLIZER_RUNTIME=gpu`) carries onnxruntime-gpu, which lists the
CUDA provider; the CPU image's onnxruntime lists only the CPU one. The same code serves both: pass
`providers=onnx_providers()` to every `InferenceSession`, then log `running_on(session)`, because a
listed CUDA provider can still fail at run time (no driver, no GPU given to the pod) and onnxruntime then
falls back to the CPU with only a warning.
"""

from __future__ import annotations

import logging
from typing import Any

import onnxruntime as ort

log = logging.getLogger("sitter.stylizer")

PREFERRED = ("CUDAExecutionProvider", "CPUExecutionProvider")


def onnx_providers() -> list[str]:
    """The preferred providers this onnxruntime offers, best first (the CPU one is always there)."""
    available = ort.get_available_providers()
    chosen = [name for name in PREFERRED if name in available]
    log.info(
        "onnxruntime %s offers %s; asking for %s", ort.__version__, ", ".join(available), ", ".join(chosen)
    )
    return chosen


def running_on(session: Any, what: str = "stylizer") -> str:
    """The provider a created session really runs on, logged so a silent CPU fallback is visible."""
    provider: str = session.get_providers()[0]
    if provider != PREFERRED[0] and PREFERRED[0] in ort.get_available_providers():
        log.warning(
            "%s runs on %s although CUDA is installed: no usable GPU in this container", what, provider
        )
    else:
        log.info("%s runs on %s", what, provider)
    return provider
