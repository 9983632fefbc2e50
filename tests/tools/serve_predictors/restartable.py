"""Shows each build of a worker's predictor, for the restart tests.

Each __init__ leaves `dir`/init-<pid>-<main|not-main> (the thread it ran on). While
`dir`/hold exists it then waits (at most 30 s) for `dir`/release, as a slow model load
would: a restarted worker can be held in __init__ while the others serve.
"""

import os
import threading
import time
from pathlib import Path


class PythonPredictor:
    def __init__(self, config):
        folder = Path(config["dir"])
        self.init_thread_is_main = threading.current_thread() is threading.main_thread()
        where = "main" if self.init_thread_is_main else "not-main"
        (folder / f"init-{os.getpid()}-{where}").touch()
        deadline = time.monotonic() + 30
        while (folder / "hold").exists() and not (folder / "release").exists():
            if time.monotonic() > deadline:
                raise TimeoutError("never released")
            time.sleep(0.01)

    def predict(self):
        return {"pid": os.getpid(), "init_thread_is_main": self.init_thread_is_main,
                "thread_is_main": threading.current_thread() is threading.main_thread()}
