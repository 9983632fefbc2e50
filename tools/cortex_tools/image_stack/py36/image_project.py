"""The project as the Cortex image loads it, on the image stack (Python 3.6 syntax).

The APIs and payloads come from the local tools (`python -m cortex_tools.image_stack
specs`, one reader of the configs for both stacks); the predictor is loaded here as the
image's worker loads it: the project dir as the working folder and first on sys.path
(PYTHONPATH has /mnt/project), predictor.env in the environment with
CORTEX_THREADS_PER_WORKER, `imp.load_source("cortex_predictor", path)`, then the module's
class named PythonPredictor built with `PythonPredictor(config=...)` on this thread.
Cortex's class rules are the local tools' job (`make check`); here it only loads.
"""
import contextlib
import inspect
import json
import os
import subprocess
import sys
import warnings
from pathlib import Path

with warnings.catch_warnings():
    warnings.simplefilter("ignore", DeprecationWarning)
    import imp  # deprecated, and what the image's Cortex loads predictor.py with

TEMPLATE_ROOT = Path(__file__).resolve().parents[4]  # tools/cortex_tools/image_stack/py36


class Spec:
    """One API: what cortex_tools.image_stack.specs wrote, with config_path a Path."""

    def __init__(self, fields):
        self.__dict__.update(fields)
        self.config_path = Path(fields["config_path"])
        self.project_dir = Path(fields["project_dir"])

    def __repr__(self):
        return "Spec(%r)" % self.name


class Payload:
    def __init__(self, name, value):
        self.name, self.value = name, value


def tools_python():
    """The local tools' Python: $TEMPLATE_TOOLS_PYTHON (set by `make test`), else .venv's."""
    return os.environ.get("TEMPLATE_TOOLS_PYTHON") or str(TEMPLATE_ROOT / ".venv" / "bin" /
                                                        "python")


def load(project_dir):
    """(specs, payloads) of the project, as the local tools read them."""
    done = subprocess.run([tools_python(), "-m", "cortex_tools.image_stack", "specs",
                           str(project_dir)], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                          universal_newlines=True)
    if done.returncode != 0:
        last = (done.stderr.strip().splitlines() or ["no output"])[-1]
        raise RuntimeError("the project's APIs do not load: %s" % (
            last[len("error: "):] if last.startswith("error: ") else last))
    found = json.loads(done.stdout)
    return ([Spec(fields) for fields in found["specs"]],
            [Payload(p["name"], p["value"]) for p in found["payloads"]])


@contextlib.contextmanager
def in_project(spec, threads=None):
    """The process as the image's worker has it (working folder, sys.path, environment)."""
    old_cwd, old_path, old_env = os.getcwd(), list(sys.path), dict(os.environ)
    os.chdir(str(spec.project_dir))
    sys.path.insert(0, str(spec.project_dir))
    if spec.python_path:
        sys.path.append(spec.python_path)
    os.environ.update(spec.env)
    os.environ["CORTEX_THREADS_PER_WORKER"] = str(threads or spec.threads_per_worker)
    try:
        yield
    finally:
        os.chdir(old_cwd)
        sys.path[:] = old_path
        os.environ.clear()
        os.environ.update(old_env)


def load_class(spec):
    """The predictor module's class named PythonPredictor (imported ones count)."""
    module = imp.load_source("cortex_predictor", str(spec.project_dir / spec.predictor_path))
    found = [value for name, value in inspect.getmembers(module, inspect.isclass)
             if name == "PythonPredictor"]
    if not found:
        raise LookupError("%s defines no class PythonPredictor" % spec.predictor_path)
    return found[-1]


def build(spec, threads=None):
    """PythonPredictor(config=...) of the API, built on this thread as a worker builds it;
    `threads` stands in for the API's threads_per_worker (Cortex's local environment: 1)."""
    with in_project(spec, threads):
        return load_class(spec)(config=spec.predictor_config)


def predict_kwargs(predictor, payload):
    """predict's arguments as serve.py passes them: only those it names, of payload,
    query_params and headers (those of a JSON POST)."""
    from starlette.datastructures import Headers, QueryParams

    offered = {"payload": payload, "query_params": QueryParams(""),
               "headers": Headers({"content-type": "application/json"})}
    return {name: offered[name] for name in inspect.getfullargspec(predictor.predict).args
            if name in offered}
