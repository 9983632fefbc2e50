"""Reading payloads: each bad payload gets a 400 whose JSON message names the problem, is
bounded and encodes; inputs the model cannot take are a 400 too, never a 500."""

import json

import numpy as np
import pytest
from starlette.datastructures import FormData

import tf_session
from tf_session import PayloadError, array, boolean, integer, number, read_fields, string

FIELDS = {"a": number(), "n": integer(0, 10), "s": string(max_length=5), "b": boolean(),
          "v": array(number(), min_length=2, max_length=2)}
VALID = {"a": 1.5, "n": 3, "s": "hi", "b": True, "v": [1, 2]}


def error_of(payload, fields=FIELDS) -> str:
    with pytest.raises(PayloadError) as caught:
        read_fields(payload, fields)
    return str(caught.value)


def test_a_valid_payload_reads_as_python_values():
    assert read_fields(VALID, FIELDS) == {"a": 1.5, "n": 3, "s": "hi", "b": True, "v": [1.0, 2.0]}
    assert read_fields({**VALID, "n": 3.0}, FIELDS)["n"] == 3  # 3.0 is an integer in JSON


@pytest.mark.parametrize(("payload", "message"), [
    ([1, 2], "payload must be a JSON object with the fields a, n, s, b, v, got an array"),
    ("text", "payload must be a JSON object with the fields a, n, s, b, v, got a string"),
    (None, "payload must be a JSON object with the fields a, n, s, b, v, got null"),
    ({k: v for k, v in VALID.items() if k != "s"}, "missing field s (expected a, n, s, b, v)"),
    ({**VALID, "colour": 1}, "unknown field colour (expected a, n, s, b, v)"),
    ({**VALID, "a": "1.5"}, "field a must be a number, got a string"),
    ({**VALID, "a": None}, "field a must be a number, got null"),
    ({**VALID, "a": True}, "field a must be a number, got a boolean"),
    ({**VALID, "a": [1]}, "field a must be a number, got an array"),
    ({**VALID, "a": {}}, "field a must be a number, got an object"),
    ({**VALID, "a": float("nan")}, "field a must be a finite number, got nan"),
    ({**VALID, "a": float("inf")}, "field a must be a finite number, got inf"),
    ({**VALID, "a": -float("inf")}, "field a must be a finite number, got -inf"),
    ({**VALID, "a": 1e39}, "field a must be within float32's range (about +-3.4e38), got 1e+39"),
    ({**VALID, "n": 1.5}, "field n must be an integer, got 1.5 (not a whole number)"),
    ({**VALID, "n": 11}, "field n must be <= 10, got 11"),
    ({**VALID, "n": -1}, "field n must be >= 0, got -1"),
    ({**VALID, "s": "toolong"}, "field s must be at most 5 characters long, got 7"),
    ({**VALID, "b": 1}, "field b must be true or false, got a number"),
    ({**VALID, "v": [1]}, "field v must hold exactly 2 items, got 1"),
    ({**VALID, "v": [1, "x"]}, "field v [1] must be a number, got a string"),
    ({**VALID, "v": 1}, "field v must be an array, got a number"),
])
def test_each_bad_payload_is_named(payload, message):
    assert error_of(payload) == message


def test_a_huge_integer_is_cut_short_in_the_message():
    message = error_of({**VALID, "a": 10 ** 400})
    assert message.startswith("field a must be within float32's range (about +-3.4e38), got 1000")
    assert message.endswith("...") and len(message) < 200


def test_an_unknown_field_name_is_bounded_and_encodable():
    long_name = "x" * 10_000_000
    message = error_of({**VALID, long_name: 1})
    assert len(message) < 200 and "x" * 40 + "..." in message
    surrogate = error_of({**VALID, "\ud800": 1})
    assert "\\ud800" in surrogate
    response = PayloadError(surrogate).response()  # Starlette renders it as UTF-8 JSON
    assert json.loads(response.body)["error"] == surrogate


def test_many_unknown_fields_are_counted_not_listed():
    message = error_of({**VALID, **{f"extra{i}": i for i in range(1000)}})
    assert message.startswith("unknown field extra0, extra1, extra2 and 997 more (expected")


def test_deep_nesting_is_a_payload_error_not_a_crash():
    deep = 1.0
    for _ in range(5000):
        deep = [deep]
    assert error_of({**VALID, "a": deep}) == "field a must be a number, got an array"
    assert error_of({**VALID, "v": deep}) == "field v must hold exactly 2 items, got 1"


def test_every_message_is_at_most_400_characters():
    assert len(str(PayloadError("x" * 5000))) == 400


def test_a_json_body_sent_as_a_form_says_to_set_the_content_type():
    form = FormData([(json.dumps(VALID), "")])  # what `curl -d @sample.json` sends
    message = error_of(form)
    assert message.startswith("the body is JSON but arrived as form data")
    assert "'Content-Type: application/json'" in message


