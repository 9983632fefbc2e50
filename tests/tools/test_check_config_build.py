"""make check's build check: real small models, each predictor built in the child process.

One run of the command line (in this process) checks every config of two projects, so the
whole module starts one child process, which imports TensorFlow once. Each test reads
its API's lines of that run.

Project a: a predictor.py written as the template's (features -> probabilities, classes
read once) and the project's tf_session.py, with a SavedModel whose only
signature is "other", a frozen graph and a checkpoint (made here with the local
TensorFlow), plus two predictors of its own: counting.py (logs each build, so a config
built twice shows) and raising.py (its __init__ fails outside tf_session). Project b
holds a counting.py and tf_session.py of its own: builds of several projects in one child
must each import their own tf_session. Its last API's predictor ends the child process,
which the run reports for that API.
"""

from __future__ import annotations

import contextlib
import io
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import tensorflow as tf

from cortex_tools.config_check.__main__ import main
from tests.machinery import models
from tests.tools import house

ROOT = Path(__file__).resolve().parents[2]
TENSORS = {"features": "input/features:0", "probabilities": "output/probabilities:0",
           "classes": "output/classes:0"}

COUNTING = '''import os

import tf_session
from tf_session import load_model


class PythonPredictor:
    def __init__(self, config):
        if os.path.dirname(os.path.abspath(tf_session.__file__)) != os.getcwd():
            raise RuntimeError("tf_session.py of another project: " + tf_session.__file__)
        with open("builds.log", "a") as log:
            log.write(config["model"] + "\\n")
        self.model = load_model(config, inputs=["features"], outputs=["probabilities"])

    def predict(self, payload):
        return payload
'''
RAISING = '''from tf_session import load_model


class PythonPredictor:
    def __init__(self, config):
        self.labels = config["labels"]
        self.model = load_model(config)

    def predict(self, payload):
        return payload
'''
EXITING = '''import os
import sys

import tf_session


class PythonPredictor:
    def __init__(self, config):
        sys.stderr.write("leaving now\\n")
        sys.stderr.flush()
        os._exit(3)

    def predict(self, payload):
        return payload
'''


def _graph() -> tuple[tf.Graph, dict[str, tf.Tensor]]:
    """The iris predictor's model in small: features (4 per example) -> probabilities (3),
    and the class names as a constant."""
    graph = tf.Graph()
    with graph.as_default():
        features = tf.compat.v1.placeholder(tf.float32, [None, 4], name="input/features")
        weights = tf.compat.v1.Variable(np.full((4, 3), 0.25, np.float32), name="weights",
                                        use_resource=False)
        probabilities = tf.nn.softmax(tf.matmul(features, weights), name="output/probabilities")
        classes = tf.constant([b"setosa", b"versicolor", b"virginica"], name="output/classes")
    return graph, {"features": features, "probabilities": probabilities, "classes": classes}


def _session(graph: tf.Graph) -> tf.compat.v1.Session:
    sess = tf.compat.v1.Session(graph=graph)
    with graph.as_default():
        sess.run(tf.compat.v1.global_variables_initializer())
    return sess


def write_saved_model(folder: Path, signature: str) -> None:
    graph, tensors = _graph()
    with graph.as_default(), _session(graph) as sess:
        definition = tf.compat.v1.saved_model.signature_def_utils.predict_signature_def(
            inputs={"features": tensors["features"]},
            outputs={"probabilities": tensors["probabilities"], "classes": tensors["classes"]})
        builder = tf.compat.v1.saved_model.Builder(str(folder))
        builder.add_meta_graph_and_variables(
            sess, [tf.compat.v1.saved_model.tag_constants.SERVING],
            signature_def_map={signature: definition})
        builder.save()


def write_frozen_graph(path: Path) -> None:
    graph, _ = _graph()
    with graph.as_default(), _session(graph) as sess:
        frozen = tf.compat.v1.graph_util.convert_variables_to_constants(
            sess, graph.as_graph_def(), ["output/probabilities", "output/classes"])
    path.write_bytes(frozen.SerializeToString())


def write_checkpoint(folder: Path) -> None:
    graph, _ = _graph()
    with graph.as_default(), _session(graph) as sess:
        tf.compat.v1.train.Saver().save(sess, str(folder / "model"))


def tensors(*names: str, **renamed: str) -> str:
    """A flow mapping of predictor.config names to tensor names."""
    pairs = {name: TENSORS[name] for name in names} | renamed
    return "{" + ", ".join(f"{name}: '{tensor}'" for name, tensor in pairs.items()) + "}"


