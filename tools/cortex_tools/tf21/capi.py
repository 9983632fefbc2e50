"""ctypes bindings to the parts of TensorFlow 2.1's C API (c_api.h) that the checks use.

Only the C API runs: the library's Python bindings are never called. Import this only in
a process that has not imported and never will import the local TensorFlow (runner.py):
two TensorFlow runtimes in one process would share symbol names.
"""

from __future__ import annotations

import ctypes
from ctypes import (
    POINTER,
    Structure,
    byref,
    c_char_p,
    c_int,
    c_int64,
    c_size_t,
    c_uint64,
    c_void_p,
)
from pathlib import Path

import numpy as np

# TF_DataType (tensorflow/c/tf_datatype.h) <-> numpy
FLOAT, DOUBLE, INT32, UINT8, INT16, INT8, STRING = 1, 2, 3, 4, 5, 6, 7
COMPLEX64, INT64, BOOL, BFLOAT16, UINT16, COMPLEX128, HALF = 8, 9, 10, 14, 17, 18, 19
RESOURCE, VARIANT, UINT32, UINT64 = 20, 21, 22, 23
NUMPY_OF = {FLOAT: np.float32, DOUBLE: np.float64, INT32: np.int32, UINT8: np.uint8,
            INT16: np.int16, INT8: np.int8, COMPLEX64: np.complex64, INT64: np.int64,
            BOOL: np.bool_, UINT16: np.uint16, COMPLEX128: np.complex128, HALF: np.float16,
            UINT32: np.uint32, UINT64: np.uint64}
TYPE_OF = {np.dtype(kind): code for code, kind in NUMPY_OF.items()}

# TF_Code names, for messages
CODES = ["OK", "CANCELLED", "UNKNOWN", "INVALID_ARGUMENT", "DEADLINE_EXCEEDED", "NOT_FOUND",
         "ALREADY_EXISTS", "PERMISSION_DENIED", "RESOURCE_EXHAUSTED", "FAILED_PRECONDITION",
         "ABORTED", "OUT_OF_RANGE", "UNIMPLEMENTED", "INTERNAL", "UNAVAILABLE", "DATA_LOSS",
         "UNAUTHENTICATED"]


