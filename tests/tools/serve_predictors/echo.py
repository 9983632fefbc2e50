"""Answers with everything it was given, and where and how it runs."""

import os
import threading

import localmod  # a module of the project folder: the project dir is on sys.path

# Read when the file is loaded: predictor.env and the CORTEX_* variables are already set.
ENV_AT_IMPORT = {key: value for key, value in os.environ.items()
                 if key.startswith("CORTEX_") or key in ("GREETING", "PYTHON_PATH")}


class PythonPredictor:
    def __init__(self, config):
        self.config = config
        self.init_thread = threading.get_ident()
        self.init_thread_is_main = threading.current_thread() is threading.main_thread()
        self.cwd = os.getcwd()

    def predict(self, payload, query_params, headers):
        return {
            "payload_type": type(payload).__name__,
            "payload": describe(payload),
            "query_params_type": type(query_params).__name__,
            "query": query_params.multi_items(),
            "headers_type": type(headers).__name__,
            "x_test": headers.get("x-test"),
            "thread": threading.get_ident(),
            "thread_is_main": threading.current_thread() is threading.main_thread(),
            "init_thread": self.init_thread,
            "init_thread_is_main": self.init_thread_is_main,
            "pid": os.getpid(),
            "env": ENV_AT_IMPORT,
            "cwd": self.cwd,
            "config": self.config,
            "localmod": localmod.VALUE,
        }


def describe(payload):
    if isinstance(payload, bytes):
        return payload.decode("latin-1")
    if hasattr(payload, "multi_items"):  # FormData: strings, and uploaded files
        return [[key, value if isinstance(value, str)
                 else {"filename": value.filename, "content": value.file.read().decode()}]
                for key, value in payload.multi_items()]
    return payload