def form_as_parsed_here(body, content_type):
    """The payload Cortex hands predict() for a form Content-Type: Starlette's
    `await request.form()` of the body, by this stack's starlette and python-multipart
    (on the image stack 0.13.2 and 0.0.5, which drop a field that has no "=")."""
    import asyncio

    from starlette.requests import Request

    async def receive():
        return {"type": "http.request", "body": body, "more_body": False}

    scope = {"type": "http", "method": "POST", "path": "/", "query_string": b"",
             "headers": [(b"content-type", content_type.encode()),
                         (b"content-length", str(len(body)).encode())]}

    async def parse():
        return await Request(scope, receive).form()

    loop = asyncio.new_event_loop()
    try:
        return loop.run_until_complete(parse())
    finally:
        loop.close()


def test_json_posted_as_a_form_gets_the_content_type_hint_on_this_stack():
    """`curl -d @sample.json` without -H: the form this stack's parser makes of it (the
    JSON as one field's name locally, nothing at all on the image stack) gets the hint."""
    form = form_as_parsed_here(json.dumps(VALID).encode(),
                               "application/x-www-form-urlencoded")
    message = error_of(form)
    assert "send it with the header 'Content-Type: application/json'" in message, message
    real = form_as_parsed_here(b"a=1&n=2", "application/x-www-form-urlencoded")
    assert real.multi_items() == [("a", "1"), ("n", "2")]
    assert error_of(real).startswith("payload must be a JSON object with the fields a, n, s, "
                                     "b, v; the body arrived as form data")


def test_an_empty_form_says_to_send_json_with_its_content_type():
    message = error_of(FormData([]))
    assert message.startswith("the body arrived as an empty form, as JSON sent without a "
                              "Content-Type (curl -d @sample.json) does: send it with the "
                              "header 'Content-Type: application/json'"), message


def test_a_json_body_sent_as_bytes_says_to_set_the_content_type():
    message = error_of(json.dumps(VALID).encode())
    assert message.startswith("the body is JSON but arrived as raw bytes")


def test_a_real_form_or_other_bytes_say_what_was_expected():
    assert error_of(FormData([("a", "1")])).startswith(
        "payload must be a JSON object with the fields a, n, s, b, v; the body arrived as form")
    assert error_of(b"\x89PNG").endswith("the body arrived as raw bytes (its Content-Type "
                                         "was not application/json)")


# --- the model's inputs: dtypes and shapes, a backstop for what readers let through --------


class FakeTensor:
    """What _example_array reads of a tensor: its dtype, shape and name."""

    def __init__(self, dtype, shape):
        import tensorflow as tf

        self.dtype, self.shape, self.name = dtype, tf.TensorShape(shape), "x:0"


def example(value, dtype, shape):
    return tf_session._example_array("x", value, FakeTensor(dtype, shape))


def test_inputs_become_arrays_of_their_tensors_dtype():
    import tensorflow as tf

    assert example([1, 2, 3], tf.float32, [None, 3]).dtype == np.float32
    assert example(7, tf.int64, [None]).dtype == np.int64
    assert example(["a", "\u00e9"], tf.string, [None, 2]).tolist() == [b"a", b"\xc3\xa9"]


@pytest.mark.parametrize(("value", "dtype", "shape", "message"), [
    ([1, 2], "float32", [None, 3], "input x must have shape (3,) per example, got (2,)"),
    ([[1, 2], [3]], "float32", [None, 2], "input x "),
    (1e39, "float32", [None], "input x holds a value beyond float32's range"),
    (2 ** 40, "int32", [None], "input x holds a value beyond int32's range"),
    (1.5, "int64", [None], "input x must hold integers"),
    (True, "float32", [None], "input x must hold float32 values, got booleans"),
    ("a", "float32", [None], "input x must hold float32 values, got strings"),
    ([1, "a"], "float32", [None, 2], "input x must hold float32 values, got strings"),
    (1, "string", [None], "a string input must hold strings, got a number"),
])
def test_inputs_the_model_cannot_take_are_payload_errors(value, dtype, shape, message):
    import tensorflow as tf

    with pytest.raises(PayloadError) as caught:
        example(value, tf.as_dtype(dtype), shape)
    assert str(caught.value).startswith(message)


def test_answers_become_plain_json():
    answer = {"p": np.float32(0.5), "v": np.arange(3), "t": (np.int64(1), b"ok"),
              "n": {"deep": [np.bool_(True)]}}
    assert tf_session.plain(answer) == {"p": 0.5, "v": [0, 1, 2], "t": [1, "ok"],
                                        "n": {"deep": [True]}}
    json.dumps(tf_session.plain(answer))


def test_an_answer_that_is_not_finite_is_a_400_not_invalid_json(formats):
    from tests.machinery.two_inputs import PythonPredictor

    predictor = PythonPredictor({"model": formats["frozen_graph"].location,
                                 "session_strategy": "per_request",
                                 **formats["frozen_graph"].config})
    assert predictor.predict({"x": [1.0, 2.0, 3.0], "ids": 4})["y"]  # finite: an answer
    response = predictor.predict({"x": [3e38, 3e38, -3e38], "ids": 4})  # overflows float32
    assert response.status_code == 400
    assert json.loads(response.body)["error"].startswith(
        "the model's answer to this payload is not finite")
