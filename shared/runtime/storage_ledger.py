"""Who holds how many blob bytes: the ledger behind the per-key storage quota (SITTER_STORAGE_QUOTA_PER_KEY).

Retention alone does not bound storage: one API key (or, without keys, one address) could fill the blob
store within a retention period. So the job store's Redis keeps, per caller, the bytes of each of its jobs
that are still live, and the gateway admits a job only while that caller's total plus the new uploads stays
within the quota. Bytes are recorded as blobs are written (uploads by the gateway, intermediates and the
result by the workers), so the total is what the store really holds; a job leaves the ledger when it is
deleted or its retention ends. Workers' writes are counted but never refused here: a job once accepted
keeps running, so a caller may go over the quota by its unfinished jobs' intermediates, never by more.

Keys: `sitter:storage:job:<id>`, hash blob name -> bytes plus `@client`, expiring with the job's blobs;
per caller `sitter:storage:client:<caller>`, hash job id -> bytes plus `@total`, and
`sitter:storage:expiry:<caller>`, job id -> the time its retention ends, both expiring an hour after the
caller's last change (so the next admission always finds the entries it must prune).
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING

import redis

from shared.runtime.storage import BlobStore, blob_store

if TYPE_CHECKING:
    from shared.settings import Settings

LEDGER_PREFIX = "sitter:storage:"
CLIENT_FIELD = "@client"
TOTAL_FIELD = "@total"
SLACK_SECONDS = 3600  # the caller's keys outlive its last job a little, so pruning always finds them

# Forget the caller's jobs whose retention ended; refuse (return the bytes in use) when the new uploads
# would take the caller past the quota (0: none); else enter the job with its uploads. KEYS: the job's
# hash, the caller's hash, the caller's expiry set. ARGV: job id, caller, now, the job's expiry (Unix
# seconds: its hash goes then, like its blobs), quota, the caller's keys' ttl, then name/size pairs.
_ADMIT = """
for _, job in ipairs(redis.call('ZRANGEBYSCORE', KEYS[3], '-inf', ARGV[3])) do
  local bytes = tonumber(redis.call('HGET', KEYS[2], job) or '0')
  redis.call('HINCRBY', KEYS[2], '@total', -bytes)
  redis.call('HDEL', KEYS[2], job)
  redis.call('ZREM', KEYS[3], job)
end
local used = tonumber(redis.call('HGET', KEYS[2], '@total') or '0')
local incoming = 0
for i = 7, #ARGV, 2 do incoming = incoming + tonumber(ARGV[i + 1]) end
local quota = tonumber(ARGV[5])
if quota > 0 and used + incoming > quota then return used end
redis.call('HSET', KEYS[1], '@client', ARGV[2])
for i = 7, #ARGV, 2 do redis.call('HSET', KEYS[1], ARGV[i], ARGV[i + 1]) end
redis.call('EXPIREAT', KEYS[1], math.ceil(tonumber(ARGV[4])))
redis.call('ZADD', KEYS[3], ARGV[4], ARGV[1])
redis.call('HINCRBY', KEYS[2], ARGV[1], incoming)
redis.call('HINCRBY', KEYS[2], '@total', incoming)
redis.call('EXPIRE', KEYS[2], ARGV[6])
redis.call('EXPIRE', KEYS[3], ARGV[6])
return false
"""

# Set one blob's size (a rewrite replaces, a delete is size 0) and move the caller's totals by the change,
# if the job is still in the ledger. KEYS as in _ADMIT. ARGV: job id, caller, blob name, size, ttl.
_RECORD = """
if redis.call('HGET', KEYS[1], '@client') ~= ARGV[2] then return 0 end
if not redis.call('ZSCORE', KEYS[3], ARGV[1]) then return 0 end
local delta = tonumber(ARGV[4]) - tonumber(redis.call('HGET', KEYS[1], ARGV[3]) or '0')
redis.call('HSET', KEYS[1], ARGV[3], ARGV[4])
redis.call('HINCRBY', KEYS[2], ARGV[1], delta)
redis.call('HINCRBY', KEYS[2], '@total', delta)
redis.call('EXPIRE', KEYS[2], ARGV[5])
redis.call('EXPIRE', KEYS[3], ARGV[5])
return delta
"""

# Take a job out of its caller's totals (its blobs were deleted). KEYS as in _ADMIT. ARGV: job id.
_RELEASE = """
if redis.call('ZREM', KEYS[3], ARGV[1]) == 1 then
  redis.call('HINCRBY', KEYS[2], '@total', -tonumber(redis.call('HGET', KEYS[2], ARGV[1]) or '0'))
  redis.call('HDEL', KEYS[2], ARGV[1])
