"""The model's own figures, in this process, without HTTP.

- Its rate: ``PythonPredictor(config)`` built as a Cortex worker builds it
  (cortex_tools.project.build), then N threads call ``predict(sample)`` until a shared
  deadline: calls/s, and CPU per call. The user's preprocessing is in it: predict is all
  we call.
- The strategy cost per call, when the predictor holds a ``tf_session.Model`` (as any
  attribute): each of tf_session's strategies around a no-op, against
  ``graph.as_default()`` alone and the seed page's enter-once flag.
- How predict reaches that Model (model_use): through Model.predict, which batches, or
  by driving the session itself (run_with_defaults, run), which batches nothing.

The timing itself is bench.timing's, which the image stack runs too (its own figures:
cortex_tools.image_stack.figures).
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from cortex_tools import project
from cortex_tools.bench.timing import (  # noqa: F401 (re-exported: the bench's names)
    SeedPageFlag,
    noop,
    own_cost,
    rates,
    strategy_cost,
    tf_session_model,
)
from cortex_tools.runtime.config import ApiSpec
from cortex_tools.runtime.predictor_loader import predict_arg_names


def build(spec: ApiSpec, sample: Any) -> tuple[Any, Callable[[], Any]]:
    """The predictor and a call of its predict on the sample (checked to answer < 400)."""
    from starlette.datastructures import Headers, QueryParams

    predictor = project.build(spec)
    given = {"payload": sample, "query_params": QueryParams(), "headers": Headers()}
    kwargs = {name: given[name] for name in predict_arg_names(predictor)}
    answer = predictor.predict(**kwargs)
    if getattr(answer, "status_code", 200) >= 400:  # a Starlette Response carries its own
        raise ValueError(f"predict(sample.json) answered {answer.status_code}: "
                         f"{answer.body[:300]!r}")
    return predictor, lambda: predictor.predict(**kwargs)


def measure(spec: ApiSpec, sample: Any, *, threads: tuple[int, ...], seconds: float,
            cost_repeats: int) -> dict[str, Any]:
    predictor, call = build(spec, sample)
    found: dict[str, Any] = {"rate": rates(call, threads, seconds)}
    if (model := tf_session_model(predictor)) is not None:
        found["strategies"] = list(sys.modules[type(model).__module__].SESSION_STRATEGIES)
        found["model_use"] = model_use(model, call)
        with ThreadPoolExecutor(1) as thread:  # not the main thread, as Cortex's pool
            found["strategy_cost"] = thread.submit(
                strategy_cost, model, found["strategies"], cost_repeats).result()
            found["own_cost"] = thread.submit(own_cost, model, call, cost_repeats).result()
    return found


# tf_session.Model's ways in for the user's code: only predict batches; the others run
# what the caller hands them, one request's runs at a time.
MODEL_METHODS = ("predict", "run_with_defaults", "run", "evaluate")


def model_use(model: Any, call: Callable[[], Any]) -> str | None:
    """How one predict(sample) reaches the model: "predict" when it goes through
    Model.predict (which batches), else the first of the other MODEL_METHODS called;
    None when it calls none of them (it runs model.sess directly)."""
    called: list[str] = []

    def watched(name: str, method: Callable[..., Any]) -> Callable[..., Any]:
        def watching(*args: Any, **kwargs: Any) -> Any:
            called.append(name)
            return method(*args, **kwargs)
        return watching

    # Instance attributes shadow the class's methods for the user's code and for the
    # Model's own calls alike; any already set on the instance are put back after.
    own = {name: vars(model)[name] for name in MODEL_METHODS if name in vars(model)}
    for name in MODEL_METHODS:
        setattr(model, name, watched(name, getattr(model, name)))
    try:
        call()
    finally:
        for name in MODEL_METHODS:
            if name in own:
                setattr(model, name, own[name])
            else:
                delattr(model, name)
    if "predict" in called:
        return "predict"
    return called[0] if called else None
