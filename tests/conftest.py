"""Shared fixtures. TensorFlow is real everywhere; only its log noise is turned down."""

import json
import os
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import pytest  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="session")
def root() -> Path:
    return ROOT


@pytest.fixture(scope="session")
def sample() -> dict:
    return json.loads((ROOT / "sample.json").read_text())


@pytest.fixture(scope="session")
def model_dir() -> str:
    return str(ROOT / "model")