end
redis.call('DEL', KEYS[1])
return 0
"""


class StorageQuotaError(Exception):
    """The caller's live jobs already hold so many bytes that the new uploads would pass its quota."""

    def __init__(self, used: int, incoming: int, quota: int) -> None:
        super().__init__(f"{used} bytes stored, {incoming} more asked, quota {quota}")
        self.used = used
        self.incoming = incoming
        self.quota = quota


def _text(value: bytes | str) -> str:
    return value.decode() if isinstance(value, bytes) else value


class StorageLedger:
    """Per-caller byte counts of live jobs' blobs, in the job store's Redis; every change is one script."""

    def __init__(self, client: redis.Redis, *, retention_seconds: int) -> None:
        self.client = client
        self.retention_seconds = retention_seconds
        self._admit = client.register_script(_ADMIT)
        self._record = client.register_script(_RECORD)
        self._release = client.register_script(_RELEASE)

    def _keys(self, job_id: str, caller: str) -> list[str]:
        return [
            f"{LEDGER_PREFIX}job:{job_id}",
            f"{LEDGER_PREFIX}client:{caller}",
            f"{LEDGER_PREFIX}expiry:{caller}",
        ]

    def _caller(self, job_id: str) -> str | None:
        caller = self.client.hget(f"{LEDGER_PREFIX}job:{job_id}", CLIENT_FIELD)
        return _text(caller) if caller is not None else None

    def admit(self, job_id: str, caller: str, uploads: dict[str, int], quota: int) -> None:
        """Enter a new job with its uploads' sizes, or raise StorageQuotaError (entering nothing)."""
        now = time.time()
        expiry = now + self.retention_seconds
        ttl = self.retention_seconds + SLACK_SECONDS
        pairs = [item for name, size in uploads.items() for item in (name, size)]
        refused = self._admit(
            keys=self._keys(job_id, caller), args=[job_id, caller, now, expiry, quota, ttl, *pairs]
        )
        if refused is not None:
            raise StorageQuotaError(int(refused), sum(uploads.values()), quota)

    def record(self, job_id: str, name: str, size: int) -> None:
        """Count a blob written (or deleted: size 0) for a job in the ledger; other jobs are ignored."""
        caller = self._caller(job_id)
        if caller is not None:
            ttl = self.retention_seconds + SLACK_SECONDS
            self._record(keys=self._keys(job_id, caller), args=[job_id, caller, name, size, ttl])

    def release(self, job_id: str) -> None:
        """Free a job's bytes at once: all its blobs were deleted."""
        caller = self._caller(job_id)
        if caller is not None:
            self._release(keys=self._keys(job_id, caller), args=[job_id])

    def used(self, caller: str) -> int:
        """Bytes the caller's jobs hold (as of the last admission's pruning of expired jobs)."""
        total = self.client.hget(f"{LEDGER_PREFIX}client:{caller}", TOTAL_FIELD)
        return int(total) if total is not None else 0


class MeteredBlobStore:
    """A blob store whose writes and deletions of job blobs ("<job-id>/<name>") update the ledger.

    Wrapping the store keeps the stages unchanged: whatever they write is counted for the job's caller.
    The blob is written first, so a refused write (a full store) is never counted.
    """

    def __init__(self, store: BlobStore, ledger: StorageLedger) -> None:
        self.store = store
        self.ledger = ledger

    def put(self, key: str, data: bytes, *, content_type: str = "application/octet-stream") -> None:
        self.store.put(key, data, content_type=content_type)
        job_id, _, name = key.partition("/")
        if name:
            self.ledger.record(job_id, name, len(data))

    def get(self, key: str) -> bytes:
        return self.store.get(key)

    def exists(self, key: str) -> bool:
        return self.store.exists(key)

    def delete(self, key: str) -> None:
        self.store.delete(key)
        job_id, _, name = key.partition("/")
        if name:
            self.ledger.record(job_id, name, 0)

    def delete_prefix(self, prefix: str) -> int:
        """Delete blobs; a whole job's folder ("<job-id>/") also leaves the ledger."""
        deleted = self.store.delete_prefix(prefix)
        job_id, slash, rest = prefix.partition("/")
        if slash and not rest:
            self.ledger.release(job_id)
        return deleted

    def ping(self) -> None:
        self.store.ping()

    def capacity(self) -> tuple[int, int] | None:
        return self.store.capacity()


def metered_blob_store(
    settings: Settings, client: redis.Redis, *, ride_out_seconds: float = 0
) -> MeteredBlobStore:
    """The configured blob store, its bytes counted in the job store's Redis (`client`) per caller."""
    store = blob_store(settings, client, ride_out_seconds=ride_out_seconds)
    return MeteredBlobStore(store, StorageLedger(client, retention_seconds=settings.retention_seconds))
