"""Job records: status transitions are compare-and-set, stages report independently, metrics add up."""

from __future__ import annotations

import numpy as np
import pytest
import redis

from shared.blob_codec import decode_matte, encode_matte
from shared.errors import InvalidParameterError
from shared.jobs import CANCELED, FAILED, QUEUED, RUNNING, SUCCEEDED, is_job_id, new_job_id
from shared.runtime.job_store import ACTIVE_KEY, JobStore
from shared.runtime.metrics import Metrics
from shared.webhook import check_callback_url


@pytest.fixture
def jobs(redis_url: str) -> JobStore:
    return JobStore(redis.Redis.from_url(redis_url), retention_seconds=60)


def test_a_job_runs_through_its_stages(jobs: JobStore) -> None:
    job_id = new_job_id()
    assert is_job_id(job_id) and not is_job_id("../etc")
    jobs.create(job_id, {"style": "starry-night"})
    assert jobs.get(job_id).status == QUEUED  # type: ignore[union-attr]
    started = {stage: jobs.start_stage(job_id, stage, "w") for stage in ("segment", "stylize")}
    assert all(started.values())
    jobs.finish_stage(job_id, "segment", started["segment"], "w")  # type: ignore[arg-type]
    record = jobs.get(job_id)
    assert record is not None and record.status == RUNNING and record.started_at is not None
    assert record.stages["segment"]["state"] == SUCCEEDED and record.stages["segment"]["duration_ms"] >= 0
    assert record.stages["stylize"]["state"] == RUNNING
    assert jobs.succeed(job_id, {"key": "k", "box": [1, 2, 3, 4]})
    record = jobs.get(job_id)
    assert (
        record is not None
        and record.status == SUCCEEDED
        and record.result == {"key": "k", "box": [1, 2, 3, 4]}
    )
    assert jobs.start_stage(job_id, "composite", "w") is None  # a redelivered task finds the job over
    assert not jobs.fail(job_id, "composite", "late", "too late")
    assert jobs.get(job_id).status == SUCCEEDED  # type: ignore[union-attr]


def test_first_failure_wins_and_cancel_is_final(jobs: JobStore) -> None:
    job_id = new_job_id()
    jobs.create(job_id, {})
    assert jobs.fail(job_id, "stylize", "unknown-style", "no such style")
    assert not jobs.fail(job_id, "segment", "other", "later report")
    record = jobs.get(job_id)
    assert record is not None and record.status == FAILED
    assert record.error == {"stage": "stylize", "code": "unknown-style", "detail": "no such style"}
    assert jobs.cancel(job_id) is None

    other = new_job_id()
    jobs.create(other, {})
    assert jobs.cancel(other) == QUEUED
    assert jobs.start_stage(other, "segment", "w") is None
    assert not jobs.succeed(other, {})
    assert jobs.get(other).status == CANCELED  # type: ignore[union-attr]
    assert jobs.get(new_job_id()) is None


def test_idempotency_keys_and_active_count(jobs: JobStore) -> None:
    before = jobs.client.zcard(ACTIVE_KEY)
    first, second = new_job_id(), new_job_id()
    scope = f"client:{first}"
    assert jobs.claim_idempotency_key(scope, first) is None
    assert jobs.claim_idempotency_key(scope, second) == (first, "")
    jobs.release_idempotency_key(scope, second)  # not its job: kept
    assert jobs.idempotent_job(scope) == (first, "")
    jobs.release_idempotency_key(scope, first)
    assert jobs.idempotent_job(scope) is None
    jobs.create(first, {})
    assert jobs.client.zcard(ACTIVE_KEY) == before + 1
    jobs.cancel(first)
    assert jobs.client.zcard(ACTIVE_KEY) == before


def test_metrics_render_as_prometheus_text(redis_url: str) -> None:
    client = redis.Redis.from_url(redis_url)
    metrics = Metrics(client, key=f"test:metrics:{new_job_id()}")
    metrics.observe("sitter_stage_duration_seconds", {"stage": "segment"}, 0.3)
    metrics.observe("sitter_stage_duration_seconds", {"stage": "segment"}, 7.0)
    metrics.inc("sitter_jobs_total", {"status": "succeeded"}, 2)
    text = metrics.render([("sitter_queue_depth", {"queue": "segment"}, 3)])
    assert "# TYPE sitter_stage_duration_seconds histogram" in text
    assert 'sitter_stage_duration_seconds_bucket{le="0.25",stage="segment"} 0' not in text
    assert 'sitter_stage_duration_seconds_bucket{le="0.5",stage="segment"} 1.0' in text  # labels by name
    assert 'sitter_stage_duration_seconds_bucket{le="+Inf",stage="segment"} 2.0' in text
    assert 'sitter_stage_duration_seconds_count{stage="segment"} 2.0' in text
    assert 'sitter_jobs_total{status="succeeded"} 2.0' in text
    assert 'sitter_queue_depth{queue="segment"} 3.0' in text
    lines = [line for line in text.splitlines() if "_bucket" in line]
    bounds = [line.split('le="')[1].split('"')[0] for line in lines]
    assert bounds.index("0.5") < bounds.index("10.0") < bounds.index("+Inf")
    metrics.inc("sitter_http_requests_total", {"endpoint": 'a "quoted"\\path', "status": "200"})
    assert 'endpoint="a \\"quoted\\"\\\\path"' in metrics.render()  # escaped by prometheus_client
    body, content_type = metrics.exposition(accept="application/openmetrics-text; version=1.0.0")
    assert content_type.startswith("application/openmetrics-text") and body.endswith(b"# EOF\n")


