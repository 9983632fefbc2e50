"""Every bound the project's predictor.py states on a payload field holds: for each field of
its FIELDS, sample.json with that field (or the first item inside it) just past one of its
reader's bounds gets a 4xx naming the field, and sample.json right after still answers.
The bounds are read off the readers (tf_session's readers expose them), so this holds for
whatever fields the project has."""

import base64
import copy
import struct
import sys

import numpy as np
import pytest

import tf_session
from tests.template.answers import plain_answer
from tests.template.conftest import PAYLOADS, SPECS
from tests.template.test_bad_input import error_of

SAMPLE = PAYLOADS[0].value
SPEC = SPECS[0]


def past_bounds(reader, valid):
    """(description, value) pairs just outside each bound `reader` states, made from a
    value it takes (`valid`)."""
    if isinstance(reader, tf_session.optional):
        return past_bounds(reader.reader, valid)
    if isinstance(reader, tf_session.number):
        return ([(f"above maximum {reader.maximum}",
                  float(np.nextafter(float(reader.maximum), np.inf)))]
                if reader.maximum is not None else []) + (
            [(f"below minimum {reader.minimum}",
              float(np.nextafter(float(reader.minimum), -np.inf)))]
            if reader.minimum is not None else [])
    if isinstance(reader, tf_session.integer):
        return [("above maximum", reader.maximum + 1), ("below minimum", reader.minimum - 1)]
    if isinstance(reader, tf_session.image):
        return [(f"wider than {reader.max_width}", png_stating(reader.max_width + 1, 1)),
                (f"taller than {reader.max_height}", png_stating(1, reader.max_height + 1))]
    if isinstance(reader, tf_session.base64_bytes):
        return [(f"over {reader.max_bytes} bytes",
                 base64.b64encode(b"\0" * (reader.max_bytes + 1)).decode())]
    if isinstance(reader, tf_session.string):
        cases = [(f"over {reader.max_length} characters", "x" * (reader.max_length + 1))]
        if reader.min_length > 0:
            cases.append((f"under {reader.min_length} characters",
                          "x" * (reader.min_length - 1)))
        return cases
    if isinstance(reader, tf_session.array) and isinstance(valid, list) and valid:
        cases = [("item 0 " + name, [value] + valid[1:])
                 for name, value in past_bounds(reader.item, valid[0])]
        if reader.max_length < 100000:
            cases.append((f"over {reader.max_length} items",
                          (valid * (reader.max_length + 1))[:reader.max_length + 1]))
        if reader.min_length > 0:
            cases.append((f"under {reader.min_length} items", valid[:reader.min_length - 1]))
        return cases
    return []


def png_stating(width, height):
    """The head of a PNG file stating width x height: all that image() reads."""
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    head = b"\x89PNG\r\n\x1a\n" + struct.pack(">I", 13) + b"IHDR" + ihdr + b"\0" * 4
    return base64.b64encode(head).decode()


def fields_of(predictor):
    """predictor.py's FIELDS: {name: reader}."""
    fields = getattr(sys.modules[type(predictor).__module__], "FIELDS", None)
    if not isinstance(fields, dict):
        pytest.skip("predictor.py has no FIELDS (it reads its payload itself)")
    return fields


def cases(predictor):
    found = []
    for name, reader in fields_of(predictor).items():
        if isinstance(SAMPLE, dict) and name in SAMPLE:
            for description, value in past_bounds(reader, SAMPLE[name]):
                payload = copy.deepcopy(SAMPLE)
                payload[name] = value
                found.append((name, description, payload))
    return found


def test_each_field_just_past_each_bound_gets_a_4xx_naming_the_field(predictors):
    predictor = predictors(SPEC)
    found = cases(predictor)
    assert found or not any(past_bounds(r, None) for r in fields_of(predictor).values())
    expected = plain_answer(predictor.predict(SAMPLE))
    for name, description, payload in found:
        message = error_of(predictor.predict(payload))
        assert "field " + name in message, (name, description, message)
        assert plain_answer(predictor.predict(SAMPLE)) == expected
