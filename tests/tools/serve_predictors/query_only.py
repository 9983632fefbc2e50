"""predict names only query_params: no payload is read, no headers passed."""


class PythonPredictor:
    def __init__(self, config):
        pass

    def predict(self, query_params):
        return {"query": dict(query_params)}
