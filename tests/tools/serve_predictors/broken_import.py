"""Imports a module the project does not have."""

import not_installed_anywhere  # noqa: F401


class PythonPredictor:
    def __init__(self, config):
        pass

    def predict(self, payload):
        return payload
