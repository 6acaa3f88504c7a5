"""A small Python client for the Sitter REST API (v1), and the `sitter submit` command built on it.

It speaks only HTTP (requests), so an app can use it without any of Sitter's image or ML dependencies.
Every API error arrives as application/problem+json and is raised as a typed `ApiError` subclass chosen
by status, so callers can branch on the class (or on `.code`) instead of parsing prose.
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, fields
from pathlib import Path
from typing import IO, Any

import requests

from shared.errors import SitterError

TERMINAL_STATUSES = ("succeeded", "failed", "canceled")
ARTIFACTS = ("mask", "cutout", "stylized", "thumbnail")
OUTPUT_SUFFIXES = {".png": "png", ".jpg": "jpeg", ".jpeg": "jpeg", ".webp": "webp"}

ImageInput = str | Path | bytes | IO[bytes]


class ApiError(SitterError):
    """The API answered with an error; `code` is the problem's stable code, `status` its HTTP status."""

    def __init__(
        self,
        message: str,
        *,
        status: int,
        code: str,
        field: str | None = None,
        retry_after: float | None = None,
        problem: Mapping[str, Any] | None = None,
    ) -> None:
        super().__init__(message, field=field)
        self.status = status
        self.code = code
        self.retry_after = retry_after
        self.problem = dict(problem or {})


class BadRequestError(ApiError):
    """400: the request itself is malformed."""


class UnauthorizedError(ApiError):
    """401: the server wants an API key (pass `api_key`)."""


class NotFoundError(ApiError):
    """404: unknown job (or past its retention period), artifact or painting."""


class ConflictError(ApiError):
    """409: the job is not in a state for this (e.g. result of an unfinished job)."""


class GoneError(ApiError):
    """410: the job's images were deleted or have expired."""


class UploadTooLargeError(ApiError):
    """413: a file (bytes or pixels) is above the server's limits."""


class UnsupportedMediaError(ApiError):
    """415: a file is not an image format the server can decode."""


class ValidationError(ApiError):
    """422: a parameter is invalid; `field` names it."""


class RateLimitedError(ApiError):
    """429: too many jobs; `retry_after` says how many seconds to wait."""


class ServerError(ApiError):
    """5xx: the server or one of its backends failed; retrying later may work."""


class JobFailedError(SitterError):
    """The job finished as failed; `stage` is where, `job` the final job document."""

    code = "job-failed"

    def __init__(self, job: Job) -> None:
        error = job.error or {}
        self.stage = error.get("stage")
        self.person = error.get("person")  # a job with several people: whose stage failed (1-based)
        where = f" in stage {self.stage}" if self.stage else ""
        where += f" (person {self.person})" if self.person else ""
        super().__init__(f"job {job.id} failed{where}: {error.get('detail', 'no reason given')}")
        self.job = job


class JobCanceledError(SitterError):
    """The job was canceled before it finished."""

    code = "job-canceled"

    def __init__(self, job: Job) -> None:
        super().__init__(f"job {job.id} was canceled")
        self.job = job


class WaitTimeoutError(SitterError):
    """`wait` gave up; the job may still finish (poll it again, or cancel it)."""

    code = "wait-timeout"

    def __init__(self, job: Job, timeout: float) -> None:
        super().__init__(f"job {job.id} is still {job.status} after {timeout:g} s")
        self.job = job


STATUS_ERRORS: dict[int, type[ApiError]] = {
    400: BadRequestError,
    401: UnauthorizedError,
    404: NotFoundError,
    409: ConflictError,
    410: GoneError,
    413: UploadTooLargeError,
    415: UnsupportedMediaError,
    422: ValidationError,
    429: RateLimitedError,
}


def error_from_response(response: requests.Response) -> ApiError:
    """Map an error response to its typed error; a non-problem body (a proxy's page) still maps by status."""
    problem: dict[str, Any] = {}
    if "json" in response.headers.get("Content-Type", ""):
        try:
            body = response.json()
        except ValueError:
            body = None
        if isinstance(body, dict):
            problem = body
    detail = str(problem.get("detail") or response.reason or "error")
    code = str(problem.get("code") or f"http-{response.status_code}")
    retry = response.headers.get("Retry-After")
    kind = STATUS_ERRORS.get(response.status_code, ServerError if response.status_code >= 500 else ApiError)
    return kind(
        f"{detail} (HTTP {response.status_code} {code})",
        status=response.status_code,
        code=code,
        field=problem.get("field"),
        retry_after=float(retry) if retry and retry.isdigit() else None,
        problem=problem,
    )


