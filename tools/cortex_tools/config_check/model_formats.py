"""A model's format by tf_session.find_model's rules, decided without TensorFlow.

tf_session._model_kind decides by file names alone, so its rules are mirrored here, rule
for rule and in its order; the test tests/tools/test_check_config_models.py lays models
out in tmp folders (and in a fake S3) and asserts that both give the same answer. Change
one, change the other.

For s3:// the objects cannot be listed here, so the URL's form decides, as
tf_session.download_from_s3 would lay the download out:

- `s3://bucket/prefix/` (or the bucket alone): a folder, SavedModel or checkpoint;
  which one is found at start-up (None here).
- a key ending in .pb or .graphdef: one object, a frozen graph.
- a key whose last part names a checkpoint prefix (`model.ckpt`, `model.ckpt-1000`,
  `ckpt`): the objects `key.*` beside it, a checkpoint.
- a key ending in .meta, .index, .data-*, or named `checkpoint` or saved_model.pb: one
  object, which tf_session cannot load alone (it downloads that object only): refused.
- any other key: a folder or a checkpoint prefix; found at start-up (None here).
"""

from __future__ import annotations

import glob
import os
import re
from pathlib import Path

# tf_session's names of the formats (its SAVED_MODEL, FROZEN_GRAPH, CHECKPOINT).
SAVED_MODEL, FROZEN_GRAPH, CHECKPOINT = "SavedModel", "frozen graph", "checkpoint"
SAVED_MODEL_FILES = ("saved_model.pb", "saved_model.pbtxt")
# What a SavedModel folder holds beside saved_model.pb (tf_session.SAVED_MODEL_FILES).
SAVED_MODEL_EXTRAS = SAVED_MODEL_FILES + ("fingerprint.pb", "keras_metadata.pb")
GRAPH_SUFFIXES = (".pb", ".graphdef")
NO_SIGNATURE = (FROZEN_GRAPH, CHECKPOINT)  # predictor.config names their tensors

KERAS_SUFFIXES = (".keras", ".h5", ".hdf5")  # tf_session.KERAS_SUFFIXES
_CHECKPOINT_PREFIX_NAME = re.compile(r"(?:^|[._-])ckpt(?:-\d+)?$", re.IGNORECASE)
_CHECKPOINT_PART = re.compile(r"\.(?:index|data-\d+-of-\d+)$")
_MODEL_CHECKPOINT_PATH = re.compile(r'^\s*model_checkpoint_path:\s*"((?:[^"\\]|\\.)*)"', re.M)


class NotAModel(ValueError):
    """What is at the location instead of a model, worded to follow the location."""


class NothingThere(NotAModel):
    """No model at all: no such path, or an S3 URL without a bucket."""


class SeveralModels(NotAModel):
    """A folder holding more than one model: the text names each and what to do, whole."""


class NoModelYet(NotAModel):
    """A folder holding nothing but its README.md (model/ after `make remove-example`): the
    text says what to put there, whole."""


PLACEHOLDER = "README.md"  # model/README.md says what goes in model/; it is no model file


def local_format(path: Path, location: str) -> str:
    """The format of the model at `path` (written `location` in the config), as
    tf_session._model_kind decides it; NotAModel says what is there instead."""
    path_text = os.path.abspath(path)  # as tf_session: a trailing "/" does not count
    if os.path.isdir(path_text):
        names = sorted(os.listdir(path_text))
        models = _models_in_folder(names)
        if len(models) > 1:
            named = [os.path.join(location, name) for _, _, name in models if name]
            raise SeveralModels(
                "holds more than one model: " + "; ".join(
                    f"a {kind} ({', '.join(files)})" for kind, files, _ in models)
                + "; move all but one out of the folder"
                + (f", or point model at one, e.g. {named[-1]}" if named else ""))
        if models and models[0][0] == SAVED_MODEL:
            return SAVED_MODEL
        if "checkpoint" in names:
            return CHECKPOINT
        if set(names) <= {PLACEHOLDER}:  # tf_session says "a folder holding README.md"
            readme = f": {os.path.join(location, PLACEHOLDER)}" if names else ""
            raise NoModelYet(
                "holds no model yet: put yours there (make convert SRC=PATH for a TensorFlow "
                f"2.x or Keras model; a TF1 SavedModel, frozen graph or checkpoint as it is"
                f"{readme}), then adapt predictor.py's four parts (README: \"Put in your own "
                "model\")")
        found = "is a folder holding " + (", ".join(names[:8]) or "nothing") + (
            " ..." if len(names) > 8 else "")
        if models:
            kind, _, name = models[0]
            what = "the file" if kind == FROZEN_GRAPH else "its prefix"
            found += f" (for a {kind}, name {what}: {os.path.join(location, name)})"
        keras = [name for name in names if name.endswith(KERAS_SUFFIXES)]
        if keras and not models:
            found += f" ({keras[0]} is {keras_file(os.path.join(location, keras[0]))})"
        raise NotAModel(found)
    if os.path.isfile(path_text):
        if os.path.basename(path_text) in SAVED_MODEL_FILES:
            raise NotAModel("is the SavedModel's own file: name its folder, "
                            f"{os.path.dirname(location.rstrip('/')) or '.'}")
        if path_text.endswith(".meta") or _has_checkpoint_files(path_text):
            return CHECKPOINT
        if path_text.endswith(GRAPH_SUFFIXES):
            return FROZEN_GRAPH
        raise NotAModel("is " + (keras_file(location) if path_text.endswith(KERAS_SUFFIXES)
                                 else "a file that is neither .pb nor a checkpoint's .meta"))
    if glob.glob(glob.escape(path_text) + ".*"):
        return CHECKPOINT  # a prefix: PREFIX.index, PREFIX.meta, ... beside it
    raise NothingThere("does not exist")


