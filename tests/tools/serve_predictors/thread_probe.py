"""Shows how many threads run predict, by holding every call until `parties` run at once.

Each call waits on a barrier of `parties` (config): with a pool of fewer threads the
barrier times out and the call fails. Past the barrier, each call stays a moment
(`hold_s`), so that a pool of more threads would let a further call in: max_in_flight
would then exceed `parties`.
"""

import threading
import time


class PythonPredictor:
    def __init__(self, config):
        self.barrier = threading.Barrier(config["parties"], timeout=config.get("timeout_s", 10))
        self.hold_s = config.get("hold_s", 0.3)
        self.lock = threading.Lock()
        self.in_flight = 0
        self.max_in_flight = 0
        self.init_thread = threading.get_ident()

    def predict(self):
        with self.lock:
            self.in_flight += 1
            self.max_in_flight = max(self.max_in_flight, self.in_flight)
        try:
            self.barrier.wait()
            time.sleep(self.hold_s)
        finally:
            with self.lock:
                self.in_flight -= 1
        return {"thread": threading.get_ident(), "init_thread": self.init_thread,
                "max_in_flight": self.max_in_flight}
