"""Job records in Redis: status, per-stage state and timings, errors, result; with a retention period.

One Redis hash per job. Stages write their own fields, so the segmenter and the stylizer can report at
the same moment without overwriting each other; every status change is a compare-and-set (a Lua script),
so a late task can never resurrect a canceled job, and the first failure reported is the one kept.
The gateway and all workers share this module (it needs Redis, and no Celery, Flask or ML); the names it
stores (statuses, stages, the record's shape) are defined in `shared.jobs`.
"""

from __future__ import annotations

import json
import time
from typing import Any, cast

import redis

from shared.jobs import (
    CANCELED,
    FAILED,
    QUEUED,
    RUNNING,
    SUCCEEDED,
    IdempotentClaim,
    JobLimitError,
    JobRecord,
    split_stage,
)
from shared.runtime.metrics import Metrics

JOB_PREFIX = "sitter:job:"
IDEMPOTENCY_PREFIX = "sitter:idempotency:"
ACTIVE_KEY = "sitter:jobs:active"

# Admit a job: refuse it ("total" or "client") when either unfinished-job set is full (a negative cap is
# none), else create its record and count it in both sets, atomically, so concurrent submissions cannot
# overshoot. KEYS: the job's hash, all unfinished jobs, this client's. ARGV: job id, now, the score before
# which a client's entry is stale (a lost reservation), total cap, client cap, retention, then HSET pairs.
_ADMIT = """
redis.call('ZREMRANGEBYSCORE', KEYS[3], '-inf', ARGV[3])
local total, mine = tonumber(ARGV[4]), tonumber(ARGV[5])
if total >= 0 and redis.call('ZCARD', KEYS[2]) >= total then return 'total' end
if mine >= 0 and redis.call('ZCARD', KEYS[3]) >= mine then return 'client' end
redis.call('HSET', KEYS[1], unpack(ARGV, 7))
redis.call('EXPIRE', KEYS[1], ARGV[6])
redis.call('ZADD', KEYS[2], ARGV[2], ARGV[1])
redis.call('ZADD', KEYS[3], ARGV[2], ARGV[1])
redis.call('EXPIRE', KEYS[3], ARGV[6])
return false
"""

# Set status to ARGV[1] if the current one is in the JSON list ARGV[2]; then HSET the pairs in ARGV[3..].
_TRANSITION = """
local current = redis.call('HGET', KEYS[1], 'status')
if not current then return false end
for _, allowed in ipairs(cjson.decode(ARGV[2])) do
  if current == allowed then
    redis.call('HSET', KEYS[1], 'status', ARGV[1])
    for i = 3, #ARGV, 2 do redis.call('HSET', KEYS[1], ARGV[i], ARGV[i + 1]) end
    return current
  end
end
return false
"""


def _text(value: bytes | str) -> str:
    return value.decode() if isinstance(value, bytes) else value


def _canceled(now: float) -> dict[str, Any]:
    return {"state": CANCELED, "finished_at": now}


def client_active_key(client: str) -> str:
    """The set of one caller's unfinished jobs, for the per-caller cap."""
    return f"{ACTIVE_KEY}:{client}"


