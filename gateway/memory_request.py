"""Uploads stay in memory: Werkzeug spools any upload over 500 KB to a temporary file on local disk, and
docs/security.md promises that nothing of a portrait is written to the gateway's disk.

The body is already bounded (MAX_CONTENT_LENGTH: two files plus the form), so memory holds at most that.
"""

from __future__ import annotations

import io
from typing import IO

from flask import Request


class InMemoryRequest(Request):
    def _get_file_stream(
        self,
        total_content_length: int | None,
        content_type: str | None,
        filename: str | None = None,
        content_length: int | None = None,
    ) -> IO[bytes]:
        return io.BytesIO()
