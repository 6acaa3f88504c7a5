"""The CLI's own gallery: added paintings in a directory (SITTER_GALLERY_DIR), the same records and files
as the service keeps in Redis and the blob store, so `sitter gallery add` and `sitter blend --painting ID`
work without a server.

Layout: `<dir>/<id>/record.json` and `<dir>/<id>/<version>/{image,analysis.json,thumbnail.jpg}`. Writes go
through a temporary file and a rename, so a reader never sees half a record.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from dataclasses import replace
from pathlib import Path
from typing import Any

from shared.errors import InvalidParameterError
from shared.gallery_store import (
    ANALYSIS_FILE,
    FAILED,
    IMAGE_FILE,
    READY,
    THUMBNAIL_FILE,
    PaintingExistsError,
    StoredPainting,
    unknown_painting,
)

RECORD = "record.json"


def _write(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=".tmp-")
    with os.fdopen(handle, "wb") as out:
        out.write(data)
    os.replace(temporary, path)


class DirectoryGalleryStore:
    def __init__(self, root: Path) -> None:
        self.root = root

    def _record_path(self, painting_id: str) -> Path:
        return self.root / painting_id / RECORD

    def list(self) -> list[StoredPainting]:
        if not self.root.is_dir():
            return []
        found = [self.get(path.parent.name) for path in self.root.glob(f"*/{RECORD}")]
        return sorted((item for item in found if item), key=lambda item: (item.added_at, item.id))

    def get(self, painting_id: str) -> StoredPainting | None:
        path = self._record_path(painting_id)
        if not path.is_file():
            return None
        try:
            return StoredPainting.from_json(json.loads(path.read_text()))
        except (ValueError, TypeError) as exc:
            raise InvalidParameterError(f"the gallery record {path} is damaged: {exc}") from None

    def add(self, painting: StoredPainting, image: bytes) -> None:
        if self.get(painting.id) is not None:
            raise PaintingExistsError(f"the gallery already has a painting {painting.id!r}", field="id")
        _write(self.root / painting.id / painting.version / IMAGE_FILE, image)
        self._save(painting)

    def _save(self, painting: StoredPainting) -> None:
        _write(self._record_path(painting.id), json.dumps(painting.to_json(), indent=1).encode())

    def update(self, painting: StoredPainting) -> None:
        if self.get(painting.id) is None:
            raise unknown_painting(painting.id)
        self._save(painting)

    def remove(self, painting_id: str) -> StoredPainting:
        record = self.get(painting_id)
        if record is None:
            raise unknown_painting(painting_id)
        shutil.rmtree(self.root / painting_id)
        return record

    def _current(self, painting_id: str, version: str) -> StoredPainting | None:
        record = self.get(painting_id)
        return record if record is not None and record.version == version else None

    def finish_analysis(
        self, painting_id: str, version: str, analysis: dict[str, Any], thumbnail: bytes
    ) -> bool:
        record = self._current(painting_id, version)
        if record is None:
            return False
        folder = self.root / painting_id / version
        _write(folder / ANALYSIS_FILE, json.dumps(analysis, separators=(",", ":")).encode())
        _write(folder / THUMBNAIL_FILE, thumbnail)
        self._save(replace(record, analysis=READY, error=""))
        return True

    def fail_analysis(self, painting_id: str, version: str, reason: str) -> bool:
        record = self._current(painting_id, version)
        if record is None:
            return False
        self._save(replace(record, analysis=FAILED, error=reason))
        return True

    def mark_analysis_started(self, painting_id: str, version: str, now: float) -> None:
        record = self._current(painting_id, version)
        if record is not None:
            self._save(replace(record, analysis_started_at=now))

    def read(self, painting_id: str, version: str, name: str) -> bytes:
        path = self.root / painting_id / version / name
        try:
            return path.read_bytes()
        except FileNotFoundError:
            raise unknown_painting(painting_id) from None
