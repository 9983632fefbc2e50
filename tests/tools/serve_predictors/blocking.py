"""Each predict says it arrived (a file in `dir`), then waits until `dir`/release exists."""

import os
import threading
import time
from pathlib import Path


class PythonPredictor:
    def __init__(self, config):
        self.dir = Path(config["dir"])
        self.count = 0
        self.lock = threading.Lock()

    def predict(self):
        with self.lock:
            self.count += 1
            (self.dir / f"arrived-{os.getpid()}-{self.count}").touch()
        deadline = time.monotonic() + 30
        while not (self.dir / "release").exists():
            if time.monotonic() > deadline:
                raise TimeoutError("never released")
            time.sleep(0.01)
        return "released"
