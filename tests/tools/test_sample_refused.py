"""A sample.json that the API refuses (it breaks FIELDS) is named as such by every tier of
`make check`, in the API's own 400 words: the build check, the image stack's check and
the C-API check. Not "predict(sample.json) made no Session.run", which reads as an
internal error, nor a pass."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from cortex_tools.image_stack import stack
from tests.tools import house

REFUSED = ("sample.json is not a payload this API accepts: field rooms must be an integer, "
           "got 2.5 (not a whole number) (it answers 400; put a payload it answers in "
           "sample.json)")


@pytest.fixture(scope="module")
def refused(tmp_path_factory):
    """The house project whose sample.json gives 2.5 rooms."""
    folder = tmp_path_factory.mktemp("house")
    house.project(folder, sample={**house.SAMPLE, "rooms": 2.5})
    return folder


def run(folder, *module_and_args):
    return subprocess.run([sys.executable, "-m", *module_and_args, "cortex.yaml"], cwd=folder,
                          capture_output=True, text=True, timeout=600,
                          env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2"})


def test_the_build_check_names_the_payload_and_the_apis_words(refused):
    done = run(refused, "cortex_tools.config_check")
    assert done.returncode == 1, done.stdout + done.stderr
    assert done.stdout.splitlines() == [
        f"cortex.yaml:4: api house: predictor.path: {REFUSED}",
        "cortex.yaml: FAILED (1 error)"]


@pytest.mark.skipif(not stack.is_ready(), reason=stack.missing_line())
def test_the_image_stack_check_names_the_payload_and_the_apis_words(refused):
    done = run(refused, "cortex_tools.image_stack", "check")
    assert done.returncode == 1, done.stdout + done.stderr
    assert done.stdout.splitlines()[1:] == [f"api house: {REFUSED}"]


def test_the_c_api_check_names_the_payload_and_the_apis_words(refused, prepared):
    done = run(refused, "cortex_tools.tf21", "check")
    assert done.returncode == 1, done.stdout + done.stderr
    assert done.stdout.splitlines() == [f"api house: {REFUSED}"]


def test_an_answered_sample_passes_every_tier(tmp_path, prepared):
    """The same project with a sample it answers: each tier passes it (so the lines above
    come from the payload, not from the model)."""
    house.project(tmp_path)
    for tier in (["cortex_tools.config_check"], ["cortex_tools.tf21", "check"]) + (
            (["cortex_tools.image_stack", "check"],) if stack.is_ready() else ()):
        done = run(tmp_path, *tier)
        assert done.returncode == 0, (tier, done.stdout + done.stderr)