class TFError(RuntimeError):
    """A TF_Status that is not OK: its code name and TensorFlow's message."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(f"{code}: {message}")
        self.code, self.message = code, message


class Buffer(Structure):
    _fields_ = [("data", c_void_p), ("length", c_size_t), ("data_deallocator", c_void_p)]


class Output(Structure):
    _fields_ = [("oper", c_void_p), ("index", c_int)]


def _declare(lib: ctypes.CDLL) -> None:
    """restype/argtypes of every function used: pointers must not be cut to 32-bit ints."""
    p = c_void_p
    signatures = {
        "TF_Version": (c_char_p, []),
        "TF_NewStatus": (p, []), "TF_DeleteStatus": (None, [p]),
        "TF_GetCode": (c_int, [p]), "TF_Message": (c_char_p, [p]),
        "TF_NewBufferFromString": (POINTER(Buffer), [c_char_p, c_size_t]),
        "TF_NewBuffer": (POINTER(Buffer), []),
        "TF_DeleteBuffer": (None, [POINTER(Buffer)]),
        "TF_GetAllOpList": (POINTER(Buffer), []),
        "TF_NewGraph": (p, []), "TF_DeleteGraph": (None, [p]),
        "TF_NewImportGraphDefOptions": (p, []), "TF_DeleteImportGraphDefOptions": (None, [p]),
        "TF_ImportGraphDefOptionsSetPrefix": (None, [p, c_char_p]),
        "TF_GraphImportGraphDef": (None, [p, POINTER(Buffer), p, p]),
        "TF_GraphOperationByName": (p, [p, c_char_p]),
        "TF_OperationNumOutputs": (c_int, [p]),
        "TF_OperationOutputType": (c_int, [Output]),
        "TF_OperationOpType": (c_char_p, [p]),
        "TF_NewSessionOptions": (p, []), "TF_DeleteSessionOptions": (None, [p]),
        "TF_SetConfig": (None, [p, c_char_p, c_size_t, p]),
        "TF_NewSession": (p, [p, p, p]),
        "TF_LoadSessionFromSavedModel": (p, [p, POINTER(Buffer), c_char_p, POINTER(c_char_p),
                                             c_int, p, POINTER(Buffer), p]),
        "TF_CloseSession": (None, [p, p]), "TF_DeleteSession": (None, [p, p]),
        "TF_SessionRun": (None, [p, POINTER(Buffer), POINTER(Output), POINTER(p), c_int,
                                 POINTER(Output), POINTER(p), c_int, POINTER(p), c_int,
                                 POINTER(Buffer), p]),
        "TF_AllocateTensor": (p, [c_int, POINTER(c_int64), c_int, c_size_t]),
        "TF_DeleteTensor": (None, [p]),
        "TF_TensorType": (c_int, [p]), "TF_NumDims": (c_int, [p]),
        "TF_Dim": (c_int64, [p, c_int]), "TF_TensorByteSize": (c_size_t, [p]),
        "TF_TensorData": (p, [p]),
        "TF_StringEncodedSize": (c_size_t, [c_size_t]),
        "TF_StringEncode": (c_size_t, [c_char_p, c_size_t, p, c_size_t, p]),
        "TF_StringDecode": (c_size_t, [p, c_size_t, POINTER(p), POINTER(c_size_t), p]),
    }
    for name, (restype, argtypes) in signatures.items():
        function = getattr(lib, name)
        function.restype, function.argtypes = restype, argtypes


class Library:
    """TF 2.1's C API, loaded from the extracted wheel (the shim first, when needed)."""

    def __init__(self, c_library: Path, shim: Path | None = None) -> None:
        if shim is not None:
            ctypes.CDLL(str(shim), mode=ctypes.RTLD_GLOBAL)
        # RTLD_GLOBAL as Python's own import does: kernels registered by the framework
        # library and the C library must see one another's symbols.
        self.lib = ctypes.CDLL(str(c_library), mode=ctypes.RTLD_GLOBAL)
        _declare(self.lib)

    def version(self) -> str:
        return self.lib.TF_Version().decode()

    def call(self, name: str, *args):
        """lib.name(*args, status), raising TFError when the status is not OK."""
        status = self.lib.TF_NewStatus()
        try:
            result = getattr(self.lib, name)(*args, status)
            code = self.lib.TF_GetCode(status)
            if code != 0:
                message = (self.lib.TF_Message(status) or b"").decode("utf-8", "replace")
                raise TFError(CODES[code] if code < len(CODES) else str(code), message)
            return result
        finally:
            self.lib.TF_DeleteStatus(status)

    def op_list(self) -> bytes:
        """The serialized OpList of every op registered in TF 2.1 (TF_GetAllOpList)."""
        buffer = self.lib.TF_GetAllOpList()
        try:
            return ctypes.string_at(buffer.contents.data, buffer.contents.length)
        finally:
            self.lib.TF_DeleteBuffer(buffer)

    # --- tensors --------------------------------------------------------------------------

    def tensor(self, value: np.ndarray, dtype: int) -> int:
        """A new TF_Tensor holding `value` as TF type `dtype` (the caller deletes it)."""
        dims = (c_int64 * max(value.ndim, 1))(*value.shape)
        if dtype == STRING:
            return self._string_tensor(value, dims)
        if dtype not in NUMPY_OF:
            raise TypeError(f"feeding a tensor of TF_DataType {dtype} is not supported")
        data = np.ascontiguousarray(value, dtype=NUMPY_OF[dtype])
        handle = self.lib.TF_AllocateTensor(dtype, dims, value.ndim, data.nbytes)
        ctypes.memmove(self.lib.TF_TensorData(handle), data.ctypes.data, data.nbytes)
        return handle

    def _string_tensor(self, value: np.ndarray, dims) -> int:
        # TF 2.1's TF_STRING layout: one uint64 offset per element, then each element
        # encoded with TF_StringEncode (a varint length and the bytes).
        items = [bytes(item) for item in value.reshape(-1)]
        sizes = [self.lib.TF_StringEncodedSize(len(item)) for item in items]
        header = 8 * len(items)
        total = header + sum(sizes)
        handle = self.lib.TF_AllocateTensor(STRING, dims, value.ndim, total)
        base = self.lib.TF_TensorData(handle)
        offsets = (c_uint64 * max(len(items), 1)).from_address(base)
        position = 0
        for index, (item, size) in enumerate(zip(items, sizes, strict=True)):
            offsets[index] = position
            self.call("TF_StringEncode", item, len(item), base + header + position, size)
            position += size
        return handle

    def array(self, handle: int) -> np.ndarray:
        """A numpy copy of a TF_Tensor (bytes objects for strings)."""
        shape = tuple(self.lib.TF_Dim(handle, i) for i in range(self.lib.TF_NumDims(handle)))
        dtype = self.lib.TF_TensorType(handle)
        base, size = self.lib.TF_TensorData(handle), self.lib.TF_TensorByteSize(handle)
        if dtype == STRING:
            count = int(np.prod(shape, dtype=np.int64))
            offsets = (c_uint64 * max(count, 1)).from_address(base)
            items = np.empty(count, dtype=object)
            for index in range(count):
                start = base + 8 * count + offsets[index]
                pointer, length = c_void_p(), c_size_t()
                self.call("TF_StringDecode", start, base + size - start, byref(pointer),
                          byref(length))
                items[index] = ctypes.string_at(pointer.value or 0, length.value)
            return items.reshape(shape)
        if dtype not in NUMPY_OF:
            raise TypeError(f"fetching a tensor of TF_DataType {dtype} is not supported")
        raw = ctypes.string_at(base, size)
        return np.frombuffer(raw, dtype=NUMPY_OF[dtype]).reshape(shape).copy()


