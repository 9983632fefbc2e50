"""Names its class Predictor, not PythonPredictor."""


class Predictor:
    def __init__(self, config):
        pass

    def predict(self, payload):
        return payload
