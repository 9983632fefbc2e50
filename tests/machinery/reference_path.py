"""The per-request path as it was before it was made fast (tf_session at commit 80aef1c):
building each input's example array, then making the answer plain and checking it is
finite. tests/machinery/test_fast_path.py checks that today's path gives the same arrays,
answers and 400 messages; nothing else uses this."""

import math

import numpy as np
import tensorflow as tf

from tf_session import KINDS, PayloadError, _shape_text, _to_bytes, plain


def predict(model, payload, to_inputs, to_answer):
    """Model.predict as it was, unbatched: the answer or the 400 response."""
    try:
        inputs = to_inputs(payload)
        example = {name: _example_array(name, value, model.inputs[name])
                   for name, value in inputs.items()}
    except PayloadError as e:
        return e.response()
    feed = {model.inputs[name]: np.stack([value]) for name, value in example.items()}
    values = model.run([model.outputs[name] for name in model._fetch], feed)
    answer = plain(to_answer({name: value[0] for name, value in zip(model._fetch, values)}))
    if not _all_finite(answer):
        return PayloadError("the model's answer to this payload is not finite (it holds "
                            "NaN or infinity): its values are likely far outside what "
                            "the model takes").response()
    return answer


def _example_array(name, value, tensor):
    dtype = tensor.dtype
    try:
        if dtype == tf.string:
            array_ = np.asarray(value, dtype=object)
            array_ = np.vectorize(_to_bytes, otypes=[object])(array_) if array_.size else array_
        else:
            array_ = np.asarray(value)
            if array_.dtype.kind not in "biuf" or (array_.dtype.kind == "b") != dtype.is_bool:
                raise PayloadError("input %s must hold %s values, got %s"
                                   % (name, dtype.name, KINDS.get(array_.dtype.kind, "others")))
            if dtype.is_floating and not np.all(np.isfinite(array_)):
                raise PayloadError("input %s must hold finite numbers" % name)
            limits = np.finfo if dtype.is_floating else np.iinfo
            if not dtype.is_bool and array_.size and (
                    array_.min() < limits(dtype.as_numpy_dtype).min or
                    array_.max() > limits(dtype.as_numpy_dtype).max):
                raise PayloadError("input %s holds a value beyond %s's range" % (name, dtype.name))
            if dtype.is_integer and array_.dtype.kind == "f" and np.any(array_ != np.round(array_)):
                raise PayloadError("input %s must hold integers" % name)
            array_ = array_.astype(dtype.as_numpy_dtype)
    except (ValueError, TypeError, OverflowError, RecursionError) as e:
        if isinstance(e, PayloadError):
            raise
        raise PayloadError("input %s cannot be made a %s array: %s"
                           % (name, dtype.name, e)) from None
    expected = tensor.shape[1:] if tensor.shape.ndims else None
    if expected is not None and not expected.is_compatible_with(array_.shape):
        raise PayloadError("input %s must have shape %s per example, got %s"
                           % (name, _shape_text(expected), _shape_text(array_.shape)))
    return array_


def _all_finite(value):
    if isinstance(value, float):
        return math.isfinite(value)
    if isinstance(value, dict):
        return all(_all_finite(item) for item in value.values())
    if isinstance(value, list):
        return all(_all_finite(item) for item in value)
    return True
