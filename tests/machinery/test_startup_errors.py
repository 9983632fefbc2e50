"""Start-up errors: one clear message each that names the fix, never a KeyError or an
empty signature. Each builds the model the way predictor.py's __init__ does."""

import os
import re
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest

import tf_session
from tests.machinery import models
from tests.machinery.conftest import upload
from tests.machinery.two_inputs import PythonPredictor, payloads


def build(written_or_location, strategy="per_request", **extra):
    if isinstance(written_or_location, models.Written):
        config = {"model": written_or_location.location, **written_or_location.config}
    else:
        config = {"model": written_or_location}
    return PythonPredictor({**config, "session_strategy": strategy, **extra})


def fails(match, *args, **kwargs):
    with pytest.raises(tf_session.ModelError) as caught:
        build(*args, **kwargs)
    assert re.search(match, str(caught.value)), str(caught.value)
    return str(caught.value)


# --- the signature ----------------------------------------------------------------------------


def test_a_signature_that_is_not_there_lists_the_models_signatures(formats):
    fails(r"has no signature 'predict'; it has: other \(predictor.config signature\)",
          formats["saved_model_other_signature"], signature="predict")


def test_several_signatures_without_serving_default_name_them_all(tmp_path):
    written = models.saved_model(tmp_path / "m", ("alpha", "beta"))
    fails(r"has several signatures \(alpha, beta\) and none is serving_default: set "
          r"predictor.config signature", written)


def test_a_savedmodel_without_the_serve_tag_says_how_to_export_it(tmp_path):
    import tensorflow as tf

    graph = tf.Graph()
    models.build(graph)
    with graph.as_default(), tf.compat.v1.Session(graph=graph) as sess:
        sess.run(tf.compat.v1.global_variables_initializer())
        builder = tf.compat.v1.saved_model.Builder(str(tmp_path / "m"))
        builder.add_meta_graph_and_variables(sess, ["train"])
        builder.save()
    fails(r"has no MetaGraph tagged 'serve': export it with tags=\[tf.saved_model.SERVING\]",
          str(tmp_path / "m"))


# --- names of inputs, outputs and tensors ----------------------------------------------------


def test_a_name_predictor_reads_that_the_signature_lacks_is_named_with_the_fix(tmp_path):
    import tensorflow as tf

    graph = tf.Graph()
    tensors = models.build(graph)
    with graph.as_default(), tf.compat.v1.Session(graph=graph) as sess:
        sess.run(tf.compat.v1.global_variables_initializer())
        signature = tf.compat.v1.saved_model.signature_def_utils.predict_signature_def(
            inputs={"features": tensors["x"], "ids": tensors["ids"]},
            outputs={"y": tensors["y"]})
        builder = tf.compat.v1.saved_model.Builder(str(tmp_path / "m"))
        builder.add_meta_graph_and_variables(
            sess, ["serve"], signature_def_map={"serving_default": signature})
        builder.save()
    fails(r"predictor.py uses input 'x', which signature 'serving_default' of SavedModel .* "
          r"lacks \(it has: features, ids\); map it to a tensor in predictor.config, e.g. "
          r"inputs: \{x: 'name:0'\}", str(tmp_path / "m"))


@pytest.mark.parametrize("name", ["frozen_graph", "checkpoint_folder"])
def test_a_format_without_signature_needs_inputs_and_outputs(formats, name):
    written = formats[name]
    message = fails(r"predictor.py uses input 'x', which predictor.config.inputs for "
                    r"(frozen graph|checkpoint) .* lacks \(it has: none\)", written.location)
    assert "has no signature: name its tensors there" in message


def test_a_tensor_that_is_not_in_the_graph_lists_the_closest_names(formats):
    written = formats["frozen_graph"]
    config = {**written.config, "inputs": {"x": "input/xx:0", "ids": "input/ids:0"}}
    fails(r"predictor.config inputs x: tensor 'input/xx:0' is not in the graph of .*; "
          r"closest names: input/x:0", written.location, **{"inputs": config["inputs"],
                                                            "outputs": config["outputs"]})


