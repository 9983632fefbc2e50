"""Shared fixtures. TensorFlow is real everywhere; only its log noise is turned down.
S3 is moto's real S3-compatible server on loopback.

`make test` runs pytest twice: on the local stack every test but tests/image; on the image
stack (.venv-image: Python 3.6, TensorFlow 2.1.0, the image's pins; TEMPLATE_TEST_STACK=image)
tests/machinery, tests/template and tests/image, less the files whose first lines say
"# Local stack only: <why>". So every test file of those folders runs on both stacks, in
Python 3.6 syntax, unless it says why not.
"""

import atexit
import gc
import json
import os
import re
import subprocess
import sys
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
os.environ.setdefault("TF_ENABLE_ONEDNN_OPTS", "0")  # as the tools run it (cortex_tools)

import pytest  # noqa: E402

from tests.stack import IMAGE_STACK  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
LOCAL_ONLY_MARK = "# Local stack only:"
# The folders each stack leaves out (relative to tests/).
NOT_ON_THIS_STACK = ("tools", "example") if IMAGE_STACK else ("image",)


def pytest_ignore_collect(collection_path, config):
    """True for what this stack does not run: whole folders, and on the image stack the
    files that need the local tools (marked in their first lines)."""
    path = Path(str(collection_path))
    relative = path.relative_to(ROOT / "tests").parts if ROOT / "tests" in path.parents else ()
    if relative and relative[0] in NOT_ON_THIS_STACK:
        return True
    if IMAGE_STACK and path.suffix == ".py" and path.name.startswith("test_"):
        with path.open(encoding="utf-8") as source:
            head = [next(source, "") for _ in range(30)]
        return any(line.startswith(LOCAL_ONLY_MARK) for line in head) or None
    return None


def pytest_sessionfinish(session, exitstatus):
    """tf_session's batchers each print one line when the process exits, for a worker's
    log and for make bench; in a test run those lines would come after pytest's summary
    and say nothing. Each tf_session module loaded (a project's own copy too) has its
    Batcher class: found by name, so that every one is silenced."""
    for found in gc.get_objects():
        kind = type(found)
        if kind.__name__ == "Batcher" and kind.__module__ == "tf_session":
            atexit.unregister(found.report)


@pytest.fixture(scope="session")
def root() -> Path:
    return ROOT


@pytest.fixture(scope="session")
def sample() -> dict:
    return json.loads((ROOT / "sample.json").read_text())


@pytest.fixture(scope="session")
def model_dir() -> str:
    return str(ROOT / "model")


@pytest.fixture(scope="session")
def s3_server():
    """moto's standalone S3 server on loopback; ready once it prints its address."""
    env = {**os.environ, "AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing"}
    server = subprocess.Popen(
        [moto_server(), "-H", "127.0.0.1", "-p", "0"],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, universal_newlines=True, env=env)
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


def moto_server():
    """moto's server: the local tools' (the image stack has no moto, and needs none: the
    server is a process of its own), else beside this Python."""
    tools = os.environ.get("TEMPLATE_TOOLS_PYTHON") or str(ROOT / ".venv" / "bin" / "python")
    for python in (tools, sys.executable):
        path = Path(python).with_name("moto_server")
        if path.is_file():
            return str(path)
    pytest.fail("moto_server is in neither %s nor beside %s: run make test" % (tools,
                                                                              sys.executable))


@pytest.fixture(scope="session")
def s3_data_path(s3_server, tmp_path_factory):
    """botocore's own configuration files that point a plain boto3.client("s3") at the
    server, for a botocore that ignores AWS_ENDPOINT_URL (before 1.31: the image's 1.16):
    an endpoints.json whose s3 endpoints are the server, found first through
    AWS_DATA_PATH, and a config file (AWS_CONFIG_FILE) with path-style addressing, since
    bucket.127.0.0.1 is no host name. The code under test builds its client as it would
    on Cortex; only the environment differs."""
    folder = tmp_path_factory.mktemp("botocore-data")
    endpoint = {"hostname": s3_server.split("://", 1)[1], "protocols": ["http"],
                "signatureVersions": ["s3v4"]}
    partition = {
        "partition": "aws", "partitionName": "AWS", "dnsSuffix": "amazonaws.com",
        "regionRegex": "^(us|eu|ap|sa|ca|me|af)\\-\\w+\\-\\d+$",
        "defaults": {"hostname": "{service}.{region}.{dnsSuffix}", "protocols": ["https"],
                     "signatureVersions": ["v4"]},
        "regions": {"us-east-1": {"description": "US East (N. Virginia)"}},
        # us-east-1 resolves through the global endpoint in botocore's "legacy" mode
        "services": {"s3": {"partitionEndpoint": "aws-global", "isRegionalized": True,
                            "endpoints": {"us-east-1": endpoint, "aws-global": dict(
                                endpoint, credentialScope={"region": "us-east-1"})}}}}
    (folder / "endpoints.json").write_text(json.dumps({"version": 3,
                                                       "partitions": [partition]}))
    (folder / "config").write_text("[default]\ns3 =\n    addressing_style = path\n")
    return folder


@pytest.fixture
def s3(s3_server, s3_data_path, monkeypatch):
    """A boto3 S3 client of the server, with the environment boto3 reads set for the code
    under test too; the bucket `models` exists."""
    import boto3

    for name, value in {"AWS_ENDPOINT_URL": s3_server, "AWS_ACCESS_KEY_ID": "testing",
                        "AWS_SECRET_ACCESS_KEY": "testing", "AWS_DEFAULT_REGION": "us-east-1"
                        }.items():
        monkeypatch.setenv(name, value)
    if boto3.session.Session().client("s3").meta.endpoint_url != s3_server:  # ignored
        monkeypatch.setenv("AWS_DATA_PATH", str(s3_data_path))
        monkeypatch.setenv("AWS_CONFIG_FILE", str(s3_data_path / "config"))
    boto3.setup_default_session()  # boto3.client's session reads this environment anew,
    client = boto3.client("s3")  # as in a worker process started with it
    assert client.meta.endpoint_url == s3_server, client.meta.endpoint_url
    if "models" not in [b["Name"] for b in client.list_buckets()["Buckets"]]:
        client.create_bucket(Bucket="models")
    return client
