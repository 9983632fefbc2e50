"""The shipped predictor.py and model, built in this process for sections 1 and 2."""

from __future__ import annotations

import json
import logging
import os
import sys
from types import ModuleType
from typing import Any

from bench.paths import MODEL_DIR, ROOT, SAMPLE

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")  # before TensorFlow is imported


def predictor_module() -> ModuleType:
    """The repository's predictor.py (it imports TensorFlow: seconds, once)."""
    if str(ROOT) not in sys.path:
        sys.path.insert(0, str(ROOT))
    import predictor

    # The SavedModel loader's deprecation notice, once per process: not our news.
    logging.getLogger("tensorflow").setLevel(logging.ERROR)
    return predictor


def build(strategy: str) -> Any:
    """A ``PythonPredictor`` of the bundled model with ``strategy``; its own session."""
    module = predictor_module()
    return module.PythonPredictor({"model": str(MODEL_DIR), "session_strategy": strategy})


def sample_features() -> list[float]:
    """sample.json as the predictor's feature list (what predict_on_sess receives)."""
    features, error = predictor_module().parse_features(json.loads(SAMPLE.read_text()))
    if error:
        raise ValueError(f"{SAMPLE}: {error}")
    return features
