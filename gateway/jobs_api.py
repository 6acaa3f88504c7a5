"""/v1/jobs: submit, poll, download, cancel."""

from __future__ import annotations

import hashlib
import logging
import re
import time
from datetime import UTC, datetime

from flask import Blueprint, Response, jsonify, request

from gateway.backends import backends, settings
from gateway.dispatch import enqueue, revoke
from gateway.documents import base_url, job_document
from gateway.idempotency import request_fingerprint
from gateway.loopback import is_loopback
from gateway.params import parse_submission
from gateway.problems import ApiProblem
from gateway.storage_admission import check_room, over_quota
from shared.jobs import (
    ARTIFACT_BLOBS,
    GROUP_ARTIFACTS,
    PAINTING_BLOB,
    PORTRAIT_BLOB,
    QUEUED,
    RUNNING,
    SUCCEEDED,
    IdempotentClaim,
    JobLimitError,
    JobRecord,
    blob_key,
    is_group,
    is_job_id,
    new_job_id,
    photo_blob,
)
from shared.runtime.storage import BlobNotFoundError
from shared.runtime.storage_ledger import StorageQuotaError

jobs_api = Blueprint("jobs", __name__, url_prefix="/v1/jobs")
log = logging.getLogger("sitter.gateway")


def _given_key() -> str:
    bearer = request.headers.get("Authorization", "").removeprefix("Bearer ")
    return request.headers.get("X-API-Key") or bearer


def _key_hash(key: str) -> str:
    return "key:" + hashlib.sha256(key.encode()).hexdigest()[:16]


def client_identity() -> str:
    """Who is calling, for rate limits, caps and idempotency scopes: the API key's hash, else the address.

    Without keys configured a sent key proves nothing, so it is ignored: a made-up X-API-Key per request
    must not make a new caller that escapes the per-address cap and the rate limit.
    """
    key = _given_key()
    if key and settings().api_keys:
        return _key_hash(key)
    return "addr:" + (request.remote_addr or "unknown")


def job_owner() -> str:
    """The owner stamped on new jobs and required to see them: the key's hash; "" in keyless dev mode."""
    return _key_hash(_given_key()) if settings().api_keys else ""


@jobs_api.before_request
def require_api_key() -> None:
    """With keys, every request needs one; without (development mode), only this machine is served,
    whatever server runs the app and whatever address it listens on."""
    if request.method == "OPTIONS":
        return  # a CORS preflight never carries credentials (Fetch spec); it reveals nothing and runs nothing
    keys = settings().api_keys
    if keys and _given_key() not in keys:
        raise ApiProblem(
            401, "unauthorized", "a valid API key is required (X-API-Key or Authorization: Bearer)"
        )
    if not keys and not is_loopback(request.remote_addr):
        raise ApiProblem(
            403,
            "development-mode",
            "this gateway runs without API keys, so it serves jobs only to its own machine; "
            "its operator must set SITTER_API_KEYS",
        )


