"""The project's own APIs, payloads and predictors: the template tests read nothing else
(cortex*.yaml, predictor.py through Cortex's loading rules, sample.json, samples/*.json),
so they hold for whatever model the project serves.

On the local stack the tools read and build them (cortex_tools.project). On the image
stack (Python 3.6) the same tools read the configs in a process of their own and the
predictor is loaded as the image loads it (cortex_tools/image_stack/py36/image_project.py).
"""

import sys

import pytest

from tests.conftest import ROOT
from tests.stack import IMAGE_STACK

if IMAGE_STACK:
    sys.path.insert(0, str(ROOT / "tools" / "cortex_tools" / "image_stack" / "py36"))
    import image_project as project  # noqa: E402

    SPECS, PAYLOADS = project.load(ROOT)
else:
    from cortex_tools import project

    SPECS, PAYLOADS = project.api_specs(ROOT), project.payloads(ROOT)
API_IDS = ["%s:%s" % (spec.config_path.name, spec.name) for spec in SPECS]


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
