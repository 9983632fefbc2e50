"""predict takes an argument Cortex does not know."""


class PythonPredictor:
    def __init__(self, config):
        pass

    def predict(self, body):
        return body
