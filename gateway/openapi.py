"""The OpenAPI 3.1 description of API v1, and the stable problem types it can answer with.

Written by hand, next to the routes, so the contract is reviewed as one document; a test checks that
every route of the app is described here and every described path exists. The response bodies' schemas
are derived from the shapes the gateway builds them with (gateway/job_shape.py).
"""

from __future__ import annotations

from functools import cache
from typing import Any

from gateway.json_schema import response_components
from shared.limits import MAX_OUTPUT_SCALE, MAX_PEOPLE, MIN_OUTPUT_SCALE
from shared.previews import PREVIEW_SIDE
from shared.queues import BUILTIN_STYLE_COUNT, BUILTIN_STYLE_PREFIX, PAINTING_STYLE

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
    "invalid-parameter": (422, "A form field is missing, malformed or out of range; `field` names it."),
    "idempotency-key-reused": (422, "The Idempotency-Key was already used for a different request."),
    "unknown-painting": (422, "`painting` is not a gallery id (GET /v1/paintings)."),
    "unknown-style": (422, "`style` is not a style id (GET /v1/styles)."),
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
        "The gateway is decoding other large uploads, or no segmenter was free for a preview; retry after "
        "Retry-After seconds.",
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


def _problem(description: str) -> dict[str, Any]:
    return {
        "description": description,
        "content": {"application/problem+json": {"schema": {"$ref": "#/components/schemas/Problem"}}},
    }


def _image(description: str) -> dict[str, Any]:
    return {
        "description": description,
        "content": {
            kind: {"schema": {"type": "string", "format": "binary"}} for kind in ("image/png", "image/jpeg")
        },
    }


JOB_ID = {
    "name": "job_id",
    "in": "path",
    "required": True,
    "schema": {"type": "string", "pattern": "^[0-9a-f]{32}$"},
}
JOB_RESPONSE = {
    "description": "The job",
    "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Job"}}},
}

SUBMISSION_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {
        "portrait": {
            "type": "array",
            "items": {"type": "string", "format": "binary"},
            "minItems": 1,
            "maxItems": MAX_PEOPLE,
            "description": "Photo of one person (JPEG, PNG, WebP, HEIC...); repeat the field for several "
            f"people in one painting (up to {MAX_PEOPLE}: one person per photo, or every person of it with "
            "`people=all`)",
        },
        "people": {
            "type": "string",
            "enum": ["main", "all"],
            "default": "main",
            "description": "`all`: every person of each photo (a group photo), numbered photo by photo, left "
            "to right; `main`: each photo's main person",
        },
        "order": {
            "type": "string",
            "pattern": "^[1-9](,[1-9])*$",
            "description": "Several people: their numbers back to front, e.g. `2,1` (default: as numbered; "
            "in a group photo the smaller faces behind)",
        },
        "portrait_from": {"type": "string", "description": "Reuse the portrait of an earlier job (its id)"},
        "painting": {"type": "string", "description": "Gallery painting id (GET /v1/paintings)"},
        "painting_file": {
            "type": "string",
            "format": "binary",
            "description": "Your own painting, instead of `painting`",
        },
        "style": {
            "type": "string",
            "default": PAINTING_STYLE,
            "description": f"`{PAINTING_STYLE}` (the painting's own style), a gallery id, "
            f"{BUILTIN_STYLE_PREFIX}0..{BUILTIN_STYLE_PREFIX}{BUILTIN_STYLE_COUNT - 1}, or a "
            "trained network trained-<id> (GET /v1/styles, kind `trained`)",
        },
        "strength": {"type": "number", "minimum": 0, "maximum": 1, "default": 1},
        "keep_colors": {"type": "boolean", "default": False, "description": "Keep the photo's colours"},
        "harmonize": {
            "type": "boolean",
            "default": True,
            "description": "Paint the person in with the painting around them: its local style, at the "
            "size they are placed, its local tone and colour, clean soft edges. "
            "false: only cut out and resized",
        },
        "spot": {
            "type": "integer",
            "minimum": 0,
            "description": "One of the gallery painting's suggested spots (GET /v1/paintings/{id}); not "
            "with x, y or height",
        },
        "x": {
            "type": "integer",
            "description": "Left edge of the person in painting pixels (may be negative)",
        },
        "y": {
            "type": "integer",
            "description": "Top edge of the person in painting pixels (may be negative)",
        },
        "height": {"type": "integer", "minimum": 1, "description": "Height of the person in painting pixels"},
        "auto": {
            "type": "boolean",
            "description": "Automatic placement (the default when x, y, height are absent)",
        },
        "format": {"type": "string", "enum": ["png", "jpeg", "webp"], "default": "png"},
        "output_scale": {
            "type": "number",
            "minimum": MIN_OUTPUT_SCALE,
            "maximum": MAX_OUTPUT_SCALE,
            "default": 1,
            "description": "Size of the result, in times the painting's size: the painting is enlarged, "
            "the person is painted at that size (not enlarged). x, y, height stay in the painting's own "
            "pixels; the result's box is in the result's",
        },
        "callback_url": {
            "type": "string",
            "format": "uri",
            "description": "Webhook on completion (if enabled)",
        },
    },
    "patternProperties": {
        r"^(x|y)\.[1-9]$": {
            "type": "integer",
            "description": "Several people: person N's box (x.2: person 2's left edge), painting pixels",
        },
        r"^height\.[1-9]$": {"type": "integer", "minimum": 1, "description": "Person N's height"},
        r"^style\.[1-9]$": {"type": "string", "description": "Person N's own style (default: `style`)"},
        r"^strength\.[1-9]$": {"type": "number", "minimum": 0, "maximum": 1},
    },
}

