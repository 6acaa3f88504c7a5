"""The OpenAPI 3.1 description of API v1.

The paths are written here, next to the routes, so the contract is reviewed as one document; a test checks
that every route of the app is described here and every described path exists. The schemas are derived:
the request form's from the pydantic model that validates it (gateway/form.py), the response bodies' from
the shapes the gateway builds them with (gateway/job_shape.py).
"""

from __future__ import annotations

from functools import cache
from typing import Any

from gateway.form import SubmissionForm
from gateway.job_shape import Job, Problem
from gateway.json_schema import OpenApiSchema, response_components
from shared.previews import PREVIEW_SIDE


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

# what one request may carry, stated beside the gallery so a client (the web page) can shrink photos to fit
# before sending; the gateway still checks every request itself
UPLOAD_LIMITS: dict[str, Any] = {
    "type": "object",
    "description": "The upload limits: a larger file or request is refused with 413 `upload-too-large`",
    "required": ["max_file_bytes", "max_request_bytes"],
    "properties": {
        "max_file_bytes": {
            "type": "integer",
            "description": "The most bytes one file may have (SITTER_MAX_UPLOAD_BYTES)",
        },
        "max_request_bytes": {
            "type": "integer",
            "description": "The most bytes one request may have, its files and fields together (two files' "
            "worth and 64 KiB): several portraits share it",
        },
    },
}
PAINTINGS_RESPONSE: dict[str, Any] = {
    "description": "The gallery, and the upload limits",
    "content": {
        "application/json": {
            "schema": {
                "type": "object",
                "required": ["paintings", "uploads"],
                "properties": {
                    "paintings": {"type": "array", "items": {"type": "object"}},
                    "uploads": UPLOAD_LIMITS,
                },
            }
        }
    },
}

