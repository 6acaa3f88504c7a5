"""The task wrapper and the chord's error callback, run in-process (Celery's eager `apply`) on real Redis:
failures are recorded with stage and reason, transient errors are retried, canceled jobs are skipped."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from billiard.exceptions import TimeLimitExceeded
from celery import Celery, Task
from celery.exceptions import ChordError

from shared.errors import InvalidParameterError
from shared.jobs import CANCELED, FAILED, RUNNING, SUCCEEDED, new_job_id
from shared.queues import JOB_FAILED_TASK
from shared.runtime.celery_app import create_celery
from shared.runtime.storage import StorageUnavailableError
from shared.runtime.worker import Runtime, init_runtime, register_failure_handler, run_stage, settle
from shared.settings import Settings


@pytest.fixture
def rt(redis_url: str) -> Iterator[Runtime]:
    settings = Settings(redis_url=redis_url, task_max_retries=2)
    yield init_runtime(settings, "tester", lambda _: None)


@pytest.fixture
def app(rt: Runtime) -> Celery:
    celery = create_celery(rt.settings)
    celery.conf.task_always_eager = True
    register_failure_handler(celery)
    return celery


def stage_task(app: Celery, work: Callable[[Runtime], Any], name: str) -> Task:
    @app.task(name=name, bind=True)
    def task(self: Task, job_id: str) -> Any:
        return run_stage(self, job_id, "stylize", work)

    return task


def test_success_records_the_stage(app: Celery, rt: Runtime) -> None:
    job_id = new_job_id()
    rt.jobs.create(job_id, {"style": "starry-night"})
    task = stage_task(app, lambda _: "stylized.png", "test.ok")
    assert task.apply(args=(job_id,)).get() == "stylized.png"
    record = rt.jobs.get(job_id)
    assert record is not None and record.status == RUNNING
    assert record.stages["stylize"]["state"] == SUCCEEDED and record.stages["stylize"]["worker"].startswith(
        "tester@"
    )


def test_bad_input_fails_the_job_at_once(app: Celery, rt: Runtime) -> None:
    calls: list[int] = []

    def work(_: Runtime) -> None:
        calls.append(1)
        raise InvalidParameterError("strength must be between 0 and 1", field="strength")

    job_id = new_job_id()
    rt.jobs.create(job_id, {"style": "starry-night"})
    result = stage_task(app, work, "test.bad").apply(args=(job_id,))
    assert result.failed() and len(calls) == 1  # never retried
    record = rt.jobs.get(job_id)
    assert record is not None and record.status == FAILED
    assert record.error == {
        "stage": "stylize",
        "code": "invalid-parameter",
        "detail": "strength must be between 0 and 1",
    }


def test_transient_errors_are_retried_then_reported(app: Celery, rt: Runtime) -> None:
    calls: list[int] = []

    def flaky(_: Runtime) -> str:
        calls.append(1)
        if len(calls) < 3:
            raise StorageUnavailableError("connection reset")
        return "ok"

    job_id = new_job_id()
    rt.jobs.create(job_id, {"style": "starry-night"})
    assert stage_task(app, flaky, "test.flaky").apply(args=(job_id,)).get() == "ok"
    assert len(calls) == 3 and rt.jobs.get(job_id).stages["stylize"]["state"] == SUCCEEDED  # type: ignore[union-attr]

    def down(_: Runtime) -> str:
        raise StorageUnavailableError("connection refused")

    other = new_job_id()
    rt.jobs.create(other, {"style": "starry-night"})
    assert stage_task(app, down, "test.down").apply(args=(other,)).failed()
    record = rt.jobs.get(other)
    assert record is not None and record.status == FAILED and record.error is not None
    assert record.error["code"] == "storage-unavailable"


def test_a_canceled_job_is_skipped(app: Celery, rt: Runtime) -> None:
    calls: list[int] = []
    job_id = new_job_id()
    rt.jobs.create(job_id, {"style": "starry-night"})
    rt.jobs.cancel(job_id)
    stage_task(app, lambda _: calls.append(1), "test.skip").apply(args=(job_id,))
    assert calls == [] and rt.jobs.get(job_id).status == CANCELED  # type: ignore[union-attr]


def test_a_stage_whose_input_was_deleted_by_a_cancel_ends_as_canceled(
    app: Celery, rt: Runtime, caplog: pytest.LogCaptureFixture
) -> None:
    job_id = new_job_id()
    rt.jobs.create(job_id, {"style": "starry-night"})
    rt.blobs.put(f"{job_id}/portrait", b"photo")

    def work(runtime: Runtime) -> bytes:
        runtime.jobs.cancel(job_id)  # DELETE lands after the stage started, before it reads its input
        runtime.blobs.delete_prefix(f"{job_id}/")
        runtime.blobs.put(f"{job_id}/stylized.png", b"late")  # e.g. a plan written before the read
        return runtime.blobs.get(f"{job_id}/portrait")

    caplog.set_level("INFO", "sitter.worker")
    result = stage_task(app, work, "test.deleted").apply(args=(job_id,))
    assert not result.failed()  # ignored, not a crash: the chord's error callback has nothing to blame
    record = rt.jobs.get(job_id)
    assert record is not None and record.status == CANCELED and record.error is None
    assert not rt.blobs.exists(f"{job_id}/stylized.png")
    assert f"job {job_id} was canceled during stylize" in caplog.text


def test_chord_error_callback_blames_the_stage_that_was_running(app: Celery, rt: Runtime) -> None:
    job_id = new_job_id()
    rt.jobs.create(job_id, {"style": "starry-night"})
    started = rt.jobs.start_stage(job_id, "segment", "w")
    assert started is not None
    rt.jobs.finish_stage(job_id, "segment", started, "w")
    rt.jobs.start_stage(job_id, "stylize", "w")  # then its process was killed by the hard time limit
    app.tasks[JOB_FAILED_TASK](None, TimeLimitExceeded(180), None, job_id)  # what Celery passes then
    record = rt.jobs.get(job_id)
    assert record is not None and record.status == FAILED and record.error is not None
    assert record.error["stage"] == "stylize" and record.error["detail"].startswith("TimeLimitExceeded")


def test_a_hard_time_limit_wrapped_by_the_chord_keeps_its_words(app: Celery, rt: Runtime) -> None:
    """A header task's kill reaches the error callback as a ChordError raised from TimeLimitExceeded."""
    job_id = new_job_id()
    rt.jobs.create(job_id, {"style": "starry-night"})
    rt.jobs.start_stage(job_id, "stylize", "w")
    try:
        try:
            raise TimeLimitExceeded(2)
        except TimeLimitExceeded as killed:
            raise ChordError(f"Dependency {job_id}-stylize raised TimeLimitExceeded(2)") from killed
    except ChordError as wrapped:
        app.tasks[JOB_FAILED_TASK](None, wrapped, None, job_id)
    record = rt.jobs.get(job_id)
    assert record is not None and record.error is not None
    assert "TimeLimitExceeded" in record.error["detail"] and "incident" not in record.error["detail"]


