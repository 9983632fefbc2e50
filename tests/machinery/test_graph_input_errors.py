"""Inputs the graph itself rejects (an op fails on the values fed, after every Python check
passed): that request alone gets a JSON 400 naming the input and TensorFlow's words, batched
or not; a batch holding it runs again one example at a time, so every valid request of the
batch is answered. Errors one example cannot cause stay errors (500).

Two real models: text parsed by tf.strings.to_number (with a second input the error does
not come from), and PNG bytes decoded by tf.io.decode_png inside tf.map_fn."""

import base64
import json
import threading
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest
import tensorflow as tf

import tf_session
from tf_session import image, load_model, number, read_fields, string

tf.compat.v1.disable_eager_execution()

THREADS = 8
CALLS = 160  # every 8th is bad: 1 in 8


def write_saved_model(dest, build):
    graph = tf.Graph()
    with graph.as_default():
        inputs, outputs = build()
        with tf.compat.v1.Session(graph=graph) as sess:
            signature = tf.compat.v1.saved_model.signature_def_utils.predict_signature_def(
                inputs=inputs, outputs=outputs)
            builder = tf.compat.v1.saved_model.Builder(str(dest))
            builder.add_meta_graph_and_variables(
                sess, [tf.compat.v1.saved_model.tag_constants.SERVING],
                signature_def_map={"serving_default": signature}, strip_default_attrs=True)
            builder.save()
    return str(dest)


def text_model():
    text = tf.compat.v1.placeholder(tf.string, [None], name="text")
    scale = tf.compat.v1.placeholder(tf.float32, [None], name="scale")
    value = tf.identity(tf.strings.to_number(text) * scale, name="value")
    return {"text": text, "scale": scale}, {"value": value}


def png_model():
    png = tf.compat.v1.placeholder(tf.string, [None], name="png")
    mean = tf.map_fn(lambda b: tf.reduce_mean(tf.cast(tf.io.decode_png(b, channels=1),
                                                      tf.float32)), png, dtype=tf.float32)
    return {"png": png}, {"mean": tf.identity(mean, name="mean")}


def encode_png(height, width, value):
    """A real PNG of one grey level, made by TensorFlow's encoder."""
    graph = tf.Graph()
    with graph.as_default(), tf.compat.v1.Session(graph=graph) as sess:
        return sess.run(tf.image.encode_png(tf.constant(np.full((height, width, 1), value,
                                                             np.uint8))))


class TextPredictor:
    FIELDS = {"text": string(max_length=40), "scale": number(-10, 10)}

    def __init__(self, config):
        self.model = load_model(config, inputs=["text", "scale"], outputs=["value"])

    def predict(self, payload):
        return self.model.predict(payload, self.to_inputs, lambda out: {"value": out["value"]})

    def to_inputs(self, payload):
        return read_fields(payload, self.FIELDS)


class PngPredictor:
    FIELDS = {"png": image(max_width=64, max_height=64)}

    def __init__(self, config):
        self.model = load_model(config, inputs=["png"], outputs=["mean"])

    def predict(self, payload):
        return self.model.predict(payload, self.to_inputs, lambda out: {"mean": out["mean"]})

    def to_inputs(self, payload):
        return read_fields(payload, self.FIELDS)


@pytest.fixture(scope="module")
def models(tmp_path_factory):
    root = tmp_path_factory.mktemp("input_errors")
    return {"text": write_saved_model(root / "text", text_model),
            "png": write_saved_model(root / "png", png_model)}


def text_cases():
    """(payload, expected value or None for a bad one): every 8th text is not a number."""
    cases = []
    for i in range(CALLS):
        if i % 8 == 3:
            cases.append(({"text": f"x{i}", "scale": 2.0}, None))
        else:
            cases.append(({"text": str(i / 4), "scale": 2.0}, i / 4 * 2.0))
    return cases


def png_cases():
    """Valid PNGs of grey level i % 200; every 8th is cut short, so that only decode_png
    sees that it is bad (its header, and so image(), are intact)."""
    cases = []
    for i in range(CALLS):
        data = encode_png(3, 4, i % 200)
        if i % 8 == 5:
            cases.append(({"png": base64.b64encode(data[:-12]).decode()}, None))
        else:
            cases.append(({"png": base64.b64encode(data).decode()}, float(i % 200)))
    return cases


def config(location, strategy, batched):
    config = {"model": location, "session_strategy": strategy}
    if batched:
        config["server_side_batching"] = {"max_batch_size": THREADS, "batch_interval": "2ms"}
    return config


def answered_together(predictor, payloads):
    """predict(payload) for each payload from THREADS threads started at one barrier."""
    barrier = threading.Barrier(THREADS)

    def task(index):
        if index < THREADS:
            barrier.wait(timeout=30)
        return predictor.predict(payloads[index])

    with ThreadPoolExecutor(THREADS) as pool:
        return list(pool.map(task, range(len(payloads))))


def error_400(response):
    assert getattr(response, "status_code", 200) == 400, response
    return json.loads(response.body)["error"]


