"""__init__ takes an argument Cortex does not pass, even with a default: rejected."""


class PythonPredictor:
    def __init__(self, config, debug=False):
        pass

    def predict(self, payload):
        return payload