class Session:
    """A graph imported from a GraphDef and a session on it."""

    def __init__(self, library: Library, graph_def: bytes) -> None:
        self.library, self.lib = library, library.lib
        self.graph = self.lib.TF_NewGraph()
        self.session = None
        options = self.lib.TF_NewImportGraphDefOptions()
        buffer = self.lib.TF_NewBufferFromString(graph_def, len(graph_def))
        try:
            # As tf.compat.v1.import_graph_def(graph_def, name="") does: no prefix.
            self.lib.TF_ImportGraphDefOptionsSetPrefix(options, b"")
            library.call("TF_GraphImportGraphDef", self.graph, buffer, options)
        finally:
            self.lib.TF_DeleteBuffer(buffer)
            self.lib.TF_DeleteImportGraphDefOptions(options)

    def start(self, config: bytes = b"") -> None:
        """The session, created apart from the import so that errors tell the stages apart."""
        options = self.lib.TF_NewSessionOptions()
        try:
            if config:
                self.library.call("TF_SetConfig", options, config, len(config))
            self.session = self.library.call("TF_NewSession", self.graph, options)
        finally:
            self.lib.TF_DeleteSessionOptions(options)

    def output(self, name: str) -> Output:
        op_name, _, index = name.partition(":")
        operation = self.lib.TF_GraphOperationByName(self.graph, op_name.encode())
        if not operation:
            raise KeyError(f"the graph has no operation {op_name}")
        index_value = int(index or 0)
        if index_value >= self.lib.TF_OperationNumOutputs(operation):
            raise KeyError(f"operation {op_name} has no output {index_value}")
        return Output(operation, index_value)

    def operation(self, name: str) -> int:
        operation = self.lib.TF_GraphOperationByName(self.graph, name.encode())
        if not operation:
            raise KeyError(f"the graph has no operation {name}")
        return operation

    def run(self, feeds: dict[str, np.ndarray], fetches: list[str],
            targets: list[str] = ()) -> list[np.ndarray]:
        """sess.run: feeds by tensor name (cast to the tensor's type, as Session.run casts
        a fed value), tensors fetched by name, operations run as targets."""
        inputs = [self.output(name) for name in feeds]
        values = [self.library.tensor(np.asarray(value), self.lib.TF_OperationOutputType(out))
                  for out, value in zip(inputs, feeds.values(), strict=True)]
        outputs = [self.output(name) for name in fetches]
        target_ops = [self.operation(name) for name in targets]
        results = (c_void_p * max(len(outputs), 1))()
        try:
            self.library.call(
                "TF_SessionRun", self.session, None,
                (Output * max(len(inputs), 1))(*inputs), (c_void_p * max(len(values), 1))(*values),
                len(inputs), (Output * max(len(outputs), 1))(*outputs), results, len(outputs),
                (c_void_p * max(len(target_ops), 1))(*target_ops), len(target_ops), None)
            return [self.library.array(results[i]) for i in range(len(outputs))]
        finally:
            for value in values:
                self.lib.TF_DeleteTensor(value)
            for i in range(len(outputs)):
                if results[i]:
                    self.lib.TF_DeleteTensor(results[i])

    def close(self) -> None:
        if self.session:
            self.library.call("TF_CloseSession", self.session)
            self.library.call("TF_DeleteSession", self.session)
            self.session = None
        if self.graph:
            self.lib.TF_DeleteGraph(self.graph)
            self.graph = None


def load_saved_model_c(library: Library, export_dir: str, tags: list[str]) -> None:
    """TF_LoadSessionFromSavedModel, the C++ loader (LoadSavedModel): raises TFError when it
    rejects the model. Not the image's path (see load.py); kept to show the difference."""
    lib = library.lib
    graph, options = lib.TF_NewGraph(), lib.TF_NewSessionOptions()
    tag_array = (c_char_p * len(tags))(*(tag.encode() for tag in tags))
    try:
        session = library.call("TF_LoadSessionFromSavedModel", options, None,
                               export_dir.encode(), tag_array, len(tags), graph, None)
        library.call("TF_CloseSession", session)
        library.call("TF_DeleteSession", session)
    finally:
        lib.TF_DeleteSessionOptions(options)
        lib.TF_DeleteGraph(graph)