def test_matte_codec_is_lossless_to_16_bits() -> None:
    matte = np.random.default_rng(1).random((37, 23), dtype=np.float32)
    back = decode_matte(encode_matte(matte))
    assert back.dtype == np.float32 and back.shape == matte.shape
    assert float(np.abs(back - matte).max()) < 1e-4


def test_webhook_urls_are_restricted() -> None:
    with pytest.raises(InvalidParameterError, match="disabled"):
        check_callback_url("https://example.com/hook", (), False)
    with pytest.raises(InvalidParameterError, match="not in the allowed list"):
        check_callback_url("https://evil.example/hook", ("example.com",), False)
    with pytest.raises(InvalidParameterError, match="non-public"):
        check_callback_url("http://127.0.0.1:9/hook", ("127.0.0.1",), False)
    with pytest.raises(InvalidParameterError, match="http or https"):
        check_callback_url("ftp://127.0.0.1/hook", ("127.0.0.1",), True)
    check_callback_url("http://127.0.0.1:9/hook", ("127.0.0.1",), True)


def test_a_job_with_several_people_records_each_person_and_names_them_on_failure(jobs: JobStore) -> None:
    from shared.jobs import person_blob, photo_blob, split_stage

    assert split_stage("segment.2") == ("segment", 2) and split_stage("plan") == ("plan", None)
    assert person_blob("matte.png", 2) == "matte.2.png" and person_blob("matte.png", None) == "matte.png"
    assert photo_blob(1) == "portrait" and photo_blob(3) == "portrait.3"
    job_id = new_job_id()
    jobs.create(job_id, {"style": "starry-night", "group": {"photos": 2}})
    assert jobs.get(job_id).current_stage() == "plan"  # type: ignore[union-attr]
    plan = jobs.start_stage(job_id, "plan", "w")
    jobs.finish_stage(job_id, "plan", plan, "w")  # type: ignore[arg-type]
    jobs.note_fanout(job_id, 2)
    jobs.note_fanout(job_id, 3)  # a plan task delivered again does not change the count
    for name in ("stylize.2", "segment.2", "segment.1"):
        jobs.start_stage(job_id, name, "w")
    record = jobs.get(job_id)
    assert record is not None and record.people == 2 and jobs.fanned_out(job_id)
    assert set(record.stages) == {"plan", "segment.1", "segment.2", "stylize.2"}
    assert record.current_stage() == "segment.1"  # the first running stage, the first person
    assert jobs.fail(job_id, "segment.2", "no-person", "person 2 (photo 2): no person found", "w")
    record = jobs.get(job_id)
    assert record is not None and record.status == FAILED
    assert record.error == {
        "stage": "segment",
        "code": "no-person",
        "detail": "person 2 (photo 2): no person found",
        "person": 2,
    }
    text = Metrics(jobs.client).render()  # labelled by stage kind, not person: a bounded label set
    assert 'stage="segment"' in text and 'stage="segment.2"' not in text


def test_cancel_marks_every_unfinished_person_stage(jobs: JobStore) -> None:
    job_id = new_job_id()
    jobs.create(job_id, {"style": "starry-night", "group": {"photos": 2}})
    jobs.start_stage(job_id, "segment.1", "w")
    done = jobs.start_stage(job_id, "stylize.1", "w")
    jobs.finish_stage(job_id, "stylize.1", done, "w")  # type: ignore[arg-type]
    assert jobs.cancel(job_id) == RUNNING
    stages = jobs.get(job_id).stages  # type: ignore[union-attr]
    assert {name: state["state"] for name, state in stages.items()} == {
        "segment.1": CANCELED,
        "stylize.1": SUCCEEDED,
        "plan": CANCELED,
        "composite": CANCELED,
    }
