"""Answers what it was given, for the fuzzer: JSON as it was parsed, bytes and form data
summarised (length and digest), so that any payload gets a bounded, JSON answer."""

import hashlib


class PythonPredictor:
    def __init__(self, config):
        pass

    def predict(self, payload):
        if isinstance(payload, bytes):
            return {"type": "bytes", "length": len(payload),
                    "sha256": hashlib.sha256(payload).hexdigest()}
        if hasattr(payload, "multi_items"):  # FormData: strings, and uploaded files
            return {"type": "form", "items": [
                [key, value if isinstance(value, str) else {"filename": value.filename,
                                                            "size": len(value.file.read())}]
                for key, value in payload.multi_items()]}
        return {"type": "json", "payload": payload}
