"""Cortex 0.17's API schema (Python predictor) as JSON Schema, checked by jsonschema.

Every key, type, default and bound of ../shared/cortex-0.17.md section 5 is here, as read
from Cortex v0.17.1 (pkg/types/spec/validations.go). `description` is the "what is
allowed" text of every message about that key. Rules JSON Schema cannot say are a few
`x-` keywords below (quantities, durations, surge values, docker images, reserved env
names, string keys); rules that span fields are in rules.py.

Cortex is stricter than JSON Schema about numbers: an integer field refuses 2.0, and a
field read as a string refuses a number unless Cortex casts it (cpu, max_surge). The
type checker and the `type` lists below follow that.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

from jsonschema import Draft202012Validator, ValidationError, validators

from cortex_tools import CORTEX_VERSION

from .messages import kind, show
from .units import (
    INT32_MAX,
    format_duration,
    number_text,
    parse_duration,
    parse_quantity,
    parse_surge,
)

INT64_MAX = 2**63 - 1


def _integer(minimum: int, maximum: int, allowed: str, **extra: Any) -> dict[str, Any]:
    return {"type": "integer", "minimum": minimum, "maximum": maximum, "description": allowed,
            **extra}


def _section(allowed: str, properties: dict[str, Any], **extra: Any) -> dict[str, Any]:
    return {"type": "object", "description": allowed, "additionalProperties": False,
            "properties": properties, **extra}


def _surge(default: str) -> dict[str, Any]:
    return {"type": ["string", "integer"], "x-surge": True, "default": default,
            "description": f"an integer >= 0 or a percentage from 0% to 100%; default {default}"}


API_SCHEMA: dict[str, Any] = _section(
    "an API: a mapping with name, predictor and optional sections",
    required=["name", "predictor"],
    properties={
        "name": {
            "type": "string", "maxLength": 42,
            "pattern": r"^[a-z]([-a-z0-9]*[a-z0-9])?$", "title": "a DNS-1035 label",
            "description": "lowercase letters, digits and '-', starting with a letter and "
                           "not ending with '-', at most 42 characters",
        },
        "endpoint": {
            # Cortex's rules in one pattern: only these characters, no "//", not "/" alone.
            "type": "string", "maxLength": 1000,
            "pattern": r"^/?[A-Za-z0-9_.-]+(/[A-Za-z0-9_.-]+)*/?$", "title": "a URL path",
            "description": "a URL path such as /iris: letters, digits, '_', '-', '.' and "
                           "single '/'; default /<name>",
        },
        "local_port": _integer(1, 65535, "an integer from 1 to 65535; default 8888",
                               default=8888),
        "predictor": _section(
            "a mapping with at least type and path",
            required=["type", "path"],
            properties={
                "type": {"type": "string", "enum": ["python", "tensorflow", "onnx"],
                         "description": "python, tensorflow or onnx"},
                "path": {"type": "string", "minLength": 1,
                         "description": "a Python file in the project, relative to the "
                                        "config file"},
                "model": {"type": "string", "minLength": 1,
                          "description": "an s3:// path; tensorflow and onnx predictors only"},
                "signature_key": {"type": "string", "minLength": 1,
                                  "description": "a signature name; tensorflow only"},
                "tensorflow_serving_image": {"type": "string", "x-docker-image": CORTEX_VERSION,
                                             "description": "a docker image; tensorflow only"},
                "python_path": {"type": "string",
                                "description": "a folder in the project, relative to the "
                                               "config file; default: the project folder"},
                "image": {"type": "string", "x-docker-image": CORTEX_VERSION,
                          "description": f"a docker image such as cortexlabs/python-predictor-"
                                         f"cpu:{CORTEX_VERSION}; default: by compute.gpu"},
                "config": {"type": "object", "x-string-keys": True, "default": {},
                           "description": "a mapping with string keys; default {}"},
                "env": {
                    "type": "object", "default": {}, "x-reserved-prefix": "CORTEX_",
                    "x-string-keys": True,
                    "description": "a mapping of variable names to string values; default {}",
                    "additionalProperties": {
                        "type": "string",
                        "description": 'a string: quote numbers and booleans, e.g. "true"',
                    },
                },
            },
        ),
        "monitoring": _section(
            "a mapping with model_type and an optional key, or null",
            type=["object", "null"], default=None, required=["model_type"],
            properties={
                "model_type": {"type": "string", "enum": ["classification", "regression"],
                               "description": "classification or regression"},
                "key": {"type": "string", "minLength": 1,
                        "description": "the JSON key of the response value to monitor"},
            },
        ),
        "compute": _section(
            "a mapping with cpu, mem and gpu",
            properties={
                "cpu": {"type": ["string", "number", "null"], "x-quantity": {"minimum": "20m"},
                        "default": "200m",
                        "description": "a quantity of at least 20m, such as 200m, 1 or 0.5; "
                                       "default 200m"},
                "mem": {"type": ["string", "null"], "x-quantity": {"minimum": "20Mi"},
                        "default": None,
                        "description": "a quantity of at least 20Mi, written as a string such "
                                       "as 500Mi or 1G; default: none"},
                "gpu": _integer(0, INT64_MAX, "an integer >= 0; default 0", default=0),
            },
        ),
        "autoscaling": _section(
            "a mapping of autoscaling settings",
            properties={
                "min_replicas": _integer(1, INT32_MAX, "an integer >= 1; default 1", default=1),
                "max_replicas": _integer(1, INT32_MAX, "an integer >= 1; default 100",
                                         default=100),
                "init_replicas": _integer(1, INT32_MAX,
                                          "an integer >= 1; default: min_replicas"),
                "workers_per_replica": _integer(1, 20, "an integer from 1 to 20; default 1",
                                                default=1),
                "threads_per_worker": _integer(1, INT32_MAX, "an integer >= 1; default 1",
                                               default=1),
                "target_replica_concurrency": {
                    "type": "number", "exclusiveMinimum": 0,
                    "description": "a number > 0; default: workers_per_replica x "
                                   "threads_per_worker",
                },
                "max_replica_concurrency": _integer(
                    1, 65535, "an integer from 1 to 65535; default 1024", default=1024),
                "window": {
                    "type": "string", "x-duration": {"minimum": "10s", "multipleOf": "10s"},
                    "default": "60s",
                    "description": "a duration of at least 10s and a multiple of 10s, such "
                                   "as 60s or 1m30s; default 60s",
                },
                "downscale_stabilization_period": {
                    "type": "string", "x-duration": {"minimum": "0s"}, "default": "5m",
                    "description": "a duration >= 0s, such as 5m or 1m30s; default 5m",
                },
                "upscale_stabilization_period": {
                    "type": "string", "x-duration": {"minimum": "0s"}, "default": "1m",
                    "description": "a duration >= 0s, such as 1m or 90s; default 1m",
                },
                "max_downscale_factor": {
                    "type": "number", "minimum": 0, "exclusiveMaximum": 1, "default": 0.75,
                    "description": "a number >= 0 and < 1; default 0.75",
                },
                "max_upscale_factor": {
                    "type": "number", "exclusiveMinimum": 1, "default": 1.5,
                    "description": "a number > 1; default 1.5",
                },
                "downscale_tolerance": {
                    "type": "number", "minimum": 0, "exclusiveMaximum": 1, "default": 0.05,
                    "description": "a number >= 0 and < 1; default 0.05",
                },
                # Cortex 0.17 bounds this one below only (the docs table says < 1 too).
                "upscale_tolerance": {
                    "type": "number", "minimum": 0, "default": 0.05,
                    "description": "a number >= 0; default 0.05",
                },
            },
        ),
        "update_strategy": _section(
            "a mapping with max_surge and max_unavailable",
            properties={"max_surge": _surge("25%"), "max_unavailable": _surge("25%")},
        ),
    },
)


# --- the x- keywords: each yields errors whose message is complete ---------------------


def _is_number_or_text(value: Any) -> bool:
    return isinstance(value, (str, int, float)) and not isinstance(value, bool)


def _quantity(validator, rule, instance, schema) -> Iterator[ValidationError]:
    if not _is_number_or_text(instance):
        return  # `type` reports it
    try:
        quantity = parse_quantity(number_text(instance))
    except ValueError as exc:
        yield ValidationError(f"{show(instance)} is {exc} ({schema['description']})")
        return
    if quantity < parse_quantity(rule["minimum"]):
        yield ValidationError(f"{show(instance)} is less than {rule['minimum']} "
                              f"({schema['description']})")


def _duration(validator, rule, instance, schema) -> Iterator[ValidationError]:
    if not isinstance(instance, str):
        return
    allowed = schema["description"]
    try:
        seconds = parse_duration(instance)
    except ValueError as exc:
        yield ValidationError(f"{show(instance)} is {exc} ({allowed})")
        return
    if seconds < parse_duration(rule["minimum"]):
        yield ValidationError(f"{show(instance)} is less than {rule['minimum']} ({allowed})")
    elif "multipleOf" in rule and seconds % parse_duration(rule["multipleOf"]):
        step = parse_duration(rule["multipleOf"])
        nearest = format_duration(max(step, round(seconds / step) * step))
        yield ValidationError(f"{show(instance)} is not a multiple of {rule['multipleOf']}, "
                              f"e.g. {nearest} ({allowed})")


def _surge_value(validator, enabled, instance, schema) -> Iterator[ValidationError]:
    if not _is_number_or_text(instance) or isinstance(instance, float):
        return
    try:
        parse_surge(str(instance))
    except ValueError as exc:
        yield ValidationError(f"{show(instance)} is {exc} ({schema['description']})")


# A docker reference: [registry[:port]/]name[/name...][:tag][@digest], as docker's
# reference grammar has it (repository names are lowercase).
_COMPONENT = r"[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*"
_HOST = r"[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?"
_DOCKER_IMAGE = re.compile(
    rf"(?:{_HOST}(?:\.{_HOST})*(?::[0-9]+)?/)?{_COMPONENT}(?:/{_COMPONENT})*"
    r"(?::[\w][\w.-]{0,127})?"
    r"(?:@[A-Za-z][A-Za-z0-9]*(?:[-_+.][A-Za-z][A-Za-z0-9]*)*:[0-9a-fA-F]{32,})?"
)


def _docker_image(validator, version, instance, schema) -> Iterator[ValidationError]:
    if not isinstance(instance, str) or instance == "":
        return  # Cortex treats "" as "use the default image"
    allowed = schema["description"]
    if not _DOCKER_IMAGE.fullmatch(instance):
        yield ValidationError(f"{show(instance)} is not a docker image name ({allowed})")
    elif instance.startswith(("cortexlabs/", "cortexlabsdev/")):
        # Cortex's own images must match the CLI version; no tag means "latest".
        tag = instance.rpartition(":")[2] if ":" in instance else "latest"
        if not tag.startswith(version):
            yield ValidationError(f"{show(instance)} has tag {tag}, not Cortex {version} "
                                  f"(Cortex images tagged {version})")


def _reserved_prefix(validator, prefix, instance, schema) -> Iterator[ValidationError]:
    if not isinstance(instance, dict):
        return
    for name in instance:
        if isinstance(name, str) and name.startswith(prefix):
            yield ValidationError(f"names starting with {prefix} are reserved by Cortex "
                                  f"(any other variable name)", path=[name])


def _string_keys(validator, enabled, instance, schema) -> Iterator[ValidationError]:
    """Cortex passes `config` to Python as a dict; every nested mapping key is a string."""

    def walk(mapping: dict, path: list) -> Iterator[ValidationError]:
        for key, value in mapping.items():
            if not isinstance(key, str):
                yield ValidationError(f"key {show(key)} is {kind(key)} (a string key: "
                                      f'quote it, e.g. "{key}")', path=[*path, key])
            elif isinstance(value, dict):
                yield from walk(value, [*path, key])

    if isinstance(instance, dict):
        yield from walk(instance, [])


def _strict_integer(checker, instance) -> bool:
    # YAML 2.0 is a float; Cortex's integer fields refuse it, and booleans too.
    return isinstance(instance, int) and not isinstance(instance, bool)


# Also predictor.config's checker: tf_session's "integer" refuses 2.0 and booleans too.
TYPE_CHECKER = Draft202012Validator.TYPE_CHECKER.redefine("integer", _strict_integer)

Validator = validators.extend(
    Draft202012Validator,
    validators={
        "x-quantity": _quantity,
        "x-duration": _duration,
        "x-surge": _surge_value,
        "x-docker-image": _docker_image,
        "x-reserved-prefix": _reserved_prefix,
        "x-string-keys": _string_keys,
    },
    type_checker=TYPE_CHECKER,
)
API_VALIDATOR = Validator(API_SCHEMA)
