"""services/stylizer/providers.py: the CUDA provider is preferred where installed, and the real one is logged.

Here (CPU onnxruntime) the CPU provider is the only choice; an install that offers CUDA is simulated by
onnxruntime's list of available providers, since no GPU machine runs this suite.
"""

from __future__ import annotations

import logging

import onnxruntime as ort
import pytest

from services.stylizer import providers
from shared.models import model_path


def test_cpu_install_asks_for_the_cpu_provider_and_says_so(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger="sitter.stylizer")
    assert providers.onnx_providers() == ["CPUExecutionProvider"]
    assert "asking for CPUExecutionProvider" in caplog.text


def test_cuda_comes_first_when_the_install_offers_it(monkeypatch: pytest.MonkeyPatch) -> None:
    offered = ["TensorrtExecutionProvider", "CUDAExecutionProvider", "CPUExecutionProvider"]
    monkeypatch.setattr(ort, "get_available_providers", lambda: offered)
    assert providers.onnx_providers() == ["CUDAExecutionProvider", "CPUExecutionProvider"]


def test_a_real_session_reports_its_provider(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger="sitter.stylizer")
    session = ort.InferenceSession(str(model_path("multistyle26")), providers=providers.onnx_providers())
    assert providers.running_on(session, "multistyle26") == "CPUExecutionProvider"
    assert "multistyle26 runs on CPUExecutionProvider" in caplog.text


def test_a_cpu_fallback_on_a_cuda_install_is_a_warning(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    session = ort.InferenceSession(str(model_path("multistyle26")), providers=["CPUExecutionProvider"])
    monkeypatch.setattr(
        ort, "get_available_providers", lambda: ["CUDAExecutionProvider", "CPUExecutionProvider"]
    )
    assert providers.running_on(session) == "CPUExecutionProvider"
    assert any(record.levelno == logging.WARNING for record in caplog.records)
