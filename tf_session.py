"""The machinery behind predictor.py: you never edit this file; to update, replace it.

Cortex 0.17 builds PythonPredictor on a worker's main thread, then calls predict() on a
pool of `threads_per_worker` other threads. TensorFlow keeps its default graph and default
session per thread, so predict() must set both on whatever thread it runs. This module
loads the model into a graph and session of its own and runs it from any thread:

    model = load_model(config, inputs=["x"], outputs=["y"])  # in __init__
    model.predict(payload, to_inputs, to_answer)               # in predict

`config` is the API's predictor.config (README: "Put in your own model"):

    model             a SavedModel folder, a frozen GraphDef (.pb) or a TF1 checkpoint (a
                      folder with a `checkpoint` file, or a prefix such as ckpt/model);
                      a path in the project, or s3://bucket/key (a file, or a prefix)
    session_strategy  per_request: graph and session entered around every call;
                      once_per_thread: entered on each thread's first call and kept
    signature         the SavedModel signature (default: its only one, else serving_default)
    inputs, outputs   names -> tensor names ({"x": "input/x:0"}): required for a frozen
                      graph or a checkpoint; for a SavedModel the signature's keys
    server_side_batching  {max_batch_size: N, batch_interval: 0.002}: concurrent predict
                      calls share one sess.run (README: "Server-side batching")
    and TensorFlow's session options (CONFIG_SCHEMA below).

Everything here runs on the Cortex image: Python 3.6 syntax, TensorFlow 2.1 APIs, numpy
and starlette from the image, boto3 only for s3:// models.
"""
import atexit
import base64
import contextlib
import difflib
import gc
import glob
import logging
import math
import os
import re
import shutil
import struct
import sys
import tempfile
import threading
import time

import numpy as np
import tensorflow as tf
from starlette.responses import JSONResponse
from tensorflow.core.protobuf.config_pb2 import CallableOptions
from tensorflow.core.protobuf.meta_graph_pb2 import MetaGraphDef
from tensorflow.core.protobuf.saved_model_pb2 import SavedModel

# Session/graph code runs in graph mode on every thread, as under TensorFlow 1.
tf.compat.v1.disable_eager_execution()

log = logging.getLogger("tf_session")

# The predictor.config keys this module reads, as a JSON schema: the one place that states
# them. `make check` reads this literal (with ast, without importing TensorFlow) to check
# configs before a deploy; load_model() checks the same rules when the API starts. Keys
# not named here are the user's own and pass. "x-duration": seconds or a text like 2ms.
# A literal only: no names, no calls.
CONFIG_SCHEMA = {
    "type": "object",
    "required": ["model", "session_strategy"],
    "properties": {
        "model": {
            "type": "string", "minLength": 1,
            "description": "a SavedModel folder, a frozen GraphDef .pb file or a TF1 "
                           "checkpoint, in the project or at s3://bucket/key",
        },
        "session_strategy": {
            "type": "string", "enum": ["per_request", "once_per_thread"],
            "description": "per_request or once_per_thread",
        },
        "signature": {
            "type": "string", "minLength": 1,
            "description": "a signature key of the SavedModel",
        },
        "inputs": {
            "type": "object", "additionalProperties": {"type": "string", "minLength": 1,
                                                       "description": "a tensor name"},
            "description": "a map of input names to tensor names, e.g. {x: 'input/x:0'}",
        },
        "outputs": {
            "type": "object", "additionalProperties": {"type": "string", "minLength": 1,
                                                       "description": "a tensor name"},
            "description": "a map of output names to tensor names, e.g. {y: 'output/y:0'}",
        },
        "finalize_graph": {
            "type": "boolean",
            "description": "true or false (default true: adding ops after loading raises)",
        },
        "inter_op_parallelism_threads": {
            "type": "integer", "minimum": -1,
            "description": "an integer >= -1: -1 runs a graph's ops on the predict thread, "
                           "0 lets TensorFlow choose",
        },
        "intra_op_parallelism_threads": {
            "type": "integer", "minimum": 0,
            "description": "an integer >= 0: threads within one op, 0 lets TensorFlow choose",
        },
        "gpu_memory_fraction": {
            "type": "number", "exclusiveMinimum": 0, "maximum": 1,
            "description": "a number > 0 and <= 1: the share of GPU memory each worker "
                           "process may take",
        },
        "server_side_batching": {
            "type": "object", "required": ["max_batch_size"], "additionalProperties": False,
            "properties": {
                "max_batch_size": {
                    "type": "integer", "minimum": 1,
                    "description": "an integer >= 1, at most threads_per_worker",
                },
                "batch_interval": {
                    "type": ["number", "string"], "x-duration": True,
                    "minimum": 0, "maximum": 0.1,
                    "description": "seconds or a duration such as 2ms, from 0 to 0.1 s "
                                   "(0: no wait, take what is queued; above 0: the "
                                   "longest a batch waits for as many requests as the "
                                   "last batch held)",
                },
            },
            "description": "a map with max_batch_size and an optional batch_interval",
        },
    },
}


SESSION_STRATEGIES = tuple(CONFIG_SCHEMA["properties"]["session_strategy"]["enum"])
FLOAT32_MAX = 3.4028234663852886e38  # larger numbers would silently become inf in float32
BATCH_WAIT_LIMIT_S = 60.0  # a caller never waits longer than this for its batch
# numpy releases the GIL in each copy, cast and stack, and in max, min and argmax, however
# few the elements. Under Cortex's pool of predict threads every release hands the GIL to
# another thread and takes it back: two context switches for a copy of four numbers, which
# cost more than the copy and are paid by serve.py's event loop too. Arrays of at most this
# many elements are therefore made from their Python numbers (tolist, then np.array), which
# numpy does holding the GIL; larger ones are copied by numpy, where the release pays.
SMALL_ARRAY = 4096
# Python's cyclic garbage collector runs a young collection each time 700 more objects are
# alive than at the last one (gc.get_threshold()[0]). The objects of the requests in flight
# alone cross that dozens of times a second under load, on serve.py's event loop too, and
# what survives brings a full collection every few seconds, which walks every object
# TensorFlow keeps (~190,000, about 100 ms on a core, with no request served meanwhile).
# After the model loads, the first threshold becomes this one, unless the process chose its
# own: under serve.py at 32 connections that left no full collection in 10 s, and 1 young one.
YOUNG_GC_THRESHOLD = 5000
PYTHON_GC_THRESHOLDS = (700, 10, 10)  # Python's defaults, which gc.set_threshold has not changed


class ModelError(ValueError):
    """The model or its config cannot serve: raised at start-up, with the fix in its words."""


class PayloadError(ValueError):
    """A payload the model cannot take: predict() answers 400 with this message."""

    def __init__(self, message):
        super().__init__(_printable(message)[:MAX_MESSAGE])

    def response(self):
        return JSONResponse({"error": str(self)}, status_code=400)


# --- reading payloads ---------------------------------------------------------------------

MAX_SHOWN = 40  # characters of client text quoted in a message, then an ellipsis
MAX_MESSAGE = 400


def read_fields(payload, fields):
    """The payload's fields, each read by its reader: {name: value}.

    `fields` maps each field name to a reader (number(), integer(), string(), boolean(),
    array(...), base64_bytes(), image(), optional(...)) that returns the value or raises
    FieldError. Raises PayloadError naming the field: not an object, a missing or unknown
    field, a value of the wrong kind or out of its bounds.
    """
    if not isinstance(payload, dict):
        raise PayloadError(_not_an_object(payload, fields))
    unknown = [name for name in payload if name not in fields]
    if unknown:
        raise PayloadError("unknown field %s%s (expected %s)" % (
            _shown_names(unknown), _did_you_mean(unknown[0], fields), _expected(fields)))
    values = {}
    for name, read in fields.items():
        if name not in payload:
            if isinstance(read, optional):
                values[name] = read.default
                continue
            raise PayloadError("missing field %s (expected %s)" % (name, _expected(fields)))
        try:
            values[name] = read(payload[name])
        except FieldError as e:
            raise PayloadError("field %s %s" % (name, e)) from None
    return values


def _expected(fields):
    required = [name for name, read in fields.items() if not isinstance(read, optional)]
    optional_ = [name for name in fields if name not in required]
    return ", ".join(required) + ("; optional: " + ", ".join(optional_) if optional_ else "")


def _did_you_mean(name, fields):
    if not isinstance(name, str):
        return ""
    same_but_case = [known for known in fields if known.lower() == name.lower()]
    # Short names differ by a larger share for one slip (lem for len: 0.67 by difflib).
    one_slip = [known for known in fields if min(len(known), len(name)) >= 3
                and _one_slip_apart(name, known)]
    close = same_but_case or difflib.get_close_matches(name, list(fields), n=1,
                                                       cutoff=0.75) or one_slip
    return ": did you mean %s?" % close[0] if close else ""


def _one_slip_apart(typed, known):
    """Whether `typed` is `known` with one letter changed, added or dropped, or two
    neighbours swapped."""
    if len(typed) == len(known):
        differ = [i for i, (a, b) in enumerate(zip(typed, known)) if a != b]
        return len(differ) == 1 or (len(differ) == 2 and differ[1] == differ[0] + 1 and
                                    typed[differ[0]] == known[differ[1]] and
                                    typed[differ[1]] == known[differ[0]])
    shorter, longer = sorted((typed, known), key=len)
    return len(longer) - len(shorter) == 1 and any(
        longer[:i] + longer[i + 1:] == shorter for i in range(len(longer)))