def check_rate() -> None:
    conf, back = settings(), backends()
    if conf.rate_limit_per_minute:
        window = int(time.time() // 60)
        key = f"sitter:rate:{client_identity()}:{window}"
        pipe = back.redis.pipeline()
        pipe.incr(key)
        pipe.expire(key, 120)
        count = pipe.execute()[0]
        if count > conf.rate_limit_per_minute:
            retry = str(60 - int(time.time()) % 60)
            raise ApiProblem(
                429,
                "rate-limited",
                f"more than {conf.rate_limit_per_minute} jobs and previews a minute from this client",
                headers={"Retry-After": retry},
            )


def _too_many(error: JobLimitError) -> ApiProblem:
    whose = "" if error.scope == "total" else " of this API key (or address, without keys)"
    return ApiProblem(
        429,
        "too-many-jobs",
        f"{error.limit} jobs{whose} are already waiting or running; try again shortly",
        headers={"Retry-After": "5"},
    )


def _accepted(record: JobRecord, replayed: bool = False) -> Response:
    response = jsonify(job_document(record, settings()))
    response.status_code = 202
    response.headers["Location"] = f"{base_url(settings())}/v1/jobs/{record.id}"
    if replayed:
        response.headers["Idempotent-Replayed"] = "true"
    return response


def _replay(claim: IdempotentClaim | None, fingerprint: str, key: str) -> Response | None:
    """The earlier job of this Idempotency-Key, if the request is the same; None when there is none."""
    record = backends().jobs.get(claim.job_id) if claim else None
    if claim is None or record is None:
        return None
    if claim.fingerprint and claim.fingerprint != fingerprint:
        raise ApiProblem(
            422,
            "idempotency-key-reused",
            f"Idempotency-Key {key!r} was already used for a different request (job {claim.job_id}); "
            "send a new key for a new request",
        )
    return _accepted(record, replayed=True)


def _own_portrait(job_id: str) -> bytes:
    """The portrait of an earlier job of this caller's; another key's job is as absent as an unknown one."""
    earlier = backends().jobs.get(job_id)
    try:
        if earlier is not None and earlier.owner == job_owner():
            return backends().blobs.get(blob_key(job_id, PORTRAIT_BLOB))
    except BlobNotFoundError:
        pass
    raise ApiProblem(
        410,
        "blob-gone",
        f"job {job_id} has no portrait any more (unknown, deleted or expired)",
        field="portrait_from",
    )


@jobs_api.post("")
def submit() -> Response:
    back = backends()
    if request.mimetype not in ("multipart/form-data", "application/x-www-form-urlencoded"):
        raise ApiProblem(415, "unsupported-media-type", "send the job as multipart/form-data")
    idempotency = request.headers.get("Idempotency-Key", "").strip()
    scope = f"{client_identity()}:{idempotency}"
    fingerprint = request_fingerprint(request.form, request.files) if idempotency else ""
    if idempotency:
        replay = _replay(back.jobs.idempotent_job(scope), fingerprint, idempotency)
        if replay is not None:
            return replay
    check_rate()
    back.jobs.fail_overdue(settings().job_timeout)  # lost jobs must not hold places under the caps
    submission = parse_submission(request.form, request.files, settings(), back.decode_budget, back.catalog)
    portraits = list(submission.portraits)
    if not portraits:
        assert submission.portrait_from is not None
        portraits = [_own_portrait(submission.portrait_from)]
    uploads = {photo_blob(number): len(photo) for number, photo in enumerate(portraits, start=1)}
    if submission.painting is not None:
        uploads[PAINTING_BLOB] = len(submission.painting)
    check_room(back.blobs, sum(uploads.values()), settings().storage_admit_percent)
    job_id = new_job_id()
    if idempotency:
        # a concurrent twin of this request may have won the race
        replay = _replay(
            back.jobs.claim_idempotency_key(scope, job_id, fingerprint), fingerprint, idempotency
        )
        if replay is not None:
            return replay
    conf = settings()
    try:
        back.blobs.ledger.admit(job_id, client_identity(), uploads, conf.storage_quota_per_key)
        record = back.jobs.create(
            job_id,
            submission.params,
            owner=job_owner(),
            client=client_identity(),
            max_active=conf.max_active_jobs,
            max_active_per_client=conf.max_active_jobs_per_key,
        )
    except Exception as exc:
        back.blobs.ledger.release(job_id)
        if idempotency:  # let the client's retry create the job instead of finding a ghost
            back.jobs.release_idempotency_key(scope, job_id)
        if isinstance(exc, StorageQuotaError):
            raise over_quota(exc) from None
        if isinstance(exc, JobLimitError):
            raise _too_many(exc) from None
        raise
    if idempotency:
        back.jobs.note_idempotency_key(job_id, scope)
    try:
        for number, photo in enumerate(portraits, start=1):
            back.blobs.put(blob_key(job_id, photo_blob(number)), photo)
        if submission.painting is not None:
            back.blobs.put(blob_key(job_id, PAINTING_BLOB), submission.painting)
    except Exception:  # 503, or 507 when the store is full: the job must not exist, nor hold a place
        back.jobs.delete(job_id)
        back.blobs.delete_prefix(f"{job_id}/")  # also takes it out of the storage ledger
        if idempotency:
            back.jobs.release_idempotency_key(scope, job_id)
        raise
    try:
        enqueue(back.celery, job_id, submission.params)
    except Exception as exc:  # broker down: the job must not linger as "queued"
        log.warning("job %s could not be queued: %s", job_id, exc)  # the reason may name the broker's address
        back.jobs.fail(job_id, "queue", "broker-unavailable", "the job queue was unreachable; nothing queued")
        raise ApiProblem(503, "broker-unavailable", "the job queue is unreachable; try again") from exc
    return _accepted(record)


def _record(job_id: str) -> JobRecord:
    """The caller's own job; another key's job is a 404 like an unknown one, so ids reveal nothing.

    Overdue jobs are failed first, so a job whose task was lost is seen as failed, not running forever.
    """
    backends().jobs.fail_overdue(settings().job_timeout)
    record = backends().jobs.get(job_id) if is_job_id(job_id) else None
    if record is None or record.owner != job_owner():
        raise ApiProblem(404, "job-not-found", f"no job {job_id!r} (unknown, or past its retention period)")
    return record


@jobs_api.get("/<job_id>")
def show(job_id: str) -> Response:
    record = _record(job_id)
    document = job_document(record, settings())
    if record.status in (QUEUED, RUNNING):  # for "n ahead of you" while it waits for a free worker
        document["queue"] = {"ahead": backends().jobs.ahead_of(record)}
    return jsonify(document)


def download_stem(record: JobRecord) -> str:
    """A file name people can read: sitter-<painting id>-<day the job was made, UTC>, the name the web
    page gives its own download too; an uploaded painting is `own-painting`."""
    painting = re.sub(r"[^a-z0-9-]+", "-", str(record.params.get("painting") or "own-painting").lower())
    day = datetime.fromtimestamp(record.created_at, UTC).strftime("%Y-%m-%d")
    return f"sitter-{painting.strip('-') or 'painting'}-{day}"


def _blob_response(job_id: str, name: str, content_type: str, filename: str) -> Response:
    try:
        data = backends().blobs.get(blob_key(job_id, name))
    except BlobNotFoundError:
        raise ApiProblem(
            410, "blob-gone", f"the {filename} of job {job_id} was deleted or has expired"
        ) from None
    response = Response(data, content_type=content_type)
    response.set_etag(hashlib.sha256(data).hexdigest()[:32])
    response.headers["Cache-Control"] = "private, no-store"  # a face: no cache may keep it past a DELETE
    disposition = "attachment" if request.args.get("download") else "inline"
    response.headers["Content-Disposition"] = f'{disposition}; filename="{filename}"'
    return response.make_conditional(request)  # type: ignore[return-value]


@jobs_api.get("/<job_id>/result")
def result(job_id: str) -> Response:
    record = _record(job_id)
    if record.status != SUCCEEDED or record.result is None:
        raise ApiProblem(409, "job-not-finished", f"job {job_id} is {record.status}; no result to download")
    extension = "jpg" if record.result["format"] == "jpeg" else record.result["format"]
    return _blob_response(
        job_id, record.result["key"], record.result["content_type"], f"{download_stem(record)}.{extension}"
    )


@jobs_api.get("/<job_id>/artifacts/<name>")
def artifact(job_id: str, name: str) -> Response:
    record = _record(job_id)
    if name not in ARTIFACT_BLOBS:
        raise ApiProblem(
            404, "artifact-not-found", f"no artifact {name!r}; there are {', '.join(ARTIFACT_BLOBS)}"
        )
    if is_group(record.params) and name not in GROUP_ARTIFACTS:
        raise ApiProblem(
            404,
            "artifact-not-found",
            f"a job with several people has no {name}; it has {', '.join(GROUP_ARTIFACTS)}",
        )
    document = job_document(record, settings())
    if name not in document["links"]["artifacts"]:
        raise ApiProblem(
            409, "artifact-not-ready", f"the {name} of job {job_id} is not ready ({record.status})"
        )
    blob = ARTIFACT_BLOBS[name]
    extension = blob.rsplit(".", 1)[1]
    kind = "image/jpeg" if extension == "jpg" else "image/png"
    return _blob_response(job_id, blob, kind, f"{download_stem(record)}-{name}.{extension}")


@jobs_api.delete("/<job_id>")
def delete(job_id: str) -> Response:
    """Cancel the job if it is unfinished, then delete its images; the record stays until it expires."""
    back = backends()
    record = _record(job_id)
    if back.jobs.cancel(job_id) is not None:
        revoke(back.celery, job_id, record.params)
    back.blobs.delete_prefix(f"{job_id}/")
    back.jobs.release_idempotency_of(job_id)  # a retry of the request after DELETE makes a new job
    return jsonify(job_document(_record(record.id), settings()))
