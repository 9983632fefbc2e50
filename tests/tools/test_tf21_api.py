"""The API check: the uploaded code's TensorFlow uses, against TF 2.1.0's own API tree."""

from __future__ import annotations

import ast
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from cortex_tools.config_check.project import Project
from cortex_tools.tf21 import wheel
from cortex_tools.tf21.api_check import check_file, check_source
from cortex_tools.tf21.api_tree import ApiTree

ROOT = Path(__file__).resolve().parents[2]
MARK = "# <-"  # marks the line a case expects its problem on


@pytest.fixture(scope="module")
def tree() -> ApiTree:
    try:
        return ApiTree(wheel.ensure().root)
    except wheel.SetupError as e:
        pytest.fail(f"cannot check against TensorFlow 2.1.0: {e}")


def problems(tree: ApiTree, source: str) -> list[str]:
    report = check_source(textwrap.dedent(source), "case.py", tree)
    return [problem.format() for problem in report.problems]


def expected_line(source: str) -> int:
    lines = textwrap.dedent(source).splitlines()
    return next(number for number, line in enumerate(lines, 1) if MARK in line)


def test_the_template_code_uses_only_tf21_apis(tree):
    for name in ("predictor.py", "tf_session.py"):
        report = check_file(ROOT / name, name, tree)
        assert report.problems == [], [p.format() for p in report.problems]
    assert check_file(ROOT / "tf_session.py", "tf_session.py", tree).uses > 30


def test_the_cli_checks_every_uploaded_python_file(tree):
    done = subprocess.run([sys.executable, "-m", "cortex_tools.tf21", "api"], cwd=ROOT,
                          capture_output=True, text=True)
    assert done.returncode == 0, done.stdout + done.stderr
    uploaded = sorted(str(p) for p in Project(ROOT, ROOT / "cortex.yaml").uploaded_files()
                      if p.suffix == ".py")
    assert "predictor.py" in uploaded and not any(p.startswith("tests/") for p in uploaded)
    assert [line.split(":")[0] for line in done.stdout.splitlines()] == uploaded
    assert all(line.endswith(("all in TensorFlow 2.1.0", "no TensorFlow use"))
               for line in done.stdout.splitlines())


def test_the_cli_fails_naming_file_line_and_chain(tree, tmp_path):
    (tmp_path / "newer.py").write_text("import tensorflow as tf\n\n"
                                       "tf.config.experimental.enable_op_determinism()\n")
    done = subprocess.run([sys.executable, "-m", "cortex_tools.tf21", "api", "newer.py"],
                          cwd=tmp_path, capture_output=True, text=True)
    assert done.returncode == 1
    assert done.stdout.splitlines() == [
        "newer.py:3: tf.config.experimental.enable_op_determinism is not in TensorFlow "
        "2.1.0: tf.config.experimental has no enable_op_determinism",
        "newer.py: 1 of 4 TensorFlow uses are not in TensorFlow 2.1.0"]


