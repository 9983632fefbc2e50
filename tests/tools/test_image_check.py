"""`make check`'s model check on the image's own stack: each API's predictor.py and
tf_session.py run on Python 3.6, TensorFlow 2.1.0 and numpy 1.18.4, and must answer as
the local runtime does. A predictor that needs Python 3.7 only at run time passes every
local check and fails here, naming what is missing."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from cortex_tools.image_stack import stack
from tests.tools import house

ROOT = Path(__file__).resolve().parents[2]

CHECK = [sys.executable, "-m", "cortex_tools.image_stack", "check"]

needs_image_stack = pytest.mark.skipif(not stack.is_ready(), reason=stack.missing_line())


def project(tmp_path: Path, predict_body: str | None = None) -> Path:
    """The house-price checkpoint project (float, int64 and string inputs), built here: not
    the project's own files, which a user replaces; predict's body replaced if given."""
    folder = tmp_path / "project"
    house.project(folder)
    if predict_body is not None:
        source = (folder / "predictor.py").read_text()
        old = "        return self.model.predict(payload, self.to_inputs, self.to_answer)\n"
        assert old in source
        (folder / "predictor.py").write_text(source.replace(old, predict_body))
    return folder


def check(folder: Path) -> subprocess.CompletedProcess:
    return subprocess.run([*CHECK, "cortex.yaml"], cwd=folder, capture_output=True, text=True,
                          timeout=600, env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2"})


@needs_image_stack
def test_a_project_answers_on_the_image_stack_as_locally(tmp_path):
    done = check(project(tmp_path))
    lines = done.stdout.splitlines()
    assert done.returncode == 0, done.stdout + done.stderr
    assert lines[0].startswith("TF 2.1.0 model check: image stack (Python 3.6.")
    assert "tensorflow-cpu 2.1.0, numpy 1.18.4 in .venv-image)" in lines[0]
    assert lines[1:] == ["api house: on the image stack answers sample.json from 1 thread as "
                         "the local runtime does (max |diff| 0)"]


ASYNCIO_RUN = """\
        import asyncio

        async def answer():
            return self.model.predict(payload, self.to_inputs, self.to_answer)

        return asyncio.run(answer())  # Python 3.7+
"""


@needs_image_stack
def test_a_predictor_that_needs_python_3_7_at_run_time_fails_naming_it(tmp_path):
    folder = project(tmp_path, ASYNCIO_RUN)
    line = next(i for i, text in enumerate((folder / "predictor.py").read_text().splitlines(),
                                           1) if "asyncio.run(" in text)
    done = check(folder)
    assert done.returncode == 1, done.stdout + done.stderr
    assert (f"api house: sample.json: predict() raises on the image stack: "
            f"AttributeError: module 'asyncio' has no attribute 'run' (predictor.py:{line})"
            ) in done.stdout.splitlines(), done.stdout


def test_without_the_image_stack_the_c_api_check_runs_and_says_so(monkeypatch, capsys):
    from cortex_tools.image_stack import check as image_check

    monkeypatch.setattr(stack, "is_ready", lambda: False)
    called = []
    monkeypatch.setattr("cortex_tools.tf21.__main__.main", lambda argv: called.append(argv) or 0)
    assert image_check.main([Path("cortex.yaml")]) == 0
    assert called == [["check", "cortex.yaml"]]
    assert capsys.readouterr().out == (f"TF 2.1.0 model check: C-API fallback "
                                       f"({stack.missing_line()})\n")


NEWER_PREDICTOR = '''from tf_session import array, load_model, number, read_fields

FIELDS = {"x": array(number(), min_length=3, max_length=3)}


class PythonPredictor:
    def __init__(self, config):
        self.model = load_model(config, inputs=["x"], outputs=["y"])

    def predict(self, payload):
        return self.model.predict(payload, lambda p: read_fields(p, FIELDS),
                                  lambda outputs: {"y": outputs["y"].tolist()})
'''


WRITE_NEWER_MODELS = """
import sys
from pathlib import Path

import tensorflow as tf

folder = Path(sys.argv[1])
graph = tf.Graph()
with graph.as_default():
    x = tf.compat.v1.placeholder(tf.float32, [None, 3], name="x")
    tf.identity(tf.matmul(x, tf.constant([[1.0], [2.0], [3.0]])), name="y")