MODELS = {  # kind: (predictor, cases, output, the start of a bad case's message)
    "text": (TextPredictor, text_cases, "value", "the model rejected input text: "
             "StringToNumberOp could not correctly convert string: x"),
    "png": (PngPredictor, png_cases, "mean", "the model rejected input png: Invalid PNG"),
}


@pytest.mark.parametrize("batched", [False, True], ids=["unbatched", "batched"])
@pytest.mark.parametrize("strategy", tf_session.SESSION_STRATEGIES)
@pytest.mark.parametrize("kind", sorted(MODELS))
def test_one_bad_request_in_eight_gets_its_own_400_and_every_valid_one_its_answer(
        models, kind, strategy, batched):
    predictor_class, make_cases, output, message = MODELS[kind]
    predictor = predictor_class(config(models[kind], strategy, batched))
    if batched:
        sizes = record_batch_sizes(predictor.model.batcher)
    cases = make_cases()
    results = answered_together(predictor, [payload for payload, _ in cases])
    for (payload, expected), result in zip(cases, results):
        if expected is None:
            assert error_400(result).startswith(message), result
        else:
            assert not hasattr(result, "status_code"), (payload, result.body)
            assert result[output] == pytest.approx(expected, rel=1e-6), payload
    if batched:  # bad ones were in real batches, and those batches were run again alone
        assert max(sizes) > 1 and sizes.count(1) >= CALLS // 8


def test_the_message_names_the_input_behind_the_failing_op_and_its_node(models):
    predictor = TextPredictor(config(models["text"], "once_per_thread", False))
    message = error_400(predictor.predict({"text": "seven", "scale": 1.0}))
    assert message.startswith("the model rejected input text: StringToNumberOp could not "
                              "correctly convert string: seven")
    assert "scale" not in message  # fed too, but the failing op does not read it
    assert message.endswith("(node StringToNumber)")
    assert "Graph execution error" not in message and "\n" not in message


def test_a_rejected_value_is_bounded_in_the_message(models):
    predictor = TextPredictor(config(models["text"], "per_request", False))
    predictor.FIELDS = {"text": string(max_length=100000), "scale": number()}
    message = error_400(predictor.predict({"text": "y" * 50000, "scale": 1.0}))
    assert len(message) <= tf_session.MAX_MESSAGE and "y" * 100 in message


def record_batch_sizes(batcher):
    sizes = []
    run = batcher.run_examples

    def recording(examples):
        sizes.append(len(examples))
        return run(examples)

    batcher.run_examples = recording
    return sizes


# --- the batcher's rule, on a stand-in model: which errors are re-run alone -------------


def failing_run(bad, error, batches):
    """A batch run that fails with `error` when any example is `bad`; it records each batch."""
    def run(examples):
        values = [int(e["v"]) for e in examples]
        batches.append(values)
        if bad in values:
            raise error
        return [{"v": e["v"] * 2} for e in examples]
    return run


def outcome(fn, *args):
    try:
        return fn(*args)
    except Exception as e:  # the test inspects it
        return e


def test_an_input_error_in_a_batch_fails_only_its_own_example():
    error = tf.errors.InvalidArgumentError(None, None, "bad value 13")
    batches = []
    batcher = tf_session.Batcher(failing_run(13, error, batches), 8,
                                 isolate=tf_session.INPUT_ERRORS)
    results = released_together(batcher, range(64))
    for value, result in zip(range(64), results):
        if value == 13:
            assert result is error  # its own error, not a BatchError: predict() answers 400
        else:
            assert int(result["v"]) == value * 2
    assert [b for b in batches if 13 in b][-1] == [13]  # the last run of 13 was alone


@pytest.mark.parametrize("error", [
    tf.errors.ResourceExhaustedError(None, None, "out of memory"),
    tf.errors.InternalError(None, None, "internal"),
    RuntimeError("a bug"),
], ids=lambda e: type(e).__name__)
def test_other_errors_fail_the_whole_batch_and_are_logged_once(error, caplog):
    batches = []
    batcher = tf_session.Batcher(failing_run(13, error, batches), 8,
                                 isolate=tf_session.INPUT_ERRORS)
    results = released_together(batcher, range(64))
    failed_batches = [b for b in batches if 13 in b]
    assert len(failed_batches) == 1  # never run again
    for value, result in zip(range(64), results):
        if value not in failed_batches[0]:
            assert int(result["v"]) == value * 2
        else:
            assert isinstance(result, tf_session.BatchError) and result.__cause__ is error
    assert caplog.text.count("examples failed; each of its requests gets the error") == 1


def released_together(batcher, values):
    values = list(values)
    barrier = threading.Barrier(THREADS)

    def task(index):
        if index < THREADS:
            barrier.wait(timeout=30)
        return outcome(batcher.submit, {"v": np.asarray(values[index])})

    with ThreadPoolExecutor(THREADS) as pool:
        return list(pool.map(task, range(len(values))))