def test_chord_error_callback_hides_what_a_crash_said(
    app: Celery, rt: Runtime, caplog: pytest.LogCaptureFixture
) -> None:
    job_id = new_job_id()
    rt.jobs.create(job_id, {"style": "starry-night"})
    rt.jobs.start_stage(job_id, "segment", "w")
    caplog.set_level("ERROR", "sitter.worker")
    crash = MemoryError("OpenCV(4.9.0) /io/opencv/modules/core/src/alloc.cpp:73: failed to allocate 9 GB")
    app.tasks[JOB_FAILED_TASK](None, crash, None, job_id)
    record = rt.jobs.get(job_id)
    assert record is not None and record.error is not None and record.error["code"] == "stage-failed"
    assert "alloc" not in record.error["detail"] and "incident" in record.error["detail"]
    assert "alloc.cpp" in caplog.text


def test_an_internal_error_reaches_the_caller_as_an_incident_reference_only(
    app: Celery, rt: Runtime, caplog: pytest.LogCaptureFixture
) -> None:
    """A real OpenCV failure names its source file and sizes: that goes to the worker log under a short
    reference, and the job document says only that the stage failed and which reference to quote."""
    import cv2
    import numpy as np

    def work(_: Runtime) -> None:
        cv2.resize(np.zeros((0, 0), np.uint8), (10, 10))

    job_id = new_job_id()
    rt.jobs.create(job_id, {"style": "starry-night"})
    caplog.set_level("ERROR", "sitter.worker")
    assert stage_task(app, work, "test.crash").apply(args=(job_id,)).failed()
    record = rt.jobs.get(job_id)
    assert record is not None and record.error is not None
    detail = record.error["detail"]
    assert record.error["code"] == "internal-error" and record.error["stage"] == "stylize"
    match = re.fullmatch(
        r"internal error in the stylize stage; .* incident ([0-9a-f]{8}) in the worker log", detail
    )
    assert match, detail
    assert ".cpp" not in detail and "cv2" not in detail and "error:" not in detail
    [logged] = [r for r in caplog.records if match.group(1) in r.getMessage()]
    assert job_id in logged.getMessage() and logged.exc_text and "resize" in logged.exc_text


def test_a_storage_failure_does_not_name_the_storage_address(
    app: Celery, rt: Runtime, caplog: pytest.LogCaptureFixture
) -> None:
    def down(_: Runtime) -> None:
        raise StorageUnavailableError("Error 111 connecting to 10.20.30.40:6379. Connection refused.")

    job_id = new_job_id()
    rt.jobs.create(job_id, {"style": "starry-night"})
    caplog.set_level("ERROR", "sitter.worker")
    assert stage_task(app, down, "test.down-address").apply(args=(job_id,)).failed()
    record = rt.jobs.get(job_id)
    assert record is not None and record.error is not None
    assert record.error["code"] == "storage-unavailable" and "10.20.30.40" not in record.error["detail"]
    assert "10.20.30.40" in caplog.text  # the operator still sees it


def test_a_twin_composite_that_loses_leaves_the_succeeded_result_alone(rt: Runtime) -> None:
    """A chord body sent twice runs two composites; the second one's succeed is refused and the first's
    result must survive it (before, the one-person path deleted every blob of the finished job)."""
    job_id = new_job_id()
    rt.jobs.create(job_id, {"style": "starry-night"})
    assert rt.jobs.start_stage(job_id, "composite", "tester") is not None
    rt.blobs.put(f"{job_id}/result.png", b"picture")
    assert settle(rt, job_id, {"format": "png"}) is True
    assert settle(rt, job_id, {"format": "png"}) is False  # the twin
    assert rt.blobs.get(f"{job_id}/result.png") == b"picture"
    assert rt.jobs.get(job_id).status == SUCCEEDED  # type: ignore[union-attr]


def test_a_composite_of_a_job_canceled_meanwhile_drops_what_it_wrote(rt: Runtime) -> None:
    job_id = new_job_id()
    rt.jobs.create(job_id, {"style": "starry-night"})
    assert rt.jobs.start_stage(job_id, "composite", "tester") is not None
    rt.jobs.cancel(job_id)
    rt.blobs.put(f"{job_id}/result.png", b"picture")
    assert settle(rt, job_id, {"format": "png"}) is False
    assert not rt.blobs.exists(f"{job_id}/result.png")