def keras_file(location: str) -> str:
    """As tf_session._keras_file: what a Keras file is, and the command that converts it."""
    dest = os.path.splitext(location.rstrip("/"))[0]
    return ("a Keras file, which the image's TensorFlow 2.1 does not load: make convert "
            f"SRC={location} DEST={dest} writes it as a SavedModel, then model: {dest} (and "
            "keep the Keras file out of the project: cortex deploy uploads it)")


def _models_in_folder(names: list[str]) -> list[tuple[str, list[str], str]]:
    """As tf_session._models_in_folder: the models a folder's own files make, each with
    its files and the name to point `model` at (a checkpoint's prefixes count as one)."""
    models: list[tuple[str, list[str], str]] = []
    if any(name in names for name in SAVED_MODEL_FILES):
        models.append((SAVED_MODEL, [n for n in names if n in SAVED_MODEL_EXTRAS], ""))
    prefixes = sorted({n.rsplit(".", 1)[0] for n in names if n.endswith((".meta", ".index"))})
    if prefixes or "checkpoint" in names:
        files = (["checkpoint"] if "checkpoint" in names else []) + [p + ".*" for p in prefixes]
        # its prefix is what `model` can name (its folder holds the other model too)
        models.append((CHECKPOINT, files, prefixes[-1] if prefixes else ""))
    models += [(FROZEN_GRAPH, [n], n) for n in names
               if n.endswith(GRAPH_SUFFIXES) and n not in SAVED_MODEL_EXTRAS]
    return models


def _has_checkpoint_files(prefix: str) -> bool:
    return os.path.isfile(prefix + ".index") or os.path.isfile(prefix + ".meta")


def s3_format(url: str) -> str | None:
    """The format an s3:// URL's form implies (module docstring); None when only the
    objects can tell. NotAModel for a form tf_session refuses."""
    bucket, _, key = url[len("s3://"):].partition("/")
    if not bucket:
        raise NothingThere("has no bucket")
    if not key or key.endswith("/"):
        return None  # a folder
    name = key.rsplit("/", 1)[-1]
    folder = f"s3://{bucket}/{key[: -len(name)]}"
    if name in SAVED_MODEL_FILES:
        raise NotAModel(f"is the SavedModel's own file: name its folder, {folder}")
    if name.endswith(GRAPH_SUFFIXES):
        return FROZEN_GRAPH
    if name == "checkpoint":
        raise NotAModel(f"is the checkpoint's `checkpoint` file: name its folder, {folder}")
    if name.endswith(".meta") or _CHECKPOINT_PART.search(name):
        prefix = re.sub(r"\.(?:meta|index|data-\d+-of-\d+)$", "", name)
        raise NotAModel(f"is one file of a checkpoint, and from S3 tf_session downloads "
                        f"that one object alone: name the prefix, {folder}{prefix}, or the "
                        f"folder, {folder}")
    if _CHECKPOINT_PREFIX_NAME.search(name):
        return CHECKPOINT
    return None


def files_read(kind: str, path: Path) -> list[Path]:
    """The files TensorFlow reads to load the model at `path`: each must be uploaded.

    A SavedModel: saved_model.pb(txt) and what is under variables/ and assets/. A
    checkpoint: its `checkpoint` file and the files of the prefix it names (the newest),
    or the prefix's own .meta, .index and .data-*. A frozen graph: the file itself.
    """
    path = Path(os.path.abspath(path))
    if kind == FROZEN_GRAPH:
        return [path]
    if kind == SAVED_MODEL:
        files = [path / name for name in SAVED_MODEL_FILES if (path / name).is_file()]
        for folder in ("variables", "assets"):
            files += sorted(p for p in (path / folder).rglob("*") if p.is_file()
                            and not any(part.startswith(".") for part in p.parts[len(path.parts):]))
        return files
    if path.is_dir():
        state = path / "checkpoint"
        try:
            named = _MODEL_CHECKPOINT_PATH.search(state.read_text(errors="replace"))
        except OSError:  # a folder named checkpoint, say: tf_session says so at start-up
            named = None
        # As tf_session.checkpoint_prefix: only the file name counts, in this folder.
        prefix = path / os.path.basename(named[1]) if named else None
        return [state, *(_prefix_files(prefix) if prefix else [])]
    prefix = path.with_suffix("") if path.suffix == ".meta" else path
    return _prefix_files(prefix)


def _prefix_files(prefix: Path) -> list[Path]:
    parts = [prefix.with_name(prefix.name + ".meta"), prefix.with_name(prefix.name + ".index")]
    parts += sorted(prefix.parent.glob(glob.escape(prefix.name) + ".data-*"))
    return [p for p in parts if p.is_file()]
