"""The operator's own paintings: what one is (`StoredPainting`), the checks on its fields, and the store
interface that the service (Redis + blob store: shared/runtime/gallery_store.py) and the CLI (a directory:
shared/gallery_dir.py) both implement.

A painting is added `pending`; a worker analyses it (faces, figures, spots, style vector, thumbnail) and
marks it `ready`, or `failed` with the reason. Jobs run only on `ready` paintings. Each upload gets a fresh
`version`: jobs carry the version they were accepted with and read that version's files, so a painting
deleted or replaced while its jobs wait in the queue does not change or break them.
"""

from __future__ import annotations

import re
import secrets
from dataclasses import asdict, dataclass
from typing import Any, Protocol

from shared.errors import InvalidParameterError, SitterError, UnknownPaintingError

PENDING, READY, FAILED = "pending", "ready", "failed"
ANALYSIS_STATES = (PENDING, READY, FAILED)

# the files of one version: the image as uploaded, the analysis JSON (with spots and style vector), the
# picker's thumbnail
IMAGE_FILE, ANALYSIS_FILE, THUMBNAIL_FILE = "image", "analysis.json", "thumbnail.jpg"

# ids the API gives other meanings: styles and the operator paintings' stylize queue
RESERVED_IDS = ("painting", "custom", "gallery", "all")
RESERVED_PREFIXES = ("builtin-", "trained-")
_SLUG = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")
MAX_ID = 50
TEXT_LIMITS = {"title": 200, "artist": 200, "year": 40, "licence": 200, "source": 500}
REQUIRED = ("title", "artist", "year", "licence")


class PaintingExistsError(SitterError):
    """An add with an id the gallery already has (bundled or added)."""

    code = "painting-exists"


class PaintingReadOnlyError(SitterError):
    """A change to a bundled painting: they come with the release."""

    code = "painting-read-only"


class PaintingNotReadyError(SitterError):
    """A job for a painting still being analysed."""

    code = "painting-not-ready"


class PaintingAnalysisFailedError(InvalidParameterError):
    """A job for a painting whose analysis failed: it cannot be placed into."""

    code = "painting-analysis-failed"


@dataclass(frozen=True)
class StoredPainting:
    """One added painting's record (the files live beside it, per version)."""

    id: str
    title: str
    artist: str
    year: str
    licence: str
    source: str
    version: str
    width: int
    height: int
    content_type: str
    added_at: float
    analysis: str = PENDING
    error: str = ""
    analysis_started_at: float = 0.0
    own_queue: bool = False  # its style on `stylize.<id>` (a worker group of its own), not `stylize.gallery`

    @classmethod
    def new(
        cls, painting_id: str, meta: dict[str, str], size: tuple[int, int], content_type: str, now: float
    ) -> StoredPainting:
        """A just-uploaded painting (pending analysis) with checked metadata (`check_metadata`)."""
        return cls(
            id=painting_id,
            title=meta["title"],
            artist=meta["artist"],
            year=meta["year"],
            licence=meta["licence"],
            source=meta.get("source", ""),
            version=new_version(),
            width=size[0],
            height=size[1],
            content_type=content_type,
            added_at=now,
        )

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> StoredPainting:
        known = {name: data[name] for name in cls.__dataclass_fields__ if name in data}
        return cls(**known)


def new_version() -> str:
    return secrets.token_hex(6)


def check_id(painting_id: str, taken: set[str] | frozenset[str] = frozenset()) -> str:
    """A new painting's id: a kebab-case slug that names its queue and URLs, not reserved or taken."""
    if not isinstance(painting_id, str) or not painting_id:
        raise InvalidParameterError("id is required: a slug such as `night-watch`", field="id")
    if len(painting_id) > MAX_ID or not _SLUG.match(painting_id):
        raise InvalidParameterError(
            f"id must be a slug of lowercase letters, digits and single hyphens, at most {MAX_ID} "
            f"characters (such as `night-watch`), got {painting_id!r}",
            field="id",
        )
    if painting_id in RESERVED_IDS or painting_id.startswith(RESERVED_PREFIXES):
        raise InvalidParameterError(
            f"id {painting_id!r} is reserved (it names a style); choose another", field="id"
        )
    if painting_id in taken:
        raise PaintingExistsError(f"the gallery already has a painting {painting_id!r}", field="id")
    return painting_id


def check_metadata(fields: dict[str, Any], *, partial: bool = False) -> dict[str, str]:
    """The descriptive fields, trimmed and bounded; all but `source` required unless `partial` (PATCH)."""
    unknown = sorted(set(fields) - set(TEXT_LIMITS))
    if unknown:
        raise InvalidParameterError(
            f"unknown field {unknown[0]!r}; a painting has {', '.join(TEXT_LIMITS)}", field=unknown[0]
        )
    out: dict[str, str] = {}
    for name, limit in TEXT_LIMITS.items():
        if name not in fields or fields[name] is None:
            if not partial and name in REQUIRED:
                raise InvalidParameterError(f"{name} is required", field=name)
            continue
        value = fields[name]
        if not isinstance(value, str):
            raise InvalidParameterError(f"{name} must be text", field=name)
        value = value.strip()
        if not value and name in REQUIRED:
            raise InvalidParameterError(f"{name} must not be empty", field=name)
        if len(value) > limit or any(ord(char) < 32 for char in value):
            raise InvalidParameterError(f"{name} must be one line of at most {limit} characters", field=name)
        out[name] = value
    if not partial:
        out.setdefault("source", "")
    return out


def unknown_painting(painting_id: str) -> UnknownPaintingError:
    return UnknownPaintingError(
        f"unknown painting {painting_id!r}; GET /v1/paintings (or `sitter gallery list`) lists the gallery",
        field="painting",
    )


class GalleryStore(Protocol):
    """Where added paintings live. Files are read by (id, version) and outlive a delete for a while, so
    jobs accepted before it finish."""

    def list(self) -> list[StoredPainting]: ...

    def get(self, painting_id: str) -> StoredPainting | None: ...

    def add(self, painting: StoredPainting, image: bytes) -> None:
        """Store a new painting (raises PaintingExistsError if the id is taken)."""
        ...

    def update(self, painting: StoredPainting) -> None:
        """Replace the record of an existing painting (its metadata); raises UnknownPaintingError."""
        ...

    def remove(self, painting_id: str) -> StoredPainting:
        """Drop the painting from the gallery; its files stay until jobs that name them cannot run."""
        ...

    def finish_analysis(
        self, painting_id: str, version: str, analysis: dict[str, Any], thumbnail: bytes
    ) -> bool:
        """Store the analysis and mark the version ready; False when that version is gone (deleted or
        replaced meanwhile), and then nothing is written."""
        ...

    def fail_analysis(self, painting_id: str, version: str, reason: str) -> bool: ...

    def mark_analysis_started(self, painting_id: str, version: str, now: float) -> None: ...

    def read(self, painting_id: str, version: str, name: str) -> bytes:
        """One file of a version (IMAGE_FILE, ANALYSIS_FILE, THUMBNAIL_FILE); BlobNotFound-style error
        when missing."""
        ...
