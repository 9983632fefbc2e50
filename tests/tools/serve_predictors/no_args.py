"""predict names nothing but self."""


class PythonPredictor:
    def __init__(self, config):
        pass

    def predict(self):
        return "called with no arguments"