@dataclass(frozen=True)
class Job:
    """A job document as the API returned it; the raw JSON stays available as `document`."""

    document: dict[str, Any]

    @property
    def id(self) -> str:
        return str(self.document["id"])

    @property
    def status(self) -> str:
        return str(self.document["status"])

    @property
    def done(self) -> bool:
        return self.status in TERMINAL_STATUSES

    @property
    def stages(self) -> dict[str, dict[str, Any]]:
        stages: dict[str, dict[str, Any]] = self.document.get("stages") or {}
        return stages

    @property
    def error(self) -> dict[str, Any] | None:
        error: dict[str, Any] | None = self.document.get("error")
        return error

    @property
    def result(self) -> dict[str, Any] | None:
        """Format, content type, size and the placed box of the finished picture; with several people
        also `people` (each person's box and placement) and `order` (back to front)."""
        result: dict[str, Any] | None = self.document.get("result")
        return result


@dataclass(frozen=True)
class PersonOptions:
    """One person's own fields in a job with several people (sent as x.2, y.2, ... for person 2); None
    takes the automatic placement, or the job's style and strength."""

    x: int | None = None
    y: int | None = None
    height: int | None = None
    style: str | None = None
    strength: float | None = None


def _person_form(persons: Sequence[PersonOptions | None]) -> dict[str, str]:
    form = {}
    for number, person in enumerate(persons, start=1):
        for option in fields(PersonOptions) if person is not None else ():
            value = getattr(person, option.name)
            if value is not None:
                form[f"{option.name}.{number}"] = _form_value(value)
    return form


def _file_part(name: str, value: ImageInput) -> tuple[str, bytes | IO[bytes]]:
    if isinstance(value, str | Path):
        path = Path(value)
        return path.name, path.read_bytes()
    if isinstance(value, bytes):
        return name, value
    return getattr(value, "name", name), value


