"""All configuration, read from SITTER_* environment variables once, at each entry point, and passed down.

Pure image code never reads settings; the CLI, the gateway and the workers build one `Settings` and hand
the values they need to the cores.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from pathlib import Path

from shared.errors import SitterError
from shared.models import default_model_dir


def _env_list(value: str) -> tuple[str, ...]:
    return tuple(item.strip() for item in value.split(",") if item.strip())


@dataclass(frozen=True)
class Settings:
    """Every knob Sitter has; the env var of field `foo_bar` is SITTER_FOO_BAR."""

    redis_url: str = "redis://127.0.0.1:6379/0"
    broker_url: str = ""  # defaults to redis_url
    result_backend: str = ""  # defaults to redis_url
    storage: str = "redis"  # "redis" or "s3"
    s3_bucket: str = "sitter"
    s3_prefix: str = "jobs/"
    s3_endpoint_url: str = ""  # e.g. http://minio:9000 for MinIO
    model_dir: Path = field(default_factory=default_model_dir)
    retention_seconds: int = 24 * 3600
    max_upload_bytes: int = 20 * 1024 * 1024
    max_pixels: int = 40_000_000
    max_working_size: int = 1024
    task_soft_time_limit: int = 120
    task_time_limit: int = 180
    styles: tuple[str, ...] = ("all",)
    inference_threads: int = 0  # 0: let the runtime choose
    callback_allowed_hosts: tuple[str, ...] = ()
    api_keys: tuple[str, ...] = ()
    cors_origins: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if self.storage not in ("redis", "s3"):
            raise SitterError(f"SITTER_STORAGE must be 'redis' or 's3', not {self.storage!r}")
        if not self.broker_url:
            object.__setattr__(self, "broker_url", self.redis_url)
        if not self.result_backend:
            object.__setattr__(self, "result_backend", self.redis_url)

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Settings:
        """Build from SITTER_* variables; an unparsable value is an error that names the variable."""
        env = os.environ if environ is None else environ
        values: dict[str, object] = {}
        for spec in fields(cls):
            name = f"SITTER_{spec.name.upper()}"
            if name not in env:
                continue
            raw = env[name]
            kind = str(spec.type)
            try:
                if kind == "int":
                    values[spec.name] = int(raw)
                elif kind == "Path":
                    values[spec.name] = Path(raw).expanduser()
                elif kind.startswith("tuple"):
                    values[spec.name] = _env_list(raw)
                else:
                    values[spec.name] = raw
            except ValueError as exc:
                raise SitterError(f"{name}={raw!r} is not a valid {kind}") from exc
        return cls(**values)  # type: ignore[arg-type]

    @staticmethod
    def env_names() -> list[str]:
        """Every variable this module reads, for docs and deployment cross-checks."""
        return [f"SITTER_{spec.name.upper()}" for spec in fields(Settings)]