class FieldError(ValueError):
    """What is wrong with one value, worded to follow its field's name."""


# Readers: each reads one field's JSON value into what to_inputs gets, or raises FieldError.
# Their bounds are attributes, so that a test can send a value just past each one.


class number:
    """A finite JSON number within float32's range and [minimum, maximum]: a float."""

    def __init__(self, minimum=None, maximum=None):
        self.minimum, self.maximum = minimum, maximum

    # Setting a bound also sets what the checks in __call__ let through, as one interval for
    # the common case (_low, _high): a bound changed later is checked as one given at first.
    @property
    def minimum(self):
        return self._minimum

    @minimum.setter
    def minimum(self, minimum):
        self._minimum = minimum
        self._low = -FLOAT32_MAX if minimum is None else max(minimum, -FLOAT32_MAX)

    @property
    def maximum(self):
        return self._maximum

    @maximum.setter
    def maximum(self, maximum):
        self._maximum = maximum
        self._high = FLOAT32_MAX if maximum is None else min(maximum, FLOAT32_MAX)

    def __call__(self, value):
        kind = type(value)
        if (kind is float or kind is int) and self._low <= value <= self._high:
            return float(value)  # NaN fails the comparisons: the checks below name it
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise FieldError("must be a number, got %s" % json_type(value))
        if isinstance(value, float) and not math.isfinite(value):
            raise FieldError("must be a finite number, got %s" % value)
        if abs(value) > FLOAT32_MAX:
            raise FieldError("must be within float32's range (about +-3.4e38), got %s"
                             % _shown(value))
        _check_bounds(value, self.minimum, self.maximum)
        return float(value)


class integer:
    """A JSON integer within [minimum, maximum] (default: int64's range): an int."""

    def __init__(self, minimum=-2 ** 63, maximum=2 ** 63 - 1):
        self.minimum, self.maximum = minimum, maximum

    def __call__(self, value):
        if isinstance(value, float):
            if not (math.isfinite(value) and value == math.floor(value)):
                raise FieldError("must be an integer, got %s (not a whole number)"
                                 % _shown(value))
            value = int(value)  # 3.0 is an integer in JSON's eyes
        if isinstance(value, bool) or not isinstance(value, int):
            raise FieldError("must be an integer, got %s" % json_type(value))
        _check_bounds(value, self.minimum, self.maximum)
        return value


class string:
    """A JSON string of min_length to max_length characters (default: not empty)."""

    def __init__(self, min_length=1, max_length=10000):
        self.min_length, self.max_length = min_length, max_length

    def __call__(self, value):
        if not isinstance(value, str):
            raise FieldError("must be a string, got %s" % json_type(value))
        _check_length(len(value), self.min_length, self.max_length, "be", "characters long")
        return value


class boolean:
    """JSON true or false."""

    def __call__(self, value):
        if not isinstance(value, bool):
            raise FieldError("must be true or false, got %s" % json_type(value))
        return value


class array:
    """A JSON array of min_length to max_length items, each read by `item`: array(number()),
    or array(array(number()), ...) for a matrix."""

    def __init__(self, item, min_length=0, max_length=100000):
        self.item, self.min_length, self.max_length = item, min_length, max_length

    def __call__(self, value):
        if not isinstance(value, list):
            raise FieldError("must be an array, got %s" % json_type(value))
        if not self.min_length <= len(value) <= self.max_length:
            raise FieldError("must hold %s items, got %d" % (
                _length_range(self.min_length, self.max_length), len(value)))
        values = []
        for index, element in enumerate(value):
            try:
                values.append(self.item(element))
            except FieldError as e:
                raise FieldError("[%d] %s" % (index, e)) from None
        return values


class optional:
    """A field the payload may leave out (or send as null): `default` stands in for it.
    optional(number(0, 2), default=1.0)"""

    def __init__(self, reader, default=None):
        self.reader, self.default = reader, default

    def __call__(self, value):
        return self.default if value is None else self.reader(value)