tf.io.write_graph(graph.as_graph_def(), str(folder / "model"), "frozen.pb", as_text=False)


class Module(tf.Module):
    def __init__(self):
        self.w = tf.Variable([[1.0], [2.0], [3.0]])

    @tf.function(input_signature=[tf.TensorSpec([None, 3], tf.float32, name="x")])
    def __call__(self, x):
        return {"y": tf.matmul(x, self.w)}


module = Module()
tf.saved_model.save(module, str(folder / "saved"), signatures=module.__call__)
"""


def newer_project(tmp_path: Path) -> Path:
    """Models as today's TensorFlow (the local one) writes them, which TF 2.1 cannot import:
    a frozen graph (MatMul gains grad_a and grad_b) served by two APIs, and a tf.Module
    SavedModel (VarHandleOp gains debug_name), each as a user would drop it in."""
    folder = tmp_path / "newer"
    (folder / "model").mkdir(parents=True)
    (folder / "tf_session.py").write_text((ROOT / "tf_session.py").read_text())
    (folder / "predictor.py").write_text(NEWER_PREDICTOR)
    (folder / "sample.json").write_text('{"x": [1, 2, 3]}')
    # In a process of its own: tf_session, imported by other tests of this process, turns
    # eager execution off, which tf.saved_model.save needs.
    subprocess.run([sys.executable, "-c", WRITE_NEWER_MODELS, str(folder)], check=True,
                   env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2"})
    frozen = {"model": "model/frozen.pb", "session_strategy": "per_request",
              "inputs": {"x": "x:0"}, "outputs": {"y": "y:0"}}
    apis = [{"name": name, "predictor": {"type": "python", "path": "predictor.py",
                                         "config": config}}
            for name, config in (("frozen", frozen), ("frozen-2", frozen), ("saved", {
                "model": "saved", "session_strategy": "per_request"}))]
    (folder / "cortex.yaml").write_text(yaml.safe_dump(apis, sort_keys=False))
    return folder


@needs_image_stack
def test_a_model_of_a_newer_tensorflow_stops_at_start_with_the_convert_command(tmp_path):
    """tf_session on TensorFlow 2.1 (as on Cortex) turns the import's error into the fix;
    APIs sharing a model print it once."""
    done = check(newer_project(tmp_path))
    assert done.returncode == 1, done.stdout + done.stderr
    newer = "was made by a newer TensorFlow than this one (2.1.0):"
    converts = ("make convert rewrites what TensorFlow 2.1.0 lacks where it can, and says "
                "what it cannot: make convert SRC=")
    # Each start error ends with where tf_session raised it: (tf_session.py:LINE).
    lines = [re.sub(r" \(tf_session\.py:\d+\)$", "", line)
             for line in done.stdout.splitlines()[1:]]
    assert lines == [
        "api frozen: fails on the image stack at start: ModelError: model model/frozen.pb "
        f"{newer} attrs grad_a, grad_b of op MatMul (node MatMul) are unknown to it. "
        f"{converts}model/frozen.pb DEST=model/frozen-tf21, then model: model/frozen-tf21 in "
        "predictor.config (inputs and outputs stay) and remove model/frozen.pb",
        "api frozen-2: fails as api frozen does (the same words, above)",
        "api saved: fails on the image stack at start: ModelError: model saved "
        f"{newer} attr debug_name of op VarHandleOp (node Variable) is unknown to it. "
        f"{converts}saved DEST=saved"], done.stdout


def test_an_error_is_placed_in_the_projects_code_not_in_a_virtualenv_it_holds(tmp_path,
                                                                              monkeypatch):
    """.venv-image sits in the project: a library's frame there is not the user's line."""
    monkeypatch.syspath_prepend(str(stack.PY36_DIR))
    from api_answers import described

    library = tmp_path / ".venv-image" / "lib" / "python3.6" / "site-packages"
    library.mkdir(parents=True)
    (library / "lib_raises.py").write_text("def fail():\n    raise ValueError('deep')\n")
    (tmp_path / "user_code.py").write_text("import lib_raises\n\n\ndef run():\n"
                                           "    lib_raises.fail()\n")
    monkeypatch.syspath_prepend(str(library))
    monkeypatch.syspath_prepend(str(tmp_path))
    import user_code

    with pytest.raises(ValueError) as caught:
        user_code.run()
    assert described(caught.value, str(tmp_path)) == "ValueError: deep (user_code.py:5)"
