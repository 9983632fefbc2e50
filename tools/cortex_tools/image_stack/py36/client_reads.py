"""What a client reads of predict()'s return value, as Cortex 0.17's serve.py sends it
(Python 3.6 syntax: both stacks import this, so that their answers are read alike)."""
import json


def as_client_reads(answer):
    """{"status", "json"} or {"status", "text"}: a Starlette Response is sent as it is,
    bytes and str as they are, anything else through json.dumps (which may raise, a 500)."""
    body = getattr(answer, "body", None)
    if body is not None:
        status = getattr(answer, "status_code", 200)
        try:
            return {"status": status, "json": json.loads(body.decode("utf-8"))}
        except ValueError:
            return {"status": status, "text": body.decode("utf-8", "replace")}
    if isinstance(answer, bytes):
        return {"status": 200, "text": answer.decode("utf-8", "replace")}
    if isinstance(answer, str):
        return {"status": 200, "text": answer}
    return {"status": 200, "json": json.loads(json.dumps(answer))}