def test_a_scalar_output_cannot_be_fetched_per_example(formats):
    written = formats["frozen_graph"]
    with pytest.raises(tf_session.ModelError, match=r"output three \(three:0\) is a scalar: "
                                                    r".* run_with_defaults"):
        tf_session.load_model({"model": written.location, "session_strategy": "per_request",
                               **written.config}, outputs=["three"])


def test_an_output_without_a_batch_axis_fails_the_call_clearly(formats):
    written = formats["frozen_graph"]
    model = tf_session.load_model({"model": written.location, "session_strategy": "per_request",
                                   **written.config}, inputs=["x", "ids"], outputs=["scale"])
    with pytest.raises(ValueError, match=r"output scale has shape \(2,\) for a batch of 1 "
                                         r"examples: every output predict\(\) fetches must "
                                         r"have the batch as its first axis"):
        model.predict({}, lambda p: {"x": [1, 2, 3], "ids": 1}, lambda outputs: outputs)


# --- paths that are not a model --------------------------------------------------------------


def test_a_folder_of_other_files_says_what_was_found_and_what_is_accepted(tmp_path):
    (tmp_path / "weights.csv").write_bytes(b"x")
    (tmp_path / "notes.txt").write_text("x")
    fails(r"found a folder holding notes.txt, weights.csv; expected a SavedModel folder "
          r"\(holding saved_model.pb\), a frozen GraphDef file \(.pb\), or a TF1 checkpoint",
          str(tmp_path))


def test_a_folder_holding_a_keras_file_says_how_to_convert_it(tmp_path):
    (tmp_path / "weights.h5").write_bytes(b"x")
    (tmp_path / "notes.txt").write_text("x")
    keras = re.escape(str(tmp_path / "weights"))
    fails(r"found a folder holding notes.txt, weights.h5 \(weights.h5 is a Keras file, which "
          r"the image's TensorFlow 2.1 does not load: make convert SRC=%s.h5 DEST=%s writes it "
          r"as a SavedModel, then model: %s \(and keep the Keras file out of the project: "
          r"cortex deploy uploads it\)\); expected a SavedModel folder" % (keras, keras, keras),
          str(tmp_path))


def test_a_missing_path_says_what_its_folder_holds(tmp_path):
    (tmp_path / "model2").mkdir()
    fails(r"model .*/model: found nothing there \(.* holds model2\); expected a SavedModel",
          str(tmp_path / "model"))


def test_a_folder_holding_a_frozen_graph_says_to_name_the_file(formats):
    folder = os.path.dirname(formats["frozen_graph"].location)
    fails(r"for a frozen graph, name the file: .*/model.pb", folder)


def test_the_savedmodel_file_itself_says_to_name_its_folder(formats):
    location = os.path.join(formats["saved_model_other_signature"].location, "saved_model.pb")
    fails(r"is the SavedModel's own file: name its folder", location)


def test_a_pb_that_is_not_a_graphdef_says_so(tmp_path):
    (tmp_path / "model.pb").write_bytes(b"\xff\xfe not a protobuf at all")
    fails(r"is not a GraphDef .*: a frozen graph is a .pb file", str(tmp_path / "model.pb"))


def test_a_graph_with_variables_is_not_a_frozen_graph(tmp_path):
    import tensorflow as tf

    graph = tf.Graph()
    models.build(graph)
    (tmp_path / "model.pb").write_bytes(graph.as_graph_def().SerializeToString())
    fails(r"holds 1 variables \(weights...\), which a frozen graph cannot restore: freeze it",
          str(tmp_path / "model.pb"), **models._mapping())


def write_graph_with_an_unknown_op(path, producer):
    """A frozen graph x -> FancyNewOp -> y, an op of no TensorFlow; `producer` is the
    version of TensorFlow's GraphDef that it says wrote it."""
    import tensorflow as tf

    graph_def = tf.compat.v1.GraphDef()
    graph_def.versions.producer = producer
    graph_def.node.add(name="x", op="Placeholder").attr["dtype"].type = \
        tf.float32.as_datatype_enum
    graph_def.node.add(name="y", op="FancyNewOp", input=["x"])
    path.write_bytes(graph_def.SerializeToString())


