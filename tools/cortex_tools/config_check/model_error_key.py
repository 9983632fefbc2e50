"""The predictor.config key a tf_session ModelError is about, and its line in the config:
make check prints a build's ModelError there, and make serve its start-up error, so that
both point at the line to fix (a wrong tensor name at its `inputs:` or `outputs:` entry, a
missing signature at `signature:`, a model's own fault at `model:`)."""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any

from .problems import ERROR, Problem
from .yamlfile import load_yaml

CONFIG = ("predictor", "config")
MODEL = (*CONFIG, "model")

# tf_session's ModelError words that name the config key at fault (its Model._tensor,
# Tensors.__missing__ and _load_saved_model messages).
_TENSOR_NOT_IN_GRAPH = re.compile(r"ModelError: predictor\.config (inputs|outputs) (.+?): "
                                  r"tensor '.*' is not in the graph of ")
_NAME_NOT_MAPPED = re.compile(r"ModelError: predictor\.py uses (input|output) '.*', which "
                              r"predictor\.config\.(inputs|outputs)s? for ")
_NO_SIGNATURE = re.compile(r"ModelError: model .* has no signature '.*'; it has: ")


def model_error_key(message: str, api: dict[str, Any]) -> tuple:
    """The predictor.config key a build's ModelError is about, when the config has it (its
    line is then the one to fix); else predictor.config.model."""
    config = (api.get("predictor") or {}).get("config") or {}
    found = _TENSOR_NOT_IN_GRAPH.search(message)
    if found and found[2] in (config.get(found[1]) or {}):
        return (*CONFIG, found[1], found[2])
    found = _NAME_NOT_MAPPED.search(message)
    if found and f"{found[1]}s" in config:
        return (*CONFIG, f"{found[1]}s")
    if _NO_SIGNATURE.search(message) and "signature" in config:
        return (*CONFIG, "signature")
    return MODEL


def located(message: str, config_path: Path, api_name: str) -> str:
    """`message` (a predictor's start-up error) as make check prints a problem
    (`FILE:LINE: api NAME: key: message`), when it is a tf_session ModelError about a key the API
    has in the file; else `message` as it is."""
    if "ModelError: " not in message:
        return message
    try:
        document = load_yaml(config_path)
    except Exception:  # noqa: BLE001  the file changed under the server: no line, the error stands
        return message
    apis = document.data if isinstance(document.data, list) else []
    for index, api in enumerate(apis):
        if isinstance(api, dict) and api.get("name") == api_name:
            key = model_error_key(message, api)
            line = document.lines.get((index, *key))
            if line is None:  # a predictor of its own, whose config has no model key
                return message
            shown = os.path.relpath(config_path)
            shown = shown if not shown.startswith("..") else str(config_path)
            return Problem(ERROR, line, api_name, ".".join(key), message, file=shown).format()
    return message
