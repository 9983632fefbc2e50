"""predictor.config.model of a template predictor: a model tf_session can load, and uploaded.

- In the project: its format by tf_session's rules (model_formats), and every file
  TensorFlow reads from it in the upload (not hidden, not named by .cortexignore).
- At s3://: the URL's form (model_formats.s3_format); the objects are not looked at.
- A frozen graph or a checkpoint has no signature, so predictor.config must name its
  tensors: `inputs` and `outputs` are required. For s3:// the URL's form tells the format
  (a .pb key is taken for a frozen graph, a checkpoint-prefix name for a checkpoint), and
  the message says so.
"""

from __future__ import annotations

import functools
import os
from pathlib import Path, PurePosixPath
from typing import Any

from . import graph_names
from .machinery import Machinery
from .messages import show
from .model_formats import (
    NO_SIGNATURE,
    NoModelYet,
    NotAModel,
    NothingThere,
    SeveralModels,
    files_read,
    local_format,
    s3_format,
)
from .problems import ApiScope
from .project import Project

LOCAL, S3 = "local", "s3"
MODEL = ("predictor", "config", "model")


def check(config: dict[str, Any], machinery: Machinery, project: Project,
          scope: ApiScope) -> str | None:
    """LOCAL or S3 for a model these checks found fine; None otherwise (reported)."""
    model = config.get("model")
    if not isinstance(model, str) or scope.is_bad(MODEL):
        return None
    properties = machinery.schema.get("properties", {})
    where = properties.get("model", {}).get("description") or "a model"
    accepted = machinery.accepted or where
    if model.startswith("s3://"):
        try:
            kind = s3_format(model)
        except NothingThere as exc:
            scope.error(MODEL, f"{show(model)} {exc} (s3://bucket/key for a file, "
                        "s3://bucket/prefix/ for a folder)")
            return None
        except NotAModel as exc:  # says what to name instead
            scope.error(MODEL, f"{show(model)} {exc}")
            return None
        assumed = f"; {model} is taken for a {kind} by its name" if kind else ""
        _require_tensor_names(kind, config, properties, scope, assumed)
        return S3
    if "://" in model:
        scope.error(MODEL, f"{show(model)} is neither a path in the project nor an s3:// URL "
                    f"({where})")
        return None
    relative, why = project.locate(model)
    if relative is None:
        scope.error(MODEL, f"{show(model)} {why} ({where})")
        return None
    target = project.root / relative
    try:
        kind = local_format(target, model)
    except (NoModelYet, SeveralModels) as exc:  # each says what to do: no list of formats
        scope.error(MODEL, f"{show(model)} {exc}")
        return None
    except NotAModel as exc:
        allowed = where if isinstance(exc, NothingThere) else accepted
        scope.error(MODEL, f"{show(model)} {exc} ({allowed})")
        return None
    left_out = _left_out(kind, relative, project, where)
    if left_out:
        scope.error(MODEL, f"{show(model)} {left_out}")
        return None
    _require_tensor_names(kind, config, properties, scope, "", local=target)
    return LOCAL


def _left_out(kind: str, relative: PurePosixPath, project: Project,
              where: str) -> str | None:
    """Why Cortex would not upload the model (what follows its name), or None."""
    root = Path(os.path.abspath(project.root))  # as files_read's paths: ".." resolved
    target = root / relative
    if target.exists():
        reason = project.left_out(relative, target.is_dir())
        if reason:
            return f"{reason} ({where})"
    for path in files_read(kind, target):
        part = PurePosixPath(path.relative_to(root).as_posix())
        reason = project.left_out(part, False)
        if reason:
            return (f"has {part}, which {reason} (every file TensorFlow reads of a {kind} "
                    "is uploaded)")
    return None


def _require_tensor_names(kind: str | None, config: dict[str, Any], properties: dict,
                          scope: ApiScope, assumed: str, *, local: Path | None = None) -> None:
    """inputs and outputs for a format without a signature; for a local model the message
    names what the graph offers (graph_names), read once per model."""
    if kind not in NO_SIGNATURE:
        return
    if "signature" in config:  # tf_session reads it for a SavedModel only
        scope.warning(("predictor", "config", "signature"), f"is ignored: a {kind} has no "
                      "signatures (its tensors are named in inputs and outputs)")
    for key in ("inputs", "outputs"):
        if key not in config and not scope.is_bad(("predictor", "config", key)):
            described = properties.get(key, {}).get("description", "a map of names to "
                                                    "tensor names")
            offered = _offered(kind, str(local)).get(key) if local else None
            scope.error(("predictor", "config", key), f"is missing (a {kind} has no "
                        f"signature: {described}{assumed}{'; ' + offered if offered else ''})")


@functools.lru_cache(maxsize=16)
def _offered(kind: str, path: str) -> dict[str, str]:
    return graph_names.likely(kind, Path(path))
