"""Answers like the template's predictor.py, without a model: for the curl scripts' tests."""

from starlette.responses import JSONResponse

FEATURES = ("sepal_length", "sepal_width", "petal_length", "petal_width")


class PythonPredictor:
    def __init__(self, config):
        self.label = config.get("label", "setosa")

    def predict(self, payload):
        if not isinstance(payload, dict) or not all(
                isinstance(payload.get(name), (int, float)) for name in FEATURES):
            return JSONResponse({"error": "expected numbers for " + ", ".join(FEATURES)},
                                status_code=400)
        return {"label": self.label, "probabilities": {self.label: 1.0}}
