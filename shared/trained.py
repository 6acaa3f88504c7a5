"""Styles with a network of their own: one feed-forward network per painting, trained by `sitter train-style`.

The facts about each shipped network (its ONNX file, sha256, the painting it belongs to, how it was trained)
live once, in `shared/data/trained/trained.json`; the model catalogue (checksums), the style ids, the queues
and the gateway all read them from here. A directory named by SITTER_TRAINED_DIR adds more (networks trained
on this machine) with the same layout. Nothing here reads the environment: Settings reads SITTER_TRAINED_DIR
and it travels as `ModelStore.trained_dir` (shared.models), the callers passing it as `extra`.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

TRAINED_DIR = Path(__file__).parent / "data" / "trained"
CATALOGUE_FILE = "trained.json"
STYLE_PREFIX = "trained-"
KIND = "trained"
NETWORK = "network"  # its own ONNX transformer (training/train.py)
VECTOR = "vector"  # a style vector for the shared arbitrary-style transformer (training/vector.py)


@dataclass(frozen=True)
class TrainedStyle:
    """One trained network. `id` is what follows `trained-` in the style id (and queue)."""

    id: str
    painting: str  # the gallery id (or file name) it was trained on
    title: str
    file: str  # the ONNX file (or the style-vector file), relative to the catalogue's directory
    sha256: str
    licence: str
    directory: Path
    training: dict[str, Any] = field(default_factory=dict)
    kind: str = NETWORK  # NETWORK or VECTOR
    comparison: dict[str, Any] = field(default_factory=dict)  # against the arbitrary network, when measured

    @property
    def style_id(self) -> str:
        return f"{STYLE_PREFIX}{self.id}"

    @property
    def path(self) -> Path:
        return (self.directory / self.file).resolve()

    @property
    def suffix(self) -> str:
        """The file's suffixes (`.onnx`, `.style.json`): its cached copy is `trained-<id>` plus these."""
        return "".join(Path(self.file).suffixes)


def trained_dirs(extra: Path | None = None) -> list[Path]:
    """The shipped catalogue's directory, then `extra` (SITTER_TRAINED_DIR) when there is one."""
    return [TRAINED_DIR] if extra is None else [TRAINED_DIR, extra]


def read_catalogue(directory: Path) -> list[dict[str, Any]]:
    path = directory / CATALOGUE_FILE
    if not path.is_file():
        return []
    entries: list[dict[str, Any]] = json.loads(path.read_text())
    return entries


def trained_styles(extra: Path | None = None) -> dict[str, TrainedStyle]:
    """Every trained style by style id (`trained-<id>`), the shipped ones and those in `extra`; a later
    directory overrides an earlier one."""
    styles: dict[str, TrainedStyle] = {}
    for directory in trained_dirs(extra):
        for entry in read_catalogue(directory):
            style = TrainedStyle(
                id=entry["id"],
                painting=entry["painting"],
                title=entry.get("title", entry["painting"]),
                file=entry["file"],
                sha256=entry["sha256"],
                licence=entry.get("licence", "see its owner"),
                directory=directory,
                training=entry.get("training", {}),
                kind=entry.get("kind", NETWORK),
                comparison=entry.get("comparison", {}),
            )
            styles[style.style_id] = style
    return styles


def trained_style_ids(extra: Path | None = None) -> list[str]:
    return list(trained_styles(extra))


def is_trained_spec(spec: str) -> bool:
    return spec.strip().startswith(STYLE_PREFIX)


def register(directory: Path, entry: dict[str, Any]) -> Path:
    """Add or replace (by id) one network's entry in `directory`'s catalogue; returns the catalogue path."""
    directory.mkdir(parents=True, exist_ok=True)
    entries = [item for item in read_catalogue(directory) if item["id"] != entry["id"]]
    entries.append(entry)
    entries.sort(key=lambda item: item["id"])
    path = directory / CATALOGUE_FILE
    tmp = path.with_suffix(".json.part")
    tmp.write_text(json.dumps(entries, indent=2) + "\n")
    os.replace(tmp, path)
    return path
