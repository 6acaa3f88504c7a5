"""What every deployment file must agree with in the code, and tests that these checks do catch mistakes.

The compose and Kubernetes tests use these helpers: SITTER_* variables must be Settings fields whose values
parse, container commands must name a real module or the gateway's app factory, queues must exist in
shared.queues, probes must hit routes the gateway really has.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from shared.errors import SitterError
from shared.queues import STYLIZE_QUEUE_PREFIX
from tests.helpers.deploy import (
    FRONT_COMMAND,
    GATEWAY_APP,
    GATEWAY_CONF,
    command_problems,
    consumed_queues,
    env_problems,
    front_directives,
    front_port,
    front_upstream,
    gateway_paths,
    known_queues,
    service_of,
    worker_styles,
    yaml_lint,
)

# ---- the checks catch what they are meant to catch ----


def test_env_problems_flags_unknown_names_bad_values_and_missing_redis() -> None:
    assert env_problems({"SITTER_REDIS_URL": "redis://redis:6379/0", "SITTER_STORAGE": "s3"}, "ok") == []
    problems = env_problems({"SITTER_REDIS_ULR": "x", "SITTER_TASK_TIME_LIMIT": "soon"}, "bad")
    assert any("SITTER_REDIS_ULR is not a Settings field" in problem for problem in problems)
    assert any("SITTER_REDIS_URL is not set" in problem for problem in problems)
    assert any("SITTER_TASK_TIME_LIMIT" in problem for problem in problems)


def test_command_problems_accepts_real_entry_points_only() -> None:
    assert command_problems(["python", "-m", "services.stylizer.worker", "--styles", "udnie"], "x") == []
    assert command_problems(["gunicorn", "--config", GATEWAY_CONF, GATEWAY_APP], "x") == []
    assert command_problems(["gunicorn", "--bind", "0.0.0.0:8000", GATEWAY_APP], "x")  # no keyless guard
    assert command_problems(["python", "-m", "services.painter.worker"], "x")
    assert command_problems(["gunicorn", "gateway.app:app"], "x")
    assert command_problems(["celery", "worker"], "x")
    assert command_problems(FRONT_COMMAND, "x") == [] and service_of(FRONT_COMMAND) == "front"
    assert command_problems(["nginx", "-g", "daemon off;"], "x")  # the image's default config


def test_worker_styles_expands_and_rejects_unknown_styles() -> None:
    assert worker_styles(["python", "-m", "services.stylizer.worker", "--styles", "udnie,custom"]) == [
        "udnie",
        "custom",
    ]
    stylize_queues = {queue for queue in known_queues() if queue.startswith(STYLIZE_QUEUE_PREFIX)}
    assert len(worker_styles(["python", "-m", "services.stylizer.worker"])) == len(stylize_queues)
    with pytest.raises(SitterError):
        worker_styles(["python", "-m", "services.stylizer.worker", "--styles", "picasso"])


def test_a_segmenter_serves_its_role_s_queues_in_order_and_refuses_any_other(
    capsys: pytest.CaptureFixture[str],
) -> None:
    from services.segmenter.worker import main

    segmenter = ["python", "-m", "services.segmenter.worker"]
    assert consumed_queues(segmenter) == ["preview", "segment"]
    assert consumed_queues([*segmenter, "--queues", "preview"]) == ["preview"]
    assert consumed_queues([*segmenter, "--queues", "segment"]) == ["segment"]
    for wrong in ("segment,preview", "composite", "stylize.udnie", "preview,"):
        with pytest.raises(SystemExit) as exited:
            main(["--queues", wrong, "--check"])  # refused before anything is checked or started
        assert exited.value.code == 2
        error = capsys.readouterr().err
        assert "'preview,segment', 'preview' or 'segment'" in error and f"not {wrong!r}" in error, error


def test_gateway_has_the_probe_routes() -> None:
    assert {"/healthz", "/readyz", "/metrics", "/"} <= gateway_paths()


def test_front_config_is_read_as_nginx_reads_it() -> None:
    assert front_upstream() == "127.0.0.1:8001" and front_port() == 8000
    assert front_directives()["proxy_request_buffering"] == ["on"]


def test_yaml_lint_reports_problems(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("key: value\nkey: again\nlist:\n- [1,2]\n")
    problems = yaml_lint([bad])
    assert any("duplication of key" in problem for problem in problems), problems
