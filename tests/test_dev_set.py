"""The composite dev set is what it says: every photo and painting listed in its folder's SOURCES.md with a
public-domain or CC0 licence and an origin, and every painting the eval runs on has hand-drawn boxes inside
the picture."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from PIL import Image

ROOT = Path(__file__).resolve().parents[1]
EVAL = ROOT / "eval" / "composite"
FOLDERS = [EVAL / "photos", EVAL / "paintings"]
PAINTING_FOLDERS = [EVAL / "paintings", ROOT / "shared" / "data" / "paintings"]
IMAGES = (".jpg", ".jpeg", ".png")


def _images(folder: Path) -> list[Path]:
    return sorted(p for p in folder.iterdir() if p.suffix.lower() in IMAGES)


def _rows(folder: Path) -> dict[str, list[str]]:
    """SOURCES.md table rows by file name: | file | what | licence | origin |."""
    rows = {}
    for line in (folder / "SOURCES.md").read_text().splitlines():
        cells = [cell.strip() for cell in line.strip().strip("|").split("|")]
        if line.startswith("|") and len(cells) == 4 and cells[0].lower().endswith(IMAGES):
            rows[cells[0]] = cells
    return rows


@pytest.mark.parametrize("folder", FOLDERS, ids=lambda folder: folder.name)
def test_every_dev_set_image_has_a_free_licence_and_an_origin(folder: Path) -> None:
    rows = _rows(folder)
    assert sorted(rows) == [p.name for p in _images(folder)], "SOURCES.md and the folder differ"
    for name, (_, what, licence, origin) in rows.items():
        assert what, name
        assert "public domain" in licence.lower() or "cc0" in licence.lower(), (name, licence)
        repository, _, path = origin.partition(" ")
        assert "/" in repository and "@" in repository and path, (name, origin)  # owner/repo@commit path


def test_every_painting_is_annotated_with_boxes_inside_it() -> None:
    notes = json.loads((EVAL / "annotations.json").read_text())["paintings"]
    for folder in PAINTING_FOLDERS:
        for path in _images(folder):
            assert path.stem in notes, f"{path.name} has no boxes in annotations.json"
            width, height = Image.open(path).size
            for kind in ("faces", "figures"):
                for x0, y0, x1, y1 in notes[path.stem][kind]:
                    assert 0 <= x0 < x1 <= width and 0 <= y0 < y1 <= height, (path.name, kind, x0, y0, x1, y1)
