"""The predictor file's class rules (contract section 3), checked in-process: each rule
with the message Cortex 0.17 gives (pkg/workloads/cortex/lib/type/predictor.py)."""

from __future__ import annotations

import sys
import threading
import types

import pytest

from cortex_tools.runtime.errors import PredictorError
from cortex_tools.runtime.predictor_loader import (
    build_predictor,
    load_predictor_class,
    predict_arg_names,
)


def load(tmp_path, source: str, name: str = "predictor.py", **files: str) -> type:
    (tmp_path / name).write_text(source)
    for file_name, text in files.items():
        (tmp_path / f"{file_name}.py").write_text(text)
    return load_predictor_class(tmp_path, name)


def refused(tmp_path, source: str) -> str:
    with pytest.raises(PredictorError) as info:
        load(tmp_path, source)
    return str(info.value)


OK_PREDICT = "    def predict(self, payload):\n        return payload\n"
OK_INIT = "    def __init__(self, config):\n        self.config = config\n"


@pytest.mark.parametrize(("init", "predict", "message"), [
    ("    pass\n", OK_PREDICT,  # object.__init__ is there, but takes no config
     'invalid signature for function "__init__(self)": "config" is a required argument, '
     "but was not provided"),
    ("    def __init__(self, config, extra=None):\n        pass\n", OK_PREDICT,
     'invalid signature for function "__init__(self, config, extra)": "extra" is not a '
     "supported argument"),
    ("    def __init__(config, self):\n        pass\n", OK_PREDICT,
     'invalid signature for function "__init__(config, self)": "self" must be the first '
     "argument"),
    (OK_INIT, "",
     'required function "predict" is not defined'),
    (OK_INIT, "    predict = 5\n",
     '"predict" is defined, but is not a function'),
    (OK_INIT, "    @staticmethod\n    def predict(payload):\n        pass\n",
     'invalid signature for function "predict(payload)": "self" is a required argument, '
     "but was not provided"),
    (OK_INIT, "    def predict(self, payload, request):\n        pass\n",
     'invalid signature for function "predict(self, payload, request)": "request" is not a '
     "supported argument"),
])
def test_class_rules(tmp_path, init, predict, message):
    source = "class PythonPredictor:\n" + init + predict
    assert refused(tmp_path, source) == f"error in predictor.py: {message}"


def test_no_predictor_class(tmp_path):
    assert refused(tmp_path, "class Predictor:\n    pass\n") == (
        "error in predictor.py: PythonPredictor class is not defined")


def test_an_imported_class_counts(tmp_path, monkeypatch):
    monkeypatch.syspath_prepend(str(tmp_path))  # the worker puts the project dir there
    cls = load(tmp_path, "from impl import PythonPredictor\n",
               impl="class PythonPredictor:\n" + OK_INIT + OK_PREDICT)
    assert cls.__module__ == "impl"


def test_varargs_and_keyword_only_arguments_are_not_checked_as_on_cortex(tmp_path):
    """Cortex looks at getfullargspec(...).args only."""
    cls = load(tmp_path, "class PythonPredictor:\n"
                         "    def __init__(self, config, *, debug=False):\n        pass\n"
                         "    def predict(self, payload, *args, **kwargs):\n        pass\n")
    assert predict_arg_names(cls({})) == {"payload"}


@pytest.mark.parametrize(("signature", "names"), [
    ("self", set()), ("self, headers", {"headers"}),
    ("self, payload, query_params, headers", {"payload", "query_params", "headers"})])
def test_arguments_by_signature(tmp_path, signature, names):
    cls = load(tmp_path, f"class PythonPredictor:\n{OK_INIT}"
                         f"    def predict({signature}):\n        pass\n")
    assert predict_arg_names(cls({})) == names


def test_the_module_is_cortex_predictor(tmp_path):
    cls = load(tmp_path, "class PythonPredictor:\n" + OK_INIT + OK_PREDICT)
    assert cls.__module__ == "cortex_predictor"
    assert isinstance(sys.modules["cortex_predictor"], types.ModuleType)


def test_a_syntax_error(tmp_path):
    message = refused(tmp_path, "class PythonPredictor(:\n    pass\n")
    assert message.startswith("error in predictor.py: SyntaxError: ")
    assert "line 1" in message


def test_init_raising(tmp_path):
    cls = load(tmp_path, "class PythonPredictor:\n"
                         "    def __init__(self, config):\n"
                         "        raise KeyError('model')\n" + OK_PREDICT)
    with pytest.raises(PredictorError) as info:
        build_predictor(cls, {}, "predictor.py")
    assert str(info.value) == "predictor.py: __init__: KeyError: 'model': runtime exception"
    assert info.value.details[0] == "Traceback (most recent call last):"
    assert "raise KeyError('model')" in "\n".join(info.value.details)


def test_build_passes_config_by_keyword(tmp_path):
    cls = load(tmp_path, "class PythonPredictor:\n" + OK_INIT + OK_PREDICT)
    assert build_predictor(cls, {"a": 1}, "predictor.py").config == {"a": 1}
    assert threading.current_thread() is threading.main_thread()