class base64_bytes:
    """Bytes sent as base64 text (standard or URL-safe alphabet): at most max_bytes once
    decoded, checked before decoding."""

    def __init__(self, min_bytes=1, max_bytes=1 << 20):
        self.min_bytes, self.max_bytes = min_bytes, max_bytes

    def __call__(self, value):
        if not isinstance(value, str):
            raise FieldError("must be base64 text, got %s" % json_type(value))
        text = "".join(value.split())
        if len(text) * 3 // 4 > self.max_bytes + 2:  # too long, whatever it decodes to
            raise FieldError("must decode to at most %d bytes, got about %d"
                             % (self.max_bytes, len(text) * 3 // 4))
        altchars = b"-_" if ("-" in text or "_" in text) else None  # the URL-safe alphabet
        try:
            data = base64.b64decode(text + "=" * (-len(text) % 4), altchars, validate=True)
        except ValueError:  # binascii.Error
            raise FieldError("must be base64 text (A-Z, a-z, 0-9, + and / or - and _), got "
                             "%s" % _shown(value)) from None
        _check_length(len(data), self.min_bytes, self.max_bytes, "decode to", "bytes")
        return data


class image(base64_bytes):
    """An image file (PNG, JPEG, GIF or BMP) sent as base64: its bytes, once its header says
    it is at most max_width x max_height pixels. A model decodes an image to width x height
    x channels values: this bounds what a small request can expand to."""

    def __init__(self, max_width=2048, max_height=2048, max_bytes=8 << 20):
        super().__init__(min_bytes=1, max_bytes=max_bytes)
        self.max_width, self.max_height = max_width, max_height

    def __call__(self, value):
        data = super().__call__(value)
        kind, size = image_size(data)
        if kind is None:
            raise FieldError("must be a PNG, JPEG, GIF or BMP image, got bytes starting %s"
                             % _shown(data[:8]))
        if size is None:
            raise FieldError("is a %s whose header holds no size (truncated?)" % kind)
        width, height = size
        if width < 1 or height < 1:
            raise FieldError("is a %s of %dx%d pixels: it has none" % (kind, width, height))
        if width > self.max_width or height > self.max_height:
            raise FieldError("is a %s of %dx%d pixels; at most %dx%d are taken"
                             % (kind, width, height, self.max_width, self.max_height))
        return data


def json_type(value):
    """The JSON kind of a parsed value, for messages: "a string", "null", ..."""
    if value is None:
        return "null"
    names = ((bool, "a boolean"), (str, "a string"), (list, "an array"), (dict, "an object"),
             ((int, float), "a number"), (bytes, "raw bytes"))
    for kind, name in names:
        if isinstance(value, kind):
            return name
    return type(value).__name__


def _check_bounds(value, minimum, maximum):
    if minimum is not None and value < minimum:
        raise FieldError("must be >= %s, got %s" % (minimum, _shown(value)))
    if maximum is not None and value > maximum:
        raise FieldError("must be <= %s, got %s" % (maximum, _shown(value)))


def _check_length(length, minimum, maximum, verb, unit):
    if length < minimum:
        if minimum == 1 and length == 0:
            raise FieldError("must not be empty")
        raise FieldError("must %s at least %d %s, got %d" % (verb, minimum, unit, length))
    if length > maximum:
        raise FieldError("must %s at most %d %s, got %d" % (verb, maximum, unit, length))


def _length_range(low, high):
    if high >= 100000:
        return "at least %d" % low
    return "exactly %d" % low if low == high else "%d to %d" % (low, high)


def _not_an_object(payload, fields):
    expected = "payload must be a JSON object with the fields " + ", ".join(fields)
    text = None
    if isinstance(payload, bytes):
        text = payload
        arrived = "raw bytes (its Content-Type was not application/json)"
    elif hasattr(payload, "multi_items"):  # Starlette's FormData: a form Content-Type
        items = payload.multi_items()
        text = items[0][0] if len(items) == 1 and items[0][1] == "" else None
        arrived = "form data (Content-Type application/x-www-form-urlencoded or multipart)"
        if not items:
            # The image's python-multipart 0.0.5 drops a field without "=": a JSON body
            # sent as a form (curl -d @sample.json, no -H) arrives as an empty form there.
            return ("the body arrived as an empty form, as JSON sent without a Content-Type "
                    "(curl -d @sample.json) does: %s" % SEND_AS_JSON)
    else:
        return "%s, got %s" % (expected, json_type(payload))
    if text is not None and _is_json_object(text):
        return "the body is JSON but arrived as %s: %s" % (arrived, SEND_AS_JSON)
    return "%s; the body arrived as %s" % (expected, arrived)


SEND_AS_JSON = ("send it with the header 'Content-Type: application/json' "
                "(curl -H 'Content-Type: application/json')")


def _is_json_object(text):
    import json

    if len(text) > 1000000:
        return False  # too large to try: the message says what was expected anyway
    try:
        return isinstance(json.loads(text), dict)
    except (ValueError, RecursionError, UnicodeDecodeError):
        return False


def _shown(value):
    """Client text, made safe to quote: at most MAX_SHOWN characters, then an ellipsis."""
    text = value if isinstance(value, str) else repr(value)
    if len(text) > MAX_SHOWN:
        text = text[:MAX_SHOWN] + "..."
    return _printable(text)


def _shown_names(names):
    shown = ", ".join(_shown(name) for name in names[:3])
    return shown + (" and %d more" % (len(names) - 3) if len(names) > 3 else "")


def _printable(text):
    """Text that encodes as UTF-8: a lone surrogate becomes its escape, \\ud800."""
    return text.encode("utf-8", "backslashreplace").decode("utf-8")


# --- image sizes, from the header alone ----------------------------------------------------
# A few hundred KB of PNG can hold a 20000x20000 image (1.6 GB once decoded): image() reads
# the size from the file's header, before the model decodes anything.

JPEG_SIZE_MARKERS = set(range(0xC0, 0xD0)) - {0xC4, 0xC8, 0xCC}  # SOFn; not DHT, JPG, DAC


def image_size(data):
    """(format, (width, height)) from an image file's header; (format, None) when the
    header is cut short; (None, None) for bytes of no format read here."""
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        return "PNG", _unpack(">II", data, 16) if data[12:16] == b"IHDR" else None
    if data[:6] in (b"GIF87a", b"GIF89a"):
        return "GIF", _unpack("<HH", data, 6)
    if data.startswith(b"BM"):
        size = _unpack("<ii", data, 18)
        return "BMP", size and (abs(size[0]), abs(size[1]))  # a negative height: top-down
    if data.startswith(b"\xff\xd8"):
        return "JPEG", _jpeg_size(data)
    return None, None


def _unpack(layout, data, offset):
    end = offset + struct.calcsize(layout)
    return struct.unpack(layout, data[offset:end]) if len(data) >= end else None


def _jpeg_size(data):
    offset = 2
    while offset + 4 <= len(data):
        if data[offset] != 0xFF:
            return None
        marker = data[offset + 1]
        if marker == 0xFF:  # fill byte
            offset += 1
            continue
        if marker in JPEG_SIZE_MARKERS:
            size = _unpack(">HH", data, offset + 5)  # length, precision, then height, width
            return size and (size[1], size[0])
        if marker == 0x01 or 0xD0 <= marker <= 0xD7:  # markers without a length
            offset += 2
            continue
        offset += 2 + _unpack(">H", data, offset + 2)[0]
    return None


# --- where the model is -------------------------------------------------------------------

SAVED_MODEL, FROZEN_GRAPH, CHECKPOINT = "SavedModel", "frozen graph", "checkpoint"
ACCEPTED = ("a SavedModel folder (holding saved_model.pb), a frozen GraphDef file (.pb), or "
            "a TF1 checkpoint (a folder holding a `checkpoint` file, or a prefix PREFIX "
            "beside PREFIX.meta, PREFIX.index and PREFIX.data-*)")


class ModelFiles:
    """A model on local disk: its format and path (a folder, a .pb file or a prefix)."""

    def __init__(self, kind, path, location):
        self.kind, self.path, self.location = kind, path, location

    def __repr__(self):
        return "ModelFiles(%r, %r)" % (self.kind, self.path)


def find_model(location, download_dir=None):
    """The ModelFiles at `location`: a path (relative to the current folder, Cortex's
    project dir) or an s3:// URL, downloaded first into a private temporary folder."""
    if not isinstance(location, str) or not location:
        raise ModelError("predictor.config model is required: " + ACCEPTED)
    if location.startswith("s3://"):
        path = download_from_s3(location, download_dir)
    else:
        path = os.path.abspath(location)
    return ModelFiles(_model_kind(path, location), path, location)


def _model_kind(path, location):
    if os.path.isdir(path):
        names = sorted(os.listdir(path))
        models = _models_in_folder(names)
        if len(models) > 1:
            named = [os.path.join(location, name) for _, _, name in models if name]
            raise ModelError(
                "model %s holds more than one model: %s; move all but one out of the "
                "folder%s" % (location, "; ".join("a %s (%s)" % (kind, ", ".join(files))
                                                  for kind, files, _ in models),
                              ", or point model at one, e.g. %s" % named[-1] if named else ""))
        if models and models[0][0] == SAVED_MODEL:
            return SAVED_MODEL
        if "checkpoint" in names:
            return CHECKPOINT
        found = "a folder holding " + (", ".join(names[:8]) or "nothing") + (
            " ..." if len(names) > 8 else "")
        if models:
            kind, _, name = models[0]
            found += " (for a %s, name %s: %s)" % (
                kind, "the file" if kind == FROZEN_GRAPH else "its prefix",
                os.path.join(location, name))
        keras = [name for name in names if name.endswith(KERAS_SUFFIXES)]
        if keras and not models:
            found += " (%s is %s)" % (keras[0], _keras_file(os.path.join(location, keras[0])))
    elif os.path.isfile(path):
        if os.path.basename(path) in ("saved_model.pb", "saved_model.pbtxt"):
            raise ModelError("model %s is the SavedModel's own file: name its folder, %s"
                             % (location, os.path.dirname(location) or "."))
        if path.endswith(".meta") or _checkpoint_files(path):
            return CHECKPOINT
        if path.endswith((".pb", ".graphdef")):
            return FROZEN_GRAPH
        found = (_keras_file(location) if path.endswith(KERAS_SUFFIXES) else
                 "a file that is neither .pb nor a checkpoint's .meta")
    elif glob.glob(glob.escape(path) + ".*"):
        return CHECKPOINT  # a prefix: PREFIX.index, PREFIX.meta, ... beside it
    else:
        parent = os.path.dirname(path)
        found = "nothing there" + (" (%s holds %s)" % (parent, ", ".join(
            sorted(os.listdir(parent))[:8]) or "nothing") if os.path.isdir(parent) else "")
    raise ModelError("model %s: found %s; expected %s" % (location, found, ACCEPTED))


KERAS_SUFFIXES = (".keras", ".h5", ".hdf5")


def _keras_file(location):
    """What a Keras file is to tf_session, and the command that makes it a model."""
    dest = os.path.splitext(location.rstrip("/"))[0]
    return ("a Keras file, which the image's TensorFlow 2.1 does not load: make convert "
            "SRC=%s DEST=%s writes it as a SavedModel, then model: %s (and keep the Keras "
            "file out of the project: cortex deploy uploads it)" % (location, dest, dest))


# Files a SavedModel folder holds beside saved_model.pb (TF 2.x's fingerprint, Keras').
SAVED_MODEL_FILES = ("saved_model.pb", "saved_model.pbtxt", "fingerprint.pb",
                     "keras_metadata.pb")


def _models_in_folder(names):
    """The models a folder's own files make: [(kind, their files, what to name in `model`
    for it)]; a checkpoint's prefixes count as one checkpoint."""
    models = []
    if "saved_model.pb" in names or "saved_model.pbtxt" in names:
        models.append((SAVED_MODEL, [n for n in names if n in SAVED_MODEL_FILES], ""))
    prefixes = sorted({n.rsplit(".", 1)[0] for n in names if n.endswith((".meta", ".index"))})
    if prefixes or "checkpoint" in names:
        files = (["checkpoint"] if "checkpoint" in names else []) + [
            p + ".*" for p in prefixes]
        # its prefix is what `model` can name (its folder holds the other model too)
        models.append((CHECKPOINT, files, prefixes[-1] if prefixes else ""))
    models.extend((FROZEN_GRAPH, [n], n) for n in names
                  if n.endswith((".pb", ".graphdef")) and n not in SAVED_MODEL_FILES)
    return models


def _checkpoint_files(prefix):
    return os.path.isfile(prefix + ".index") or os.path.isfile(prefix + ".meta")


def download_from_s3(url, download_dir=None):
    """The local copy of s3://bucket/key: the object `key` itself (a .pb file), or the
    objects under `key/` (a folder), or those beside it named `key.*` (a checkpoint
    prefix). All of them land in a private temporary folder before anything loads; on any
    failure the folder is removed, so a partial download never leaves a half-loaded model."""
    import boto3  # in the Cortex image; only needed for s3:// models
    from botocore.exceptions import BotoCoreError, ClientError

    bucket, _, key = url[len("s3://"):].partition("/")
    if not bucket:
        raise ModelError("model %s: an S3 URL is s3://bucket/key" % url)
    base = key.rstrip("/")
    name = os.path.basename(base) or bucket
    target = tempfile.mkdtemp(prefix="model-", dir=download_dir)  # mode 0700: ours only
    try:
        s3 = boto3.client("s3")
        pages = s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=base)
        listed = [obj["Key"] for page in pages for obj in page.get("Contents", [])
                  if not obj["Key"].endswith("/")]  # "folder/" markers, as consoles make
        files = _s3_files(listed, base, name, is_folder=key.endswith("/") or not base)
        if not files:
            raise ModelError("model %s: no objects at that key or under it; check the URL "
                             "(a folder may end with /)" % url)
        for obj_key, relative in sorted(files.items()):
            path = os.path.normpath(os.path.join(target, relative))
            if not path.startswith(target + os.sep):
                raise ModelError("model %s: object key %s leaves the download folder"
                                 % (url, obj_key))
            os.makedirs(os.path.dirname(path), exist_ok=True)
            s3.download_file(bucket, obj_key, path)
    except (BotoCoreError, ClientError) as e:
        shutil.rmtree(target, ignore_errors=True)
        raise ModelError("model %s cannot be read from S3: %s (check the URL and the "
                         "API's AWS credentials)" % (url, e)) from e
    except BaseException:
        shutil.rmtree(target, ignore_errors=True)
        raise
    return os.path.join(target, name)


def _s3_files(keys, base, name, is_folder):
    """{object key: path in the download folder} of the keys that make up the model."""
    if not is_folder and base in keys:
        return {base: name}  # one object: a file
    under = [k for k in keys if not base or k.startswith(base + "/")]
    if under or is_folder:
        return {k: os.path.join(name, k[len(base):].lstrip("/")) for k in under}
    return {k: name + k[len(base):] for k in keys if k[len(base):].startswith(".")}


# --- loading ------------------------------------------------------------------------------


def load_model(config, inputs=(), outputs=()):
    """The model of predictor.config, loaded into its own graph and session, ready for
    predict threads. `inputs` and `outputs` are the names predictor.py feeds and reads:
    each must be in the signature or in config inputs/outputs, else this says so."""
    check_config(config)
    model = Model(config, find_model(config["model"]))
    model.require(inputs, outputs)
    _collect_garbage_less_often()
    return model


def _collect_garbage_less_often():
    """Raise the collector's first threshold to YOUNG_GC_THRESHOLD, unless the process has
    thresholds of its own (gc.set_threshold before load_model, or after it to undo this)."""
    thresholds = gc.get_threshold()
    if thresholds == PYTHON_GC_THRESHOLDS:
        gc.set_threshold(YOUNG_GC_THRESHOLD, *thresholds[1:])


def check_config(config):
    """Raise ModelError for a predictor.config that breaks CONFIG_SCHEMA or has an unknown
    key close to a known one (a misspelling: the setting would be silently ignored; keys
    far from every known one are the user's own); log a warning once for a max_batch_size
    above the worker's threads."""
    known = list(CONFIG_SCHEMA["properties"])
    for key in config if isinstance(config, dict) else ():  # before "X is required"
        close = difflib.get_close_matches(str(key), known, n=1, cutoff=0.8)
        if key not in known and close:
            raise ModelError("predictor.config.%s is not a key tf_session reads: did you mean "
                             "%s? (name a key of your own further from tf_session's keys)"
                             % (key, close[0]))
    problem = schema_problem(config, CONFIG_SCHEMA, "predictor.config")
    if problem:
        raise ModelError(problem)
    batching = config.get("server_side_batching")
    threads = os.environ.get("CORTEX_THREADS_PER_WORKER")  # set by Cortex in each worker
    if batching and threads and batching["max_batch_size"] > int(threads):
        # Not an error: Cortex's local environment runs 1 thread per worker whatever the
        # config says. Each thread brings one request, so batches hold at most `threads`.
        message = ("predictor.config.server_side_batching.max_batch_size %d is more than "
                   "threads_per_worker %s (Cortex's local environment runs 1): serving with "
                   "batches of at most %s requests, one from each thread"
                   % (batching["max_batch_size"], threads, threads))
        if message not in _LOGGED:
            _LOGGED.add(message)
            log.warning(message)


_LOGGED = set()  # check_config's warnings already logged by this process: each once


def schema_problem(value, schema, path):
    """The first rule of `schema` that `value` breaks, worded for the user, or None. Knows
    the part of JSON schema that CONFIG_SCHEMA uses."""
    described = "%s must be %s, got %s" % (path, schema.get("description"), _shown(repr(value)))
    types = schema.get("type", [])
    if types and not any(_is_json(value, kind) for kind in (
            types if isinstance(types, list) else [types])):
        return described
    if schema.get("x-duration"):
        value = parse_duration(value)
        if value is None:
            return described
    if "enum" in schema and value not in schema["enum"]:
        return described
    if isinstance(value, str) and len(value) < schema.get("minLength", 0):
        return described
    if _is_json(value, "number") and (
            not math.isfinite(value) or value < schema.get("minimum", value) or
            value > schema.get("maximum", value) or
            ("exclusiveMinimum" in schema and value <= schema["exclusiveMinimum"])):
        return described
    if isinstance(value, dict):
        properties = schema.get("properties", {})
        for key in schema.get("required", []):
            if key not in value:
                return "%s.%s is required: %s" % (path, key, properties[key]["description"])
        for key, item in value.items():
            rule = properties.get(key, schema.get("additionalProperties", True))
            if rule is False:
                return "%s.%s is not a key of %s (it takes: %s)" % (
                    path, _shown(str(key)), path, ", ".join(properties))
            problem = rule is not True and schema_problem(item, rule, "%s.%s" % (path, key))
            if problem:
                return problem
    return None


def _is_json(value, kind):
    if kind in ("integer", "number") and isinstance(value, bool):
        return False
    return isinstance(value, {"string": str, "boolean": bool, "object": dict, "integer": int,
                              "number": (int, float), "array": list}[kind])


def parse_duration(value):
    """Seconds from a number or a duration text (500us, 2ms, 0.01s); None if neither."""
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return float(value)
    found = re.match(r"^\s*(\d+(?:\.\d*)?|\.\d+)\s*(ns|us|\u00b5s|ms|s)\s*$", str(value))
    if not found:
        return None
    scale = {"ns": 1e-9, "us": 1e-6, "\u00b5s": 1e-6, "ms": 1e-3, "s": 1.0}[found.group(2)]
    return float(found.group(1)) * scale


def session_config(config):
    """TensorFlow's session options, from optional keys of the API's config:

    inter_op_parallelism_threads  the pool that runs a graph's ops; -1 runs them on the
                                  predict thread that calls sess.run, which saves two
                                  thread hand-offs per call (best for small models)
    intra_op_parallelism_threads  threads within one op (a large matmul); 0 = one per core
    gpu_memory_fraction           on a GPU, this process's share of its memory, so that
                                  several workers_per_replica can share one GPU
    """
    options = tf.compat.v1.ConfigProto()
    for key in ("inter_op_parallelism_threads", "intra_op_parallelism_threads"):
        if config.get(key) is not None:
            setattr(options, key, config[key])
    if config.get("gpu_memory_fraction") is not None:
        options.gpu_options.per_process_gpu_memory_fraction = float(
            config["gpu_memory_fraction"])
    return options


class Model:
    """One model in a graph and session of its own, callable from any thread.

    graph, sess      the model's tf.Graph and tf.compat.v1.Session
    inputs, outputs  names -> tensors: the signature's keys, or config inputs/outputs
    files            where it was loaded from (ModelFiles)
    """

    def __init__(self, config, files):
        self.files = files
        self.graph = tf.Graph()
        self.sess = tf.compat.v1.Session(graph=self.graph, config=session_config(config))
        self.signature = None
        with self.graph.as_default():
            loader = {SAVED_MODEL: self._load_saved_model, FROZEN_GRAPH: self._load_frozen_graph,
                      CHECKPOINT: self._load_checkpoint}[files.kind]
            try:
                named = loader(config)
            except (ValueError, tf.errors.OpError) as e:
                problem = self._newer_than_this_tensorflow(e)
                if problem is None:
                    raise
                raise ModelError(problem) from e
        self._check_variables_initialized()
        for kind in ("inputs", "outputs"):
            named[kind].update(config.get(kind) or {})
        self.inputs = Tensors("input", self._tensors(named["inputs"], "inputs"), self)
        self.outputs = Tensors("output", self._tensors(named["outputs"], "outputs"), self)
        self._fetch = []  # the outputs predict() fetches: require() sets them
        self._fetches = []  # ... by tensor name
        self._fixed_first = set()  # ... those whose first dimension is fixed: no batch axis
        self._callables = {}  # made by require()
        self._converters = {}  # input name -> InputConverter

        # Ops added per request pile up for ever (memory and time on every call): once the
        # graph is final, adding one raises "Graph is finalized and cannot be modified".
        if config.get("finalize_graph", True):
            self.graph.finalize()

        self._run_per_request, self._run_once_per_thread = _strategies(self.sess)
        self._with_defaults = (self._run_per_request if config["session_strategy"] ==
                               "per_request" else self._run_once_per_thread)
        self.batcher = None
        batching = config.get("server_side_batching")
        if batching:
            self.batcher = Batcher(self._run_examples, batching["max_batch_size"],
                                   parse_duration(batching.get("batch_interval", 0)),
                                   isolate=INPUT_ERRORS)

    def _check_variables_initialized(self):
        """ModelError at start for variables that loading left uninitialized, which would
        fail every request (FailedPreconditionError): tf.compat.v1's loader restores none
        of a TF2 SavedModel's (tf.saved_model.save, Keras). One sess.run, at start only;
        the variable ops are read from the graph, as such a model fills no collection."""
        checks = {"VarHandleOp": lambda op: tf.raw_ops.VarIsInitializedOp(resource=op.outputs[0]),
                  "VariableV2": lambda op: tf.raw_ops.IsVariableInitialized(ref=op.outputs[0])}
        variables = [op for op in self.graph.get_operations() if op.type in checks]
        if not variables:
            return
        with self.graph.as_default(), tf.name_scope("tf_session_initialized"):
            initialized = self.sess.run([checks[op.type](op) for op in variables])
        missing = [op.name for op, done in zip(variables, initialized) if not done]
        if missing:
            raise ModelError(
                "model %s leaves %d of its %d variables uninitialized after loading (%s%s), so "
                "every request would fail: it was saved by TensorFlow 2.x (tf.saved_model.save "
                "or Keras), whose variables tf.compat.v1's loader does not restore; convert it: "
                "%s" % (self.files.location, len(missing), len(variables),
                        ", ".join(missing[:3]), " ..." if len(missing) > 3 else "",
                        self._convert_command()))

    def _newer_than_this_tensorflow(self, error):
        """What the model's import failed on, with the fix, when the graph holds what this
        TensorFlow lacks (an op, or attributes of an op); else None."""
        lacks = _what_this_tensorflow_lacks(error, self._graph_defs)
        if lacks is None:
            return None
        kind, words = lacks
        convert = ("make convert rewrites what TensorFlow %s lacks where it can, and says what "
                   "it cannot: %s" % (tf.__version__, self._convert_command()))
        if kind == "op" and not self._made_by_a_newer_tensorflow():
            return ("model %s uses op %s, which TensorFlow %s does not have: a custom op, "
                    "whose library must be loaded (tf.load_op_library) before the model" % (
                        self.files.location, words, tf.__version__))
        if kind == "op":
            words = "op %s is unknown to it" % words
        return "model %s was made by a newer TensorFlow than this one (%s): %s. %s" % (
            self.files.location, tf.__version__, words, convert)

    def _made_by_a_newer_tensorflow(self):
        """Whether a graph of the model has a newer GraphDef version than this TensorFlow
        writes (each release raises it)."""
        try:
            return any(graph_def.versions.producer > tf.version.GRAPH_DEF_VERSION
                       for graph_def in self._graph_defs())
        except Exception:  # noqa: BLE001 - unreadable files: the import said what it could
            return False

    def _graph_defs(self):
        """Every GraphDef the model's files hold (a SavedModel's MetaGraphs, a checkpoint's
        .meta, the frozen graph), as written."""
        kind, path = self.files.kind, self.files.path
        if kind == FROZEN_GRAPH:
            graph_def = tf.compat.v1.GraphDef()
            with open(path, "rb") as f:
                graph_def.ParseFromString(f.read())
            return [graph_def]
        if kind == CHECKPOINT:
            meta = MetaGraphDef()
            with open(checkpoint_prefix(path, self.files.location) + ".meta", "rb") as f:
                meta.ParseFromString(f.read())
            return [meta.graph_def]
        saved = SavedModel()
        with open(os.path.join(path, "saved_model.pb"), "rb") as f:
            saved.ParseFromString(f.read())
        return [meta.graph_def for meta in saved.meta_graphs]

    def _convert_command(self):
        """The make convert command for this model. A SavedModel is converted in place, so
        the config stays; another kind becomes a SavedModel beside it, which the config
        then names (its inputs and outputs stay: the SavedModel keeps the graph's tensor
        names), and the old file goes, or cortex deploy uploads it too."""
        location = self.files.location
        source = ("<a local copy of %s>" % location if location.startswith("s3://")
                  else location)
        if self.files.kind == SAVED_MODEL:
            return "make convert SRC=%s%s" % (
                source, "" if os.path.normpath(location) == "model" else " DEST=" + location)
        dest = "%s-tf21" % re.sub(r"\.(pb|meta)$", "", location.rstrip("/"))
        return ("make convert SRC=%s DEST=%s, then model: %s in predictor.config (inputs and "
                "outputs stay) and remove %s" % (source, dest, dest, location))

    # Each loader fills self.graph and returns the names it knows: {"inputs": {name: tensor
    # name}, "outputs": {...}}.

    def _load_saved_model(self, config):
        try:
            with _tensorflow_warnings_off():  # "load is deprecated": by choice, the TF1 loader
                meta_graph = tf.compat.v1.saved_model.loader.load(
                    self.sess, [tf.compat.v1.saved_model.tag_constants.SERVING],
                    self.files.path)
        except RuntimeError as e:
            if "could not be found in SavedModel" in str(e):
                raise ModelError("model %s has no MetaGraph tagged 'serve': export it with "
                                 "tags=[tf.saved_model.SERVING] (TensorFlow said: %s)"
                                 % (self.files.location, e)) from e
            raise
        signatures = meta_graph.signature_def
        name = config.get("signature") or _default_signature(signatures)
        if name is None and signatures:
            raise ModelError("model %s has several signatures (%s) and none is "
                             "serving_default: set predictor.config signature to one of them"
                             % (self.files.location, ", ".join(sorted(signatures))))
        if name is None:
            return {"inputs": {}, "outputs": {}}
        if name not in signatures:
            raise ModelError("model %s has no signature %r; it has: %s (predictor.config "
                             "signature)" % (self.files.location, name,
                                             ", ".join(sorted(signatures)) or "none"))
        self.signature = name
        return {kind: {key: info.name for key, info in getattr(signatures[name], kind).items()}
                for kind in ("inputs", "outputs")}

    def _load_frozen_graph(self, config):
        graph_def = tf.compat.v1.GraphDef()
        with open(self.files.path, "rb") as f:
            data = f.read()
        try:
            graph_def.ParseFromString(data)
        except Exception as e:  # protobuf's DecodeError
            raise ModelError("model %s is not a GraphDef (%s): a frozen graph is a .pb file "
                             "written with graph_def.SerializeToString()"
                             % (self.files.location, e)) from e
        if not graph_def.node:
            raise ModelError("model %s holds no graph nodes: is it a frozen GraphDef?"
                             % self.files.location)
        variables = [n.name for n in graph_def.node if n.op in VARIABLE_OPS]
        if variables:
            raise ModelError("model %s holds %d variables (%s...), which a frozen graph "
                             "cannot restore: freeze it (variables to constants) or serve "
                             "its checkpoint or SavedModel" % (self.files.location,
                                                               len(variables), variables[0]))
        tf.compat.v1.import_graph_def(graph_def, name="")
        return {"inputs": {}, "outputs": {}}

    def _load_checkpoint(self, config):
        prefix = checkpoint_prefix(self.files.path, self.files.location)
        saver = tf.compat.v1.train.import_meta_graph(prefix + ".meta", clear_devices=True)
        if saver is not None:
            try:
                saver.restore(self.sess, prefix)
            except (tf.errors.NotFoundError, tf.errors.DataLossError, ValueError) as e:
                raise ModelError("checkpoint %s cannot be restored: %s"
                                 % (self.files.location, _first_line(e))) from e
        return {"inputs": {}, "outputs": {}}

    def _tensors(self, names, kind):
        return {name: self._tensor(tensor_name, "%s %s" % (kind, name))
                for name, tensor_name in names.items()}

    def _tensor(self, tensor_name, what):
        name = tensor_name if ":" in tensor_name else tensor_name + ":0"
        try:
            return self.graph.get_tensor_by_name(name)
        except (KeyError, ValueError):
            known = [t.name for op in self.graph.get_operations() for t in op.outputs]
            close = difflib.get_close_matches(name, known, n=5, cutoff=0.5)
            raise ModelError("predictor.config %s: tensor %r is not in the graph of %s; "
                             "closest names: %s" % (what, name, self.files.location,
                                                    ", ".join(close) or "none")) from None

    def require(self, inputs=(), outputs=()):
        """Check that predictor.py's input and output names are known; predict() fetches
        `outputs`. Each must have the batch as its first axis."""
        for kind, names, known in (("input", inputs, self.inputs),
                                   ("output", outputs, self.outputs)):
            for name in names:
                tensor = known[name]  # raises ModelError naming the fix
                if tensor.shape.ndims == 0:
                    raise ModelError(
                        "%s %s (%s) is a scalar: predict() stacks examples along a first "
                        "axis; drive the session yourself with run_with_defaults (README)"
                        % (kind, name, tensor.name))
        self._fetch = list(outputs)
        self._fetches = [self.outputs[name].name for name in self._fetch]
        self._callables = {}  # the input names of a feed, in order -> its session callable
        self._fixed_first = {name for name in self._fetch
                             if self.outputs[name].shape[:1].is_fully_defined()}
        for name in inputs:
            self._converter(name)
        if outputs:  # names of one tensor feed it once, as in predict()'s feed
            self._session_callable(tuple(dict.fromkeys(self._tensor_name(n) for n in inputs)))

    def _tensor_name(self, name):
        return self._converter(name).tensor_name

    def _converter(self, name):
        """The input's InputConverter, made on first use (a name to_inputs returns that
        predictor.py's INPUTS left out is checked then, as any)."""
        converter = self._converters.get(name)
        if converter is None:
            converter = self._converters[name] = InputConverter(name, self.inputs[name])
        return converter

    # --- running ----------------------------------------------------------------------------

    def run_with_defaults(self, fn, *args, **kwargs):
        """fn(sess, *args, **kwargs) with the model's graph and session as this thread's
        defaults (session_strategy), from any thread: for code that drives the session
        itself."""
        return self._with_defaults(_call, (fn, args, kwargs))

    def run(self, fetches, feed_dict=None):
        """sess.run with the graph and session as defaults, from any thread."""
        return self._with_defaults(_session_run, (fetches, feed_dict))

    def evaluate(self, name):
        """The value of output `name`, fed nothing: labels and other constants, once."""
        return self.run(self.outputs[name])

    def predict(self, payload, to_inputs, to_answer):
        """to_inputs(payload) -> one example's inputs; one run of the model (with the examples
        of other threads, when batching); to_answer(one example's outputs) -> the answer.

        A PayloadError from to_inputs, inputs the model cannot take, and inputs the graph
        itself rejects (INPUT_ERRORS, e.g. bytes that decode_png cannot read) answer 400."""
        try:
            example = self.example(to_inputs(payload))
        except PayloadError as e:
            return e.response()
        try:
            if self.batcher is not None:
                outputs = self.batcher.submit(example)
            else:
                outputs = self._run_examples([example])[0]
        except INPUT_ERRORS as e:  # raised by a run of this example alone
            return self.rejected(e, list(example)).response()
        try:
            return _plain_finite(to_answer(outputs))
        except _NotFinite:
            # JSON has no NaN or infinity (Cortex's json.dumps would send invalid JSON): the
            # payload's values are past what the model can answer, which is the client's
            # to fix.
            return PayloadError("the model's answer to this payload is not finite (it holds "
                                "NaN or infinity): its values are likely far outside what "
                                "the model takes").response()

    def rejected(self, error, fed=()):
        """The PayloadError for a TensorFlow error that the inputs fed caused (one of
        INPUT_ERRORS): it names the inputs behind the failing op and TensorFlow's words.
        For code that drives the session itself: `return model.rejected(e).response()`."""
        message = _tf_message(error)
        node = error.op.name if error.op is not None else _failing_node(_raw_message(error))
        names = self._inputs_behind(error.op, node) or sorted(fed)
        return PayloadError("the model rejected %s %s: %s%s" % (
            "input" if len(names) == 1 else "inputs", ", ".join(names) or "of this payload",
            _shown_line(message), " (node %s)" % node if node else ""))

    def _inputs_behind(self, op, node):
        """The names of the inputs the failing op reads, directly or through other ops."""
        if op is None:
            try:
                op = self.graph.get_operation_by_name(node or "")
            except (KeyError, ValueError):
                return []  # a node inside a function (tf.map_fn, tf.while_loop)
        placeholders = {tensor.op: name for name, tensor in self.inputs.items()}
        seen, todo, found = set(), [op], set()
        while todo:
            current = todo.pop()
            if current in seen:
                continue
            seen.add(current)
            if current in placeholders:
                found.add(placeholders[current])
            todo.extend(t.op for t in current.inputs)
            todo.extend(current.control_inputs)
        return sorted(found)

    def example(self, inputs):
        """One example's inputs as arrays of their tensors' dtypes and shapes (less the
        batch axis); PayloadError for values that do not fit."""
        if not isinstance(inputs, dict):
            raise TypeError("to_inputs must return a dict of input names to values, got %s"
                            % type(inputs).__name__)
        return {name: self._converter(name)(value) for name, value in inputs.items()}

    def _run_examples(self, examples):
        """One run of the model (_run_feed) for equally shaped examples: stacked along a new
        first axis, and each output's rows handed back, one dict of outputs per example."""
        # Fed and fetched by tensor name: TF 2.1 hashes a Tensor in ~10 us (it asks whether
        # it runs eagerly), and a dict keyed by tensors hashes each.
        tensor = self._tensor_name
        if len(examples) == 1:  # a new first axis, without the copy np.stack makes
            feed = {tensor(name): value[None] for name, value in examples[0].items()}
        else:
            feed = {tensor(name): _stack([example[name] for example in examples])
                    for name in examples[0]}
        values = self._with_defaults(self._run_feed, feed)
        for name, value in zip(self._fetch, values):
            # A fixed first dimension is no batch axis, even when it equals this batch's size.
            if np.ndim(value) == 0 or len(value) != len(examples) or (
                    len(examples) > 1 and name in self._fixed_first):
                raise ValueError("output %s has shape %s for a batch of %d examples: every "
                                 "output predict() fetches must have the batch as its first "
                                 "axis" % (name, np.shape(value), len(examples)))
        return [{name: value[i] for name, value in zip(self._fetch, values)}
                for i in range(len(examples))]

    def _run_feed(self, sess, feed):
        """The fetched outputs for `feed` ({tensor name: array}), as one sess.run gives them,
        through a callable of the session: sess.run spends ~70 us of Python (holding the
        GIL) on each call to sort out its fetches and feeds, the callable ~10 us in all."""
        return self._session_callable(tuple(feed))(*feed.values())

    def _session_callable(self, feed_names):
        """The session's callable that feeds these tensors and fetches predict()'s outputs,
        made on first use (a feed of other inputs, e.g. ones with defaults, gets its own).
        As with sess.run, an output that is fed (an input read back) is its fed value: a
        callable refuses to fetch what it feeds."""
        run = self._callables.get(feed_names)
        if run is None:
            ran = [name for name in self._fetches if name not in feed_names]
            callable_ = self.sess._make_callable_from_options(
                CallableOptions(feed=list(feed_names), fetch=ran))
            sources = [(True, feed_names.index(name)) if name in feed_names else
                       (False, ran.index(name)) for name in self._fetches]

            def run(*values, _callable=callable_, _sources=sources):
                fetched = _callable(*values)
                return [values[i] if fed else fetched[i] for fed, i in _sources]
            self._callables[feed_names] = run
        return run

    def close(self):
        self.sess.close()  # the batcher has no thread to stop: queued callers time out


@contextlib.contextmanager
def _tensorflow_warnings_off():
    logger = tf.get_logger()
    level = logger.level
    logger.setLevel(logging.ERROR)
    try:
        yield
    finally:
        logger.setLevel(level)


VARIABLE_OPS = ("VariableV2", "Variable", "VarHandleOp", "AutoReloadVariable")
# Ops whose unread outputs are no model output: variables, their set-up, saving.
NOT_OUTPUTS = VARIABLE_OPS + ("Placeholder", "NoOp", "Assign", "AssignVariableOp",
                              "ReadVariableOp", "VarIsInitializedOp", "IsVariableInitialized",
                              "SaveV2", "RestoreV2", "MergeV2Checkpoints")


def _session_run(sess, fetches_and_feed):
    return sess.run(*fetches_and_feed)


def _call(sess, call):
    fn, args, kwargs = call
    return fn(sess, *args, **kwargs)


def _default_signature(signatures):
    if len(signatures) == 1:
        return next(iter(signatures))
    return "serving_default" if "serving_default" in signatures else None


def checkpoint_prefix(path, location):
    """The checkpoint's prefix for a folder with a `checkpoint` file, a .meta file or a
    prefix. The `checkpoint` file may hold absolute paths of where it was saved: only the
    file name counts, resolved in the folder where it is now."""
    if os.path.isdir(path):
        state = tf.compat.v1.train.get_checkpoint_state(path)
        if state is None or not state.model_checkpoint_path:
            raise ModelError("checkpoint %s: its `checkpoint` file names no checkpoint"
                             % location)
        prefix = os.path.join(path, os.path.basename(state.model_checkpoint_path))
    elif path.endswith(".meta"):
        prefix = path[:-len(".meta")]
    else:
        prefix = path
    if not os.path.isfile(prefix + ".meta"):
        longer = sorted(m[:-len(".meta")] for m in glob.glob(glob.escape(prefix) + "*.meta"))
        if longer and not os.path.isdir(path):  # model/house for model/house.ckpt
            raise ModelError("checkpoint %s: no %s.meta there; did you mean %s?" % (
                location, os.path.basename(prefix),
                location + longer[-1][len(prefix):]))
        raise ModelError("checkpoint %s: %s.meta (its graph) is missing; save it with "
                         "tf.compat.v1.train.Saver().save(...), which writes it"
                         % (location, os.path.basename(prefix)))
    if not os.path.isfile(prefix + ".index") or not glob.glob(glob.escape(prefix) + ".data-*"):
        raise ModelError("checkpoint %s: the variables' files %s.index and %s.data-* must "
                         "be beside %s.meta" % ((location,) + (os.path.basename(prefix),) * 3))
    return prefix


def _what_this_tensorflow_lacks(error, graph_defs):
    """What a graph made by a newer TensorFlow holds that this one does not know, from the
    error its import raised: ("attr", words) or ("op", its name) (an op may be a custom one
    instead); else None. TensorFlow names one unknown attribute of the node, whichever its
    map gives first: all of the node's are read from `graph_defs()` (the model's GraphDefs),
    so that the words are complete and the same in every worker."""
    message = str(error)
    attr = re.search(r"NodeDef mentions attr '([^']+)' not in Op<name=([^;>]+)", message)
    if attr:
        node = re.search(r"\{\{node ([^}]+)\}\}", message)
        names = [attr.group(1)]
        if node:
            known = set(re.findall(r"\battr=(\w+):", message))  # the Op's, as it shows them
            names = _unknown_attrs(graph_defs, node.group(1), attr.group(2), known) or names
        return "attr", "%s %s of op %s%s %s unknown to it" % (
            "attr" if len(names) == 1 else "attrs", ", ".join(names), attr.group(2),
            " (node %s)" % node.group(1) if node else "", "is" if len(names) == 1 else "are")
    op = re.search(r"Op type not registered '([^']+)'", message)
    return None if op is None else ("op", op.group(1))


def _unknown_attrs(graph_defs, node_name, op, known):
    """The attributes of node `node_name` (of `op`, at the top of a graph or in one of its
    functions) outside `known`, sorted; [] when the files cannot say."""
    try:
        for graph_def in graph_defs():
            nodes = list(graph_def.node)
            for function in graph_def.library.function:
                nodes += function.node_def
            for node in nodes:
                if node.name == node_name and node.op == op:
                    return sorted(name for name in node.attr
                                  if name not in known and not name.startswith("_"))
    except Exception:  # noqa: BLE001 - the words come from TensorFlow's error alone then
        pass
    return []


def _first_line(error):
    text = getattr(error, "message", None) or str(error)
    return text.strip().splitlines()[0] if text.strip() else type(error).__name__


# TensorFlow errors that the values fed can cause, one example alone: answered 400, and a
# batch that fails with one is run again one example at a time.
INPUT_ERRORS = (tf.errors.InvalidArgumentError, tf.errors.OutOfRangeError)


def _tf_message(error):
    """TensorFlow's own words, less what newer versions wrap them in: a "Graph execution
    error:" heading, where the op was defined (an indented traceback) and its node."""
    lines = [line for line in _raw_message(error).splitlines()
             if line.strip() and not line[0].isspace()
             and line.strip() != "Graph execution error:"
             and not line.startswith(("Detected at node", "Node: "))]
    return "\n".join(lines) or type(error).__name__


def _raw_message(error):
    return getattr(error, "message", None) or str(error)


def _failing_node(message):
    found = re.search(r"\{\{node ([^}\s]+)\}\}", message)
    return found.group(1) if found else None


def _shown_line(message):
    line = message.splitlines()[0]
    return line if len(line) <= 200 else line[:200] + "..."


class Tensors(dict):
    """Names -> tensors; a missing name raises ModelError saying what the model has."""

    def __init__(self, kind, tensors, model):
        super().__init__(tensors)
        self.kind, self.model = kind, model

    def __missing__(self, name):
        files = self.model.files
        source = ("signature %r of" % self.model.signature if self.model.signature else
                  "predictor.config.%ss for" % self.kind)
        raise ModelError(
            "predictor.py uses %s %r, which %s %s %s lacks (it has: %s); map it to a tensor "
            "in predictor.config, e.g. %ss: {%s: 'name:0'}%s"
            % (self.kind, name, source, files.kind, files.location,
               ", ".join(sorted(self)) or "none", self.kind, name,
               "" if files.kind == SAVED_MODEL else
               " (a %s has no signature: name its tensors there; %s)"
               % (files.kind, self._candidates())))

    def _candidates(self):
        """The graph's likely inputs (its placeholders) or outputs (tensors no op reads)."""
        graph = self.model.graph
        if self.kind == "input":
            found = [op.outputs[0] for op in graph.get_operations() if op.type == "Placeholder"]
            what = "its placeholders"
        else:
            found = [t for op in graph.get_operations() if op.type not in NOT_OUTPUTS
                     and not op.name.startswith("save/") for t in op.outputs
                     if not t.consumers()]
            what = "tensors no op reads"
        shown = ", ".join("%s %s %s" % (t.name, t.dtype.name, _shape_text(t.shape)
                                        if t.shape.ndims is not None else "(any shape)")
                          for t in found[:8])
        return "%s: %s%s" % (what, shown or "none", " ..." if len(found) > 8 else "")


class InputConverter:
    """How one input's values become an example's array of its tensor's dtype and shape
    (less the batch axis), with a PayloadError for values that do not fit. What the tensor
    takes is read once, at load: predict() pays only for the checks."""

    def __init__(self, name, tensor):
        dtype = tensor.dtype
        self.name, self.dtype_name, self.tensor_name = name, dtype.name, tensor.name
        self.kind = ("string" if dtype == tf.string else "bool" if dtype.is_bool else
                     "float" if dtype.is_floating else "int" if dtype.is_integer else "other")
        self.np_dtype = np.dtype(object if self.kind == "string" else dtype.as_numpy_dtype)
        if self.kind == "int":
            info = np.iinfo(self.np_dtype)
            self.low, self.high = info.min, info.max
        elif self.kind == "float":
            info = np.finfo(self.np_dtype)
            self.low, self.high = info.min, info.max
        ndims = tensor.shape.ndims
        self.dims = tuple(tensor.shape.as_list()[1:]) if ndims else None  # None: any shape
        self.exact = self.dims if self.dims is not None and None not in self.dims else None
        # A list of this many Python floats is the common payload of a float vector input.
        self.float_list = (self.exact[0] if self.kind == "float" and self.exact and
                           len(self.exact) == 1 and self.exact[0] <= SMALL_ARRAY else 0)

    def __call__(self, value):
        if type(value) is list and len(value) == self.float_list and (
                set(map(type, value)) == _JUST_FLOAT):
            total = sum(value)  # NaN or infinity when one is
            if total - total == 0.0 and max(map(abs, value)) <= self.high:
                return np.array(value, self.np_dtype)  # astype's values, as _cast says
        try:
            if self.kind == "string":
                array_ = np.asarray(value, dtype=object)
                if array_.size:
                    array_ = np.vectorize(_to_bytes, otypes=[object])(array_)
            else:
                array_ = self._number_array(np.asarray(value))
        except (ValueError, TypeError, OverflowError, RecursionError) as e:
            if isinstance(e, PayloadError):
                raise
            raise PayloadError("input %s cannot be made a %s array: %s"
                               % (self.name, self.dtype_name, e)) from None
        if array_.shape != self.exact and self.dims is not None and not (
                len(array_.shape) == len(self.dims) and
                all(d is None or d == n for d, n in zip(self.dims, array_.shape))):
            raise PayloadError("input %s must have shape %s per example, got %s"
                               % (self.name, _shape_text(self.dims),
                                  _shape_text(array_.shape)))
        return array_

    def _number_array(self, array_):
        kind = array_.dtype.kind
        if kind not in "biuf" or (kind == "b") != (self.kind == "bool"):
            raise PayloadError("input %s must hold %s values, got %s"
                               % (self.name, self.dtype_name, KINDS.get(kind, "others")))
        if self.kind == "float":
            # One pass finds NaN, infinity and values the cast would make infinite (the
            # comparison is false for NaN); which it was matters only for the message.
            if array_.size and not _extreme(np.maximum, np.abs(array_)) <= self.high:
                if kind == "f" and not np.isfinite(array_).all():
                    raise PayloadError("input %s must hold finite numbers" % self.name)
                raise self._beyond_range()
            return self._cast(array_)
        if self.kind == "int":
            if kind == "f" or not np.can_cast(array_.dtype, self.np_dtype):
                if array_.size and (_extreme(np.minimum, array_) < self.low or
                                    _extreme(np.maximum, array_) > self.high):
                    raise self._beyond_range()
                if kind == "f" and np.any(array_ != np.round(array_)):
                    raise PayloadError("input %s must hold integers" % self.name)
            return self._cast(array_)
        return array_.astype(self.np_dtype, copy=False)

    def _cast(self, array_):
        """array_ as the tensor's dtype, with astype's values. A small one is made from its
        Python numbers (SMALL_ARRAY) where that gives astype's values exactly: float to
        float, and integer to integer (in range: checked before)."""
        if array_.dtype == self.np_dtype:
            return array_
        if (0 < array_.size <= SMALL_ARRAY and
                (array_.dtype.kind == "f") == (self.kind == "float")):
            return np.array(array_.tolist(), self.np_dtype)
        return array_.astype(self.np_dtype)

    def _beyond_range(self):
        return PayloadError("input %s holds a value beyond %s's range"
                            % (self.name, self.dtype_name))


_JUST_FLOAT = {float}


def _example_array(name, value, tensor):
    """One input's value as its example array (InputConverter, made for this call)."""
    return InputConverter(name, tensor)(value)


def _extreme(ufunc, array_):
    """array_.min() or array_.max() (np.minimum or np.maximum) of a non-empty array,
    holding the GIL: numpy's own starts by copying the first element in, and that copy
    releases it (SMALL_ARRAY); given that element as the initial value, it copies nothing."""
    return ufunc.reduce(array_, axis=None, initial=array_.flat[0])


def _stack(arrays):
    """np.stack(arrays) for arrays of one dtype and shape; small ones from their Python
    numbers (SMALL_ARRAY)."""
    first = arrays[0]
    if 0 < first.size * len(arrays) <= SMALL_ARRAY and first.dtype.kind in "biuf":
        return np.array([array_.tolist() for array_ in arrays], first.dtype)
    return np.stack(arrays)


KINDS = {"b": "booleans", "i": "integers", "u": "integers", "f": "numbers", "U": "strings",
         "S": "bytes", "O": "mixed or ragged values"}


def _to_bytes(value):
    if isinstance(value, bytes):
        return value
    if isinstance(value, str):
        return value.encode("utf-8", "surrogatepass")
    raise PayloadError("a string input must hold strings, got %s" % json_type(value))


def _shape_text(shape):
    dims = [d if isinstance(d, int) else getattr(d, "value", d) for d in shape]
    return "(%s%s)" % (", ".join("any" if d is None else str(d) for d in dims),
                       "," if len(dims) == 1 else "")


def plain(value):
    """to_answer's value, with numpy arrays and scalars made Python lists and numbers, so
    that Cortex's json.dumps takes it."""
    if isinstance(value, dict):
        return {key: plain(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [plain(item) for item in value]
    if isinstance(value, np.ndarray):
        return plain(value.tolist())
    if isinstance(value, np.generic):
        return plain(value.item())
    if isinstance(value, bytes):
        return value.decode("utf-8", "replace")
    return value


class _NotFinite(ValueError):
    """An answer holds NaN or infinity, which JSON cannot carry."""


PLAIN_TYPES = (str, int, bool, type(None))


def _plain_finite(value):
    """plain(value), raising _NotFinite for a NaN or an infinity: one walk of the answer,
    cheapest for the values to_answer returns most (dicts, lists, floats, numpy arrays)."""
    kind = type(value)
    if kind is float:
        if value - value != 0.0:  # NaN or infinity: both give NaN
            raise _NotFinite()
        return value
    if kind in PLAIN_TYPES:
        return value
    if kind is dict:
        return {key: _plain_finite(item) for key, item in value.items()}
    if kind is list or kind is tuple:
        return [_plain_finite(item) for item in value]
    if kind is np.ndarray and value.dtype.kind in "biuf":
        if value.dtype.kind == "f" and not np.isfinite(value).all():
            raise _NotFinite()
        return value.tolist()
    converted = plain(value)  # the rare kinds: numpy scalars, bytes, subclasses
    return value if converted is value else _plain_finite(converted)


# --- once_per_thread's memory: what each thread has entered ------------------------------
# sess.__enter__() cannot serve here: it works once per Session, not once per thread
# ("Session context managers are not re-entrant"), while graph.as_default() and
# sess.as_default() can be entered on every thread.


def _strategies(sess):
    """The two strategies for `sess`, named as Model's attributes: each calls
    fn(sess, arg) with sess.graph and sess as this thread's defaults. Closures over sess,
    not methods: on Python 3.6 a bound method's call and its attribute look-ups cost more
    than once_per_thread's whole check (about 145 ns over a bare call as a method, 80 ns
    as a closure). One argument, not *args and **kwargs: packing them would cost more than
    the check too."""
    graph, this_thread = sess.graph, _this_thread

    def _run_per_request(fn, arg=None):
        with graph.as_default(), sess.as_default():
            return fn(sess, arg)

    def _run_once_per_thread(fn, arg=None):
        if this_thread.session is not sess:
            enter_defaults_for_this_thread(sess)
        return fn(sess, arg)

    return _run_per_request, _run_once_per_thread


class _ThisThread(threading.local):
    session = None  # the session this thread has entered as its default
    entered = None  # the _EnteredDefaults that keeps it entered


_this_thread = _ThisThread()


def enter_defaults_for_this_thread(sess):
    if _this_thread.entered is not None:
        _this_thread.entered.close()  # another session's, entered earlier on this thread
    _this_thread.entered = _EnteredDefaults(sess)
    _this_thread.session = sess


_EXITING = []  # holds True once the interpreter exits


@atexit.register
def _leave_this_threads_defaults():
    """At exit, while TensorFlow is whole, the main thread leaves what it entered (Python
    3.6 would otherwise close TensorFlow's context generators once `sys` is gone, and
    print errors); the threads still running then leave theirs alone."""
    if _this_thread.entered is not None:
        _this_thread.entered.close()
    _EXITING.append(True)


class _EnteredDefaults:
    """sess.graph and sess entered as this thread's defaults, kept until the thread ends."""

    def __init__(self, sess):
        self.contexts = [sess.graph.as_default(), sess.as_default()]
        for context in self.contexts:
            context.__enter__()

    def close(self, _exiting=_EXITING, _suppress=contextlib.suppress):
        if not _exiting:  # at interpreter exit, modules (TensorFlow's too) are torn down
            for context in reversed(self.contexts):
                with _suppress(Exception):  # see __del__
                    context.__exit__(None, None, None)
        self.contexts = []

    # A thread's locals are released by the thread itself as it ends, after TensorFlow's
    # own per-thread stacks are gone: closing here just finishes the contexts quietly
    # instead of letting the garbage collector close them and print errors. (The defaults
    # above hold what close needs even once Python 3.6's exit has set module globals to
    # None.)
    __del__ = close


# --- server-side batching -----------------------------------------------------------------


class BatchError(RuntimeError):
    """This caller's batch failed (the cause is chained) or never ran in time."""


class _Waiting:
    """One caller's example in the queue, and what it is handed back.

    `woken` is a bare lock, held from the start and released once, by whoever hands this
    caller its outputs or the lead: the caller waits by acquiring it and wakes straight
    into its own code (a threading.Event's waiter must then also take the Event's lock)."""

    __slots__ = ("example", "key", "woken", "lead", "done", "outputs", "error", "alone")

    def __init__(self, example):
        self.example = example
        # Examples batch together when their inputs' names and shapes match (an input's
        # dtype is its tensor's, whatever the caller sent).
        self.key = tuple(sorted((name, a.shape) for name, a in example.items()))
        self.woken = threading.Lock()
        self.woken.acquire()
        self.lead = self.done = False
        self.outputs = self.error = None
        self.alone = False  # error came from a run of this example alone: it is its own


class Batcher:
    """Concurrent callers' examples run together: one sess.run for up to max_batch_size.

    No thread of its own: the caller that finds the model free leads. With `interval` 0
    it takes what is queued. With a positive `interval` it first waits, at most `interval`
    from when the model is free, for as many callers as the previous batch held (the
    first batch: max_batch_size): under steady load the threads of one batch come back
    together and every batch fills, while a lone caller waits once, then never, since its
    batch held one. It runs the oldest examples of one shape, hands each caller its rows,
    and passes the lead to the oldest caller still queued. Callers wait on locks of their
    own (_Waiting.woken), never poll, and at most `wait_limit` seconds. Examples of other
    shapes wait for a batch of their own. A batch that fails with one of `isolate` (errors
    one example can cause) runs again one example at a time: one bad example fails alone.
    """

    def __init__(self, run_examples, max_batch_size, interval=0.0,
                 wait_limit=BATCH_WAIT_LIMIT_S, isolate=()):
        self.run_examples = run_examples
        self.isolate = isolate
        self.max_batch_size = max_batch_size
        self.interval = interval
        self.wait_limit = wait_limit
        self.batches = self.examples = 0  # counts, for the benchmark's mean batch size
        self._lock = threading.Lock()
        self._grown = threading.Condition(self._lock)  # a leader waits here for more
        self._queue = []  # oldest first
        self._leading = False
        self._expected = max_batch_size  # callers a batch waits for: the last batch's size
        atexit.register(self.report)

    def report(self):
        """One line for the logs (and the benchmark) when the process ends, in one write:
        the workers share stdout, and unbuffered (Cortex sets PYTHONUNBUFFERED) print()
        writes the newline apart, where another worker's line can land first."""
        if self.batches:
            sys.stdout.write("tf_session: server_side_batching ran %d requests in %d batches "
                             "(mean %.2f, max_batch_size %d)\n" % (
                                 self.examples, self.batches, self.examples / self.batches,
                                 self.max_batch_size))
            sys.stdout.flush()

    def submit(self, example):
        """The outputs for this example, run in a batch with others'."""
        me = _Waiting(example)
        with self._lock:
            self._queue.append(me)
            lead = not self._leading
            self._leading = True
            if len(self._queue) >= self._expected:
                self._grown.notify()  # the leader may have its batch (one wake, not one each)
        if not lead:
            lead = self._wait(me)
        if lead:
            try:
                while not me.done:
                    self._run_one_batch(me)
            finally:
                self._pass_the_lead()  # whatever happened, the queue is never left leaderless
        if me.error is not None and me.alone:
            raise me.error
        if me.error is not None:
            raise BatchError("the batch of this request failed: %s" % me.error) from me.error
        return me.outputs

    def _wait(self, me):
        """True when this caller was handed the lead, False when its outputs are in."""
        if not me.woken.acquire(timeout=self.wait_limit):
            with self._lock:
                if not (me.done or me.lead):
                    if me in self._queue:  # else it is in a batch that runs on, stuck
                        self._queue.remove(me)
                    raise BatchError("no batch ran this request within %g s: the model is "
                                     "stuck or far too slow" % self.wait_limit)
        return not me.done

    def _run_one_batch(self, leader):
        with self._lock:
            # The wait counts from now, when the model is free: a caller queued while
            # another batch ran has waited for the model, not for this batch to fill.
            first, deadline = self._queue[0], time.monotonic() + self.interval
            while True:
                batch = [w for w in self._queue if w.key == first.key][:self.max_batch_size]
                remaining = deadline - time.monotonic()
                if len(batch) >= self._expected or remaining <= 0:
                    break
                self._grown.wait(remaining)
            for waiting in batch:
                self._queue.remove(waiting)
            self._expected = len(batch)
            self.batches += 1
            self.examples += len(batch)
        try:
            outputs = self.run_examples([w.example for w in batch])
        except self.isolate as e:
            if len(batch) == 1:
                batch[0].error, batch[0].alone = e, True
            else:
                self._run_alone(batch)
        except Exception as e:
            log.exception("a batch of %d examples failed; each of its requests gets the "
                          "error", len(batch))
            for waiting in batch:
                waiting.error = e
        else:
            for waiting, rows in zip(batch, outputs):
                waiting.outputs = rows
        for waiting in batch:
            waiting.done = True
            if waiting is not leader:  # the leader is awake; the others wait on their locks
                waiting.woken.release()

    def _run_alone(self, batch):
        """Each example of a failed batch on its own: the valid ones get their outputs, the
        bad ones their own error."""
        for waiting in batch:
            waiting.alone = True
            try:
                waiting.outputs = self.run_examples([waiting.example])[0]
            except self.isolate as e:
                waiting.error = e
            except Exception as e:
                log.exception("an example of a failed batch failed on its own too")
                waiting.error = e

    def _pass_the_lead(self):
        with self._lock:
            if self._queue:
                self._queue[0].lead = True
                self._queue[0].woken.release()
            else:
                self._leading = False
