"""Fixtures of the machinery's tests: models in every format, a real S3 server, and a
predictor written against tf_session the way a user writes theirs."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from tests.machinery import models


@pytest.fixture(scope="session")
def formats(tmp_path_factory) -> dict[str, models.Written]:
    return models.all_formats(tmp_path_factory.mktemp("formats"))


@pytest.fixture(scope="session")
def s3_server():
    """moto's standalone S3 server on loopback; ready once it prints its address."""
    env = {**os.environ, "AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing"}
    server = subprocess.Popen(
        [str(Path(sys.executable).with_name("moto_server")), "-H", "127.0.0.1", "-p", "0"],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env)
    try:
        for line in server.stdout:
            found = re.search(r"Running on (http://127\.0\.0\.1:\d+)", line)
            if found:
                yield found.group(1)
                break
        else:
            pytest.fail("moto_server exited before it was ready")
    finally:
        server.terminate()
        server.wait(timeout=10)


@pytest.fixture
def s3(s3_server, monkeypatch):
    """A boto3 S3 client of the server, with the environment boto3 reads set for the code
    under test too; the bucket `models` exists."""
    import boto3

    for name, value in {"AWS_ENDPOINT_URL": s3_server, "AWS_ACCESS_KEY_ID": "testing",
                        "AWS_SECRET_ACCESS_KEY": "testing", "AWS_DEFAULT_REGION": "us-east-1"
                        }.items():
        monkeypatch.setenv(name, value)
    client = boto3.client("s3")
    if "models" not in [b["Name"] for b in client.list_buckets()["Buckets"]]:
        client.create_bucket(Bucket="models")
    return client


def upload(s3, written: models.Written, key: str) -> None:
    """The model's files to s3://models/KEY..., keeping their layout below its folder."""
    base = Path(written.location)
    folder = base if base.is_dir() else base.parent
    for path in written.files:
        s3.upload_file(str(path), "models", key + path.relative_to(folder).as_posix())