# As the template's predictor.py reads the iris model; its own copy, so that this test
# does not change when a user puts another model and predictor.py in the project.
PREDICTOR = """
from tf_session import load_model, number, read_fields

FIELDS = {"a": number(), "b": number(), "c": number(), "d": number()}


class PythonPredictor:
    def __init__(self, config):
        self.model = load_model(config, inputs=["features"], outputs=["probabilities"])
        self.labels = [label.decode() for label in self.model.evaluate("classes")]

    def predict(self, payload):
        return self.model.predict(payload, self.to_inputs, self.to_answer)

    def to_inputs(self, payload):
        fields = read_fields(payload, FIELDS)
        return {"features": [fields[name] for name in FIELDS]}

    def to_answer(self, outputs):
        return {"label": self.labels[int(outputs["probabilities"].argmax())]}
"""


def api(name: str, model: str, path: str = "predictor.py", **config: str) -> str:
    lines = [f"- name: {name}", "  predictor:", "    type: python", f"    path: {path}",
             "    config:", f"      model: {model}", "      session_strategy: per_request"]
    lines += [f"      {key}: {value}" for key, value in config.items()]
    return "\n".join(lines) + "\n"


IO = {"inputs": tensors("features"), "outputs": tensors("probabilities", "classes")}

# Project a's cortex.yaml: name -> API. Lines are counted in the run's output.
APIS_A = {
    "saved-model": api("saved-model", "sm_other", "counting.py"),
    "saved-model-again": api("saved-model-again", "sm_other", "counting.py"),
    "no-such-signature": api("no-such-signature", "sm_other", signature="serving_default"),
    "frozen-graph": api("frozen-graph", "frozen.pb", **IO),
    "tensor-not-in-graph": api("tensor-not-in-graph", "frozen.pb", inputs=IO["inputs"],
                               outputs=tensors("classes",
                                               probabilities="output/probability:0")),
    "output-not-mapped": api("output-not-mapped", "frozen.pb", inputs=IO["inputs"],
                             outputs=tensors("probabilities")),
    "checkpoint": api("checkpoint", "ckpt", **IO),
    "checkpoint-without-data": api("checkpoint-without-data", "ckpt_no_data/model", **IO),
    "not-a-graph": api("not-a-graph", "garbage.pb", **IO),
    "raising": api("raising", "sm_other", "raising.py"),
    "static-error": api("static-error", "sm_other").replace("per_request", "per_thread"),
}
# Project a's cortex-gpu.yaml: the same config as saved-model (built once for both files),
# and an s3:// model (not built).
APIS_A_GPU = {
    "saved-model-gpu": api("saved-model-gpu", "sm_other", "counting.py"),
    "on-s3": api("on-s3", "s3://bucket/iris/"),
}


@pytest.fixture(scope="module")
def run(tmp_path_factory) -> dict:
    """One run of `python -m cortex_tools.config_check` over both projects: its exit status,
    each file's lines, and the projects."""
    a, b = tmp_path_factory.mktemp("a"), tmp_path_factory.mktemp("b")
    for project in (a, b):
        shutil.copy(ROOT / "tf_session.py", project)
        (project / "counting.py").write_text(COUNTING)
    (a / "predictor.py").write_text(PREDICTOR)
    (b / "exiting.py").write_text(EXITING)
    (a / "raising.py").write_text(RAISING)
    write_saved_model(a / "sm_other", "other")
    write_frozen_graph(a / "frozen.pb")
    (a / "garbage.pb").write_bytes(b"not a graph")
    (a / "ckpt").mkdir()
    write_checkpoint(a / "ckpt")
    shutil.copytree(a / "ckpt", a / "ckpt_no_data")
    for data in (a / "ckpt_no_data").glob("model.data-*"):
        data.unlink()
    write_saved_model(b / "sm_other", "other")
    configs = {a / "cortex.yaml": APIS_A, a / "cortex-gpu.yaml": APIS_A_GPU,
               b / "cortex.yaml": {"b": api("b", "sm_other", "counting.py"),
                                   "exits": api("exits", "sm_other", "exiting.py")}}
    for path, apis in configs.items():
        path.write_text("".join(apis.values()))

    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        status = main([str(path) for path in configs])
    lines = out.getvalue().splitlines()
    return {"status": status, "a": a, "b": b, "lines": lines}


def lines_of(run: dict, api_name: str) -> list[str]:
    return [line.split(f": api {api_name}: ", 1)[1] for line in run["lines"]
            if f": api {api_name}: " in line]


@pytest.mark.parametrize("name", ["saved-model", "saved-model-again", "frozen-graph",
                                  "checkpoint", "saved-model-gpu", "on-s3"])
def test_models_that_load_pass(run, name):
    assert lines_of(run, name) == []


def test_each_file_says_what_was_built(run):
    a, b = run["a"], run["b"]
    assert run["status"] == 1
    status_lines = [line for line in run["lines"] if ": api " not in line]
    assert status_lines == [
        f"{a / 'cortex.yaml'}: FAILED (7 errors)",
        f"{a / 'cortex-gpu.yaml'}: OK (2 apis, 1 built, 1 s3:// model not built)",
        f"{b / 'cortex.yaml'}: FAILED (1 error)"]