def _form_value(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


class SitterClient:
    """Talks to one Sitter server; safe to reuse across calls (one HTTP session, keep-alive)."""

    def __init__(
        self,
        base_url: str,
        api_key: str | None = None,
        *,
        timeout: float = 60.0,
        session: requests.Session | None = None,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.timeout = timeout
        self.session = session or requests.Session()
        if api_key:
            self.session.headers["X-API-Key"] = api_key

    def _request(self, method: str, path: str, **kwargs: Any) -> requests.Response:
        try:
            response = self.session.request(method, self.base_url + path, timeout=self.timeout, **kwargs)
        except requests.ConnectionError as exc:
            raise ApiError(
                f"cannot reach the Sitter server at {self.base_url}: {exc}", status=0, code="unreachable"
            ) from exc
        if response.status_code >= 400:
            raise error_from_response(response)
        return response

    def paintings(self) -> list[dict[str, Any]]:
        """The gallery: id, title, artist, year, width, height, image and thumbnail URLs."""
        items: list[dict[str, Any]] = self._request("GET", "/v1/paintings").json()["paintings"]
        return items

    def painting(self, painting_id: str) -> dict[str, Any]:
        """One gallery painting with its suggested `spots` (pass an index as `submit(spot=...)`)."""
        item: dict[str, Any] = self._request("GET", f"/v1/paintings/{painting_id}").json()
        return item

    def add_painting(
        self,
        image: ImageInput,
        painting_id: str,
        *,
        title: str,
        artist: str,
        year: str,
        licence: str,
        source: str = "",
    ) -> dict[str, Any]:
        """Add a painting to the operator's gallery (an admin key); answered at once with
        `analysis: pending`: poll `painting(id)` until it is `ready` (or `failed`)."""
        fields = {"id": painting_id, "title": title, "artist": artist, "year": year, "licence": licence}
        if source:
            fields["source"] = source
        files = {"image": _file_part("image", image)}
        item: dict[str, Any] = self._request("POST", "/v1/paintings", data=fields, files=files).json()
        return item

    def update_painting(self, painting_id: str, **fields: str) -> dict[str, Any]:
        """New title, artist, year, licence or source of an added painting (an admin key)."""
        item: dict[str, Any] = self._request("PATCH", f"/v1/paintings/{painting_id}", json=fields).json()
        return item

    def remove_painting(self, painting_id: str) -> None:
        """Delete an added painting (an admin key): new jobs naming it are refused, running ones finish."""
        self._request("DELETE", f"/v1/paintings/{painting_id}")

    def styles(self) -> list[dict[str, Any]]:
        items: list[dict[str, Any]] = self._request("GET", "/v1/styles").json()["styles"]
        return items

    def submit(
        self,
        portrait: ImageInput | list[ImageInput] | tuple[ImageInput, ...] | None = None,
        *,
        portrait_from: str | None = None,
        painting: str | None = None,
        painting_file: ImageInput | None = None,
        style: str | None = None,
        strength: float | None = None,
        keep_colors: bool | None = None,
        harmonize: bool | None = None,
        x: int | None = None,
        y: int | None = None,
        height: int | None = None,
        auto: bool = False,
        spot: int | None = None,
        format: str | None = None,
        output_scale: float | None = None,
        callback_url: str | None = None,
        idempotency_key: str | None = None,
        people: str | None = None,
        persons: Sequence[PersonOptions | None] = (),
        order: Sequence[int] | None = None,
    ) -> Job:
        """Queue a job; options left as None take the server's defaults. Returns the queued job.

        `portrait_from=<earlier job id>` reuses that job's uploaded portrait instead of sending it again
        (e.g. to try another placement).

        Several people in one painting: pass a list of portraits (up to 6), and/or `people="all"` to keep
        every person of each photo (a group photo; people are numbered photo by photo, left to right).
        `persons[k]` holds person k+1's own box, style or strength (None: automatic, the job's); `order`
        lists the people back to front by number, e.g. [2, 1].
        """
        photos: list[ImageInput] = []
        if isinstance(portrait, list | tuple):
            photos = list(portrait)
        elif portrait is not None:
            photos = [portrait]
        if bool(photos) == (portrait_from is not None):
            raise ValueError("pass either a portrait or portrait_from (an earlier job's id)")
        form = {
            "portrait_from": portrait_from,
            "painting": painting,
            "style": style,
            "strength": strength,
            "keep_colors": keep_colors,
            "harmonize": harmonize,
            "x": x,
            "y": y,
            "height": height,
            "auto": True if auto else None,
            "spot": spot,
            "format": format,
            "output_scale": output_scale,
            "callback_url": callback_url,
            "people": people,
            "order": ",".join(str(number) for number in order) if order else None,
        }
        data = {name: _form_value(value) for name, value in form.items() if value is not None}
        data.update(_person_form(persons))
        files = [("portrait", _file_part("portrait", photo)) for photo in photos]
        if painting_file is not None:
            files.append(("painting_file", _file_part("painting_file", painting_file)))
        headers = {"Idempotency-Key": idempotency_key} if idempotency_key else {}
        response = self._request("POST", "/v1/jobs", data=data, files=files, headers=headers)
        return Job(response.json())

    def job(self, job_id: str) -> Job:
        return Job(self._request("GET", f"/v1/jobs/{job_id}").json())

    def wait(
        self,
        job_id: str,
        *,
        timeout: float = 300.0,
        interval: float = 0.2,
        max_interval: float = 2.0,
        backoff: float = 1.5,
        on_update: Callable[[Job], None] | None = None,
    ) -> Job:
        """Poll until the job succeeds; raise JobFailedError, JobCanceledError or WaitTimeoutError.

        Polls start fast (most jobs take a second or two) and back off to `max_interval`, so a slow
        queue costs the server few requests. `on_update` sees every polled document (for progress).
        """
        deadline = time.monotonic() + timeout
        while True:
            job = self.job(job_id)
            if on_update is not None:
                on_update(job)
            if job.status == "succeeded":
                return job
            if job.status == "failed":
                raise JobFailedError(job)
            if job.status == "canceled":
                raise JobCanceledError(job)
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise WaitTimeoutError(job, timeout)
            time.sleep(min(interval, remaining))
            interval = min(interval * backoff, max_interval)

    def result(self, job_id: str) -> bytes:
        """The finished picture's bytes (format as submitted; see `Job.result['content_type']`)."""
        return self._request("GET", f"/v1/jobs/{job_id}/result").content

    def artifact(self, job_id: str, name: str) -> bytes:
        """An intermediate PNG: `mask` (the matte), `cutout` (RGBA as placed) or `stylized`; or
        `thumbnail`, the result as a small JPEG (long side 256 px)."""
        if name not in ARTIFACTS:
            raise ValueError(f"artifact must be one of {', '.join(ARTIFACTS)}, not {name!r}")
        return self._request("GET", f"/v1/jobs/{job_id}/artifacts/{name}").content

    def cancel(self, job_id: str) -> Job:
        """Cancel the job if unfinished and delete its images; returns the job's final document."""
        return Job(self._request("DELETE", f"/v1/jobs/{job_id}").json())


def add_submit_parser(subparsers: Any) -> argparse.ArgumentParser:
    """Register `sitter submit PORTRAIT... --painting ID --server URL -o OUT` on the CLI's subparsers."""
    parser: argparse.ArgumentParser = subparsers.add_parser(
        "submit", help="put a portrait (or several people) into a painting on a running Sitter server"
    )
    parser.add_argument(
        "portrait", nargs="+", help="portrait photo (JPEG, PNG, WebP, HEIC ...); up to 6 for several people"
    )
    parser.add_argument(
        "--people", choices=("main", "all"), help="all: every person of each photo (a group photo)"
    )
    parser.add_argument(
        "--box",
        action="append",
        help="several people: X,Y,HEIGHT of one person's box, once per person in order (the rest: automatic)",
    )
    parser.add_argument("--order", help="several people: back to front by number, e.g. 2,1")
    target = parser.add_mutually_exclusive_group(required=True)
    target.add_argument("--painting", help="gallery painting id (GET /v1/paintings)")
    target.add_argument("--painting-file", help="path of your own painting to upload")
    parser.add_argument("--server", required=True, help="base URL, e.g. http://127.0.0.1:8000")
    parser.add_argument("--api-key", help="API key, when the server requires one")
    parser.add_argument("--style", help="painting (default), a gallery id or builtin-N")
    parser.add_argument("--strength", type=float, help="style strength 0..1")
    parser.add_argument("--keep-colors", action="store_true", help="keep the photo's colours")
    parser.add_argument(
        "--no-harmonize", action="store_true", help="only cut out and resize (harmonisation is the default)"
    )
    parser.add_argument("--spot", type=int, help="one of the painting's suggested spots (0 = best)")
    parser.add_argument("--x", type=int, help="left of the person's box, painting pixels")
    parser.add_argument("--y", type=int, help="top of the person's box, painting pixels")
    parser.add_argument("--height", type=int, help="person's height in painting pixels")
    parser.add_argument(
        "--output-scale", type=float, help="result size, 1 to 2 times the painting's (default 1)"
    )
    parser.add_argument("--timeout", type=float, default=300.0, help="seconds to wait for the job")
    parser.add_argument("-o", "--output", required=True, help="where to write the picture (.png/.jpg/.webp)")
    parser.set_defaults(handler=submit_command)
    return parser


def submit_command(args: argparse.Namespace, *, echo: Callable[[str], None] = print) -> int:
    """Submit, follow the stages, write the result; API errors propagate as SitterError (exit 2)."""
    out = Path(args.output)
    fmt = OUTPUT_SUFFIXES.get(out.suffix.lower())
    if fmt is None:
        raise SitterError(f"-o must end in {', '.join(OUTPUT_SUFFIXES)}, got {out.name!r}", field="output")
    several = len(args.portrait) > 1 or args.people == "all"
    persons = _boxes(args) if several else []
    if not several and (args.box or args.order):
        raise SitterError("--box and --order are for several people", field="box")
    client = SitterClient(args.server, args.api_key)
    job = client.submit(
        [Path(p) for p in args.portrait] if several else Path(args.portrait[0]),
        painting=args.painting,
        painting_file=Path(args.painting_file) if args.painting_file else None,
        style=args.style,
        strength=args.strength,
        keep_colors=args.keep_colors or None,
        harmonize=False if args.no_harmonize else None,
        spot=args.spot,
        x=args.x,
        y=args.y,
        height=args.height,
        format=fmt,
        output_scale=args.output_scale,
        people=args.people,
        persons=persons,
        order=_order(args.order),
    )
    echo(f"job       {job.id} {job.status}")
    seen: set[str] = set()

    def report(update: Job) -> None:
        for stage, state in update.stages.items():
            if state.get("state") == "succeeded" and stage not in seen:
                seen.add(stage)
                echo(f"{stage:<10}{state.get('duration_ms') or 0:8.0f} ms")

    done = client.wait(job.id, timeout=args.timeout, on_update=report)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_bytes(client.result(done.id))
    for person in (done.result or {}).get("people", []):
        box = person["box"]
        echo(f"person {person['person']}  x={box['x']} y={box['y']} width={box['w']} height={box['h']}")
    echo(f"wrote     {out}")
    return 0


def _order(text: str | None) -> list[int] | None:
    if not text:
        return None
    if not all(part.strip().isdigit() for part in text.split(",")):
        raise SitterError(
            f"--order lists the people back to front by number (1,2,...), got {text!r}", field="order"
        )
    return [int(part) for part in text.split(",")]


def _boxes(args: argparse.Namespace) -> list[PersonOptions | None]:
    """Several people: the one-person placement flags are refused, each --box is one person's."""
    for flag in ("x", "y", "height", "spot"):
        if getattr(args, flag) is not None:
            raise SitterError(
                f"--{flag} is for one person; with several give --box X,Y,HEIGHT once per person", field=flag
            )
    persons: list[PersonOptions | None] = []
    for text in args.box or []:
        parts = text.split(",")
        if len(parts) != 3 or not all(part.strip().lstrip("-").isdigit() for part in parts):
            raise SitterError(f"--box is X,Y,HEIGHT in painting pixels, got {text!r}", field="box")
        x, y, height = (int(part) for part in parts)
        persons.append(PersonOptions(x=x, y=y, height=height))
    return persons
