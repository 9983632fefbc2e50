"""The project's own APIs, payloads and predictors: the template tests read nothing else
(cortex*.yaml, predictor.py through Cortex's loading rules, sample.json, samples/*.json),
so they hold for whatever model the project serves.

On the local stack the tools read and build them (cortex_tools.project). On the image
stack (Python 3.6) the same tools read the configs in a process of their own and the
predictor is loaded as the image loads it (cortex_tools/image_stack/py36/image_project.py).
"""

import sys
from pathlib import Path

import pytest

from tests.conftest import ROOT
from tests.stack import IMAGE_STACK

# Why the project's APIs cannot be read (model/ holding no model yet, say): then no
# template test can run, and one line says why (pytest_collection_modifyitems) instead of
# every test failing on it.
NOT_LOADED = None
if IMAGE_STACK:
    sys.path.insert(0, str(ROOT / "tools" / "cortex_tools" / "image_stack" / "py36"))
    import image_project as project  # noqa: E402

    try:
        SPECS, PAYLOADS = project.load(ROOT)
    except RuntimeError as e:
        SPECS, PAYLOADS, NOT_LOADED = [], [], str(e)
else:
    from cortex_tools import project
    from cortex_tools.runtime.errors import ConfigError

    try:
        SPECS, PAYLOADS = project.api_specs(ROOT), project.payloads(ROOT)
    except ConfigError as e:
        SPECS, PAYLOADS = [], []
        NOT_LOADED = "the project's APIs do not load: " + project.config_error_line(e)
API_IDS = ["%s:%s" % (spec.config_path.name, spec.name) for spec in SPECS]


def pytest_collection_modifyitems(session, config, items):
    template = ROOT / "tests" / "template"
    if NOT_LOADED and any(template in Path(str(item.fspath)).parents for item in items):
        pytest.exit("no template test can run: %s" % NOT_LOADED, returncode=1)


@pytest.fixture(scope="session")
def predictors():
    """Each API's predictor, built once on this (main) thread, as a Cortex worker does."""
    built = {}

    def get(spec):
        if spec.name not in built:
            built[spec.name] = project.build(spec)
        return built[spec.name]

    return get


def build(spec, threads=None):
    """A predictor of its own, built as a worker with `threads` threads (default: the
    API's threads_per_worker) builds it."""
    return project.build(spec, threads)


def batching(spec) -> bool:
    return bool(spec.predictor_config.get("server_side_batching"))
