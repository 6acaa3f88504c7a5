"""Reading the gateway's Prometheus text."""

from __future__ import annotations

import re

STAGE_COUNT = re.compile(r'^sitter_stage_duration_seconds_count\{stage="(\w+)"\} (\S+)$', re.M)


def stage_runs(metrics_text: str) -> dict[str, float]:
    """Completed runs per stage from the Prometheus text: a stage done twice for one job counts twice."""
    return {stage: float(count) for stage, count in STAGE_COUNT.findall(metrics_text)}
