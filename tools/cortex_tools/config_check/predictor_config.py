"""predictor.config of a template predictor, checked against tf_session.py's CONFIG_SCHEMA.

jsonschema validates it, and each message's "what is allowed" is the schema's own
`description`. CONFIG_SCHEMA has one custom keyword, `x-duration`: a number of seconds or
a duration text, with the schema's minimum/maximum applying to the seconds. The text is
tf_session.parse_duration's: its pattern is mirrored in DURATION below (a test asserts
that both read the same texts alike).

Beyond the schema:
- an unknown key close to one tf_session reads is an error (a misspelling, whose setting
  would be silently ignored; tf_session.check_config refuses it at start-up, with the
  same closeness cutoff), and the only one about that key: the key it stands for is not
  also "missing"; any other key is the user's own and passes;
- a warning for server_side_batching.max_batch_size above autoscaling.threads_per_worker
  (tf_session.check_config logs the same once at start-up, and serves: batches hold at
  most threads_per_worker requests), and one when the autoscaler's target keeps batches
  from filling.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Iterator
from typing import Any

from jsonschema import Draft202012Validator, ValidationError, validators

from .machinery import Machinery
from .messages import schema_problems, show
from .problems import ApiScope
from .schema import TYPE_CHECKER

CONFIG = ("predictor", "config")
BATCHING = (*CONFIG, "server_side_batching")
MISSPELLING_CUTOFF = 0.8  # tf_session.check_config's cutoff for the same error

# tf_session.parse_duration's text, exactly: a decimal number, then ns, us, µs, ms or s.
DURATION = re.compile(r"^\s*(\d+(?:\.\d*)?|\.\d+)\s*(ns|us|\u00b5s|ms|s)\s*$")
_SECONDS = {"ns": 1e-9, "us": 1e-6, "\u00b5s": 1e-6, "ms": 1e-3, "s": 1.0}


def parse_duration(text: str) -> float | None:
    """Seconds of a duration text as tf_session.parse_duration reads it; None if not one."""
    found = DURATION.match(text)
    if not found:
        return None
    return float(found.group(1)) * _SECONDS[found.group(2)]


def _duration(validator, enabled, instance, schema) -> Iterator[ValidationError]:
    # Numbers are seconds and meet minimum/maximum themselves; texts are parsed here.
    if not enabled or not isinstance(instance, str):
        return
    allowed = schema.get("description")
    seconds = parse_duration(instance)
    if seconds is None:
        yield ValidationError(f"{show(instance)} is not a duration ({allowed})")
    elif "minimum" in schema and seconds < schema["minimum"]:
        yield ValidationError(f"{show(instance)} is too small ({allowed})")
    elif "maximum" in schema and seconds > schema["maximum"]:
        yield ValidationError(f"{show(instance)} is too large ({allowed})")


ConfigValidator = validators.extend(
    Draft202012Validator, validators={"x-duration": _duration}, type_checker=TYPE_CHECKER
)


def check(config: dict[str, Any], api: dict[str, Any], machinery: Machinery,
          scope: ApiScope) -> None:
    meant = _check_misspelt_keys(config, machinery, scope)
    errors = ConfigValidator(machinery.schema).iter_errors(config)
    for sub_path, message in schema_problems(errors, lambda _: None):
        # "is missing" for a key a misspelt one stands for: that key's error said it
        if not (sub_path and sub_path[0] in meant):
            scope.error((*CONFIG, *sub_path), message)
    _check_batching(config, api, scope)


def _check_misspelt_keys(config: dict[str, Any], machinery: Machinery,
                         scope: ApiScope) -> set[str]:
    """An error for each unknown key close to a known one; the known keys they stand for,
    marked bad, so that no later check also calls those missing."""
    known, meant = machinery.known_keys, set()
    for key in config:
        if not isinstance(key, str) or key in known:
            continue
        close = difflib.get_close_matches(key, known, n=1, cutoff=MISSPELLING_CUTOFF)
        if close:
            scope.error((*CONFIG, key), f"is not a key {machinery.path.name} reads (did you "
                        f"mean {close[0]}? name a key of your own further from its keys)")
            if close[0] not in config:
                meant.add(close[0])
                scope.bad.add((*CONFIG, close[0]))
    return meant


def _check_batching(config: dict[str, Any], api: dict[str, Any], scope: ApiScope) -> None:
    """As tf_session.check_config at start-up, where CORTEX_THREADS_PER_WORKER says the
    threads: max_batch_size requests at once need max_batch_size threads (fewer serve,
    with smaller batches: Cortex's local environment runs 1 thread per worker)."""
    batching, scaling = config.get("server_side_batching"), api.get("autoscaling")
    size_key, threads_key = (*BATCHING, "max_batch_size"), ("autoscaling", "threads_per_worker")
    if not isinstance(batching, dict) or "max_batch_size" not in batching or not isinstance(
        scaling, dict
    ) or scope.is_bad(size_key, threads_key):  # is_bad: the keys or a section above them
        return
    size, threads = batching["max_batch_size"], scaling["threads_per_worker"]
    if size > threads:  # it serves (tf_session logs it once), as in Cortex's local env
        scope.warning(size_key, f"{size} is more than autoscaling.threads_per_worker = "
                      f"{threads}: batches hold at most {threads} requests, since each of a "
                      "worker's threads brings one at a time; the API serves so (max_batch_"
                      "size <= threads_per_worker, or more threads, for full batches)")
        return
    interval = batching.get("batch_interval", 0)
    waits = not scope.is_bad((*BATCHING, "batch_interval")) and (
        parse_duration(interval) if isinstance(interval, str) else interval) > 0
    _check_target_fills_batches(size, waits, scaling, scope)


def _check_target_fills_batches(size: int, waits: bool, scaling: dict[str, Any],
                                scope: ApiScope) -> None:
    """Cortex 0.17's autoscaler asks for ceil(in-flight requests, summed over replicas and
    averaged over `window`, / target_replica_concurrency) replicas: it adds replicas until
    each holds about target_replica_concurrency requests (pkg/operator/operator/
    autoscaler.go). A worker's batch fills only with max_batch_size requests in that
    worker at once, so a replica needs max_batch_size x workers_per_replica in flight; a
    lower target keeps batches part-full (and, with batch_interval above 0, a batch often
    waits it out for requests that do not come)."""
    keys = [("autoscaling", k) for k in ("workers_per_replica", "target_replica_concurrency")]
    if scope.is_bad(*keys):
        return
    workers, target = scaling["workers_per_replica"], scaling["target_replica_concurrency"]
    needed = size * workers
    if target < needed:
        wait = " and a batch often waits out batch_interval" if waits else ""
        scope.warning(keys[1], f"{show(target)} is less than server_side_batching."
                      f"max_batch_size x workers_per_replica = {needed}: the autoscaler adds "
                      "replicas until each holds about target_replica_concurrency requests, "
                      f"so batches seldom fill{wait} (target_replica_concurrency >= {needed}, "
                      "or a smaller max_batch_size)")
