"""The bench's in-process figures on the image stack (Python 3.6 syntax), with the bench's
own timing code (cortex_tools/bench/timing.py, which runs on both stacks).

    .venv-image/bin/python figures.py JOB.json OUT.json

JOB: {"spec": {...}, "sample": ..., "threads": [1, ...], "seconds": S, "repeats": R,
"batch_size": N}. The predictor is built as the image builds it; OUT gets predict's rate
at each thread count, and when the predictor holds a tf_session.Model, each strategy's
cost per call, the cost of one sess.run of the sample's example against N of them, and
predict's own cost over the bare sess.run of its example.
"""
import json
import platform
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import image_project

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "bench"))
import timing  # noqa: E402


def measure(job):
    spec = image_project.Spec(job["spec"])
    predictor = image_project.build(spec)
    kwargs = image_project.predict_kwargs(predictor, job["sample"])

    def call():
        return predictor.predict(**kwargs)

    with image_project.in_project(spec):
        answer = call()
        status = getattr(answer, "status_code", 200)
        if status >= 400:
            return {"error": "predict(sample.json) answered %d on the image stack: %r"
                             % (status, getattr(answer, "body", b"")[:300])}
        found = {"python": platform.python_version(), "tensorflow": _version("tensorflow"),
                 "numpy": _version("numpy"),
                 "rate": timing.rates(call, job["threads"], job["seconds"])}
        model = timing.tf_session_model(predictor)
        if model is not None:
            strategies = list(sys.modules[type(model).__module__].SESSION_STRATEGIES)
            with ThreadPoolExecutor(1) as thread:  # not the main thread, as Cortex's pool
                found["strategy_cost"] = thread.submit(
                    timing.strategy_cost, model, strategies, job["repeats"]).result()
                found["batch_cost"] = thread.submit(
                    timing.batch_cost, model, call, job["batch_size"], job["repeats"]).result()
                found["own_cost"] = thread.submit(
                    timing.own_cost, model, call, job["repeats"]).result()
    return found


def _version(module):
    return sys.modules[module].__version__ if module in sys.modules else None


if __name__ == "__main__":
    with open(sys.argv[1]) as f:
        result = measure(json.load(f))
    with open(sys.argv[2], "w") as f:
        json.dump(result, f)