CASES = {
    "an API added after 2.1": ("""
        import tensorflow as tf
        tf.config.experimental.enable_op_determinism()  # <-
        """, "tf.config.experimental has no enable_op_determinism"),
    "a module added after 2.1": ("""
        import tensorflow as tf
        y = tf.math.special.bessel_i0(1.0)  # <-
        """, "tf.math.special is not in TensorFlow 2.1.0: tf.math has no special"),
    "a typo": ("""
        import tensorflow as tf
        sess = tf.compat.v1.Sesion()  # <-
        """, "tf.compat.v1 has no Sesion (did you mean Session?)"),
    "a bad keyword": ("""
        import tensorflow as tf
        sess = tf.compat.v1.Session(graph=tf.Graph(), configs=None)  # <-
        """, "tf.compat.v1.Session() in TensorFlow 2.1.0 has no parameter configs "
             "(did you mean config?)"),
    "too many positional arguments": ("""
        import tensorflow as tf
        tf.nn.relu(1.0, "relu", 3)  # <-
        """, "tf.nn.relu() in TensorFlow 2.1.0 takes at most 2 positional arguments, got 3"),
    "a keyword of a method": ("""
        import tensorflow as tf
        sess = tf.compat.v1.Session()
        sess.run("y:0", feed={})  # <-
        """, "sess.run() in TensorFlow 2.1.0 has no parameter feed (did you mean feed_dict?)"),
    "a misspelt protobuf field": ("""
        import tensorflow as tf
        options = tf.compat.v1.ConfigProto()
        options.gpu_options.per_process_gpu_memory_fractio = 0.5  # <-
        """, "tensorflow.GPUOptions has no field per_process_gpu_memory_fractio (did you mean "
             "per_process_gpu_memory_fraction?)"),
    "a protobuf constructor keyword": ("""
        import tensorflow as tf
        options = tf.compat.v1.ConfigProto(inter_op_threads=1)  # <-
        """, "tf.compat.v1.ConfigProto() in TensorFlow 2.1.0 has no field inter_op_threads"),
    "a message field assigned whole": ("""
        import tensorflow as tf
        options = tf.compat.v1.ConfigProto()
        options.gpu_options = tf.compat.v1.GPUOptions()  # <-
        """, "tensorflow.ConfigProto.gpu_options is a message or repeated field, which "
             "cannot be assigned"),
    "setattr over literal names": ("""
        import tensorflow as tf
        options = tf.compat.v1.ConfigProto()
        for key in ("inter_op_parallelism_threads", "intra_op_threads"):
            setattr(options, key, 1)  # <-
        """, "tensorflow.ConfigProto has no field intra_op_threads"),
    "a field of a repeated field's items": ("""
        import tensorflow as tf
        graph_def = tf.compat.v1.GraphDef()
        for node in graph_def.node:
            print(node.opp)  # <-
        """, "node (a tensorflow.NodeDef) has no opp (did you mean op?)"),
    "HasField's name": ("""
        import tensorflow as tf
        meta = tf.compat.v1.MetaGraphDef()
        meta.HasField("saver")  # <-
        """, "tensorflow.MetaGraphDef has no field saver (did you mean saver_def?)"),
    "an attribute set on self in __init__": ("""
        import tensorflow as tf
        class PythonPredictor:
            def __init__(self, config):
                self.graph = tf.Graph()
            def predict(self, payload):
                with self.graph.as_defaut():  # <-
                    return None
        """, "self.graph has no as_defaut (did you mean as_default?)"),
    "tensorflow.compat.v1 imported as tf": ("""
        import tensorflow.compat.v1 as tf
        x = tf.placeholder(tf.float32, shape=[None], nam="x")  # <-
        """, "tf.placeholder() in TensorFlow 2.1.0 has no parameter nam (did you mean name?)"),
    "a name imported from an API module": ("""
        from tensorflow.compat.v1 import Sesion  # <-
        """, "tensorflow.compat.v1 has no Sesion (did you mean Session?)"),
    "a module that does not exist": ("""
        import tensorflow.compat.v3  # <-
        """, "import tensorflow.compat.v3: TensorFlow 2.1.0 has no such module"),
    "a private module's name": ("""
        from tensorflow.python.framework.ops import Grap  # <-
        """, "tensorflow.python.framework.ops has no Grap (did you mean Graph?)"),
    "an attribute of a dtype": ("""
        import tensorflow as tf
        tf.float32.is_floatin  # <-
        """, "tf.float32 has no is_floatin (did you mean is_floating?)"),
    "a keras name": ("""
        from tensorflow import keras
        keras.layers.Dens(3)  # <-
        """, "keras.layers has no Dens (did you mean Dense?)"),
}


@pytest.mark.parametrize("case", CASES)
def test_a_use_tf21_lacks_is_flagged_on_its_line(tree, case):
    source, message = CASES[case]
    found = problems(tree, source)
    assert len(found) == 1, found
    assert found[0].startswith(f"case.py:{expected_line(source)}: "), found
    assert message in found[0], found


