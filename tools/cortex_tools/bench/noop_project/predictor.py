"""A predictor that does nothing: what the runtime alone costs per request."""

ANSWER = {"label": "noop"}


class PythonPredictor:
    def __init__(self, config):
        pass

    def predict(self, payload):
        return ANSWER
