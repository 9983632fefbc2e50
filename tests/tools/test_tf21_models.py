"""The model check in the image's own TensorFlow 2.1.0: the bundled project passes; models
built here with the local TensorFlow that TF 2.1 rejects fail with the op or attribute,
the node and the fix; models it accepts pass, as they load on the image."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from cortex_tools.config_check import check_file
from cortex_tools.tf21 import arrays, check

ROOT = Path(__file__).resolve().parents[2]
CLI = (sys.executable, "-m", "cortex_tools.tf21")
AGREES = re.compile(r"^api (\S+): loads and agrees in TensorFlow 2\.1\.0 "
                    r"\(max \|diff\| (0|\de-\d+)\)$")

# A predictor of the project under test: tf_session loads the model, as in the template.
PREDICTOR = '''from tf_session import load_model


class PythonPredictor:
    def __init__(self, config):
        self.model = load_model(config, inputs=["features"], outputs=["probabilities"])

    def predict(self, payload):
        return self.model.predict(payload, lambda p: {"features": p["features"]},
                                  lambda outputs: outputs["probabilities"].tolist())
'''
SAMPLE = '{"features": [5.1, 3.5, 1.4, 0.2]}'
TENSORS = ('inputs: {features: "features:0"}, '
           'outputs: {probabilities: "probabilities:0"}')
APIS = {  # name -> (model, extra config)
    "bessel": ("bessel", ""),
    "unstripped": ("unstripped", ""),
    "frozen": ("frozen.pb", TENSORS),
    "frozen-fixed": ("frozen-tf21.pb", TENSORS),
    "checkpoint": ("ckpt", TENSORS),
    "resource-checkpoint": ("resource-ckpt", TENSORS),
}


def run_cli(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run([*CLI, *args], cwd=cwd, capture_output=True, text=True)


def blocks(output: str) -> dict[str, list[str]]:
    """CLI output by API (or model): its line, then its indented details."""
    found: dict[str, list[str]] = {}
    name = None
    for line in output.splitlines():
        if line.startswith(("api ", "model ")):
            name = line.split(":")[0].split(" ", 1)[1]
            found[name] = [line]
        elif line.startswith("  ") and name:
            found[name].append(line.strip())
    return found


# --- models, made with the local TensorFlow -----------------------------------------------


def forward(tf, bessel: bool = False, resource: bool = False):
    weights = np.linspace(-1, 1, 12, dtype=np.float32).reshape(4, 3)
    features = tf.compat.v1.placeholder(tf.float32, [None, 4], name="features")
    kernel = tf.compat.v1.Variable(weights, name="kernel", use_resource=resource)
    hidden = tf.math.special.bessel_i0(features / 4) if bessel else features
    probabilities = tf.nn.softmax(tf.matmul(hidden, kernel), name="probabilities")
    return features, probabilities


def saved_model(tf, path: Path, bessel: bool = False, strip: bool = True) -> None:
    graph = tf.Graph()
    with graph.as_default(), tf.compat.v1.Session(graph=graph) as sess:
        features, probabilities = forward(tf, bessel)
        sess.run(tf.compat.v1.global_variables_initializer())
        signature = tf.compat.v1.saved_model.signature_def_utils.predict_signature_def(
            {"features": features}, {"probabilities": probabilities})
        builder = tf.compat.v1.saved_model.Builder(str(path))
        builder.add_meta_graph_and_variables(sess, ["serve"],
                                             signature_def_map={"serving_default": signature},
                                             strip_default_attrs=strip)
        builder.save()


def frozen_graph(tf, path: Path) -> None:
    """Frozen as newer TensorFlows freeze: every node with all its attributes."""
    graph = tf.Graph()
    with graph.as_default(), tf.compat.v1.Session(graph=graph) as sess:
        forward(tf)
        sess.run(tf.compat.v1.global_variables_initializer())
        frozen = tf.compat.v1.graph_util.convert_variables_to_constants(
            sess, graph.as_graph_def(), ["probabilities"])
    path.write_bytes(frozen.SerializeToString())


def checkpoint(tf, prefix: Path, resource: bool) -> None:
    graph = tf.Graph()
    with graph.as_default(), tf.compat.v1.Session(graph=graph) as sess:
        forward(tf, resource=resource)
        sess.run(tf.compat.v1.global_variables_initializer())
        tf.compat.v1.train.Saver().save(sess, str(prefix))


def made_up_op_graph(path: Path) -> None:
    from tensorflow.core.framework import graph_pb2, types_pb2

    graph = graph_pb2.GraphDef()
    placeholder = graph.node.add(name="features", op="Placeholder")
    placeholder.attr["dtype"].type = types_pb2.DT_FLOAT
    node = graph.node.add(name="mystery", op="Tf21CheckMadeUpOp", input=["features"])
    node.attr["T"].type = types_pb2.DT_FLOAT
    path.write_bytes(graph.SerializeToString())


@pytest.fixture(scope="module")
def project(tmp_path_factory) -> Path:
    import tensorflow as tf

    folder = tmp_path_factory.mktemp("tf21-project")
    (folder / "predictor.py").write_text(PREDICTOR)
    (folder / "tf_session.py").write_text((ROOT / "tf_session.py").read_text())
    (folder / "sample.json").write_text(SAMPLE)
    saved_model(tf, folder / "bessel", bessel=True)
    saved_model(tf, folder / "unstripped", strip=False)
    frozen_graph(tf, folder / "frozen.pb")
    checkpoint(tf, folder / "ckpt" / "model", resource=False)
    checkpoint(tf, folder / "resource-ckpt" / "model", resource=True)
    made_up_op_graph(folder / "made-up.pb")
    config = "".join(
        f"- name: {name}\n  predictor:\n    type: python\n    path: predictor.py\n"
        f"    config: {{model: {model}, session_strategy: per_request"
        f"{', ' + extra if extra else ''}}}\n" for name, (model, extra) in APIS.items())
    (folder / "cortex.yaml").write_text(config)
    return folder


@pytest.fixture(scope="module")
def fixed(project, prepared) -> subprocess.CompletedProcess:
    return run_cli("fix-graph", "frozen.pb", "frozen-tf21.pb", cwd=project)


@pytest.fixture(scope="module")
def checked(project, fixed) -> tuple[int, dict[str, list[str]]]:
    done = run_cli("check", cwd=project)
    assert not done.stderr.strip() or "Traceback" not in done.stderr, done.stderr
    return done.returncode, blocks(done.stdout)


# --- the bundled project ----------------------------------------------------------------


def test_every_api_of_the_bundled_project_loads_and_agrees(prepared):
    names = [api["name"] for config in sorted(ROOT.glob("cortex*.yaml"))
             for api in check_file(config).apis]
    done = run_cli("check", cwd=ROOT)
    assert done.returncode == 0, done.stdout + done.stderr[-3000:]
    lines = done.stdout.splitlines()
    # Agreeing is within compare.py's tolerance, relative to each output's size: how small
    # the max |diff| is depends on the model (a sampler's logits of ~8 differ by 2e-6);
    # the iris example's own bound is in tests/example.
    assert sorted(AGREES.match(line).group(1) for line in lines) == sorted(names), lines


# --- the negative controls and their positives --------------------------------------------


def test_the_check_fails_when_any_api_fails(checked):
    code, found = checked
    assert code == 1
    assert sorted(found) == sorted(APIS)


def test_a_saved_model_with_an_op_newer_than_tf21_fails_naming_it(checked):
    line, *details = checked[1]["bessel"]
    assert re.fullmatch(r"api bessel: fails in TensorFlow 2\.1\.0: op BesselI0 is newer than "
                        r"TF 2\.1 \(node \S*BesselI0\): export with TF <= 2\.1 or avoid it",
                        line), line
    assert "Op type not registered 'BesselI0'" in details[0]


def test_a_frozen_graph_with_default_attributes_tf21_lacks_fails_with_the_fix(checked):
    line, *details = checked[1]["frozen"]
    assert line == (
        "api frozen: fails in TensorFlow 2.1.0: attrs grad_a, grad_b of MatMul are unknown "
        "to TF 2.1 (node MatMul; grad_a=false, grad_b=false, the defaults): make convert "
        "fixes it: `make convert SRC=frozen.pb DEST=frozen-tf21`, then `model: frozen-tf21` "
        "(inputs and outputs stay) and remove frozen.pb, or keep a frozen graph: "
        "`.venv/bin/python -m cortex_tools.tf21 fix-graph frozen.pb frozen-tf21.pb`")
    # TF 2.1 names the first of them in the node's attribute map, whose order varies
    assert re.search(r"NodeDef mentions attr 'grad_[ab]' not in Op<name=MatMul", details[0])


def test_the_printed_fix_graph_command_runs_as_printed(project, checked):
    """From the project folder, where .venv is (linked here): no `No module named`."""
    command = re.search(r"`(\.venv/bin/python -m cortex_tools\.tf21 fix-graph [^`]+)`",
                        checked[1]["frozen"][0])[1]
    (project / ".venv").symlink_to(ROOT / ".venv")
    try:
        done = subprocess.run(command.split(), cwd=project, capture_output=True, text=True)
    finally:
        (project / ".venv").unlink()
    assert done.returncode == 0, done.stdout + done.stderr
    assert done.stdout.startswith("frozen-tf21.pb: frozen.pb without 2 default-valued "), \
        done.stdout


def test_the_documented_fix_makes_that_graph_pass(fixed, checked):
    assert fixed.returncode == 0, fixed.stdout + fixed.stderr
    assert fixed.stdout.strip() == (
        "frozen-tf21.pb: frozen.pb without 2 default-valued attributes unknown to "
        "TensorFlow 2.1.0 (MatMul:grad_a, MatMul:grad_b)")
    assert AGREES.match(checked[1]["frozen-fixed"][0]), checked[1]["frozen-fixed"]


def test_a_saved_model_exported_without_stripping_passes_as_it_loads_on_the_image(checked):
    # Its MatMul nodes hold grad_a and grad_b too; the image's tf.compat.v1 loader drops
    # them (their producer defaults), and so does the check.
    assert AGREES.match(checked[1]["unstripped"][0]), checked[1]["unstripped"]


def test_the_c_loader_would_reject_it(project, prepared, tmp_path):
    """Why the check reproduces tf.compat.v1's loader instead of calling
    TF_LoadSessionFromSavedModel: the C++ loader keeps those attributes and fails."""
    result = check.run_tf21(tmp_path, {"task": "c-loader", "path": str(project / "unstripped")},
                            prepared.extracted, prepared.shim)
    assert result["ok"] is False and result["code"] == "INVALID_ARGUMENT"
    assert re.search(r"NodeDef mentions attr 'grad_[ab]' not in Op<name=MatMul",
                     result["message"])


def test_a_checkpoint_of_reference_variables_restores_and_agrees(checked):
    assert AGREES.match(checked[1]["checkpoint"][0]), checked[1]["checkpoint"]


def test_a_checkpoint_of_newer_resource_variables_fails_naming_the_attribute(checked):
    line = checked[1]["resource-checkpoint"][0]
    assert line.startswith("api resource-checkpoint: fails in TensorFlow 2.1.0: attr "
                           "debug_name of VarHandleOp is unknown to TF 2.1 and not at the "
                           "default (node kernel; debug_name="), line
    assert line.endswith(
        "make convert fixes it: `make convert SRC=resource-ckpt DEST=resource-ckpt-tf21`, "
        "then `model: resource-ckpt-tf21` (inputs and outputs stay) and remove resource-ckpt"
    ), line
    assert "example/" not in line  # make remove-example deletes it


def test_the_convert_command_it_names_fixes_that_checkpoint(project, checked):
    src, dest = re.search(r"`make convert SRC=(\S+) DEST=(\S+)`",
                          checked[1]["resource-checkpoint"][0]).groups()
    done = subprocess.run([sys.executable, "-m", "cortex_tools.convert", src, dest,
                           "--config", "none"], cwd=project, capture_output=True, text=True)
    assert done.returncode == 0, done.stdout + done.stderr[-3000:]
    assert "  inputs:  features       float32 (None, 4)" in done.stdout, done.stdout
    checked_again = run_cli("check-model", dest, cwd=project)
    assert checked_again.returncode == 0, checked_again.stdout


def test_a_graph_with_a_made_up_op_fails_naming_it(project, prepared):
    done = run_cli("check-model", "made-up.pb", cwd=project)
    assert done.returncode == 1, done.stdout + done.stderr
    line, *details = blocks(done.stdout)["made-up.pb"]
    assert line == (
        "model made-up.pb: fails in TensorFlow 2.1.0: op Tf21CheckMadeUpOp is neither a TF "
        "2.1 op nor one of the local TensorFlow's (node mystery): a custom op needs its "
        "library loaded (tf.load_op_library) before the model on the image; otherwise "
        "remove it from the graph")
    assert "Op type not registered 'Tf21CheckMadeUpOp'" in details[0]
    assert any(d.startswith("the local TensorFlow fails too") for d in details)


def test_check_model_takes_a_signature_and_a_feed(project, prepared, tmp_path):
    feed = tmp_path / "feed.npz"
    arrays.save(feed, {"features": np.array([[1, 2, 3, 4], [0, 0, 0, 0]], np.float32)})
    done = run_cli("check-model", "unstripped", "--signature", "serving_default", "--feed",
                   str(feed), cwd=project)
    assert done.returncode == 0, done.stdout + done.stderr
    assert re.fullmatch(r"model unstripped: loads and agrees in TensorFlow 2\.1\.0 "
                        r"\(max \|diff\| (0|\de-\d+)\)\n", done.stdout), done.stdout


def test_string_tensors_cross_the_c_api_both_ways(prepared, tmp_path):
    """Fed and fetched strings (TF 2.1's offset-table layout), bytes with NULs included."""
    import tensorflow as tf

    graph = tf.Graph()
    with graph.as_default():
        text = tf.compat.v1.placeholder(tf.string, [None], name="text")
        tf.strings.join([text, "!"], name="shout")
        tf.strings.length(text, name="length")
    (tmp_path / "graph.pb").write_bytes(graph.as_graph_def().SerializeToString())
    feed = np.empty(3, dtype=object)
    feed[:] = [b"", b"a\x00b", "\u00e9t\u00e9".encode()]
    arrays.save(tmp_path / "feed_0.npz", {"text:0": feed})
    plan = {"restore_op": None, "init_op": None, "init_feeds": {}}
    result = check.run_tf21(tmp_path, {"task": "check", "plan": plan, "config": "", "runs": [
        {"fetches": ["shout:0", "length:0"], "feeds": ["text:0"]}]},
        prepared.extracted, prepared.shim)
    assert result["ok"], result
    outputs = arrays.load(tmp_path / "tf21_0.npz")
    assert outputs["shout:0"].tolist() == [b"!", b"a\x00b!", "\u00e9t\u00e9!".encode()]
    assert outputs["length:0"].tolist() == [0, 3, 5]