def test_one_config_is_built_once_whichever_files_share_it(run):
    # saved-model, saved-model-again (cortex.yaml) and saved-model-gpu (cortex-gpu.yaml)
    assert (run["a"] / "builds.log").read_text().splitlines() == ["sm_other"]


def test_each_project_builds_with_its_own_tf_session(run):
    assert lines_of(run, "b") == []
    assert (run["b"] / "builds.log").read_text().splitlines() == ["sm_other"]


def test_a_build_that_ends_the_child_process(run):
    assert lines_of(run, "exits") == [
        "predictor.path: not built: the build process exited with status 3; it said: leaving "
        "now (to check without building: .venv/bin/python -m cortex_tools.config_check "
        "--no-build)"]


def test_a_signature_the_saved_model_lacks(run):
    assert lines_of(run, "no-such-signature") == [
        "predictor.config.signature: PythonPredictor(config) raised ModelError: model sm_other "
        "has no signature 'serving_default'; it has: other (predictor.config signature)"]


def test_a_tensor_not_in_the_graph_with_the_closest_names(run):
    assert lines_of(run, "tensor-not-in-graph") == [
        "predictor.config.outputs.probabilities: PythonPredictor(config) raised ModelError: "
        "predictor.config outputs probabilities: tensor 'output/probability:0' is not in the "
        "graph of frozen.pb; closest names: output/probabilities:0, output/classes:0"]


def test_a_name_predictor_py_reads_that_the_config_lacks(run):
    assert lines_of(run, "output-not-mapped") == [
        "predictor.config.outputs: PythonPredictor(config) raised ModelError: predictor.py uses "
        "output 'classes', which predictor.config.outputs for frozen graph frozen.pb lacks (it "
        "has: probabilities); map it to a tensor in predictor.config, e.g. outputs: {classes: "
        "'name:0'} (a frozen graph has no signature: name its tensors there; tensors no op "
        "reads: output/probabilities:0 float32 (any, 3), output/classes:0 string (3,))"]


def test_a_checkpoint_without_its_data_file(run):
    assert lines_of(run, "checkpoint-without-data") == [
        "predictor.config.model: PythonPredictor(config) raised ModelError: checkpoint "
        "ckpt_no_data/model: the variables' files model.index and model.data-* must be beside "
        "model.meta"]


def test_a_pb_file_that_is_not_a_graph(run):
    (line,) = lines_of(run, "not-a-graph")
    assert line.startswith("predictor.config.model: PythonPredictor(config) raised "
                           "ModelError: model garbage.pb is not a GraphDef (")
    assert line.endswith("): a frozen graph is a .pb file written with "
                         "graph_def.SerializeToString()")


def test_any_other_failure_of_init_in_cortexs_words(run):
    assert lines_of(run, "raising") == [
        "predictor.path: PythonPredictor(config) failed: raising.py: __init__: KeyError: "
        "'labels': runtime exception"]


def test_an_api_with_a_static_error_is_not_built(run):
    assert lines_of(run, "static-error") == [
        'predictor.config.session_strategy: "per_thread" is not one of the choices '
        "(per_request or once_per_thread)"]


def line_in(text: str, needle: str, after: str) -> int:
    """The 1-based line of `needle`, first found after `after`, in `text`."""
    return text.count("\n", 0, text.index(needle, text.index(after))) + 1


def test_lines_point_at_the_key_at_fault(run):
    """The line to fix: signature's, the outputs entry naming a tensor the graph lacks, the
    outputs map lacking a name predictor.py reads; the model's for a model's own fault."""
    a, text = run["a"], "".join(APIS_A.values())
    expected = {
        "no-such-signature": ("signature: serving_default", "predictor.config.signature"),
        "tensor-not-in-graph": ("outputs: {classes", "predictor.config.outputs.probabilities"),
        "output-not-mapped": ("outputs: {probabilities", "predictor.config.outputs"),
        "checkpoint-without-data": ("model: ckpt_no_data/model", "predictor.config.model"),
    }
    for name, (needle, key) in expected.items():
        line = line_in(text, needle, f"- name: {name}\n")
        assert [x for x in run["lines"] if f": api {name}: " in x][0].startswith(
            f"{a / 'cortex.yaml'}:{line}: api {name}: {key}: PythonPredictor(config) raised "
            "ModelError: "), (name, run["lines"])


