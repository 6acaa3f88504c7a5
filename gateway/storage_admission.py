"""Storage budgets at submission: the whole blob store's fill, and the caller's own quota.

Both are checked before a job is accepted, so a refusal costs nothing and everything already accepted
keeps the room it needs: a capped Redis blob store takes new jobs only up to SITTER_STORAGE_ADMIT_PERCENT
of its maxmemory, the rest being left for the intermediates and results of the jobs already running.
"""

from __future__ import annotations

from gateway.problems import ApiProblem
from shared.runtime.storage import BlobStore
from shared.runtime.storage_ledger import StorageQuotaError

FULL_RETRY_AFTER = "60"  # seconds: room comes back as jobs are deleted or expire


def _mib(size: int) -> str:
    return f"{size / 1024 / 1024:.1f} MiB"


def check_room(store: BlobStore, incoming: int, admit_percent: int) -> None:
    """Refuse (507 storage-full) a job whose uploads would fill the store past the admission threshold."""
    capacity = store.capacity()
    if capacity is None:
        return
    used, limit = capacity
    if used + incoming > limit * admit_percent // 100:
        raise ApiProblem(
            507,
            "storage-full",
            f"the blob store is full ({_mib(used)} of {_mib(limit)} in use, new jobs are taken up to "
            f"{admit_percent} %); try again later",
            headers={"Retry-After": FULL_RETRY_AFTER},
        )


def over_quota(error: StorageQuotaError) -> ApiProblem:
    """429 storage-quota: this caller's live jobs hold too much; deleting finished ones frees it at once."""
    return ApiProblem(
        429,
        "storage-quota",
        f"the jobs of this API key (or address, without keys) hold {_mib(error.used)} of images and this "
        f"job brings {_mib(error.incoming)}, over the quota of {_mib(error.quota)}; delete finished jobs "
        "(DELETE /v1/jobs/{id}) or wait until they expire",
    )
