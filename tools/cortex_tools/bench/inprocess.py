"""The shipped predictor.py and model, built in this process for sections 1 and 2."""

from __future__ import annotations

import json
import logging
import os
import sys
from types import ModuleType
from typing import Any

import yaml

from cortex_tools.bench.paths import MODEL_DIR, ROOT, SAMPLE, SHIPPED_CONFIG

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")  # before TensorFlow is imported


def predictor_module() -> ModuleType:
    """The repository's predictor.py (it imports TensorFlow: seconds, once)."""
    if str(ROOT) not in sys.path:
        sys.path.insert(0, str(ROOT))
    import predictor

    # The SavedModel loader's deprecation notice, once per process: not our news.
    logging.getLogger("tensorflow").setLevel(logging.ERROR)
    return predictor


# predictor.py's keys for TensorFlow's thread pools (session_config()).
SESSION_KEYS = ("inter_op_parallelism_threads", "intra_op_parallelism_threads")


def shipped_config(strategy: str, model: str = str(MODEL_DIR),
                   tf_defaults: bool = False) -> dict[str, Any]:
    """predictor.config of cortex.yaml's first API (its session options: what users
    deploy), with ``strategy`` and ``model`` in place of its own. tf_defaults: without
    its session options (SESSION_KEYS), so TensorFlow's own thread pools."""
    apis = yaml.safe_load(SHIPPED_CONFIG.read_text())
    config = dict(apis[0]["predictor"].get("config") or {})
    if tf_defaults:
        config = {k: v for k, v in config.items() if k not in SESSION_KEYS}
    return {**config, "model": model, "session_strategy": strategy}


def session_options() -> dict[str, Any]:
    """The session options cortex.yaml sets (SESSION_KEYS), e.g. {inter_op...: -1}."""
    config = shipped_config("once_per_thread")
    return {key: config[key] for key in SESSION_KEYS if key in config}


def build(strategy: str, tf_defaults: bool = False) -> Any:
    """A ``PythonPredictor`` of the bundled model with ``strategy``; its own session.
    tf_defaults: without cortex.yaml's session options (see shipped_config)."""
    return predictor_module().PythonPredictor(shipped_config(strategy,
                                                             tf_defaults=tf_defaults))


def sample_features() -> list[float]:
    """sample.json as the predictor's feature list (what predict_on_sess receives)."""
    features, error = predictor_module().parse_features(json.loads(SAMPLE.read_text()))
    if error:
        raise ValueError(f"{SAMPLE}: {error}")
    return features
