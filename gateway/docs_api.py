"""/v1/openapi.json and /v1/docs: the API description, machine- and human-readable, from one source."""

from __future__ import annotations

import base64
import hashlib
import json
from html import escape

from flask import Blueprint, Response, jsonify

from gateway.backends import settings
from gateway.documents import base_url
from gateway.openapi import PATHS, SUBMISSION_SCHEMA, openapi_document
from gateway.problem_types import PROBLEMS

docs_api = Blueprint("docs", __name__, url_prefix="/v1")

STYLE = """body{font:15px/1.5 system-ui,sans-serif;max-width:60rem;margin:2rem auto;padding:0 1rem;color:#222}
code,pre{background:#f4f4f4;padding:.1rem .3rem}pre{padding:.8rem;overflow:auto}
table{border-collapse:collapse}td,th{border-bottom:1px solid #ddd;padding:.3rem .6rem;text-align:left}
.m{font-weight:bold;text-transform:uppercase;font-family:monospace}"""
# the page's one inline element, allowed by its hash; no script at all
STYLE_HASH = base64.b64encode(hashlib.sha256(STYLE.encode()).digest()).decode()
PAGE_POLICY = (
    f"default-src 'none'; style-src 'sha256-{STYLE_HASH}'; img-src data:; base-uri 'none'; "
    "form-action 'none'; frame-ancestors 'none'"
)

PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Sitter API v1</title>
<link rel="icon" href="data:,"><style>{style}</style></head><body>
<h1>Sitter API v1</h1>
<p>Put a person into a painting. Machine-readable: <a href="/v1/openapi.json">/v1/openapi.json</a>.</p>
<h2>Quick start</h2>
<pre>curl -s -F portrait=@me.jpg -F painting=starry-night {base}/v1/jobs
curl -s {base}/v1/jobs/JOB_ID            # poll until "status": "succeeded"
curl -s -o out.png {base}/v1/jobs/JOB_ID/result</pre>
<h2>Endpoints</h2><table>{endpoints}</table>
<h2>Submitting a job (multipart/form-data)</h2><table>{fields}</table>
<h2 id="problems">Problem types</h2>
<p>Errors are <code>application/problem+json</code> with <code>type</code>, <code>title</code>,
<code>status</code>, <code>detail</code>, <code>code</code> and, when one field is at fault,
<code>field</code>.</p>
<table>{problems}</table></body></html>
"""


@docs_api.get("/openapi.json")
def openapi_json() -> Response:
    return jsonify(openapi_document(base_url(settings()) or "/"))


@docs_api.get("/docs")
def docs_page() -> Response:
    endpoints = "".join(
        f"<tr><td class=m>{method}</td><td><code>{escape(path)}</code></td>"
        f"<td>{escape(op['summary'])}</td></tr>"
        for path, operations in PATHS.items()
        for method, op in operations.items()
    )
    per_person = {
        pattern.strip("^$").replace("\\.", ".").replace("[1-9]", "N"): spec
        for pattern, spec in SUBMISSION_SCHEMA["patternProperties"].items()
    }
    fields = "".join(
        f"<tr><td><code>{escape(name)}</code></td>"
        f"<td>{escape(str(spec.get('description') or spec.get('enum') or ''))}"
        f"{' (default ' + escape(json.dumps(spec['default'])) + ')' if 'default' in spec else ''}</td></tr>"
        for name, spec in {**SUBMISSION_SCHEMA["properties"], **per_person}.items()
    )
    problems = "".join(
        f'<tr id="problem-{code}"><td><code>{code}</code></td><td>{status}</td><td>{escape(text)}</td></tr>'
        for code, (status, text) in PROBLEMS.items()
    )
    html = PAGE.format(
        style=STYLE,
        base=escape(base_url(settings()) or "http://SERVER"),  # without a public URL, a placeholder
        endpoints=endpoints,
        fields=fields,
        problems=problems,
    )
    response = Response(html, content_type="text/html; charset=utf-8")
    response.headers["Content-Security-Policy"] = PAGE_POLICY
    return response
