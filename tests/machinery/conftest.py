"""Fixtures of the machinery's tests: models in every format, and uploads to S3."""

import re
import sys
from pathlib import Path

import pytest

from tests.machinery import models


@pytest.fixture(scope="session")
def formats(tmp_path_factory) -> "dict[str, models.Written]":
    return models.all_formats(tmp_path_factory.mktemp("formats"))


def upload(s3, written: models.Written, key: str) -> None:
    """The model's files to s3://models/KEY..., keeping their layout below its folder."""
    base = Path(written.location)
    folder = base if base.is_dir() else base.parent
    for path in written.files:
        s3.upload_file(str(path), "models", key + path.relative_to(folder).as_posix())


@pytest.fixture
def unraisable(monkeypatch, capsys):
    """A function giving the exceptions Python reported as unraisable so far in the test
    (raised in __del__ or as a thread's locals are released, where nothing can catch them),
    each as "Type: message": through sys.unraisablehook where there is one (3.8+), else
    read from what Python 3.6 writes to sys.stderr for each one ("Exception ignored in",
    a traceback, then "Type: message")."""
    if hasattr(sys, "unraisablehook"):
        seen = []
        monkeypatch.setattr(sys, "unraisablehook", lambda u: seen.append(
            "%s: %s" % (type(u.exc_value).__name__, u.exc_value)))
        return lambda: list(seen)
    return lambda: reported_on_stderr(capsys.readouterr().err)


def reported_on_stderr(text):
    found = []
    for block in text.split("Exception ignored in")[1:]:
        lines = [line for line in block.splitlines() if line.strip()]
        error = [line for line in lines if re.match(r"^[A-Za-z_][\w.]*(: |$)", line)]
        kind, _, message = (error[-1] if error else lines[-1]).partition(": ")
        found.append("%s: %s" % (kind.split(".")[-1], message))
    return found
