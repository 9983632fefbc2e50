"""TF2 sources: a SavedModel written by tf.saved_model.save (or Keras's model.export(),
Keras 2's model.save(dir)) and a Keras file (.keras, .h5).

Both come down to one ConcreteFunction, the serving function, which
convert_variables_to_constants_v2 freezes: its variables become constants, calls into
functions are inlined, control flow is lowered to the TF1 ops that 2.1 runs.

- SavedModel: its signature (the one named, else serving_default, else its only one); the
  names are the signature's keys.
- Keras file: a function built here that calls the model (training=False) with inputs
  named as its Input layers and returns its outputs named as its output layers. A model
  without known inputs (subclassed, never called) goes through model.export() first.
"""

from __future__ import annotations

import re
import tempfile

import numpy as np

from cortex_tools.convert.errors import ConvertError
from cortex_tools.convert.source import Source

# Names tf.saved_model.save makes up for a Keras model's inputs and outputs.
GENERATED_NAME = re.compile(r"^(inputs(_\d+)?|output_\d+)$")


def from_saved_model(kind, location: str, signature: str | None) -> Source:
    import tensorflow as tf

    try:
        loaded = tf.saved_model.load(kind.path)
    except Exception as e:
        raise ConvertError(f"SRC {location}: tf.saved_model.load fails: "
                           f"{type(e).__name__}: {_first_line(e)}") from e
    signatures = dict(loaded.signatures)
    name = _signature_name(signatures, signature, location)
    source = _frozen(signatures[name], kind.name, location)
    source.notes += _name_notes(source)
    source.keep_alive = loaded  # the function's variables belong to it
    return source


def from_keras_file(kind, location: str) -> Source:
    import keras

    try:
        model = keras.saving.load_model(kind.path, compile=False)
    except Exception as e:
        raise ConvertError(f"SRC {location}: Keras {keras.__version__} cannot load it: "
                           f"{type(e).__name__}: {_first_line(e)} (a custom layer must be "
                           "importable, and registered with "
                           "@keras.saving.register_keras_serializable)") from e
    if not getattr(model, "inputs", None):
        return _through_export(model, kind, location)
    function = _serving_function(model)
    source = _frozen(function, kind.name, location)
    source.layers = [layer.name for layer in model.layers]
    source.keep_alive = model
    return source


def _serving_function(model):
    """The model as a ConcreteFunction: positional inputs named as the Input layers,
    a dict of outputs named as the output layers."""
    import tensorflow as tf

    names = [tensor.name for tensor in model.inputs]
    structure = model.input
    output_names = list(model.output_names)

    def serve(*args):
        if isinstance(structure, dict):
            by_name = dict(zip(names, args, strict=True))
            inputs = {key: by_name[tensor.name] for key, tensor in structure.items()}
        elif isinstance(structure, list | tuple):
            inputs = list(args)
        else:
            inputs = args[0]
        outputs = model(inputs, training=False)
        if isinstance(outputs, dict):
            return dict(outputs)
        flat = tf.nest.flatten(outputs)
        return dict(zip(output_names, flat, strict=True))

    specs = [tf.TensorSpec(tensor.shape, tensor.dtype, name=name)
             for tensor, name in zip(model.inputs, names, strict=True)]
    return tf.function(serve).get_concrete_function(*specs)


def _through_export(model, kind, location: str) -> Source:
    from cortex_tools.convert.detect import Kind

    with tempfile.TemporaryDirectory(prefix="convert-export-") as folder:
        try:
            model.export(folder, verbose=False)
        except Exception as e:
            raise ConvertError(f"SRC {location}: the Keras model has no known inputs (a "
                               "subclassed model never called) and model.export() fails: "
                               f"{_first_line(e)}; call it once on data, or save a "
                               "functional model") from e
        source = from_saved_model(Kind(kind.name, folder), location, None)
    source.layers = [layer.name for layer in model.layers]
    return source


def _signature_name(signatures: dict, wanted: str | None, location: str) -> str:
    if wanted:
        if wanted not in signatures:
            raise ConvertError(f"SRC {location} has no signature {wanted!r}; it has: "
                               f"{', '.join(sorted(signatures)) or 'none'}")
        return wanted
    if "serving_default" in signatures:
        return "serving_default"
    if len(signatures) == 1:
        return next(iter(signatures))
    if not signatures:
        raise ConvertError(
            f"SRC {location} has no signature: save it with "
            "tf.saved_model.save(obj, path, signatures=obj.f.get_concrete_function(...)), "
            "or a Keras model with model.export(path)")
    raise ConvertError(f"SRC {location} has several signatures ({', '.join(sorted(signatures))})"
                       f" and none is serving_default: name one, e.g. make convert SRC={location} "
                       f"SIGNATURE={sorted(signatures)[0]}")


def _frozen(function, kind: str, location: str) -> Source:
    import tensorflow as tf
    from tensorflow.python.framework.convert_to_constants import (
        convert_variables_to_constants_v2,
    )

    try:
        frozen = convert_variables_to_constants_v2(function)
    except Exception as e:
        raise ConvertError(f"SRC {location}: its variables cannot be frozen to constants: "
                           f"{type(e).__name__}: {_first_line(e)}") from e
    args, kwargs = function.structured_input_signature
    specs = tf.nest.flatten((args, kwargs))
    placeholders = [t.name for t in frozen.inputs]
    if len(specs) != len(placeholders):
        raise ConvertError(f"SRC {location}: its serving function takes {len(specs)} "
                           f"inputs but its frozen graph {len(placeholders)}; a resource "
                           "other than variables (a lookup table?) cannot be frozen")
    # A signature takes keyword inputs (tf.nest flattens them by sorted key); a function
    # built here takes positional ones, named by their specs.
    keys = sorted(kwargs) if kwargs and not args else [spec.name for spec in specs]
    inputs = dict(zip(keys, placeholders, strict=True))
    structured = function.structured_outputs
    output_keys = sorted(structured) if isinstance(structured, dict) else [
        f"output_{index}" for index in range(len(frozen.outputs))]
    outputs = {key: tensor.name for key, tensor in zip(output_keys, frozen.outputs,
                                                       strict=True)}

    def run(feed: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        values = [tf.constant(feed[key]) for key in keys]
        if kwargs and not args:
            result = function(**dict(zip(keys, values, strict=True)))
        else:
            result = function(*values)
        flat = result if isinstance(result, dict) else dict(
            zip(output_keys, tf.nest.flatten(result), strict=True))
        return {key: np.asarray(flat[key]) for key in output_keys}

    return Source(kind, location, frozen.graph.as_graph_def(), inputs, outputs, run)


def _name_notes(source: Source) -> list[str]:
    made_up = [name for name in [*source.inputs, *source.outputs] if GENERATED_NAME.match(name)]
    if not made_up:
        return []
    return [f"{', '.join(made_up)}: names tf.saved_model.save made up for a Keras model; "
            "to keep its own names, convert its .keras file or what model.export() writes"]


def _first_line(error: BaseException) -> str:
    text = str(error).strip()
    return text.splitlines()[0] if text else type(error).__name__
