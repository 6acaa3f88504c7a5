"""The OpenAPI 3.1 description of API v1, and the stable problem types it can answer with.

The paths are written here, next to the routes, so the contract is reviewed as one document; a test checks
that every route of the app is described here and every described path exists. The request form's schema
is derived from the pydantic model that validates it (gateway/form.py).
"""

from __future__ import annotations

from typing import Any

from gateway.form import SubmissionForm
from gateway.json_schema import OpenApiSchema
from shared.previews import PREVIEW_SIDE

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

# the form, derived from the model that validates it
SUBMISSION_SCHEMA: dict[str, Any] = SubmissionForm.model_json_schema(schema_generator=OpenApiSchema)

STAGE_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {
        "people": {"type": "array", "items": {"type": "object"}, "description": "Each person's own stage"},
        "state": {"type": "string", "enum": ["pending", "running", "succeeded", "failed", "canceled"]},
        "queue": {"type": "string"},
        "started_at": {"type": ["string", "null"], "format": "date-time"},
        "finished_at": {"type": ["string", "null"], "format": "date-time"},
        "duration_ms": {"type": ["number", "null"]},
        "worker": {"type": ["string", "null"]},
    },
}

JOB_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {
        "id": {"type": "string"},
        "status": {"type": "string", "enum": ["queued", "running", "succeeded", "failed", "canceled"]},
        "created_at": {"type": "string", "format": "date-time"},
        "started_at": {"type": ["string", "null"], "format": "date-time"},
        "finished_at": {"type": ["string", "null"], "format": "date-time"},
        "params": {"type": "object"},
        "stages": {
            "type": "object",
            "description": "segment, stylize, composite; a job with several people also has `plan`, and its "
            "segment and stylize are summed over the people, each person's own in `people`",
            "properties": {
                name: {"$ref": "#/components/schemas/Stage"}
                for name in ("plan", "segment", "stylize", "composite")
            },
        },
        "error": {
            "type": ["object", "null"],
            "properties": {
                "stage": {"type": "string"},
                "person": {"type": "integer", "description": "Several people: whose stage failed (1-based)"},
                "code": {"type": "string"},
                "detail": {"type": "string"},
            },
        },
        "result": {
            "type": ["object", "null"],
            "properties": {
                "format": {"type": "string"},
                "content_type": {"type": "string"},
                "width": {"type": "integer"},
                "height": {"type": "integer"},
                "box": {
                    "type": "object",
                    "description": "Where the person was placed: x, y, w, h, in the result's pixels",
                },
                "placement": {
                    "type": "object",
                    "description": "How the box was chosen: kind (auto, spot, explicit; `group` for several "
                    "people), spot, reason",
                },
                "people": {
                    "type": "array",
                    "description": "Several people: each one's number, photo, box (x, y, w, h), placement",
                    "items": {"type": "object"},
                },
                "order": {
                    "type": "array",
                    "items": {"type": "integer"},
                    "description": "Several people: back to front",
                },
            },
        },
        "queue": {
            "type": "object",
            "description": "Only while the job is queued or running (GET /v1/jobs/{id}): `ahead`, how many "
            "unfinished jobs were submitted before it, the most it can be waiting behind",
            "properties": {"ahead": {"type": "integer", "minimum": 0}},
        },
        "links": {
            "type": "object",
            "description": "Paths on this server, or absolute URLs under SITTER_PUBLIC_BASE_URL",
        },
    },
}

PROBLEM_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["type", "title", "status", "detail", "code"],
    "properties": {
        "type": {"type": "string", "format": "uri-reference"},
        "title": {"type": "string"},
        "status": {"type": "integer"},
        "detail": {"type": "string"},
        "code": {"type": "string", "enum": list(PROBLEMS)},
        "field": {"type": "string"},
        "instance": {"type": "string"},
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
            "schemas": {"Job": JOB_SCHEMA, "Stage": STAGE_SCHEMA, "Problem": PROBLEM_SCHEMA},
            "securitySchemes": {"apiKey": {"type": "apiKey", "in": "header", "name": "X-API-Key"}},
        },
    }
