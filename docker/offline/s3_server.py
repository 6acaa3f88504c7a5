"""moto's S3 server with its objects kept on a volume: the offline stand-in for MinIO (tests only).

moto keeps everything in memory, so a `docker compose down`/`up` would lose every image while Redis still
holds the jobs that name them. On SIGTERM this writes each bucket's objects (body, content type, user
metadata) and lifecycle rules under --data; on start it serves them again before it reports healthy.
"""

from __future__ import annotations

import argparse
import json
import shutil
import signal
import sys
import threading
from pathlib import Path
from types import FrameType
from typing import Any

import boto3
from moto.server import ThreadedMotoServer

CREDENTIALS = {"aws_access_key_id": "offline", "aws_secret_access_key": "offline", "region_name": "us-east-1"}


def client(port: int) -> Any:
    return boto3.client("s3", endpoint_url=f"http://127.0.0.1:{port}", **CREDENTIALS)


def save(s3: Any, data: Path) -> int:
    """Every object of every bucket to data/<bucket>/<n>.body + <n>.json; returns how many."""
    count = 0
    for bucket in s3.list_buckets()["Buckets"]:
        name = bucket["Name"]
        folder = data / "buckets" / name
        folder.mkdir(parents=True, exist_ok=True)
        try:
            rules = s3.get_bucket_lifecycle_configuration(Bucket=name)["Rules"]
        except s3.exceptions.ClientError:
            rules = []
        (folder / "lifecycle.json").write_text(json.dumps(rules, default=str))
        for page in s3.get_paginator("list_objects_v2").paginate(Bucket=name):
            for item in page.get("Contents", []):
                answer = s3.get_object(Bucket=name, Key=item["Key"])
                (folder / f"{count}.body").write_bytes(answer["Body"].read())
                meta = {"key": item["Key"], "type": answer.get("ContentType"), "meta": answer["Metadata"]}
                (folder / f"{count}.json").write_text(json.dumps(meta))
                count += 1
    return count


def load(s3: Any, data: Path) -> int:
    count = 0
    for folder in sorted((data / "buckets").glob("*")):
        s3.create_bucket(Bucket=folder.name)
        rules = json.loads((folder / "lifecycle.json").read_text() or "[]")
        if rules:
            s3.put_bucket_lifecycle_configuration(Bucket=folder.name, LifecycleConfiguration={"Rules": rules})
        for meta_file in folder.glob("*.json"):
            if meta_file.name == "lifecycle.json":
                continue
            meta = json.loads(meta_file.read_text())
            extra = {"ContentType": meta["type"]} if meta["type"] else {}
            body = meta_file.with_suffix(".body").read_bytes()
            s3.put_object(Bucket=folder.name, Key=meta["key"], Body=body, Metadata=meta["meta"], **extra)
            count += 1
    return count


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--data", type=Path, required=True)
    parser.add_argument("--port", type=int, default=9000)
    args = parser.parse_args()
    server = ThreadedMotoServer(ip_address="0.0.0.0", port=args.port)
    server.start()
    s3 = client(args.port)
    if (args.data / "buckets").is_dir():
        print(f"s3: {load(s3, args.data)} object(s) restored from {args.data}", flush=True)
    (args.data / "ready").write_text("1")  # the health check's file: restored, serving
    stop = threading.Event()

    def on_term(signum: int, frame: FrameType | None) -> None:
        stop.set()

    signal.signal(signal.SIGTERM, on_term)
    signal.signal(signal.SIGINT, on_term)
    while not stop.wait(1.0):
        pass
    (args.data / "ready").unlink(missing_ok=True)
    staging = args.data / "saving"
    shutil.rmtree(staging, ignore_errors=True)
    count = save(s3, staging)
    shutil.rmtree(args.data / "buckets", ignore_errors=True)  # only now: the new copy is whole
    (staging / "buckets").mkdir(parents=True, exist_ok=True)
    (staging / "buckets").rename(args.data / "buckets")
    shutil.rmtree(staging)
    print(f"s3: {count} object(s) saved to {args.data}", flush=True)
    server.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
