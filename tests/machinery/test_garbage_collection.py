"""load_model raises the garbage collector's first threshold (tf_session.YOUNG_GC_THRESHOLD)
so that the objects of requests in flight stop triggering collections, and leaves thresholds
the process chose itself as they are."""

import gc

import pytest

import tf_session
from tests.machinery.two_inputs import PythonPredictor, payloads


@pytest.fixture
def python_thresholds():
    """Python's default thresholds for the test, and the process's own back after it."""
    before = gc.get_threshold()
    gc.set_threshold(*tf_session.PYTHON_GC_THRESHOLDS)
    yield
    gc.set_threshold(*before)


def young_collections_while_holding(objects):
    """How many collections run while `objects` new containers are kept alive."""
    runs = []

    def count(phase, info):
        if phase == "start":
            runs.append(info["generation"])

    gc.collect()  # counts from zero: no earlier allocation is pending
    gc.callbacks.append(count)
    try:
        held = [[] for _ in range(objects)]
    finally:
        gc.callbacks.remove(count)
    assert len(held) == objects
    return len(runs)


def test_loading_a_model_raises_the_first_threshold(formats, python_thresholds):
    model = formats["saved_model_serving_default"].location
    # What requests in flight hold under load: Python's default collects again and again.
    assert young_collections_while_holding(3000) >= 3000 // tf_session.PYTHON_GC_THRESHOLDS[0]

    predictor = PythonPredictor({"model": model, "session_strategy": "once_per_thread"})

    assert gc.get_threshold() == (tf_session.YOUNG_GC_THRESHOLD,) + (
        tf_session.PYTHON_GC_THRESHOLDS[1:])
    assert young_collections_while_holding(3000) == 0
    assert [predictor.predict(payload) for payload in payloads(3)]  # still answers


def test_thresholds_the_process_chose_are_kept(formats, python_thresholds):
    model = formats["saved_model_serving_default"].location
    gc.set_threshold(1000, 20, 30)
    PythonPredictor({"model": model, "session_strategy": "per_request"})
    assert gc.get_threshold() == (1000, 20, 30)
