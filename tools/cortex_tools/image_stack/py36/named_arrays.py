"""Named arrays between processes, as .npz files without pickles (Python 3.6 syntax: both
stacks read and write them).

Feeds, the local TensorFlow's results and TF 2.1's results travel as .npz files in a
check's temporary folder. String tensors (numpy object arrays of bytes) are stored as their
concatenated bytes, the lengths and the shape, so that no file is ever unpickled.
"""
import numpy as np

# "|" never occurs in a TensorFlow tensor name
_BYTES, _LENGTHS, _SHAPE = "|bytes", "|lengths", "|shape"


def save(path, arrays):
    stored = {}
    for name, value in arrays.items():
        array = as_array(value)
        if array.dtype.kind == "O":
            items = [_as_bytes(item) for item in array.reshape(-1)]
            stored[name + _BYTES] = np.frombuffer(b"".join(items), dtype=np.uint8)
            stored[name + _LENGTHS] = np.array([len(item) for item in items], dtype=np.int64)
            stored[name + _SHAPE] = np.array(array.shape, dtype=np.int64)
        else:
            stored[name] = array
    np.savez(str(path), **stored)


def load(path):
    with np.load(str(path), allow_pickle=False) as data:
        stored = {name: data[name] for name in data.files}
    arrays = {}
    for name, value in stored.items():
        if name.endswith(_BYTES):
            base = name[: -len(_BYTES)]
            ends = np.cumsum(stored[base + _LENGTHS])
            raw = value.tobytes()
            items = np.empty(len(ends), dtype=object)
            for index, end in enumerate(ends):
                start = 0 if index == 0 else ends[index - 1]
                items[index] = raw[start:end]
            arrays[base] = items.reshape(tuple(stored[base + _SHAPE]))
        elif not name.endswith((_LENGTHS, _SHAPE)):
            arrays[name] = value
    return arrays


def as_array(value):
    """A fed or fetched value as numpy holds it: strings as an object array of bytes."""
    array = np.asarray(value)
    if array.dtype.kind in "SU":
        items = np.empty(array.size, dtype=object)
        items[:] = [_as_bytes(item) for item in array.reshape(-1).tolist()]
        array = items.reshape(array.shape)
    return array


def _as_bytes(item):
    if isinstance(item, bytes):
        return item
    if isinstance(item, str):
        return item.encode("utf-8", "surrogatepass")
    if isinstance(item, (np.bytes_, np.str_)):
        return _as_bytes(item.item())
    raise TypeError("a string tensor holds %s, not bytes" % type(item).__name__)
