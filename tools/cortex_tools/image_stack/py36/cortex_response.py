"""predict()'s return value as Cortex 0.17's serve.py sends it (Python 3.6 syntax: the
project's runtime and the Cortex-like server on the image stack both answer with it)."""
import json

from starlette.responses import Response


def to_response(prediction):
    """``predict``'s return value as Cortex sends it. Raises if it is not JSON-able."""
    if isinstance(prediction, bytes):
        return Response(content=prediction, media_type="application/octet-stream")
    if isinstance(prediction, str):
        return Response(content=prediction, media_type="text/plain")
    if isinstance(prediction, Response):
        return prediction
    return Response(content=json.dumps(prediction), media_type="application/json")