# every /v1/jobs operation: a key is checked first, and a keyless gateway serves only its own machine
ACCESS: dict[str, Any] = {
    "401": _problem("Missing or wrong API key"),
    "403": _problem("No API keys configured and the caller is not on the gateway's machine"),
}

PATHS: dict[str, Any] = {
    "/v1/jobs": {
        "post": {
            "summary": "Submit a job: put the person of `portrait` (or several people) into a painting",
            "description": "Validates and decodes the uploads before anything is queued. "
            "An `Idempotency-Key` header makes a retried request return the same job; the same key on a "
            "different request is refused with 422 `idempotency-key-reused`.",
            "parameters": [{"name": "Idempotency-Key", "in": "header", "schema": {"type": "string"}}],
            "requestBody": {
                "required": True,
                "content": {"multipart/form-data": {"schema": SUBMISSION_SCHEMA}},
            },
            "responses": {
                "202": {**JOB_RESPONSE, "description": "Accepted; `Location` is the job's URL"},
                **ACCESS,
                "413": _problem("Upload or image too large"),
                "415": _problem("Not multipart, or an upload is not a supported image"),
                "422": _problem("A parameter or an image is invalid"),
                "429": _problem("Rate, job-count or storage-quota limit; Retry-After except for the quota"),
                "503": _problem("Queue unreachable"),
                "507": _problem("Blob store full; see Retry-After"),
            },
        }
    },
    "/v1/previews": {
        "post": {
            "summary": "The person cut out of a photo (RGBA PNG, cropped to them, long side at most "
            f"{PREVIEW_SIDE} px), in about a second: to draw in a placement box, and to refuse a photo "
            "with no person before any job. Counts against the per-minute rate limit like a job",
            "requestBody": {
                "required": True,
                "content": {
                    "multipart/form-data": {
                        "schema": {
                            "type": "object",
                            "required": ["portrait"],
                            "properties": {"portrait": SUBMISSION_SCHEMA["properties"]["portrait"]},
                        }
                    }
                },
            },
            "responses": {
                "200": {
                    "description": "The cut-out, as the segment stage sees the person",
                    "content": {"image/png": {"schema": {"type": "string", "format": "binary"}}},
                },
                **ACCESS,
                "413": _problem("Upload or image too large"),
                "415": _problem("Not multipart, or not a supported image"),
                "422": _problem("Not an image, or `no-person`: the photo shows no person to place"),
                "429": _problem("Rate limit; see Retry-After"),
                "503": _problem(
                    "`busy`: no segmenter free within the wait (Retry-After), or queue unreachable"
                ),
            },
        }
    },
    "/v1/jobs/{job_id}": {
        "get": {
            "summary": "Poll a job: status, per-stage state and timings, error, links",
            "parameters": [JOB_ID],
            "responses": {"200": JOB_RESPONSE, **ACCESS, "404": _problem("Unknown job")},
        },
        "delete": {
            "summary": "Cancel the job if unfinished (its queued tasks are revoked) and delete its images",
            "parameters": [JOB_ID],
            "responses": {"200": JOB_RESPONSE, **ACCESS, "404": _problem("Unknown job")},
        },
    },
    "/v1/jobs/{job_id}/result": {
        "get": {
            "summary": "Download the finished picture (ETag; `?download=1` for an attachment)",
            "parameters": [JOB_ID],
            "responses": {
                "200": _image("The picture in the requested format"),
                "304": {"description": "Not modified"},
                **ACCESS,
                "404": _problem("Unknown job"),
                "409": _problem("Not finished"),
                "410": _problem("Deleted or expired"),
            },
        }
    },
    "/v1/jobs/{job_id}/artifacts/{name}": {
        "get": {
            "summary": "Intermediates: `mask` (16-bit matte), `stylized`, `cutout` (RGBA, as placed); "
            "`thumbnail`: the result as a JPEG, long side 256 px",
            "parameters": [
                JOB_ID,
                {
                    "name": "name",
                    "in": "path",
                    "required": True,
                    "schema": {"enum": ["mask", "stylized", "cutout", "thumbnail"]},
                },
            ],
            "responses": {
                "200": _image("PNG"),
                **ACCESS,
                "404": _problem("Unknown job or artifact"),
                "409": _problem("Not ready"),
                "410": _problem("Deleted or expired"),
            },
        }
    },
    "/v1/paintings": {
        "get": {
            "summary": "The gallery: ids, titles, sizes, image and thumbnail links",
            "responses": {"200": {"description": "Paintings"}},
        }
    },
    "/v1/paintings/{painting_id}": {
        "get": {
            "summary": "One painting with its suggested spots (index, x, y, width, height, reason)",
            "parameters": [
                {"name": "painting_id", "in": "path", "required": True, "schema": {"type": "string"}}
            ],
            "responses": {"200": {"description": "Painting"}, "404": _problem("Unknown painting")},
        }
    },
    "/v1/paintings/{painting_id}/image": {
        "get": {
            "summary": "A gallery painting (`?size=thumbnail` for a 256 px preview)",
            "parameters": [
                {"name": "painting_id", "in": "path", "required": True, "schema": {"type": "string"}}
            ],
            "responses": {"200": _image("JPEG"), "404": _problem("Unknown painting")},
        }
    },
    "/v1/styles": {
        "get": {
            "summary": "Every style id, its title, thumbnail URL and the queue that serves it",
            "responses": {"200": {"description": "Styles"}},
        }
    },
    "/v1/styles/{style_id}/thumbnail": {
        "get": {
            "summary": "A built-in style applied to a sample portrait, 160 px (paintings: their own image)",
            "parameters": [
                {"name": "style_id", "in": "path", "required": True, "schema": {"type": "string"}}
            ],
            "responses": {"200": _image("JPEG"), "404": _problem("Not a built-in style")},
        }
    },
    "/v1/openapi.json": {
        "get": {"summary": "This document", "responses": {"200": {"description": "OpenAPI 3.1"}}}
    },
    "/v1/docs": {
        "get": {"summary": "This document as a web page", "responses": {"200": {"description": "HTML"}}}
    },
    "/healthz": {
        "get": {"summary": "Liveness: the process answers", "responses": {"200": {"description": "OK"}}}
    },
    "/readyz": {
        "get": {
            "summary": "Readiness: broker, Redis and blob storage answer",
            "responses": {
                "200": {"description": "Ready"},
                "503": {"description": "A backend is unreachable: named, without its address"},
            },
        }
    },
    "/metrics": {
        "get": {
            "summary": "Prometheus metrics; with API keys set, one is needed (unless SITTER_METRICS_PUBLIC)",
            "security": [{"apiKey": []}, {}],
            "responses": {
                "200": {"description": "Text exposition"},
                "401": _problem("Missing or wrong API key"),
                "403": _problem("Development mode: served only to this machine"),
            },
        }
    },
}


@cache
def response_schemas() -> dict[str, Any]:
    """Job, Stage, Problem and the shapes they are made of, derived from gateway/job_shape.py (imported
    here, not above: it takes the problem codes from PROBLEMS)."""
    from gateway.job_shape import Job, Problem

    return response_components(Job, Problem)


def openapi_document(server_url: str) -> dict[str, Any]:
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "Sitter API",
            "version": "1.0.0",
            "description": "Put a person into a painting. Submit a job, poll it, download the result. "
            "Errors are application/problem+json (RFC 9457).",
        },
        "servers": [{"url": server_url}],
        "paths": PATHS,
        "components": {
            "schemas": response_schemas(),
            "securitySchemes": {"apiKey": {"type": "apiKey", "in": "header", "name": "X-API-Key"}},
        },
    }
