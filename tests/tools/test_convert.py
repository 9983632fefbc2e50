"""make convert: every source kind, built here by the local TensorFlow and Keras, converted,
then served by the local runtime under both strategies at threads_per_worker 4 and checked
in TensorFlow 2.1.0 (the real wheel, as make check runs it); answers equal the source
model's own. Also: string and int64 inputs, a dynamic batch axis, an op TF 2.1 lacks (DEST
untouched), and the unconverted Keras SavedModel stopped at start and by make check."""

from __future__ import annotations

import hashlib
import json
import re
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import pytest
import yaml

from cortex_tools.image_stack import stack
from tests.tools.convert_sources import SOURCES, UNCONVERTIBLE
from tests.tools.serve_helpers import Server, concurrently, post_json, running

ROOT = Path(__file__).resolve().parents[2]
CONVERT = (sys.executable, "-m", "cortex_tools.convert")
TF21_LINE = re.compile(r"^  TensorFlow 2\.1\.0 \(C API\): max \|diff\| from the source model "
                       r"(0|\de-\d+)$", re.M)
IMAGE_LINE = re.compile(r"^  image stack \(Python 3\.6\.\d+, TensorFlow 2\.1\.0\): max \|diff\| "
                        r"from the source model (0|\de-\d+)$", re.M)
LOCAL_LINE = re.compile(r"^  local TensorFlow \S+ \(tf_session\): max \|diff\| from the "
                        r"source model (0|\de-\d+)$", re.M)

# One predictor for every converted model: config `served` maps a kind to its folder (else
# `model`, as make convert swaps it for the model it checks); a
# payload {kind: one example's inputs} gets {kind: that example's outputs}.
PREDICTOR = '''from tf_session import load_model


class PythonPredictor:
    def __init__(self, config):
        self.models = {}
        for kind, names in config["names"].items():
            settings = dict(config, model=config["served"].get(kind) or config["model"])
            self.models[kind] = load_model(settings, inputs=names[0], outputs=names[1])

    def predict(self, payload):
        answer = {}
        for kind, example in payload.items():
            if kind in self.models:
                answer[kind] = self.models[kind].predict(example, dict, dict)
        return answer
'''