class JobStore:
    """Create, update and read job records; a record expires `retention_seconds` after its creation."""

    def __init__(self, client: redis.Redis, *, retention_seconds: int) -> None:
        self.client = client
        self.retention_seconds = retention_seconds
        self.metrics = Metrics(client)
        self._transition = client.register_script(_TRANSITION)
        self._admit = client.register_script(_ADMIT)

    def _key(self, job_id: str) -> str:
        return JOB_PREFIX + job_id

    def create(
        self,
        job_id: str,
        params: dict[str, Any],
        owner: str = "",
        *,
        client: str = "",
        max_active: int = -1,
        max_active_per_client: int = -1,
    ) -> JobRecord:
        """Record a new queued job, counted as unfinished for everyone and for `client` (who submitted it).

        Raises JobLimitError, creating nothing, when `max_active` jobs are already unfinished, or
        `max_active_per_client` of this client's (negative: no cap).
        """
        now = time.time()
        fields: dict[str, str | float] = {"status": QUEUED, "created_at": now, "params": json.dumps(params)}
        fields.update(owner=owner, client=client)
        stale = now - self.retention_seconds
        limits = [max_active, max_active_per_client, self.retention_seconds]
        refused = self._admit(
            keys=[self._key(job_id), ACTIVE_KEY, client_active_key(client)],
            args=[job_id, now, stale, *limits, *(item for pair in fields.items() for item in pair)],
        )
        if refused:
            scope = _text(refused)
            raise JobLimitError(scope, max_active if scope == "total" else max_active_per_client)
        self.metrics.inc("sitter_jobs_submitted_total", {})
        return JobRecord(id=job_id, status=QUEUED, created_at=now, params=params, owner=owner)

    def claim_idempotency_key(
        self, scoped_key: str, job_id: str, fingerprint: str = ""
    ) -> IdempotentClaim | None:
        """Remember `job_id` (and its request's fingerprint) for this key, and the key on the job, so DELETE
        can free it; returns the earlier claim if the key was already used."""
        key = IDEMPOTENCY_PREFIX + scoped_key
        if self.client.set(key, f"{job_id} {fingerprint}", nx=True, ex=self.retention_seconds):
            return None
        return self.idempotent_job(scoped_key)

    def release_idempotency_key(self, scoped_key: str, job_id: str) -> None:
        """Forget the key if it still names `job_id` (its request failed before the job existed, or the job
        was deleted: a deleted job is not an answer to replay)."""
        claim = self.idempotent_job(scoped_key)
        if claim is not None and claim.job_id == job_id:
            self.client.delete(IDEMPOTENCY_PREFIX + scoped_key)

    def idempotent_job(self, scoped_key: str) -> IdempotentClaim | None:
        """The job an earlier request with this idempotency key created, and that request's fingerprint."""
        existing = self.client.get(IDEMPOTENCY_PREFIX + scoped_key)
        if not existing:
            return None
        job_id, _, fingerprint = _text(existing).partition(" ")
        return IdempotentClaim(job_id, fingerprint)

    def note_idempotency_key(self, job_id: str, scoped_key: str) -> None:
        """Keep on the job the idempotency key that created it."""
        self.client.hset(self._key(job_id), "idempotency", scoped_key)

    def release_idempotency_of(self, job_id: str) -> None:
        """Free the idempotency key that created `job_id`, if any (called when the job is deleted)."""
        scoped_key = self.client.hget(self._key(job_id), "idempotency")
        if scoped_key:
            self.release_idempotency_key(_text(scoped_key), job_id)

    def ahead_of(self, record: JobRecord) -> int:
        """How many unfinished jobs were submitted before this one: the most it can be waiting behind."""
        return int(cast(int, self.client.zcount(ACTIVE_KEY, "-inf", f"({record.created_at!r}")))

    def fanned_out(self, job_id: str) -> bool:
        """Whether the plan step of a job with several people has sent its chord already."""
        return bool(self.client.hexists(self._key(job_id), "fanout"))

    def note_fanout(self, job_id: str, people: int) -> None:
        """Noted after the chord is sent, with the number of people: a redelivered plan task then does not
        send it twice (a kill between sending and noting sends it twice; its segment and stylize tasks then
        find their outputs stored and do nothing)."""
        if self.client.exists(self._key(job_id)):
            self.client.hsetnx(self._key(job_id), "fanout", people)

    def get(self, job_id: str) -> JobRecord | None:
        raw = {_text(k): _text(v) for k, v in self.client.hgetall(self._key(job_id)).items()}
        if "status" not in raw:
            return None
        return JobRecord(
            id=job_id,
            status=raw["status"],
            created_at=float(raw["created_at"]),
            params=json.loads(raw["params"]),
            started_at=float(raw["started_at"]) if "started_at" in raw else None,
            finished_at=float(raw["finished_at"]) if "finished_at" in raw else None,
            stages={
                name.removeprefix("stage:"): json.loads(value)
                for name, value in raw.items()
                if name.startswith("stage:")
            },
            error=json.loads(raw["error"]) if "error" in raw else None,
            result=json.loads(raw["result"]) if "result" in raw else None,
            owner=raw.get("owner", ""),
            people=int(raw["fanout"]) if "fanout" in raw else None,
        )

    def _set_status(self, job_id: str, status: str, allowed: tuple[str, ...], **fields: Any) -> str | None:
        pairs: list[Any] = []
        for name, value in fields.items():
            pairs += [name, value if isinstance(value, str | float | int) else json.dumps(value)]
        previous = self._transition(keys=[self._key(job_id)], args=[status, json.dumps(allowed), *pairs])
        return _text(previous) if previous else None

    def _release(self, job_id: str, pipe: Any) -> None:
        """Stop counting the job as unfinished, for everyone and for the client who submitted it."""
        client = self.client.hget(self._key(job_id), "client")
        pipe.zrem(ACTIVE_KEY, job_id)
        if client is not None:
            pipe.zrem(client_active_key(_text(client)), job_id)

    def start_stage(self, job_id: str, stage: str, worker: str) -> float | None:
        """Mark a stage running; returns its start time, or None when the job is over (skip the work)."""
        started = time.time()
        state = {"state": RUNNING, "started_at": started, "worker": worker}
        previous = self._set_status(job_id, RUNNING, (QUEUED, RUNNING), **{f"stage:{stage}": state})
        if previous is None:
            return None
        if previous == QUEUED:
            self.client.hsetnx(self._key(job_id), "started_at", started)
        return started

    def finish_stage(self, job_id: str, stage: str, started: float, worker: str) -> None:
        finished = time.time()
        state = {
            "state": SUCCEEDED,
            "started_at": started,
            "finished_at": finished,
            "duration_ms": round((finished - started) * 1000, 1),
            "worker": worker,
        }
        pipe = self.client.pipeline(transaction=False)
        kind = split_stage(stage)[0]
        self.metrics.observe("sitter_stage_duration_seconds", {"stage": kind}, finished - started, pipe=pipe)
        pipe.execute()
        self._set_status(job_id, RUNNING, (RUNNING,), **{f"stage:{stage}": state})

    def succeed(self, job_id: str, result: dict[str, Any]) -> bool:
        finished = time.time()
        if self._set_status(job_id, SUCCEEDED, (RUNNING,), finished_at=finished, result=result) is None:
            return False
        record = self.get(job_id)
        pipe = self.client.pipeline(transaction=False)
        self._release(job_id, pipe)
        self.metrics.inc("sitter_jobs_total", {"status": SUCCEEDED}, pipe=pipe)
        if record is not None:
            duration = finished - record.created_at
            self.metrics.observe("sitter_job_duration_seconds", {}, duration, pipe=pipe)
        pipe.execute()
        return True

    def fail(self, job_id: str, stage: str, code: str, detail: str, worker: str = "") -> bool:
        """Record the first failure (stage and reason); later reports for the same job are ignored.

        A person's stage (`segment.2`) is reported as its stage and the person: {"stage": "segment",
        "person": 2, ...}."""
        now = time.time()
        kind, person = split_stage(stage)
        error: dict[str, Any] = {"stage": kind, "code": code, "detail": detail}
        if person is not None:
            error["person"] = person
        stage_state = {"state": FAILED, "finished_at": now, "worker": worker, "error": error}
        previous = self._set_status(
            job_id, FAILED, (QUEUED, RUNNING), finished_at=now, error=error, **{f"stage:{stage}": stage_state}
        )
        if previous is None:
            return False
        pipe = self.client.pipeline(transaction=False)
        self._release(job_id, pipe)
        self.metrics.inc("sitter_jobs_total", {"status": FAILED}, pipe=pipe)
        self.metrics.inc("sitter_stage_failures_total", {"stage": kind}, pipe=pipe)
        pipe.execute()
        return True

    def cancel(self, job_id: str) -> str | None:
        """Cancel an unfinished job; returns the status it had, or None if it was already over or unknown.

        Its stages that were running or had not started read canceled too: none of them will run or end.
        (Once the status is canceled no worker writes the record again, so the stages are safe to set.)
        """
        now = time.time()
        previous = self._set_status(job_id, CANCELED, (QUEUED, RUNNING), finished_at=now)
        if previous is not None:
            pipe = self.client.pipeline(transaction=False)
            record = self.get(job_id)
            names = [*record.expected_stages(), *record.stages] if record is not None else []
            for stage in dict.fromkeys(names):
                state = record.stages.get(stage, {}) if record is not None else {}
                if state.get("state", RUNNING) == RUNNING:  # running, or not started (no state yet)
                    pipe.hset(self._key(job_id), f"stage:{stage}", json.dumps(state | _canceled(now)))
            self._release(job_id, pipe)
            self.metrics.inc("sitter_jobs_total", {"status": CANCELED}, pipe=pipe)
            pipe.execute()
        return previous

    def delete(self, job_id: str) -> None:
        """Forget a job entirely: its submission failed half-way, so its caller was told it does not exist."""
        pipe = self.client.pipeline(transaction=False)
        self._release(job_id, pipe)
        pipe.delete(self._key(job_id))
        pipe.execute()

    def fail_overdue(self, max_seconds: int) -> list[str]:
        """Fail every job still unfinished `max_seconds` after submission; returns their ids.

        A task lost with a Redis restart, or queued where no worker listens, would otherwise leave its job
        queued or running until the record expires; callers poll, so they learn it failed and why.
        """
        overdue = cast(list[bytes], self.client.zrangebyscore(ACTIVE_KEY, "-inf", time.time() - max_seconds))
        failed = []
        for job_id in map(_text, overdue):
            record = self.get(job_id)
            if record is None:
                self.client.zrem(ACTIVE_KEY, job_id)
                continue
            detail = (
                f"the job did not finish within {max_seconds} s of submission "
                "(its task was lost or no worker took it)"
            )
            if self.fail(job_id, record.current_stage(), "job-timeout", detail):
                failed.append(job_id)
        return failed
