"""Fixtures shared by the tools' tests."""

import pytest

from cortex_tools.tf21 import check, wheel


@pytest.fixture(scope="session")
def prepared() -> check.Setup:
    """TensorFlow 2.1.0's real wheel, shim and op list; a machine that cannot get them
    fails, loudly: nothing is skipped."""
    try:
        return check.setup()
    except wheel.SetupError as e:
        pytest.fail(f"cannot check against TensorFlow 2.1.0: {e}")
