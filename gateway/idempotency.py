"""What makes two submissions "the same request" for Idempotency-Key: every form field and every file's
bytes. A key reused for a different request is refused, not answered with the first request's job."""

from __future__ import annotations

import hashlib

from werkzeug.datastructures import FileStorage, MultiDict


def request_fingerprint(form: MultiDict[str, str], files: MultiDict[str, FileStorage]) -> str:
    digest = hashlib.sha256()
    for name in sorted(form.keys()):
        for value in form.getlist(name):
            digest.update(f"f\0{name}\0{value}\0".encode())
    for name in sorted(files.keys()):
        for upload in files.getlist(name):
            stream = upload.stream
            stream.seek(0)
            digest.update(f"u\0{name}\0{upload.filename or ''}\0".encode())
            digest.update(hashlib.sha256(stream.read()).digest())
            stream.seek(0)
    return digest.hexdigest()[:32]
