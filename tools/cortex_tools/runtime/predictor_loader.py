"""Load a predictor file and check its class as Cortex 0.17 does when an API starts.

The rules and the messages follow pkg/workloads/cortex/lib/type/predictor.py at v0.17.1
(../shared/cortex-0.17.md section 3), so a broken predictor fails here with the words
``cortex logs`` would show on a cluster:

- the file is loaded as the module ``cortex_predictor`` (``imp.load_source`` there);
- among the module's classes, imported ones included, one is named ``PythonPredictor``;
- ``__init__`` takes exactly ``self, config``; ``predict`` takes ``self`` first, then any
  of ``payload``, ``query_params``, ``headers``. Only positional-or-keyword arguments
  count (``inspect.getfullargspec(...).args``), as there.
"""

from __future__ import annotations

import importlib.machinery
import importlib.util
import inspect
import sys
import traceback
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cortex_tools.runtime.errors import PredictorError

MODULE_NAME = "cortex_predictor"
CLASS_NAME = "PythonPredictor"
PREDICT_ARGS = ("payload", "query_params", "headers")


@dataclass(frozen=True)
class _Signature:
    name: str
    required: tuple[str, ...]
    optional: tuple[str, ...] = ()


_RULES = (
    _Signature("__init__", required=("self", "config")),
    _Signature("predict", required=("self",), optional=PREDICT_ARGS),
)


def load_predictor_class(project_dir: Path, rel_path: str) -> type:
    """The checked ``PythonPredictor`` class of ``project_dir / rel_path``."""
    module = _load_module(Path(project_dir) / rel_path, rel_path)
    predictor_class = None
    for name, value in inspect.getmembers(module, inspect.isclass):
        if name == CLASS_NAME:
            predictor_class = value
    if predictor_class is None:
        raise PredictorError(f"error in {rel_path}: {CLASS_NAME} class is not defined")
    for rule in _RULES:
        problem = _signature_problem(predictor_class, rule)
        if problem:
            raise PredictorError(f"error in {rel_path}: {problem}")
    return predictor_class


def build_predictor(predictor_class: type, config: dict[str, Any], rel_path: str) -> Any:
    """``PythonPredictor(config=...)``; an exception fails the API, as on Cortex."""
    try:
        return predictor_class(config=config)
    except Exception as e:
        error = PredictorError(f"{rel_path}: __init__: {_describe(e)}: runtime exception")
        error.details = _user_traceback(e)
        # tf_session's ModelError is worded for the user, with its fix: no traceback needed
        error.traceback_helps = type(e).__name__ != "ModelError"
        raise error from e


def predict_arg_names(predictor: Any) -> frozenset[str]:
    """The arguments ``predict`` names, of payload, query_params and headers."""
    return frozenset(inspect.getfullargspec(predictor.predict).args) & set(PREDICT_ARGS)


def _load_module(path: Path, rel_path: str):
    if not path.is_file():
        raise PredictorError(f"error in {rel_path}: file not found: {path}")
    loader = importlib.machinery.SourceFileLoader(MODULE_NAME, str(path))
    spec = importlib.util.spec_from_loader(MODULE_NAME, loader)
    assert spec is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[MODULE_NAME] = module  # as imp.load_source did
    try:
        loader.exec_module(module)
    except Exception as e:
        sys.modules.pop(MODULE_NAME, None)
        error = PredictorError(f"error in {rel_path}: {_describe(e)}")
        error.details = _user_traceback(e)
        raise error from e
    return module


def _signature_problem(cls: type, rule: _Signature) -> str | None:
    fn = getattr(cls, rule.name, None)
    if not fn:
        return f'required function "{rule.name}" is not defined'
    if not callable(fn):
        return f'"{rule.name}" is defined, but is not a function'
    try:
        args = inspect.getfullargspec(fn).args
    except TypeError:
        return f'"{rule.name}" is defined, but is not a function'

    shown = f'{rule.name}({", ".join(args)})'
    for arg in rule.required:
        if arg not in args:
            return (
                f'invalid signature for function "{shown}": '
                f'"{arg}" is a required argument, but was not provided'
            )
        if arg == "self" and args[0] != "self":
            return f'invalid signature for function "{shown}": "self" must be the first argument'
    for arg in args:
        if arg not in rule.required and arg not in rule.optional:
            return f'invalid signature for function "{shown}": "{arg}" is not a supported argument'
    return None


def _describe(e: BaseException) -> str:
    text = str(e)
    return f"{type(e).__name__}: {text}" if text else type(e).__name__


def _user_traceback(e: BaseException) -> list[str]:
    """The traceback without this module's own frames, for the server log."""
    tb = e.__traceback__
    while tb is not None and _is_ours(tb.tb_frame.f_code.co_filename):
        tb = tb.tb_next
    return "".join(traceback.format_exception(type(e), e, tb)).rstrip().splitlines()


def _is_ours(filename: str) -> bool:
    return filename == __file__ or filename.startswith("<frozen importlib")