def test_an_op_this_tensorflow_lacks_is_a_custom_op_to_load(tmp_path):
    import tensorflow as tf

    write_graph_with_an_unknown_op(tmp_path / "model.pb", tf.version.GRAPH_DEF_VERSION)
    fails(r"model .*model.pb uses op FancyNewOp, which TensorFlow %s does not have: a custom "
          r"op, whose library must be loaded \(tf.load_op_library\) before the model$"
          % re.escape(tf.__version__), str(tmp_path / "model.pb"), **models._mapping())


def test_an_op_of_a_newer_tensorflow_gives_the_convert_command(tmp_path):
    import tensorflow as tf

    write_graph_with_an_unknown_op(tmp_path / "model.pb", tf.version.GRAPH_DEF_VERSION + 1)
    model = str(tmp_path / "model.pb")
    fails(r"^model %s was made by a newer TensorFlow than this one \(%s\): op FancyNewOp is "
          r"unknown to it\. make convert rewrites what TensorFlow %s lacks where it can, and "
          r"says what it cannot: make convert SRC=%s DEST=%s, then model: %s in "
          r"predictor.config \(inputs and outputs stay\) and remove %s$" % tuple(
              re.escape(text) for text in (model, tf.__version__, tf.__version__, model,
                                           model[:-3] + "-tf21", model[:-3] + "-tf21", model)),
          model, **models._mapping())


# --- checkpoints --------------------------------------------------------------------------------


def test_a_checkpoint_missing_its_data_file_names_it(tmp_path):
    written = models.checkpoint(tmp_path / "ckpt")
    for data in (tmp_path / "ckpt").glob("model.data-*"):
        data.unlink()
    fails(r"the variables' files model.index and model.data-\* must be beside model.meta",
          written)


def test_a_checkpoint_missing_its_meta_graph_names_it(tmp_path):
    written = models.checkpoint(tmp_path / "ckpt")
    (tmp_path / "ckpt" / "model.meta").unlink()
    fails(r"model.meta \(its graph\) is missing", written)


# --- S3 ----------------------------------------------------------------------------------------


def test_s3_objects_that_are_not_there_name_the_url(s3):
    fails(r"model s3://models/nothing-here/: no objects at that key or under it",
          "s3://models/nothing-here/")


def test_an_s3_bucket_that_is_not_there_names_the_url(s3):
    fails(r"model s3://no-such-bucket/m.pb cannot be read from S3: .*NoSuchBucket.*\(check "
          r"the URL and the API's AWS credentials", "s3://no-such-bucket/m.pb")


def test_s3_objects_that_cannot_be_read_name_the_url(s3, formats):
    upload(s3, formats["frozen_graph"], "locked/")
    s3.put_bucket_policy(Bucket="models", Policy=(
        '{"Version": "2012-10-17", "Statement": [{"Effect": "Deny", "Principal": "*", '
        '"Action": "s3:GetObject", "Resource": "arn:aws:s3:::models/locked/*"}]}'))
    try:
        fails(r"model s3://models/locked/model.pb cannot be read from S3: .*(403|Forbidden|"
              r"AccessDenied)", "s3://models/locked/model.pb", **formats["frozen_graph"].config)
    finally:
        s3.delete_bucket_policy(Bucket="models")


# --- the config itself ------------------------------------------------------------------------


@pytest.mark.parametrize(("extra", "message"), [
    ({"session_strategy": "fast"},
     "predictor.config.session_strategy must be per_request or once_per_thread, got 'fast'"),
    ({"session_strategy": None},
     "predictor.config.session_strategy must be per_request or once_per_thread, got None"),
    ({"inter_op_parallelism_threads": -2}, "inter_op_parallelism_threads must be an integer "
                                           ">= -1"),
    ({"intra_op_parallelism_threads": True}, "intra_op_parallelism_threads must be an integer "
                                             ">= 0"),
    ({"gpu_memory_fraction": 0}, "gpu_memory_fraction must be a number > 0 and <= 1"),
    ({"gpu_memory_fraction": float("nan")}, "gpu_memory_fraction must be a number > 0"),
    ({"finalize_graph": "no"}, "finalize_graph must be true or false"),
    ({"inputs": ["x"]}, "predictor.config.inputs must be a map of input names to tensor names"),
    ({"server_side_batching": {"batch_interval": "2ms"}},
     "server_side_batching.max_batch_size is required"),
    ({"server_side_batching": {"max_batch_size": 0}},
     "server_side_batching.max_batch_size must be an integer >= 1"),
    ({"server_side_batching": {"max_batch_size": 4, "batch_interval": "1s"}},
     "server_side_batching.batch_interval must be seconds or a duration such as 2ms, from 0 "
     "to 0.1 s"),
    ({"server_side_batching": {"max_batch_size": 4, "max_batch": 2}},
     "server_side_batching.max_batch is not a key of predictor.config.server_side_batching"),
])
def test_a_bad_config_value_names_the_key_and_what_it_takes(formats, extra, message):
    config = {"model": formats["saved_model_other_signature"].location,
              "session_strategy": "per_request", **extra}
    with pytest.raises(tf_session.ModelError) as caught:
        PythonPredictor(config)
    assert message in str(caught.value)