@pytest.mark.parametrize(("rooms", "price", "key", "message"), [
    ("room:0", "price:0", "inputs.rooms",
     "predictor.config inputs rooms: tensor 'room:0' is not in the graph of model; closest "
     "names: rooms:0"),
    ("rooms:0", "prices:0", "outputs.price",
     "predictor.config outputs price: tensor 'prices:0' is not in the graph of model; "
     "closest names: price:0"),
])
def test_a_wrong_tensor_name_points_at_its_own_line(tmp_path, rooms, price, key, message):
    """A house-price checkpoint whose config maps each name on a line of its own."""
    house.project(tmp_path, rooms=rooms, price=price)
    done = subprocess.run([sys.executable, "-m", "cortex_tools.config_check", "cortex.yaml"],
                          cwd=tmp_path, capture_output=True, text=True, timeout=300)
    assert done.returncode == 1, done.stdout + done.stderr
    first, last = done.stdout.splitlines()
    assert first.startswith(f"cortex.yaml:{house.LINES[key]}: api house: predictor.config."
                            f"{key}: PythonPredictor(config) raised ModelError: {message}"), first
    assert last == "cortex.yaml: FAILED (1 error)"


def test_missing_inputs_and_outputs_name_what_the_graph_offers(tmp_path):
    """A checkpoint has no signature: the message says which tensors there are to map."""
    config = house.project(tmp_path)
    text = config.read_text()
    config.write_text(text[:text.index("      inputs:")])
    done = subprocess.run([sys.executable, "-m", "cortex_tools.config_check", "cortex.yaml"],
                          cwd=tmp_path, capture_output=True, text=True, timeout=300)
    assert done.returncode == 1, done.stdout + done.stderr
    assert done.stdout.splitlines() == [
        "cortex.yaml:5: api house: predictor.config.inputs: is missing (a checkpoint has no "
        "signature: a map of input names to tensor names, e.g. {x: 'input/x:0'}; its "
        "placeholders: area:0 float32 (any,), rooms:0 int64 (any,), city:0 string (any,))",
        "cortex.yaml:5: api house: predictor.config.outputs: is missing (a checkpoint has no "
        "signature: a map of output names to tensor names, e.g. {y: 'output/y:0'}; tensors "
        "no op reads: price:0 float32 (any,))",
        "cortex.yaml: FAILED (2 errors)"]


def check_house(folder: Path) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "cortex_tools.config_check", "cortex.yaml"],
                          cwd=folder, capture_output=True, text=True, timeout=300)


def test_a_model_folder_holding_two_models_names_each_at_the_model_line(tmp_path):
    """The house checkpoint (its `checkpoint` file too) copied beside a SavedModel in
    model/: not loaded as the SavedModel, with errors about its tensors; both named."""
    house.project(tmp_path)
    written = tmp_path / "other"
    models.saved_model(written)
    shutil.copy(written / "saved_model.pb", tmp_path / "model")
    shutil.copytree(written / "variables", tmp_path / "model" / "variables")
    done = check_house(tmp_path)
    assert done.returncode == 1, done.stdout + done.stderr
    assert done.stdout.splitlines() == [
        f"cortex.yaml:{house.LINES['model']}: api house: predictor.config.model: \"model\" "
        "holds more than one model: a SavedModel (saved_model.pb); a checkpoint (checkpoint, "
        "house.ckpt.*); move all but one out of the folder, or point model at one, e.g. "
        "model/house.ckpt",
        "cortex.yaml: FAILED (1 error)"]


def test_a_checkpoint_prefix_short_of_its_name_is_guessed_at_the_model_line(tmp_path):
    """`model: model/house` where the prefix is model/house.ckpt: not "save it again"."""
    config = house.project(tmp_path)
    config.write_text(config.read_text().replace("model: model", "model: model/house"))
    done = check_house(tmp_path)
    assert done.returncode == 1, done.stdout + done.stderr
    assert done.stdout.splitlines() == [
        f"cortex.yaml:{house.LINES['model']}: api house: predictor.config.model: "
        "PythonPredictor(config) raised ModelError: checkpoint model/house: no house.meta "
        "there; did you mean model/house.ckpt?",
        "cortex.yaml: FAILED (1 error)"]


def test_a_misspelt_key_of_tf_sessions_fails_make_check_at_its_line(tmp_path):
    """`intra_op_paralelism_threads` would be silently ignored: an error, exit 1, not a
    warning with exit 0."""
    config = house.project(tmp_path)
    config.write_text(config.read_text().replace(
        "session_strategy: per_request\n",
        "session_strategy: per_request\n      intra_op_paralelism_threads: 1\n"))
    done = check_house(tmp_path)
    assert done.returncode == 1, done.stdout + done.stderr
    assert done.stdout.splitlines() == [
        "cortex.yaml:8: api house: predictor.config.intra_op_paralelism_threads: is not a key "
        "tf_session.py reads (did you mean intra_op_parallelism_threads? name a key of your "
        "own further from its keys)",
        "cortex.yaml: FAILED (1 error)"]
