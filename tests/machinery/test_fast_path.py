"""The per-request path made fast gives what it gave before (tests/machinery/reference_path
.py, the code it replaced): the same example arrays or the same 400 message for any value
and any input dtype and shape, the same answers (or the same 400) for any payload, fuzzed."""

import json

import numpy as np
import pytest
import tensorflow as tf
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

import tf_session
from tests.machinery import reference_path
from tests.machinery.two_inputs import PythonPredictor

DTYPES = ["float32", "float16", "float64", "int32", "int64", "uint8", "bool", "string"]
SHAPES = [[None], [None, 3], [None, 2, 2], [None, None], None]  # None: unknown rank

scalars = (st.none() | st.booleans() | st.integers() | st.integers(min_value=2 ** 62)
           | st.integers(max_value=-2 ** 62) | st.floats(allow_nan=True, allow_infinity=True)
           | st.floats(min_value=-1e5, max_value=1e5) | st.text(max_size=5))
values = st.recursive(scalars, lambda inner: st.lists(inner, max_size=4), max_leaves=12)
arrays = st.sampled_from(["float64", "float32", "int64", "int8", "uint16", "bool"]).flatmap(
    lambda dtype: st.lists(st.integers(-300, 300), min_size=0, max_size=6).map(
        lambda items: np.asarray(items).astype(dtype)))


class Tensor:
    """What both paths read of a tensor: its dtype and shape."""

    def __init__(self, dtype, shape):
        self.dtype, self.shape, self.name = tf.as_dtype(dtype), tf.TensorShape(shape), "x:0"


def outcome(fn, *args):
    try:
        result = fn(*args)
    except tf_session.PayloadError as e:
        return "400: " + str(e)
    return (result.dtype.str, result.shape, result.tolist())


@settings(max_examples=1500, deadline=None, database=None,
          suppress_health_check=[HealthCheck.too_slow])
@given(value=values | arrays, dtype=st.sampled_from(DTYPES), shape=st.sampled_from(SHAPES))
@example(value=float("nan"), dtype="float32", shape=[None])
@example(value=[1.0, float("-inf"), 2.0], dtype="float16", shape=[None, 3])
@example(value=[1.0, float("nan"), 2.0], dtype="float32", shape=[None, 3])
@example(value=[True, False, True], dtype="float32", shape=[None, 3])
@example(value=["1", "2", "3"], dtype="float32", shape=[None, 3])
@example(value=[1.0, 2.0], dtype="float32", shape=[None, 3])
@example(value=[70000.0], dtype="float16", shape=[None, 1])
@example(value=[1e39], dtype="float32", shape=[None, 1])
@example(value=[70000], dtype="float16", shape=[None, None])
@example(value=[2.5, 2 ** 40], dtype="int32", shape=[None, 2])
def test_example_arrays_and_their_messages_are_as_before(value, dtype, shape):
    tensor = Tensor(dtype, shape)
    assert outcome(tf_session.InputConverter("x", tensor), value) == outcome(
        reference_path._example_array, "x", value, tensor)


answers = st.recursive(
    scalars | st.floats(width=32).map(np.float32) | st.integers(0, 9).map(np.int64)
    | st.binary(max_size=4) | arrays | st.lists(st.floats(), max_size=3).map(np.asarray),
    lambda inner: st.lists(inner, max_size=3) | st.tuples(inner, inner)
    | st.dictionaries(st.text(max_size=3), inner, max_size=3), max_leaves=10)


@settings(max_examples=1500, deadline=None, database=None)
@given(answer=answers)
def test_answers_are_made_plain_and_checked_finite_as_before(answer):
    before = tf_session.plain(answer)
    before = before if reference_path._all_finite(before) else "not finite"
    try:
        now = tf_session._plain_finite(answer)
    except tf_session._NotFinite:
        now = "not finite"
    assert json.dumps(now) == json.dumps(before)


@pytest.fixture(scope="module")
def predictor(formats):
    written = formats["saved_model_serving_default"]
    return PythonPredictor({"model": written.location, "session_strategy": "per_request"})


payload_values = st.recursive(
    scalars | st.floats(min_value=-10, max_value=10),
    lambda inner: st.lists(inner, max_size=4), max_leaves=8)
valid = st.fixed_dictionaries({
    "x": st.lists(st.floats(-1e6, 1e6) | st.integers(-10 ** 6, 10 ** 6), min_size=3, max_size=3),
    "ids": st.integers(0, 10 ** 6)})
payloads = valid | st.fixed_dictionaries({"x": payload_values, "ids": payload_values}) | (
    st.dictionaries(st.sampled_from(["x", "ids", "other"]), payload_values, max_size=3))


@settings(max_examples=400, deadline=None, database=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
@given(payload=payloads)
def test_predict_answers_and_400s_are_as_before(predictor, payload):
    now = predictor.predict(payload)
    before = reference_path.predict(predictor.model, payload, predictor.to_inputs,
                                    predictor.to_answer)
    if hasattr(before, "status_code"):
        assert (now.status_code, now.body) == (before.status_code, before.body)
    else:
        assert now == before
