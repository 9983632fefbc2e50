"""Fixtures of the machinery's tests: models in every format, and uploads to S3."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.machinery import models


@pytest.fixture(scope="session")
def formats(tmp_path_factory) -> dict[str, models.Written]:
    return models.all_formats(tmp_path_factory.mktemp("formats"))


def upload(s3, written: models.Written, key: str) -> None:
    """The model's files to s3://models/KEY..., keeping their layout below its folder."""
    base = Path(written.location)
    folder = base if base.is_dir() else base.parent
    for path in written.files:
        s3.upload_file(str(path), "models", key + path.relative_to(folder).as_posix())
