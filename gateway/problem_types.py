"""The stable problem types API v1 answers with: code -> (HTTP status, what it means). The one table the
OpenAPI document, the /v1/docs page, the problem shape and the gateway's error answers all read."""

from __future__ import annotations

PROBLEMS: dict[str, tuple[int, str]] = {
    "invalid-image": (422, "An upload is corrupt, truncated or too small (under 16 px a side)."),
    "unsupported-media-type": (
        415,
        "An upload is not an image format Sitter reads, or the body is not multipart.",
    ),
    "image-too-large": (
        413,
        "An upload declares more pixels than SITTER_MAX_PIXELS, or more pixel memory than "
        "SITTER_DECODE_BUDGET_BYTES.",
    ),
    "upload-too-large": (413, "An upload or the whole request is larger than SITTER_MAX_UPLOAD_BYTES."),
    "job-too-large": (
        413,
        "The job would take a worker past its memory budget (SITTER_SEGMENTER_BUDGET_BYTES, "
        "SITTER_STYLIZER_BUDGET_BYTES or SITTER_COMPOSITOR_BUDGET_BYTES), predicted from the images' sizes, "
        "the output_scale and the boxes; `limit` names the setting, `field` what to change and `largest` "
        "its largest value that fits (megapixels for an image; null: none does). Nothing was stored.",
    ),
    "invalid-parameter": (422, "A form field is missing, malformed or out of range; `field` names it."),
    "idempotency-key-reused": (422, "The Idempotency-Key was already used for a different request."),
    "unknown-painting": (422, "`painting` is not a gallery id (GET /v1/paintings)."),
    "unknown-style": (422, "`style` is not a style id (GET /v1/styles)."),
    "painting-not-ready": (
        409,
        "The operator's added painting is still being analysed; retry after Retry-After seconds.",
    ),
    "painting-analysis-failed": (
        422,
        "The operator's added painting could not be analysed (its `error` says why); it takes no jobs.",
    ),
    "painting-exists": (409, "POST /v1/paintings with an id the gallery already has."),
    "painting-read-only": (409, "A bundled painting cannot be changed or deleted (SITTER_BUNDLED_GALLERY)."),
    "admin-required": (403, "Changing the gallery needs an admin key (SITTER_ADMIN_KEYS), not an API key."),
    "unauthorized": (401, "API keys are configured and the request has no valid one."),
    "development-mode": (
        403,
        "No API keys are configured, so jobs are served only to callers on the gateway's own machine.",
    ),
    "rate-limited": (
        429,
        "This client sent more jobs and previews this minute than SITTER_RATE_LIMIT_PER_MINUTE.",
    ),
    "too-many-jobs": (
        429,
        "SITTER_MAX_ACTIVE_JOBS jobs, or SITTER_MAX_ACTIVE_JOBS_PER_KEY of this key's, are unfinished.",
    ),
    "storage-quota": (
        429,
        "This key's (this address's) jobs hold more image bytes than SITTER_STORAGE_QUOTA_PER_KEY allows; "
        "delete finished jobs or wait until they expire.",
    ),
    "storage-full": (
        507,
        "The blob store is full (past SITTER_STORAGE_ADMIT_PERCENT of its Redis maxmemory), or Redis is; "
        "nothing was stored. See Retry-After.",
    ),
    "style-not-found": (404, "No built-in style with that id (paintings: /v1/paintings/{id}/image)."),
    "job-not-found": (404, "No job with that id (unknown, or past the retention period)."),
    "job-not-finished": (409, "The job has no result (yet): it is queued, running, failed or canceled."),
    "artifact-not-found": (404, "No artifact of that name; there are mask, stylized, cutout and thumbnail."),
    "artifact-not-ready": (409, "The stage that makes this artifact has not finished."),
    "blob-gone": (410, "The image was deleted (DELETE) or has expired."),
    "busy": (
        503,
        "The gateway is decoding other large uploads, or no segmenter was free for a preview, or "
        "SITTER_PREVIEW_SLOTS previews are already waiting; retry after Retry-After seconds.",
    ),
    "no-person": (
        422,
        "The photo shows no person to place (POST /v1/previews; a job fails with this code at its segment "
        "stage).",
    ),
    "broker-unavailable": (503, "The job queue could not be reached; nothing was queued."),
    "storage-unavailable": (503, "Redis or the blob storage could not be reached."),
    "not-found": (404, "No such endpoint."),
    "method-not-allowed": (405, "The endpoint does not accept this method."),
    "internal-error": (500, "A bug; the gateway log has the details."),
}