def convert(src: Path, dest: Path, *args: str, cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run([*CONVERT, str(src), str(dest), "--config", "none", *args],
                          cwd=cwd, capture_output=True, text=True, timeout=600)


@pytest.fixture(scope="session")
def sources(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("convert-sources")
    done = subprocess.run([sys.executable, "-m", "tests.tools.convert_sources", str(folder)],
                          cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]
    return folder


@pytest.fixture(scope="session")
def expected(sources) -> dict:
    return json.loads((sources / "expected.json").read_text())


@pytest.fixture(scope="session")
def converted(sources) -> dict[str, subprocess.CompletedProcess]:
    """Each kind converted into sources/converted/<kind>, three at a time."""
    def one(kind: str) -> subprocess.CompletedProcess:
        return convert(sources / SOURCES[kind][0], sources / "converted" / kind, cwd=ROOT)

    with ThreadPoolExecutor(3) as pool:
        return dict(zip(SOURCES, pool.map(one, SOURCES), strict=True))


def meta_graph_of(model: Path):
    from tensorflow.core.protobuf import saved_model_pb2

    saved_model = saved_model_pb2.SavedModel()
    saved_model.ParseFromString((model / "saved_model.pb").read_bytes())
    [meta] = saved_model.meta_graphs
    assert list(meta.signature_def) == ["serving_default"]
    assert not meta.HasField("saver_def")  # frozen: nothing to restore
    return meta


def signature_of(model: Path):
    return meta_graph_of(model).signature_def["serving_default"]


@pytest.mark.parametrize("kind", list(SOURCES))
def test_each_kind_converts_with_its_own_names_and_agrees_in_tf21(kind, converted, sources,
                                                                 prepared):
    done = converted[kind]
    assert done.returncode == 0, done.stdout + done.stderr[-3000:]
    assert done.stdout.startswith(f"wrote {sources / 'converted' / kind}: a SavedModel of ")
    # The image stack's tier runs where .venv-image is set up (CI always has it); else a
    # line says it did not.
    tiers = (TF21_LINE, LOCAL_LINE, IMAGE_LINE) if stack.is_ready() else (TF21_LINE, LOCAL_LINE)
    for pattern in tiers:
        found = pattern.search(done.stdout)
        assert found and float(found.group(1)) < 1e-5, done.stdout
    if not stack.is_ready():
        assert "\n  image stack: not set up here" in done.stdout
    _, inputs, outputs = SOURCES[kind]
    signature = signature_of(sources / "converted" / kind)
    assert sorted(signature.inputs) == sorted(inputs)
    assert sorted(signature.outputs) == sorted(outputs)
    assert f'INPUTS = [{", ".join(map(repr, sorted(inputs)))}]'.replace("'", '"') in done.stdout
    # Nothing TF 2.1's registry lacks is left in the graph written: no op, no attribute
    # (grad_a, grad_b, debug_name), whoever imports it and with whatever op list.
    from cortex_tools.tf21.diagnose import graph_findings
    from cortex_tools.tf21.load import LocalOps, read_op_list

    graph_def = meta_graph_of(sources / "converted" / kind).graph_def
    local = LocalOps()
    assert graph_findings(graph_def, read_op_list(prepared.op_list), local, local) == []
    assert not [node.name for node in graph_def.node if node.op in (
        "VarHandleOp", "VariableV2", "ReadVariableOp")]  # frozen to constants


def test_string_and_int64_inputs_survive(converted, sources):
    signature = signature_of(sources / "converted" / "tf-module")
    dtypes = {name: info.dtype for name, info in signature.inputs.items()}
    from tensorflow.core.framework import types_pb2

    assert dtypes == {"text": types_pb2.DT_STRING, "count": types_pb2.DT_INT64}
    assert signature.outputs["ids"].dtype == types_pb2.DT_INT64


def test_a_dynamic_batch_axis_stays_dynamic(converted, sources, prepared, tmp_path):
    from cortex_tools.tf21 import arrays

    for kind in SOURCES:
        signature = signature_of(sources / "converted" / kind)
        for name, info in [*signature.inputs.items(), *signature.outputs.items()]:
            assert info.tensor_shape.dim[0].size == -1, (kind, name)
    feed = tmp_path / "feed.npz"  # 5 examples in TF 2.1.0, where the check made 2
    arrays.save(feed, {"age": np.ones((5, 3), np.float32), "len": np.zeros((5, 2), np.float32)})
    done = subprocess.run([sys.executable, "-m", "cortex_tools.tf21", "check-model",
                           str(sources / "converted" / "keras-file"), "--feed", str(feed)],
                          cwd=ROOT, capture_output=True, text=True)
    assert done.returncode == 0 and "loads and agrees in TensorFlow 2.1.0" in done.stdout, \
        done.stdout + done.stderr[-2000:]


@pytest.fixture(scope="session")
def project(converted, sources, expected, tmp_path_factory) -> Path:
    """A project serving every converted model: one API per strategy (4 threads), one API
    per kind for the TF 2.1.0 check (sample.json holds one example of each kind)."""
    folder = tmp_path_factory.mktemp("convert-project")
    (folder / "predictor.py").write_text(PREDICTOR)
    (folder / "tf_session.py").write_text((ROOT / "tf_session.py").read_text())
    names = {kind: [SOURCES[kind][1], SOURCES[kind][2]] for kind in SOURCES}
    subprocess.run(["cp", "-r", str(sources / "converted"), str(folder / "converted")],
                   check=True)
    models = {kind: f"converted/{kind}" for kind in SOURCES}

    def entry(name: str, kinds: list[str], strategy: str) -> dict:
        return {"name": name, "predictor": {"type": "python", "path": "predictor.py", "config": {
            "model": models[kinds[0]], "session_strategy": strategy, "served": models,
            "names": {kind: names[kind] for kind in kinds}}},
            "autoscaling": {"threads_per_worker": 4}}

    apis = [entry("all-per-request", list(SOURCES), "per_request"),
            entry("all-once-per-thread", list(SOURCES), "once_per_thread")]
    (folder / "cortex.yaml").write_text(yaml.safe_dump(apis, sort_keys=False))
    # The TF 2.1.0 check runs an API's `model` alone: one API per converted model.
    each = [entry(kind, [kind], "per_request") for kind in SOURCES]
    (folder / "cortex-each.yaml").write_text(yaml.safe_dump(each, sort_keys=False))
    sample = {kind: expected[kind]["examples"][0] for kind in SOURCES}
    (folder / "sample.json").write_text(json.dumps(sample))
    return folder


def assert_same(answer: dict, want: dict, where: str) -> None:
    assert sorted(answer) == sorted(want), where
    for name, value in want.items():
        np.testing.assert_allclose(np.asarray(answer[name], dtype=float),
                                   np.asarray(value, dtype=float), rtol=1e-5, atol=1e-6,
                                   err_msg=f"{where}: {name}")


def test_served_under_both_strategies_at_4_threads_answers_as_the_source(project, expected):
    config = project / "cortex.yaml"
    servers = {name: Server(config, "--api", name)
               for name in ("all-per-request", "all-once-per-thread")}
    with running(servers) as started:
        for name, server in started.items():
            calls, wanted = [], []
            for kind in SOURCES:
                for example, want in zip(expected[kind]["examples"],
                                         expected[kind]["outputs"], strict=True):
                    calls.append(lambda url=server.url, k=kind, e=example:
                                 post_json(url, {k: e}))
                    wanted.append((kind, want))
            for reply, (kind, want) in zip(concurrently(calls * 2, workers=8), wanted * 2,
                                           strict=True):
                assert reply.status == 200, (name, kind, reply.text)
                assert_same(reply.json()[kind], want, f"{name} {kind}")


def test_each_converted_model_loads_and_agrees_in_tf21_as_make_check_runs_it(project,
                                                                            prepared):
    done = subprocess.run([sys.executable, "-m", "cortex_tools.tf21", "check",
                           "cortex-each.yaml"], cwd=project, capture_output=True, text=True,
                          timeout=900)
    assert done.returncode == 0, done.stdout + done.stderr[-3000:]
    agreed = re.findall(r"^api (\S+): loads and agrees in TensorFlow 2\.1\.0 \(max \|diff\| "
                        r"(?:0|\de-\d+)\)$", done.stdout, re.M)
    assert sorted(agreed) == sorted(SOURCES)


def test_an_op_tf21_lacks_fails_naming_it_and_leaves_dest_untouched(sources, tmp_path):
    dest = tmp_path / "model"  # a SavedModel there before: what a conversion may replace
    subprocess.run(["cp", "-r", str(sources / "tf1-saved-model"), str(dest)], check=True)
    before = {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in dest.rglob("*")
              if p.is_file()}
    done = convert(sources / UNCONVERTIBLE, dest, cwd=ROOT)
    assert done.returncode == 1, done.stdout
    assert re.fullmatch(
        rf"error: cannot convert {re.escape(str(sources / UNCONVERTIBLE))}: op BesselI0 is "
        r"newer than TF 2\.1 \(node \S+/BesselI0\): .+ \(" + re.escape(str(dest)) +
        r" is unchanged\)\n", done.stdout), done.stdout
    assert {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in dest.rglob("*")
            if p.is_file()} == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["model"]  # no temporary left


@pytest.fixture(scope="session")
def unconverted(sources, tmp_path_factory) -> Path:
    """The template's own predictor layout on the Keras SavedModel as tf.saved_model.save
    wrote it, with two APIs."""
    folder = tmp_path_factory.mktemp("unconverted")
    (folder / "tf_session.py").write_text((ROOT / "tf_session.py").read_text())
    (folder / "predictor.py").write_text(PREDICTOR)
    subprocess.run(["cp", "-r", str(sources / "keras-tf-saved-model"), str(folder / "model")],
                   check=True)
    names = {"keras": [["inputs", "inputs_1"], ["output_0"]]}
    apis = [{"name": name, "predictor": {"type": "python", "path": "predictor.py", "config": {
        "model": "model", "session_strategy": strategy, "served": {},
        "names": names}}} for name, strategy in (("keras", "per_request"),
                                                  ("keras-threaded", "once_per_thread"))]
    (folder / "cortex.yaml").write_text(yaml.safe_dump(apis, sort_keys=False))
    (folder / "sample.json").write_text(json.dumps(
        {"keras": {"inputs": [1.0, 2.0, 3.0], "inputs_1": [0.5, 0.5]}}))
    return folder


UNINITIALIZED = re.compile(
    r"model model leaves 4 of its \d+ variables uninitialized after loading \(.+\), so every "
    r"request would fail: .+; convert it: make convert SRC=model(?::|$)")


def test_the_unconverted_keras_saved_model_fails_at_start(unconverted):
    server = Server(unconverted / "cortex.yaml", "--api", "keras").start()
    try:
        assert server.wait(timeout=120) != 0
    finally:
        server.stop()
    errors = [line for line in server.lines if line.startswith("error: ")]
    assert errors and UNINITIALIZED.search(errors[0]), server.output


def test_make_check_fails_on_it_and_its_tf21_message_leads_to_convert(unconverted, prepared):
    done = subprocess.run([sys.executable, "-m", "cortex_tools.config_check"], cwd=unconverted,
                          capture_output=True, text=True, timeout=600)
    assert done.returncode == 1, done.stdout
    assert all(UNINITIALIZED.search(line) for line in done.stdout.splitlines()[:2]), done.stdout
    done = subprocess.run([sys.executable, "-m", "cortex_tools.tf21", "check"], cwd=unconverted,
                          capture_output=True, text=True, timeout=600)
    assert done.returncode == 1
    first, *details = done.stdout.splitlines()
    assert first.startswith("api keras: fails in TensorFlow 2.1.0: attr debug_name of "
                            "VarHandleOp is unknown"), first
    assert first.endswith("make convert fixes it: `make convert SRC=model`"), first
    assert "example/" not in done.stdout
    # the message holds for both APIs: printed once
    assert details[-1] == "api keras-threaded: fails as api keras does (the same words, above)"
    # the whole cause, not its first line
    assert any("Graph execution error" not in d and "uninitialized" in d for d in details)


def test_make_convert_fixes_what_it_said_as_it_said(unconverted, tmp_path):
    """The printed command, run in a copy of the project: then make check passes."""
    project = tmp_path / "project"
    subprocess.run(["cp", "-r", str(unconverted), str(project)], check=True)
    # what `make convert SRC=model` runs (DEST defaults to model, the config to cortex.yaml)
    done = subprocess.run([*CONVERT, "model", "model", "--config", "cortex.yaml"],
                          cwd=project, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stdout + done.stderr[-3000:]
    assert "checked on sample.json through predictor.py (api keras)" in done.stdout, \
        done.stdout
    done = subprocess.run([sys.executable, "-m", "cortex_tools.config_check"], cwd=project,
                          capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stdout


# make check runs each predictor on sample.json: a 5xx answer fails it, in the predictor's
# words. Three APIs on the TF1 SavedModel (it loads as it is): one answers, one raises
# TensorFlow's error (an input left unfed), one answers 503 itself.
SAMPLE_PREDICTOR = '''from starlette.responses import JSONResponse

from tf_session import load_model


class PythonPredictor:
    def __init__(self, config):
        self.how = config["how"]
        self.model = load_model(config, inputs=["features"], outputs=["probabilities"])

    def predict(self, payload):
        if self.how == "unfed":
            return self.model.run(self.model.outputs["probabilities"]).tolist()
        if self.how == "refuses":
            return JSONResponse({"error": "not today"}, status_code=503)
        return self.model.predict(payload, dict, lambda o: o["probabilities"].tolist())
'''


def test_make_check_runs_each_predictor_on_sample_json_and_fails_on_a_5xx(sources, expected,
                                                                          tmp_path):
    (tmp_path / "predictor.py").write_text(SAMPLE_PREDICTOR)
    (tmp_path / "tf_session.py").write_text((ROOT / "tf_session.py").read_text())
    subprocess.run(["cp", "-r", str(sources / "tf1-saved-model"), str(tmp_path / "model")],
                   check=True)
    (tmp_path / "sample.json").write_text(json.dumps(
        expected["tf1-saved-model"]["examples"][0]))
    apis = [{"name": how, "predictor": {"type": "python", "path": "predictor.py", "config": {
        "model": "model", "session_strategy": "per_request", "how": how}}}
        for how in ("answers", "unfed", "refuses")]
    (tmp_path / "cortex.yaml").write_text(yaml.safe_dump(apis, sort_keys=False))
    done = subprocess.run([sys.executable, "-m", "cortex_tools.config_check"], cwd=tmp_path,
                          capture_output=True, text=True, timeout=600)
    assert done.returncode == 1, done.stdout
    lines = done.stdout.splitlines()
    assert lines[-1] == "cortex.yaml: FAILED (2 errors)", lines
    unfed, refused = lines[:2]
    assert re.fullmatch(r"cortex\.yaml:\d+: api unfed: predictor\.path: predict\(sample\.json\) "
                        r"raised InvalidArgumentError: .*You must feed a value for placeholder "
                        r"tensor 'features'.* \(Cortex answers such a request 500\)", unfed), unfed
    assert re.fullmatch(r"cortex\.yaml:\d+: api refuses: predictor\.path: predict\(sample\.json\) "
                        r'answered 503: \{"error":"not today"\}', refused), refused


def test_the_reason_for_generated_inputs_is_the_configs_own(tmp_path):
    """After make remove-example, model/ holds no model yet (DEST is to be it): that is the
    reason, not "cortex.yaml has no API" (it has three)."""
    from cortex_tools.convert.feed import _api_for

    for name in ("cortex.yaml", "predictor.py", "tf_session.py", "requirements.txt",
                 "sample.json"):
        (tmp_path / name).write_text((ROOT / name).read_text())
    (tmp_path / "model").mkdir()
    (tmp_path / "model" / "README.md").write_text("what goes here")
    config = str(tmp_path / "cortex.yaml")
    assert _api_for(str(tmp_path / "model"), config) == (
        None, f"the model folder of {config} holds no model yet")
    (tmp_path / "cortex.yaml").write_text("- name: Not_A_Name\n")
    assert _api_for(str(tmp_path / "model"), config) == (
        None, f"{config} is not a valid config yet (make check says why)")
    subprocess.run(["cp", "-r", str(ROOT / "model"), str(tmp_path)], check=True)
    (tmp_path / "cortex.yaml").write_text((ROOT / "cortex.yaml").read_text())
    first = yaml.safe_load((ROOT / "cortex.yaml").read_text())[0]["name"]
    assert _api_for(str(tmp_path / "elsewhere"), config) == (first, "")
