"""A real S3 API server for tests and benches: moto's standalone server, run as its own
process on a free 127.0.0.1 port and spoken to over HTTP by boto3 / django-storages exactly as
a deployment speaks to AWS S3 or MinIO. Its state lives in that process and goes with it."""
from __future__ import annotations

import socket
import subprocess
import sys
import time
import uuid
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

from tests.integration.realservices import terminate

HOST = "127.0.0.1"
ACCESS_KEY, SECRET_KEY, REGION = "grader-test-key", "grader-test-secret", "us-east-1"


@dataclass(frozen=True)
class S3Server:
    endpoint: str

    def client(self):
        import boto3

        return boto3.client("s3", endpoint_url=self.endpoint, aws_access_key_id=ACCESS_KEY,
                            aws_secret_access_key=SECRET_KEY, region_name=REGION)

    def create_bucket(self, prefix: str = "grader") -> str:
        name = f"{prefix}-{uuid.uuid4().hex[:10]}"
        self.client().create_bucket(Bucket=name)
        return name

    def keys(self, bucket: str) -> list[str]:
        pages = self.client().get_paginator("list_objects_v2").paginate(Bucket=bucket)
        return sorted(obj["Key"] for page in pages for obj in page.get("Contents", ()))

    def env(self, bucket: str) -> dict[str, str]:
        """The settings' environment variables that put the default storage in ``bucket``."""
        return {"AWS_STORAGE_BUCKET_NAME": bucket, "AWS_S3_ENDPOINT_URL": self.endpoint,
                "AWS_ACCESS_KEY_ID": ACCESS_KEY, "AWS_SECRET_ACCESS_KEY": SECRET_KEY,
                "AWS_S3_REGION_NAME": REGION, "AWS_S3_ADDRESSING_STYLE": "path"}


def _free_port() -> int:
    with socket.socket() as s:
        s.bind((HOST, 0))
        return s.getsockname()[1]


@contextmanager
def moto_s3_server(log: Path | None = None, ready_timeout: float = 60) -> Iterator[S3Server]:
    """Start ``python -m moto.server`` on a free port; stop it (and forget its buckets) after."""
    port = _free_port()
    log_file = open(log, "w") if log else subprocess.DEVNULL
    proc = subprocess.Popen([sys.executable, "-m", "moto.server", "-H", HOST, "-p", str(port)],
                            stdout=log_file, stderr=subprocess.STDOUT, start_new_session=True)
    try:
        deadline = time.monotonic() + ready_timeout
        while True:
            if proc.poll() is not None:
                raise RuntimeError(f"moto server exited with {proc.returncode}"
                                   + (f": {log.read_text()[-2000:]}" if log else ""))
            try:
                with socket.create_connection((HOST, port), timeout=1):
                    break
            except OSError:
                if time.monotonic() > deadline:
                    raise RuntimeError(f"moto server not listening after {ready_timeout:g} s")
                time.sleep(0.1)
        yield S3Server(f"http://{HOST}:{port}")
    finally:
        terminate(proc, grace=10)
        if log:
            log_file.close()
