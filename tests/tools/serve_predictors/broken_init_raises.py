"""__init__ raises, as it would with a model that is not where the config says."""


class PythonPredictor:
    def __init__(self, config):
        raise FileNotFoundError("no model at " + config["where"])

    def predict(self, payload):
        return payload
