"""Typed errors shared by every layer, so the CLI and the API can map each to one clear message."""


class SitterError(Exception):
    """Base of every error Sitter raises on purpose; `code` is a stable machine-readable name."""

    code = "sitter-error"

    def __init__(self, message: str, *, field: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.field = field


class InvalidImageError(SitterError):
    """The bytes are not a decodable image, or the image breaks a configured limit."""

    code = "invalid-image"


class ImageTooLargeError(InvalidImageError):
    """The image declares more pixels than allowed (decompression-bomb guard)."""

    code = "image-too-large"


class NoPersonError(InvalidImageError):
    """The portrait holds no person to place (a landscape, an object, a wall), or too little of one."""

    code = "no-person"


class InvalidParameterError(SitterError):
    """A parameter (placement, strength, style, format ...) is out of range or unknown."""

    code = "invalid-parameter"


class UnknownPaintingError(InvalidParameterError):
    """No gallery painting has that id."""

    code = "unknown-painting"


class UnknownStyleError(InvalidParameterError):
    """No style has that id."""

    code = "unknown-style"


class ModelMissingError(SitterError):
    """A model file is not in the model directory; the message names the command that fetches it."""

    code = "model-missing"


class ModelChecksumError(SitterError):
    """A model file's sha256 differs from the catalogue: it is refused, never loaded."""

    code = "model-checksum"


class StorageFullError(SitterError):
    """The blob store refused a write because it is full (Redis at maxmemory with noeviction).

    Never retried: space comes back only as jobs expire or are deleted, so a stage that meets it fails its
    job with this reason at once, and the gateway refuses new jobs with 507 instead of a 500.
    """

    code = "storage-full"
