"""Returns what the payload's "kind" asks for, to show each return conversion."""

from starlette.responses import JSONResponse, Response


class PythonPredictor:
    def __init__(self, config):
        pass

    def predict(self, payload):
        kind = payload["kind"]
        if kind == "bytes":
            return b"\x00\x01raw"
        if kind == "str":
            return "plain text"
        if kind == "dict":
            return {"a": [1, 2.5, None, True]}
        if kind == "list":
            return [1, "two"]
        if kind == "none":
            return None
        if kind == "response":
            return Response("a teapot", status_code=418, media_type="application/x-teapot",
                            headers={"x-custom": "yes"})
        if kind == "bad_request":
            return JSONResponse({"error": "sepal_length is missing"}, status_code=400)
        if kind == "unserializable":
            return {"value": object()}
        if kind == "raise":
            raise ValueError("secret detail 12345")
        raise KeyError(kind)