VALID = """
import tensorflow as tf
import tensorflow.compat.v1 as tf1
from tensorflow.core.protobuf import config_pb2
from tensorflow.keras import layers
from tensorflow.python.framework import ops

tf.compat.v1.disable_eager_execution()
graph = tf.Graph()
options = tf.compat.v1.ConfigProto(allow_soft_placement=True,
                                   gpu_options=tf.compat.v1.GPUOptions(allow_growth=True))
options.gpu_options.per_process_gpu_memory_fraction = 0.5
options.graph_options.optimizer_options.opt_level = 1
for key in ("inter_op_parallelism_threads", "intra_op_parallelism_threads"):
    setattr(options, key, 1)
sess = tf.compat.v1.Session(graph=graph, config=options)
with graph.as_default(), sess.as_default():
    tf.compat.v1.saved_model.loader.load(sess, [tf.compat.v1.saved_model.tag_constants.SERVING],
                                         "model")
    graph.get_tensor_by_name("x:0")
    graph.finalize()
sess.run(["y:0"], feed_dict={"x:0": [1]}, options=tf.compat.v1.RunOptions(
    trace_level=tf.compat.v1.RunOptions.FULL_TRACE))
sess.close()
graph_def = tf.compat.v1.GraphDef()
graph_def.ParseFromString(b"")
for node in graph_def.node:
    node.attr["T"].type
    node.name, node.op, node.device
graph_def.node.add(name="c", op="Const")
meta = tf.compat.v1.MetaGraphDef()
meta.signature_def["serving_default"].inputs["x"].name
meta.HasField("saver_def")
tf.compat.v1.train.import_meta_graph("m.meta", clear_devices=True)
tf.compat.v1.train.Saver(max_to_keep=5)
tf.compat.v1.import_graph_def(graph_def, name="")
tf.compat.v1.placeholder(tf.float32, [None, 3], name="x")
tf1.placeholder(tf1.float32, shape=[None])
tf.float32.is_floating
tf.dtypes.as_dtype("float32")
tf.errors.NotFoundError
tf.config.experimental.list_physical_devices("GPU")
tf.config.threading.set_inter_op_parallelism_threads(1)
tf.keras.models.load_model("m", compile=False)
tf.keras.layers.Dense(3, activation="relu")
tf.saved_model.load("m", tags=["serve"])
tf.io.gfile.exists("m")
tf.nn.softmax([1.0], axis=-1)
tf.compat.v1.logging.set_verbosity(tf.compat.v1.logging.ERROR)
tf.compat.v1.app.flags
tf.summary.scalar
tf.estimator.Estimator
tf.version.VERSION
tf.__version__
config_pb2.ConfigProto(inter_op_parallelism_threads=1)
layers.Dense(2)
ops.Graph().as_default()


class PythonPredictor:
    def __init__(self, config):
        self.graph = tf.Graph()
        self.sess = tf.compat.v1.Session(graph=self.graph)

    def predict(self, payload):
        with self.graph.as_default():
            return self.sess.run("y:0", {"x:0": payload})
"""


def test_uses_that_exist_in_tf21_pass(tree):
    report = check_source(VALID, "valid.py", tree)
    assert [p.format() for p in report.problems] == []
    assert report.uses > 100


def test_what_it_cannot_follow_is_not_reported(tree):
    # Dynamic names and values passed through functions are not checked either way.
    assert problems(tree, """
        import tensorflow as tf
        name = "enable_" + "op_determinism"
        getattr(tf.config.experimental, name)()
        getattr(tf.compat.v1, "NoSuchName", None)
        def configure(options):
            options.no_such_field = 1
        configure(tf.compat.v1.ConfigProto())
        options = tf.compat.v1.ConfigProto() if name else None
        options.no_such_field = 1
        """) == []


def test_every_tf21_name_of_its_own_upgrade_script_resolves(tree):
    """TF 2.1's tf_upgrade_v2 maps every 1.x symbol to its 2.1 name (renames_v2.py): each
    of those hundreds of chains must resolve, so a missing one is a checker's bug."""
    renames = tree.package / "tools" / "compatibility" / "renames_v2.py"
    names = sorted({node.value for node in ast.walk(ast.parse(renames.read_text()))
                    if isinstance(node, ast.Constant) and isinstance(node.value, str) and
                    node.value.startswith("tf.compat.v1.")})
    assert len(names) > 500
    report = check_source("import tensorflow as tf\n" + "\n".join(names) + "\n", "renames.py",
                          tree)
    assert [p.format() for p in report.problems] == []
    assert report.uses >= len(names)
