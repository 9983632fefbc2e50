"""The image stack is the Cortex image's own: .venv-image holds exactly the packages of
requirements-image.txt, at their versions, on Python 3.6; the test tools stay outside it."""

import re
import subprocess
import sys
from pathlib import Path

from tests.conftest import ROOT


def normalized(name):
    return re.sub(r"[-_.]+", "-", name).lower()


def pins():
    """{package: version} of requirements-image.txt."""
    found = {}
    for line in (ROOT / "requirements-image.txt").read_text().splitlines():
        requirement = line.split("#")[0].strip()
        if requirement:
            name, _, version = requirement.partition("==")
            found[normalized(name)] = version
    return found


def installed():
    """{package: version} of what pip sees in .venv-image (pip itself aside: it installs)."""
    done = subprocess.run([sys.executable, "-m", "pip", "freeze", "--all"],
                          stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                          universal_newlines=True)
    assert done.returncode == 0, done.stderr
    found = {}
    for line in done.stdout.splitlines():
        name, _, version = line.partition("==")
        if normalized(name) != "pip":
            found[normalized(name)] = version
    return found


def test_the_venv_holds_exactly_the_pinned_packages_and_versions():
    have, pinned = installed(), pins()
    assert {name: have.get(name) for name in pinned if have.get(name) != pinned[name]} == {}
    assert sorted(set(have) - set(pinned)) == []  # nothing the image lacks


def test_the_stack_is_the_images_python_tensorflow_numpy_and_server():
    import fastapi
    import multipart
    import numpy
    import starlette
    import tensorflow
    import uvicorn

    assert sys.version_info[:2] == (3, 6)
    assert (tensorflow.__version__, numpy.__version__) == ("2.1.0", "1.18.4")
    assert (fastapi.__version__, starlette.__version__, uvicorn.__version__,
            multipart.__version__) == ("0.54.1", "0.13.2", "0.11.5", "0.0.5")


def test_the_test_tools_come_after_the_images_packages_and_outside_its_venv():
    import pytest

    site_packages = Path(numpy_file()).parents[1]
    tools = Path(pytest.__file__).parents[1]
    assert tools.name == "test-tools" and tools.parent == Path(sys.prefix)
    assert sys.path.index(str(site_packages)) < sys.path.index(str(tools))


def numpy_file():
    import numpy

    return numpy.__file__


def test_the_image_has_dataclasses_through_pydantics_backport():
    """A predictor may use dataclasses on Cortex 0.17 although Python 3.6 lacks them:
    pydantic (FastAPI's) installs the backport. What the image lacks, such as asyncio.run,
    `make check` finds (tests/tools/test_image_check.py)."""
    import asyncio
    import dataclasses  # novermin: the image has the backport, which this test shows

    assert Path(dataclasses.__file__).parent.name == "site-packages"
    assert not hasattr(asyncio, "run")