PAINTING_ID = {"name": "painting_id", "in": "path", "required": True, "schema": {"type": "string"}}
TEXT = {"type": "string", "minLength": 1}
PAINTING_SCHEMA: dict[str, Any] = {
    "type": "object",
    "description": "A gallery painting: bundled with Sitter, or added by the operator (POST /v1/paintings)",
    "required": ["id", "title", "artist", "year", "licence", "width", "height", "bundled", "analysis"],
    "properties": {
        "id": {"type": "string"},
        "title": {"type": "string"},
        "artist": {"type": "string"},
        "year": {"type": "string"},
        "licence": {"type": "string"},
        "source": {"type": "string"},
        "width": {"type": "integer"},
        "height": {"type": "integer"},
        "bundled": {"type": "boolean", "description": "Bundled paintings are read-only"},
        "analysis": {
            "enum": ["pending", "ready", "failed"],
            "description": "Jobs take the painting once `ready`; `failed` comes with `error`",
        },
        "error": {"type": "string"},
        "queue": {"type": "string", "description": "The stylize queue of its style"},
        "style": {"type": "string"},
        "image": {"type": "string"},
        "thumbnail": {"type": "string", "description": "Once analysed"},
        "spots": {"type": "array", "items": {"type": "object"}, "description": "One painting's, once ready"},
    },
}
PAINTING_RESPONSE = {
    "description": "The painting",
    "content": {"application/json": {"schema": PAINTING_SCHEMA}},
}
PAINTING_FIELDS: dict[str, Any] = {
    "title": {**TEXT, "maxLength": 200},
    "artist": {**TEXT, "maxLength": 200},
    "year": {**TEXT, "maxLength": 40},
    "licence": {**TEXT, "maxLength": 200, "description": "e.g. `public domain`, `CC0`: shown with it"},
    "source": {"type": "string", "maxLength": 500, "description": "Where the image comes from"},
}
# the gallery's changes: admin keys only (SITTER_ADMIN_KEYS); an ordinary API key is not enough
ADMIN: dict[str, Any] = {
    "401": _problem("Missing or wrong admin key"),
    "403": _problem("An API key, not an admin key (`admin-required`); or a keyless gateway's other callers"),
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
            "summary": "The gallery: ids, titles, sizes, image and thumbnail links; and `uploads`, the "
            "largest file and request the gateway takes",
            "responses": {"200": PAINTINGS_RESPONSE},
        },
        "post": {
            "summary": "Add a painting to the gallery (admin key): stored, then analysed by a worker",
            "description": "The image is checked like any upload. The painting is listed at once with "
            "`analysis: pending`; jobs may use it once `ready` (before: 409 `painting-not-ready`).",
            "security": [{"adminKey": []}],
            "requestBody": {
                "required": True,
                "content": {
                    "multipart/form-data": {
                        "schema": {
                            "type": "object",
                            "required": ["image", "id", "title", "artist", "year", "licence"],
                            "properties": {
                                "image": {"type": "string", "format": "binary"},
                                "id": {
                                    "type": "string",
                                    "pattern": "^[a-z0-9]+(-[a-z0-9]+)*$",
                                    "maxLength": 50,
                                    "description": "A slug; it names the painting's URLs and style",
                                },
                                **PAINTING_FIELDS,
                            },
                        }
                    }
                },
            },
            "responses": {
                "202": {**PAINTING_RESPONSE, "description": "Added; `Location` is its URL"},
                **ADMIN,
                "409": _problem("The id is taken (`painting-exists`)"),
                "413": _problem("Upload or image too large"),
                "422": _problem("A field is missing or invalid, or `image` is not an image"),
                "503": _problem("Storage or queue unreachable"),
            },
        },
    },
    "/v1/paintings/{painting_id}": {
        "get": {
            "summary": "One painting with its suggested spots (index, x, y, width, height, reason, "
            "kind: bust or standing, side: left, centre or right)",
            "parameters": [PAINTING_ID],
            "responses": {"200": PAINTING_RESPONSE, "404": _problem("Unknown painting")},
        },
        "patch": {
            "summary": "Change an added painting's title, artist, year, licence or source, or route its "
            "style to a worker group of its own (`own_queue`) (admin key)",
            "security": [{"adminKey": []}],
            "parameters": [PAINTING_ID],
            "requestBody": {
                "required": True,
                "content": {
                    "application/json": {
                        "schema": {
                            "type": "object",
                            "minProperties": 1,
                            "additionalProperties": False,
                            "properties": {
                                **PAINTING_FIELDS,
                                "own_queue": {
                                    "type": "boolean",
                                    "description": "true: its jobs go to `stylize.<id>`; false: to "
                                    "the shared `stylize.gallery`",
                                },
                            },
                        }
                    }
                },
            },
            "responses": {
                "200": PAINTING_RESPONSE,
                **ADMIN,
                "404": _problem("No added painting with that id"),
                "409": _problem("A bundled painting (`painting-read-only`)"),
                "422": _problem("A field is unknown or invalid"),
            },
        },
        "delete": {
            "summary": "Remove an added painting (admin key): gone from the list, refused to new jobs; "
            "jobs accepted before still finish",
            "security": [{"adminKey": []}],
            "parameters": [PAINTING_ID],
            "responses": {
                "204": {"description": "Removed"},
                **ADMIN,
                "404": _problem("No added painting with that id"),
                "409": _problem("A bundled painting (`painting-read-only`)"),
            },
        },
    },
    "/v1/paintings/{painting_id}/image": {
        "get": {
            "summary": "A gallery painting as stored (`?size=thumbnail` for a 256 px JPEG preview)",
            "parameters": [PAINTING_ID],
            "responses": {
                "200": _image("The image"),
                "404": _problem("Unknown painting"),
                "409": _problem("An added painting's thumbnail before its analysis"),
                "422": _problem("`size` is not `full` or `thumbnail`"),
            },
        }
    },
    "/v1/styles": {
        "get": {
            "summary": "Every style id, its title, thumbnail URL and the queue that serves it; a trained "
            "style also its `network` (network or vector) and `versus_arbitrary`: its measured margin over "
            "the arbitrary network on held-out photos (style ratios, legibility, photos, wins), null if "
            "never measured",
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
    """Job, Stage, Problem and the shapes they are made of, derived from gateway/job_shape.py."""
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
            "securitySchemes": {
                "apiKey": {"type": "apiKey", "in": "header", "name": "X-API-Key"},
                "adminKey": {
                    "type": "apiKey",
                    "in": "header",
                    "name": "X-API-Key",
                    "description": "One of SITTER_ADMIN_KEYS: changes the gallery",
                },
            },
        },
    }