def test_a_missing_model_says_what_it_can_be():
    with pytest.raises(tf_session.ModelError, match="predictor.config.model is required: a "
                                                    "SavedModel folder, a frozen GraphDef"):
        PythonPredictor({"session_strategy": "per_request"})


def test_a_batch_larger_than_the_threads_serves_and_says_so_once(formats, monkeypatch, caplog):
    """Cortex's local environment runs 1 thread per worker whatever the config says: a
    batched API serves there, with the batches its threads can make."""
    monkeypatch.setenv("CORTEX_THREADS_PER_WORKER", "3")  # as Cortex sets it in a worker
    config = {"model": formats["saved_model_serving_default"].location,
              "session_strategy": "per_request", "server_side_batching": {"max_batch_size": 7}}
    predictors = [PythonPredictor(config) for _ in range(2)]  # as a restarted worker would
    line = ("predictor.config.server_side_batching.max_batch_size 7 is more than "
            "threads_per_worker 3 (Cortex's local environment runs 1): serving with batches "
            "of at most 3 requests, one from each thread")
    assert caplog.text.count(line) == 1, caplog.text
    inputs = payloads(60, seed=4)
    expected = models.expected_y([p["x"] for p in inputs], [p["ids"] for p in inputs])
    for predictor in predictors:
        with ThreadPoolExecutor(3) as pool:
            answers = list(pool.map(predictor.predict, inputs))
        assert predictor.model.batcher.examples == len(inputs)
        np.testing.assert_allclose([a["y"] for a in answers], expected, rtol=1e-5, atol=1e-6)


MISSPELT = "predictor.config.%s is not a key tf_session reads: did you mean %s? (name a " \
           "key of your own further from tf_session's keys)"


@pytest.mark.parametrize(("key", "meant"), [
    ("intra_op_paralelism_threads", "intra_op_parallelism_threads"),
    ("finalize_grpah", "finalize_graph"),
    ("Signature", "signature"),
])
def test_a_misspelt_key_stops_the_start_naming_the_known_one(formats, key, meant):
    """Its setting would be silently ignored: the API does not start, in one message."""
    with pytest.raises(tf_session.ModelError) as caught:
        PythonPredictor({"model": formats["saved_model_other_signature"].location,
                         "session_strategy": "per_request", key: 1})
    assert str(caught.value) == MISSPELT % (key, meant)


@pytest.mark.parametrize(("key", "meant"), [("inptus", "inputs"), ("outptus", "outputs"),
                                            ("sesion_strategy", "session_strategy")])
def test_a_misspelt_required_key_is_the_one_message(formats, key, meant):
    """Not "inputs are missing" (or "session_strategy is required") first: the misspelling
    is what to fix."""
    written = formats["checkpoint_folder"]
    config = {"model": written.location, "session_strategy": "per_request", **written.config}
    config[key] = config.pop(meant)
    with pytest.raises(tf_session.ModelError) as caught:
        PythonPredictor(config)
    assert str(caught.value) == MISSPELT % (key, meant)


def test_a_key_far_from_every_known_one_is_the_users_own(formats, caplog):
    predictor = PythonPredictor({"model": formats["saved_model_other_signature"].location,
                                 "session_strategy": "per_request", "labels_file": "x.txt"})
    assert predictor.model is not None
    assert "labels_file" not in caplog.text
