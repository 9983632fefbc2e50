"""Builds in the first worker process only: the second finds the lock file and raises."""

import os


class PythonPredictor:
    def __init__(self, config):
        (open(os.path.join(config["dir"], f"pid-{os.getpid()}"), "w")).close()
        try:
            os.close(os.open(os.path.join(config["dir"], "lock"), os.O_CREAT | os.O_EXCL))
        except FileExistsError:
            raise RuntimeError("another worker holds the lock") from None

    def predict(self):
        return "ok"
