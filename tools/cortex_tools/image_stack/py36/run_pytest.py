"""pytest on the image stack: .venv-image's Python, with the test tools' folder put on the
path AFTER the venv's site-packages, so that every package the image has is the image's
own, and the test tools (pytest 7.0, hypothesis 6.31) only fill in what it lacks.

    .venv-image/bin/python tools/cortex_tools/image_stack/py36/run_pytest.py [PYTEST ARGS]

Run from the project root (`make test` does); the tests see TEMPLATE_TEST_STACK=image.
"""
import os
import sys
from pathlib import Path

VENV = Path(sys.prefix)
TEST_TOOLS = VENV / "test-tools"

if __name__ == "__main__":
    if not (TEST_TOOLS / "pytest").is_dir():
        sys.exit("error: %s has no pytest: run `make test` (it makes .venv-image)" % TEST_TOOLS)
    del sys.path[0]  # this script's folder: not one of the tests'
    sys.path.append(str(TEST_TOOLS))
    os.environ["TEMPLATE_TEST_STACK"] = "image"
    import pytest

    # pytest 7's cache apart from the local stack's pytest 9 (.pytest_cache)
    sys.exit(pytest.main(["-o", "cache_dir=%s" % (VENV / "pytest-cache")] + sys.argv[1:]))
