"""cortex_tools.config_check: one broken config per rule, valid edge cases, defaults, the CLI.

The static checks only (check_file builds nothing); the build check has its own module,
test_check_config_build.py, and the agreement of the format rules with tf_session's,
test_check_config_models.py.
"""

from __future__ import annotations

import ast
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest
from jsonschema import Draft202012Validator

from cortex_tools.config_check import Problem, Result, check_file, check_files
from cortex_tools.config_check.schema import API_SCHEMA
from cortex_tools.runtime.errors import PredictorError
from cortex_tools.runtime.predictor_loader import load_predictor_class

ROOT = Path(__file__).resolve().parents[2]
CLI = ("-m", "cortex_tools.config_check")
MARK = "# <-"  # marks the line a case expects its message on

# A template predictor: it imports from the tf_session.py beside it (the project's own).
PREDICTOR = '''from tf_session import load_model


class PythonPredictor:
    def __init__(self, config):
        self.model = load_model(config)

    def predict(self, payload):
        return payload
'''
OWN_PREDICTOR = PREDICTOR.replace("from tf_session import load_model", "load_model = dict")


def _config_schema() -> dict:
    """tf_session.py's CONFIG_SCHEMA, read as the checker reads it (importing tf_session
    would import TensorFlow): the messages quote its descriptions."""
    tree = ast.parse((ROOT / "tf_session.py").read_text())
    literals = {target.id: node.value for node in tree.body if isinstance(node, ast.Assign)
                for target in node.targets if isinstance(target, ast.Name)}
    return ast.literal_eval(literals["CONFIG_SCHEMA"])


CONFIG_SCHEMA = _config_schema()


def described(*path: str) -> str:
    """The description of predictor.config key `path` in CONFIG_SCHEMA."""
    schema = CONFIG_SCHEMA
    for key in path:
        schema = schema["properties"][key]
    return schema["description"]


MODEL = described("model")
ACCEPTED = ("a SavedModel folder (holding saved_model.pb), a frozen GraphDef file (.pb), or "
            "a TF1 checkpoint (a folder holding a `checkpoint` file, or a prefix PREFIX "
            "beside PREFIX.meta, PREFIX.index and PREFIX.data-*)")  # tf_session.ACCEPTED

# Lines 1-5: a valid API. Lines appended with 4 spaces continue `predictor`, with 2
# spaces they add a section to the API.
HEAD = """\
- name: iris
  predictor:
    type: python
    path: predictor.py
    config: {model: model, session_strategy: per_request}
"""


def api(*lines: str) -> str:
    return HEAD + "".join(line + "\n" for line in lines)


# The same API with `config` as a block: lines with 6 spaces continue `config`.
HEAD_CONFIG = HEAD.replace("    config: {model: model, session_strategy: per_request}\n",
                           "    config:\n      model: model\n      session_strategy: per_request\n")


def api_config(*lines: str) -> str:
    return HEAD_CONFIG + "".join(line + "\n" for line in lines)


MISSPELT = ("is not a key tf_session.py reads (did you mean %s? name a key of your own "
            "further from its keys)")

# The API with a checkpoint as its model: inputs and outputs are then required.
CHECKPOINT_CONFIG = HEAD_CONFIG.replace("model: model", "model: model/house.ckpt")
CHECKPOINT_FILES = {f"model/house.ckpt.{part}": part for part in
                    ("meta", "index", "data-00000-of-00001")}


@pytest.fixture
def project(tmp_path: Path):
    """A project folder with the template's predictor, a SavedModel and a package."""
    (tmp_path / "predictor.py").write_text(PREDICTOR)
    shutil.copy(ROOT / "tf_session.py", tmp_path / "tf_session.py")
    (tmp_path / "model" / "variables").mkdir(parents=True)
    (tmp_path / "model" / "saved_model.pb").write_bytes(b"pb")
    (tmp_path / "model" / "variables" / "variables.index").write_bytes(b"index")
    (tmp_path / "src").mkdir()
    (tmp_path / "src" / "helpers.py").write_text("X = 1\n")

    def write(text: str, name: str = "cortex.yaml", files: dict[str, str] | None = None) -> Path:
        for file_name, content in (files or {}).items():
            (tmp_path / file_name).parent.mkdir(parents=True, exist_ok=True)
            (tmp_path / file_name).write_text(content)
        path = tmp_path / name
        path.write_text(text)
        return path

    return write


def make_check(path: Path, strict: bool = False) -> Result:
    """`make check --no-build` on one file: its rules and the project files' (the class rules
    on each predictor, requirements.txt)."""
    (result,) = check_files([path], strict=strict, build=False)
    return result


@dataclass(frozen=True)
class Case:
    text: str  # the config; MARK ends the line the message must name
    key: str
    message: str
    files: dict[str, str] | None  # more project files
    severity: str
    api_name: str | None


def case(text, key, message, *, files=None, severity="error", api_name="iris", id):
    return pytest.param(Case(text, key, message, files, severity, api_name), id=id)


GPU2 = ("  compute: {gpu: 1}", "  autoscaling: {workers_per_replica: 2}")

BROKEN = [
    # --- name ---------------------------------------------------------------------------
    case("- predictor:  # <-\n    type: python\n    path: predictor.py\n"
         "    config: {model: model, session_strategy: per_request}\n",
         "name", "is missing (lowercase letters, digits and '-', starting with a letter and "
         "not ending with '-', at most 42 characters)", api_name=None, id="name-missing"),
    case(HEAD.replace("name: iris", "name: Iris_API  # <-"), "name",
         '"Iris_API" is not a DNS-1035 label (lowercase letters, digits and \'-\', starting '
         "with a letter and not ending with '-', at most 42 characters)",
         api_name="Iris_API", id="name-not-dns-1035"),
    case(HEAD.replace("name: iris", "name: iris-  # <-"), "name",
         '"iris-" is not a DNS-1035 label (lowercase letters, digits and \'-\', starting '
         "with a letter and not ending with '-', at most 42 characters)",
         api_name="iris-", id="name-ends-with-dash"),
    case(HEAD.replace("name: iris", "name: " + "a" * 43 + "  # <-"), "name",
         f'"{"a" * 43}" is 43 characters long (lowercase letters, digits and \'-\', '
         "starting with a letter and not ending with '-', at most 42 characters)",
         api_name="a" * 43, id="name-too-long"),
    case(HEAD.replace("name: iris", "name: 7  # <-"), "name",
         "7 is an integer (lowercase letters, digits and '-', starting with a letter and "
         "not ending with '-', at most 42 characters)", api_name=None, id="name-not-string"),
    case(HEAD + HEAD.replace("- name: iris", "- name: iris  # <-"), "name",
         '"iris" is already used by the API on line 1 (each API needs its own name)',
         id="name-duplicate"),
    # --- endpoint, local_port -------------------------------------------------------------
    case(api("  endpoint: /v1//iris  # <-"), "endpoint",
         '"/v1//iris" is not a URL path (a URL path such as /iris: letters, digits, \'_\', '
         "'-', '.' and single '/'; default /<name>)", id="endpoint-double-slash"),
    case(api("  endpoint: /  # <-"), "endpoint",
         '"/" is not a URL path (a URL path such as /iris: letters, digits, \'_\', '
         "'-', '.' and single '/'; default /<name>)", id="endpoint-root"),
    case(api("  endpoint: /predict")
         + HEAD.replace("name: iris", "name: other") + "  endpoint: predict/  # <-\n",
         "endpoint", '"/predict" is already used by the API on line 6 (each API needs its '
         "own endpoint)", api_name="other", id="endpoint-duplicate"),
    case(api("  local_port: 0  # <-"), "local_port",
         "0 is too small (an integer from 1 to 65535; default 8888)", id="local_port-zero"),
    case(api("  local_port: 65536  # <-"), "local_port",
         "65536 is too large (an integer from 1 to 65535; default 8888)",
         id="local_port-too-large"),
    case(api("  local_port: '8080'  # <-"), "local_port",
         '"8080" is a string (an integer from 1 to 65535; default 8888)',
         id="local_port-string"),
    # --- predictor ------------------------------------------------------------------------
    case("- name: iris\n  predictor:  # <-\n    path: predictor.py\n", "predictor.type",
         "is missing (python, tensorflow or onnx)", id="predictor.type-missing"),
    case(HEAD.replace("type: python", "type: pyton  # <-"), "predictor.type",
         '"pyton" is not one of the choices (python, tensorflow or onnx)',
         id="predictor.type-unknown"),
    case("- name: iris  # <-\n", "predictor",
         "is missing (a mapping with at least type and path)", id="predictor-missing"),
    case("- name: iris\n  predictor:  # <-\n    type: python\n", "predictor.path",
         "is missing (a Python file in the project, relative to the config file)",
         id="predictor.path-missing"),
    case(HEAD.replace("path: predictor.py", "path: predictr.py  # <-"), "predictor.path",
         '"predictr.py" does not exist (a file in the project, relative to the config file)',
         id="predictor.path-not-found"),
    case(HEAD.replace("path: predictor.py", "path: ../predictor.py  # <-"), "predictor.path",
         '"../predictor.py" is outside the project folder (a file in the project, relative '
         "to the config file)", id="predictor.path-outside"),
    case(HEAD.replace("path: predictor.py", "path: .hidden.py  # <-"), "predictor.path",
         "\".hidden.py\" is hidden (.hidden.py starts with '.'), and Cortex does not upload "
         "it (a file in the project, relative to the config file)",
         files={".hidden.py": PREDICTOR}, id="predictor.path-hidden"),
    case(HEAD.replace("path: predictor.py", "path: serve/predictor.py  # <-"),
         "predictor.path", '"serve/predictor.py" is left out of the upload by .cortexignore '
         "(a file in the project, relative to the config file)",
         files={"serve/predictor.py": PREDICTOR, ".cortexignore": "serve/\n"},
         id="predictor.path-cortexignored"),
    case(api("    python_path: lib  # <-"), "predictor.python_path",
         '"lib" does not exist (a folder in the project, relative to the config file)',
         id="predictor.python_path-not-found"),
    case(api("    python_path: predictor.py  # <-"), "predictor.python_path",
         '"predictor.py" is a file (a folder in the project, relative to the config file)',
         id="predictor.python_path-is-file"),
    case(api("    model: s3://bucket/model  # <-"), "predictor.model",
         "is not allowed for type python (a python predictor takes its model location from "
         "predictor.config, e.g. config: {model: s3://bucket/prefix})",
         id="predictor.model-python"),
    case(api("    signature_key: predict  # <-"), "predictor.signature_key",
         "is not allowed for type python (a python predictor picks its signature in its own "
         "code)", id="predictor.signature_key-python"),
    case(api("    tensorflow_serving_image: tensorflow/serving  # <-"),
         "predictor.tensorflow_serving_image",
         "is not allowed for type python (a python predictor runs in predictor.image)",
         id="predictor.tensorflow_serving_image-python"),
    case(api("    image: Not/An Image  # <-"), "predictor.image",
         '"Not/An Image" is not a docker image name (a docker image such as '
         "cortexlabs/python-predictor-cpu:0.17.1; default: by compute.gpu)",
         id="predictor.image-invalid"),
    case(api("    image: cortexlabs/python-predictor-cpu:0.16.0  # <-"), "predictor.image",
         '"cortexlabs/python-predictor-cpu:0.16.0" has tag 0.16.0, not Cortex 0.17.1 '
         "(Cortex images tagged 0.17.1)", id="predictor.image-cortex-version"),
    case(HEAD.replace("    config: {model: model, session_strategy: per_request}",
                      "    config: [model]  # <-"), "predictor.config",
         "is a list (a mapping with string keys; default {})", id="predictor.config-list"),
    case(api("    env:", "      CORTEX_WORKERS_PER_REPLICA: '2'  # <-"),
         "predictor.env.CORTEX_WORKERS_PER_REPLICA",
         "names starting with CORTEX_ are reserved by Cortex (any other variable name)",
         id="predictor.env-cortex-prefix"),
    case(api("    env:", "      TF_CPP_MIN_LOG_LEVEL: 2  # <-"),
         "predictor.env.TF_CPP_MIN_LOG_LEVEL",
         '2 is an integer (a string: quote numbers and booleans, e.g. "true")',
         id="predictor.env-value-not-string"),
    case(api("    env: {1: one}  # <-"), "predictor.env.1",
         'key 1 is an integer (a string key: quote it, e.g. "1")',
         id="predictor.env-key-not-string"),
    case(api("    env: [A=1]  # <-"), "predictor.env",
         "is a list (a mapping of variable names to string values; default {})",
         id="predictor.env-list"),
    # --- monitoring -----------------------------------------------------------------------
    case(api("  monitoring:", "    model_type: classifier  # <-"), "monitoring.model_type",
         '"classifier" is not one of the choices (classification or regression)',
         id="monitoring.model_type-unknown"),
    case(api("  monitoring:  # <-", "    key: label"), "monitoring.model_type",
         "is missing (classification or regression)", id="monitoring.model_type-missing"),
    case(api("  monitoring:", "    model_type: regression", "    key: ''  # <-"),
         "monitoring.key", "is empty (the JSON key of the response value to monitor)",
         id="monitoring.key-empty"),
    # --- compute --------------------------------------------------------------------------
    case(api("  compute:", "    cpu: 10m  # <-"), "compute.cpu",
         '"10m" is less than 20m (a quantity of at least 20m, such as 200m, 1 or 0.5; '
         "default 200m)", id="compute.cpu-below-20m"),
    case(api("  compute:", "    cpu: 0.01  # <-"), "compute.cpu",
         "0.01 is less than 20m (a quantity of at least 20m, such as 200m, 1 or 0.5; "
         "default 200m)", id="compute.cpu-float-below"),
    case(api("  compute:", "    cpu: one  # <-"), "compute.cpu",
         '"one" is not a quantity (a quantity of at least 20m, such as 200m, 1 or 0.5; '
         "default 200m)", id="compute.cpu-not-quantity"),
    case(api("  compute:", "    mem: 10Mi  # <-"), "compute.mem",
         '"10Mi" is less than 20Mi (a quantity of at least 20Mi, written as a string such as '
         "500Mi or 1G; default: none)", id="compute.mem-below-20Mi"),
    case(api("  compute:", "    mem: 20M  # <-"), "compute.mem",
         '"20M" is less than 20Mi (a quantity of at least 20Mi, written as a string such as '
         "500Mi or 1G; default: none)", id="compute.mem-20M-below-20Mi"),
    case(api("  compute:", "    mem: 1073741824  # <-"), "compute.mem",
         "1073741824 is an integer (a quantity of at least 20Mi, written as a string such as "
         "500Mi or 1G; default: none)", id="compute.mem-number"),
    case(api("  compute:", "    gpu: -1  # <-"), "compute.gpu",
         "-1 is too small (an integer >= 0; default 0)", id="compute.gpu-negative"),
    case(api("  compute:", "    gpu: 0.5  # <-"), "compute.gpu",
         "0.5 is a decimal number (an integer >= 0; default 0)", id="compute.gpu-fraction"),
    case(api("  compute: null  # <-"), "compute",
         "has no value (a mapping with cpu, mem and gpu)", id="compute-null"),
    # --- autoscaling ----------------------------------------------------------------------
    case(api("  autoscaling:", "    min_replicas: 0  # <-"), "autoscaling.min_replicas",
         "0 is too small (an integer >= 1; default 1)", id="autoscaling.min_replicas-zero"),
    case(api("  autoscaling:", "    max_replicas: 0  # <-"), "autoscaling.max_replicas",
         "0 is too small (an integer >= 1; default 100)", id="autoscaling.max_replicas-zero"),
    case(api("  autoscaling:", "    init_replicas: 0  # <-"), "autoscaling.init_replicas",
         "0 is too small (an integer >= 1; default: min_replicas)",
         id="autoscaling.init_replicas-zero"),
    case(api("  autoscaling:", "    min_replicas: 5  # <-", "    max_replicas: 4"),
         "autoscaling.min_replicas",
         "5 is greater than max_replicas = 4 (min_replicas <= max_replicas)",
         id="autoscaling-min-above-max"),
    case(api("  autoscaling:", "    min_replicas: 2", "    init_replicas: 1  # <-"),
         "autoscaling.init_replicas", "1 is less than min_replicas = 2 (min_replicas <= "
         "init_replicas <= max_replicas)", id="autoscaling-init-below-min"),
    case(api("  autoscaling:", "    max_replicas: 3", "    init_replicas: 4  # <-"),
         "autoscaling.init_replicas", "4 is greater than max_replicas = 3 (min_replicas <= "
         "init_replicas <= max_replicas)", id="autoscaling-init-above-max"),
    case(api("  autoscaling:", "    workers_per_replica: 21  # <-"),
         "autoscaling.workers_per_replica",
         "21 is too large (an integer from 1 to 20; default 1)",
         id="autoscaling.workers_per_replica-21"),
    case(api("  autoscaling:", "    threads_per_worker: 0  # <-"),
         "autoscaling.threads_per_worker", "0 is too small (an integer >= 1; default 1)",
         id="autoscaling.threads_per_worker-zero"),
    case(api("  autoscaling:", "    threads_per_worker: 2.0  # <-"),
         "autoscaling.threads_per_worker",
         "2.0 is a decimal number (an integer >= 1; default 1)",
         id="autoscaling.threads_per_worker-float"),
    case(api("  autoscaling:", "    target_replica_concurrency: 0  # <-"),
         "autoscaling.target_replica_concurrency",
         "0 is too small (a number > 0; default: workers_per_replica x threads_per_worker)",
         id="autoscaling.target_replica_concurrency-zero"),
    case(api("  autoscaling:", "    target_replica_concurrency: 10.5  # <-",
             "    max_replica_concurrency: 10"), "autoscaling.target_replica_concurrency",
         "10.5 is greater than max_replica_concurrency = 10 (target_replica_concurrency <= "
         "max_replica_concurrency)", id="autoscaling-target-above-max"),
    case(api("  autoscaling:  # <-", "    threads_per_worker: 11",
             "    max_replica_concurrency: 10"), "autoscaling.target_replica_concurrency",
         "defaults to workers_per_replica x threads_per_worker = 11, greater than "
         "max_replica_concurrency = 10 (target_replica_concurrency <= max_replica_concurrency)",
         id="autoscaling-default-target-above-max"),
    case(api("  autoscaling:", "    max_replica_concurrency: 65536  # <-"),
         "autoscaling.max_replica_concurrency",
         "65536 is too large (an integer from 1 to 65535; default 1024)",
         id="autoscaling.max_replica_concurrency-too-large"),
    case(api("  autoscaling:", "    window: 5s  # <-"), "autoscaling.window",
         '"5s" is less than 10s (a duration of at least 10s and a multiple of 10s, such as '
         "60s or 1m30s; default 60s)", id="autoscaling.window-below-10s"),
    case(api("  autoscaling:", "    window: 65s  # <-"), "autoscaling.window",
         '"65s" is not a multiple of 10s, e.g. 1m (a duration of at least 10s and a '
         "multiple of 10s, such as 60s or 1m30s; default 60s)",
         id="autoscaling.window-not-multiple"),
    case(api("  autoscaling:", "    window: 60  # <-"), "autoscaling.window",
         "60 is an integer (a duration of at least 10s and a multiple of 10s, such as 60s or "
         "1m30s; default 60s)", id="autoscaling.window-no-unit"),
    case(api("  autoscaling:", "    downscale_stabilization_period: -1m  # <-"),
         "autoscaling.downscale_stabilization_period",
         '"-1m" is less than 0s (a duration >= 0s, such as 5m or 1m30s; default 5m)',
         id="autoscaling.downscale_stabilization_period-negative"),
    case(api("  autoscaling:", "    upscale_stabilization_period: 1 minute  # <-"),
         "autoscaling.upscale_stabilization_period",
         '"1 minute" is not a duration (a duration >= 0s, such as 1m or 90s; default 1m)',
         id="autoscaling.upscale_stabilization_period-not-duration"),
    case(api("  autoscaling:", "    max_downscale_factor: 1  # <-"),
         "autoscaling.max_downscale_factor",
         "1 is too large (a number >= 0 and < 1; default 0.75)",
         id="autoscaling.max_downscale_factor-one"),
    case(api("  autoscaling:", "    max_upscale_factor: 1  # <-"),
         "autoscaling.max_upscale_factor", "1 is too small (a number > 1; default 1.5)",
         id="autoscaling.max_upscale_factor-one"),
    case(api("  autoscaling:", "    downscale_tolerance: 1.0  # <-"),
         "autoscaling.downscale_tolerance",
         "1.0 is too large (a number >= 0 and < 1; default 0.05)",
         id="autoscaling.downscale_tolerance-one"),
    case(api("  autoscaling:", "    upscale_tolerance: -0.01  # <-"),
         "autoscaling.upscale_tolerance", "-0.01 is too small (a number >= 0; default 0.05)",
         id="autoscaling.upscale_tolerance-negative"),
    case(api("  autoscaling:", "    threads: 4  # <-"), "autoscaling.threads",
         "unknown key (did you mean threads_per_worker?)", id="autoscaling-unknown-key"),
    # --- update_strategy ------------------------------------------------------------------
    case(api("  update_strategy:", "    max_surge: 120%  # <-"), "update_strategy.max_surge",
         '"120%" is out of range (an integer >= 0 or a percentage from 0% to 100%; default '
         "25%)", id="update_strategy.max_surge-over-100-percent"),
    case(api("  update_strategy:", "    max_surge: -1  # <-"), "update_strategy.max_surge",
         "-1 is out of range (an integer >= 0 or a percentage from 0% to 100%; default 25%)",
         id="update_strategy.max_surge-negative"),
    case(api("  update_strategy:", "    max_unavailable: ten  # <-"),
         "update_strategy.max_unavailable",
         '"ten" is not an integer or a percentage (an integer >= 0 or a percentage from 0% '
         "to 100%; default 25%)", id="update_strategy.max_unavailable-word"),
    case(api("  update_strategy:", "    max_unavailable: 1.5  # <-"),
         "update_strategy.max_unavailable",
         "1.5 is a decimal number (an integer >= 0 or a percentage from 0% to 100%; default "
         "25%)", id="update_strategy.max_unavailable-float"),
    case(api("  update_strategy:", "    max_surge: 0", "    max_unavailable: 0%  # <-"),
         "update_strategy.max_unavailable", "max_surge and max_unavailable are both 0 (at "
         "least one above 0, so a rolling update can make progress)",
         id="update_strategy-both-zero"),
    # --- the API itself -------------------------------------------------------------------
    case(api("  nmae: iris  # <-"), "nmae", "unknown key (did you mean name?)",
         id="api-unknown-key"),
    case(api("  replicas: 2  # <-"), "replicas", "unknown key (keys here: name, endpoint, "
         "local_port, predictor, monitoring, compute, autoscaling, update_strategy)",
         id="api-unknown-key-no-match"),
    # --- template-aware: predictor.config against tf_session.py's CONFIG_SCHEMA ----------
    case(HEAD.replace("session_strategy: per_request}", "session_strategy: per_thread}  # <-"),
         "predictor.config.session_strategy",
         '"per_thread" is not one of the choices (per_request or once_per_thread)',
         id="template-session_strategy-not-offered"),
    case(HEAD.replace("session_strategy: per_request}", "session_strategy: 1}  # <-"),
         "predictor.config.session_strategy",
         "1 is an integer (per_request or once_per_thread)",
         id="template-session_strategy-not-string"),
    case(HEAD.replace("config: {model: model, session_strategy: per_request}",
                      "config: {model: model}  # <-"), "predictor.config.session_strategy",
         "is missing (per_request or once_per_thread)", id="template-session_strategy-missing"),
    case(HEAD.replace("config: {model: model, session_strategy: per_request}",
                      "config: {session_strategy: per_request}  # <-"), "predictor.config.model",
         f"is missing ({MODEL})", id="template-model-missing"),
    case(api_config("      signature: ''  # <-"), "predictor.config.signature",
         f"is empty ({described('signature')})", id="template-signature-empty"),
    case(api_config("      inputs: [x]  # <-"), "predictor.config.inputs",
         f"is a list ({described('inputs')})", id="template-inputs-list"),
    case(api_config("      inputs: {x: 1}  # <-"), "predictor.config.inputs.x",
         "1 is an integer (a tensor name)", id="template-inputs-not-a-name"),
    case(api_config("      outputs: {y: ''}  # <-"), "predictor.config.outputs.y",
         "is empty (a tensor name)", id="template-outputs-empty-name"),
    # --- template-aware: server_side_batching (issue 12) ---------------------------------
    case(api_config("      server_side_batching: 8  # <-"),
         "predictor.config.server_side_batching",
         f"8 is an integer ({described('server_side_batching')})",
         id="template-batching-not-a-mapping"),
    case(api_config("      server_side_batching: {batch_interval: 2ms}  # <-"),
         "predictor.config.server_side_batching.max_batch_size",
         f"is missing ({described('server_side_batching', 'max_batch_size')})",
         id="template-batching-size-missing"),
    case(api_config("      server_side_batching: {max_batch_size: 0}  # <-"),
         "predictor.config.server_side_batching.max_batch_size",
         f"0 is too small ({described('server_side_batching', 'max_batch_size')})",
         id="template-batching-size-zero"),
    case(api_config("      server_side_batching: {max_batch_size: 2.0}  # <-",
                    "  autoscaling: {threads_per_worker: 2}"),
         "predictor.config.server_side_batching.max_batch_size",
         f"2.0 is a decimal number ({described('server_side_batching', 'max_batch_size')})",
         id="template-batching-size-decimal"),
    case(api_config("      server_side_batching:", "        max_batch_size: 8  # <-",
                    "  autoscaling: {threads_per_worker: 4}"),
         "predictor.config.server_side_batching.max_batch_size",
         "8 is more than autoscaling.threads_per_worker = 4: batches hold at most 4 "
         "requests, since each of a worker's threads brings one at a time; the API serves so "
         "(max_batch_size <= threads_per_worker, or more threads, for full batches)",
         severity="warning", id="template-batching-size-above-threads"),
    case(api_config("      server_side_batching: {max_batch_size: 1, batch_interval: 0.5}  # <-"),
         "predictor.config.server_side_batching.batch_interval",
         f"0.5 is too large ({described('server_side_batching', 'batch_interval')})",
         id="template-batching-interval-seconds-too-large"),
    case(api_config("      server_side_batching: {max_batch_size: 1, batch_interval: 200ms}  # <-"),
         "predictor.config.server_side_batching.batch_interval",
         f'"200ms" is too large ({described("server_side_batching", "batch_interval")})',
         id="template-batching-interval-text-too-large"),
    case(api_config("      server_side_batching: {max_batch_size: 1, batch_interval: -1}  # <-"),
         "predictor.config.server_side_batching.batch_interval",
         f"-1 is too small ({described('server_side_batching', 'batch_interval')})",
         id="template-batching-interval-negative"),
    case(api_config("      server_side_batching: {max_batch_size: 1, batch_interval: 2 min}  # <-"),
         "predictor.config.server_side_batching.batch_interval",
         f'"2 min" is not a duration ({described("server_side_batching", "batch_interval")})',
         id="template-batching-interval-not-a-duration"),
    case(api_config("      server_side_batching: {max_batch_size: 1, batch_interval: true}  # <-"),
         "predictor.config.server_side_batching.batch_interval",
         f"true is a boolean ({described('server_side_batching', 'batch_interval')})",
         id="template-batching-interval-boolean"),
    case(api_config("      server_side_batching: {max_batch_size: 1, max_batch: 2}  # <-"),
         "predictor.config.server_side_batching.max_batch",
         "unknown key (did you mean max_batch_size?)", id="template-batching-unknown-key"),
    # --- template-aware: the model and its format (tf_session.find_model's rules) ---------
    case(HEAD.replace("model: model,", "model: modle,  # <-\n     "), "predictor.config.model",
         f'"modle" does not exist ({MODEL})', id="template-model-not-found"),
    case(HEAD.replace("model: model,", "model: src,  # <-\n     "), "predictor.config.model",
         f'"src" is a folder holding helpers.py ({ACCEPTED})', id="template-model-not-a-model"),
    case(HEAD.replace("model: model,", "model: graphs,  # <-\n     "),
         "predictor.config.model", '"graphs" is a folder holding frozen.pb (for a frozen '
         f"graph, name the file: graphs/frozen.pb) ({ACCEPTED})",
         files={"graphs/frozen.pb": "pb"}, id="template-model-folder-of-a-graph"),
    case(HEAD.replace("model: model,", "model: model/saved_model.pb,  # <-\n     "),
         "predictor.config.model", '"model/saved_model.pb" is the SavedModel\'s own file: '
         f"name its folder, model ({ACCEPTED})", id="template-model-saved-model-file"),
    case(HEAD.replace("model: model,", "model: src/helpers.py,  # <-\n     "),
         "predictor.config.model", '"src/helpers.py" is a file that is neither .pb nor a '
         f"checkpoint's .meta ({ACCEPTED})", id="template-model-other-file"),
    case(HEAD.replace("model: model,", "model: model,  # <-\n     "),
         "predictor.config.model", f'"model" is left out of the upload by .cortexignore ({MODEL})',
         files={".cortexignore": "# big files\nmodel/\n"}, id="template-model-cortexignored"),
    case(HEAD.replace("model: model,", "model: model,  # <-\n     "),
         "predictor.config.model", '"model" has model/variables/variables.index, which is '
         "left out of the upload by .cortexignore (every file TensorFlow reads of a SavedModel "
         "is uploaded)", files={".cortexignore": "*.index\n"},
         id="template-model-file-cortexignored"),
    case(HEAD.replace("model: model,", "model: ckpt,  # <-\n     "),
         "predictor.config.model", '"ckpt" has ckpt/model.data-00000-of-00001, which is left '
         "out of the upload by .cortexignore (every file TensorFlow reads of a checkpoint is "
         "uploaded)", files={"ckpt/checkpoint": 'model_checkpoint_path: "/home/me/ckpt/model"\n',
                             "ckpt/model.meta": "", "ckpt/model.index": "",
                             "ckpt/model.data-00000-of-00001": "", "ckpt/old.index": "",
                             ".cortexignore": "*.data-*\n"},
         id="template-model-checkpoint-data-cortexignored"),
    case(HEAD.replace("model: model,", "model: frozen.pb, inputs: {x: 'x:0'},  # <-\n     "),
         "predictor.config.outputs", "is missing (a frozen graph has no signature: "
         f"{described('outputs')})", files={"frozen.pb": "pb"},
         id="template-model-frozen-graph-needs-outputs"),
    case(HEAD.replace("model: model,", "model: ckpt/model, outputs: {y: 'y:0'},  # <-\n     "),
         "predictor.config.inputs", "is missing (a checkpoint has no signature: "
         f"{described('inputs')})", files={"ckpt/model.meta": "", "ckpt/model.index": ""},
         id="template-model-checkpoint-prefix-needs-inputs"),
    case(HEAD.replace("model: model,", "model: 's3:///model',  # <-\n     "),
         "predictor.config.model", '"s3:///model" has no bucket (s3://bucket/key for a file, '
         "s3://bucket/prefix/ for a folder)", id="template-model-s3-no-bucket"),
    case(HEAD.replace("model: model,", "model: 'gs://bucket/model',  # <-\n     "),
         "predictor.config.model", '"gs://bucket/model" is neither a path in the project nor '
         f"an s3:// URL ({MODEL})", id="template-model-other-scheme"),
    case(HEAD.replace("model: model,", "model: 's3://b/ckpt/model.meta',  # <-\n     "),
         "predictor.config.model", '"s3://b/ckpt/model.meta" is one file of a checkpoint, and '
         "from S3 tf_session downloads that one object alone: name the prefix, "
         "s3://b/ckpt/model, or the folder, s3://b/ckpt/", id="template-model-s3-meta"),
    case(HEAD.replace("model: model,", "model: 's3://b/ckpt/model.index',  # <-\n     "),
         "predictor.config.model", '"s3://b/ckpt/model.index" is one file of a checkpoint, and '
         "from S3 tf_session downloads that one object alone: name the prefix, "
         "s3://b/ckpt/model, or the folder, s3://b/ckpt/", id="template-model-s3-index"),
    case(HEAD.replace("model: model,", "model: 's3://b/m/saved_model.pb',  # <-\n     "),
         "predictor.config.model", '"s3://b/m/saved_model.pb" is the SavedModel\'s own file: '
         "name its folder, s3://b/m/", id="template-model-s3-saved-model-file"),
    case(HEAD.replace("model: model,", "model: 's3://b/m/checkpoint',  # <-\n     "),
         "predictor.config.model", '"s3://b/m/checkpoint" is the checkpoint\'s `checkpoint` '
         "file: name its folder, s3://b/m/", id="template-model-s3-checkpoint-file"),
    case(HEAD.replace("model: model,", "model: 's3://b/frozen.pb', inputs: {x: 'x:0'},  # <-\n"
                      "     "), "predictor.config.outputs", "is missing (a frozen graph has no "
         f"signature: {described('outputs')}; s3://b/frozen.pb is taken for a frozen graph by "
         "its name)", id="template-model-s3-frozen-graph-needs-outputs"),
    case(HEAD.replace("model: model,", "model: 's3://b/train/model.ckpt-100', outputs: {y: "
                      "'y:0'},  # <-\n     "), "predictor.config.inputs", "is missing (a "
         f"checkpoint has no signature: {described('inputs')}; s3://b/train/model.ckpt-100 is "
         "taken for a checkpoint by its name)", id="template-model-s3-checkpoint-needs-inputs"),
    # --- template-aware: tf_session.py itself ---------------------------------------------
    case(HEAD.replace("path: predictor.py", "path: predictor.py  # <-"), "predictor.path",
         "predictor.py imports tf_session, but tf_session.py is left out of the upload by "
         ".cortexignore (Cortex uploads tf_session.py beside predictor.py)",
         files={".cortexignore": "tf_session.py\n"}, id="template-tf_session-cortexignored"),
    case(HEAD.replace("path: predictor.py", "path: predictor.py  # <-"), "predictor.path",
         "predictor.py imports tf_session, and tf_session.py has a syntax error on line 1 "
         "(invalid syntax), so Cortex cannot import it", files={"tf_session.py": "def (:\n"},
         id="template-tf_session-syntax-error"),
    # --- Cortex's class rules, read with ast -------------------------------------------------
    case(HEAD.replace("path: predictor.py", "path: broken.py  # <-"), "predictor.path",
         "broken.py has a syntax error on line 1 (invalid syntax), so Cortex cannot load it "
         "(valid Python 3.6)", files={"broken.py": "def (:\n"}, id="predictor-syntax-error"),
    case(HEAD.replace("path: predictor.py", "path: predictor.py  # <-"), "predictor.path",
         "predictor.py: PythonPredictor class is not defined (a class PythonPredictor with "
         "__init__(self, config) and predict(self, payload))",
         files={"predictor.py": PREDICTOR.replace("class PythonPredictor", "class Predictor")},
         id="predictor-class-not-defined"),
    case(HEAD.replace("path: predictor.py", "path: predictor.py  # <-"), "predictor.path",
         'predictor.py:5: invalid signature for function "__init__(self, config, debug)": '
         '"debug" is not a supported argument (__init__ takes exactly self and config)',
         files={"predictor.py": PREDICTOR.replace("(self, config)", "(self, config, debug=False)")},
         id="predictor-init-extra-argument"),
    case(HEAD.replace("path: predictor.py", "path: predictor.py  # <-"), "predictor.path",
         'predictor.py:5: invalid signature for function "__init__(self)": "config" is a '
         "required argument, but was not provided (__init__ takes exactly self and config)",
         files={"predictor.py": PREDICTOR.replace("(self, config)", "(self)")},
         id="predictor-init-without-config"),
    case(HEAD.replace("path: predictor.py", "path: predictor.py  # <-"), "predictor.path",
         'predictor.py:4: invalid signature for function "__init__(self)": "config" is a '
         "required argument, but was not provided (__init__ takes exactly self and config)",
         files={"predictor.py": "import os\n\n\nclass PythonPredictor(object):\n"
                                "    def predict(self, payload):\n        return payload\n"},
         id="predictor-init-inherited-from-object"),
    case(HEAD.replace("path: predictor.py", "path: predictor.py  # <-"), "predictor.path",
         'predictor.py:8: invalid signature for function "predict(self, body)": "body" is not '
         "a supported argument (predict takes self, then any of payload, query_params, "
         "headers)", files={"predictor.py": PREDICTOR.replace("(self, payload)", "(self, body)")},
         id="predictor-predict-unknown-argument"),
    case(HEAD.replace("path: predictor.py", "path: predictor.py  # <-"), "predictor.path",
         'predictor.py:8: invalid signature for function "predict(payload, self)": "self" must '
         "be the first argument (predict takes self, then any of payload, query_params, "
         "headers)", files={"predictor.py": PREDICTOR.replace("(self, payload)",
                                                              "(payload, self)")},
         id="predictor-predict-self-not-first"),
    case(HEAD.replace("path: predictor.py", "path: predictor.py  # <-"), "predictor.path",
         'predictor.py:4: required function "predict" is not defined (predict takes self, then '
         "any of payload, query_params, headers)",
         files={"predictor.py": PREDICTOR.split("    def predict", maxsplit=1)[0]},
         id="predictor-predict-missing"),
    case(api_config("      gpu_memory_fraction: 0  # <-"),
         "predictor.config.gpu_memory_fraction", "0 is too small (a number > 0 and <= 1: the "
         "share of GPU memory each worker process may take)",
         id="template-gpu_memory_fraction-zero"),
    case(api_config("      gpu_memory_fraction: 1.5  # <-"),
         "predictor.config.gpu_memory_fraction", "1.5 is too large (a number > 0 and <= 1: the "
         "share of GPU memory each worker process may take)",
         id="template-gpu_memory_fraction-above-1"),
    case(api_config("      gpu_memory_fraction: half  # <-"),
         "predictor.config.gpu_memory_fraction", '"half" is a string (a number > 0 and <= 1: '
         "the share of GPU memory each worker process may take)",
         id="template-gpu_memory_fraction-string"),
    case(api_config("      inter_op_parallelism_threads: -2  # <-"),
         "predictor.config.inter_op_parallelism_threads", "-2 is too small (an integer >= -1: "
         "-1 runs a graph's ops on the predict thread, 0 lets TensorFlow choose)",
         id="template-inter_op-below-minus-1"),
    case(api_config("      inter_op_parallelism_threads: '4'  # <-"),
         "predictor.config.inter_op_parallelism_threads", '"4" is a string (an integer >= -1: '
         "-1 runs a graph's ops on the predict thread, 0 lets TensorFlow choose)",
         id="template-inter_op-string"),
    case(api_config("      intra_op_parallelism_threads: -1  # <-"),
         "predictor.config.intra_op_parallelism_threads", "-1 is too small (an integer >= 0: "
         "threads within one op, 0 lets TensorFlow choose)", id="template-intra_op-negative"),
    case(api_config("      intra_op_parallelism_threads: 1.5  # <-"),
         "predictor.config.intra_op_parallelism_threads", "1.5 is a decimal number (an integer "
         ">= 0: threads within one op, 0 lets TensorFlow choose)", id="template-intra_op-decimal"),
    case(api_config("      finalize_graph: 'no'  # <-"), "predictor.config.finalize_graph",
         f'"no" is a string ({described("finalize_graph")})',
         id="template-finalize_graph-string"),
    case(api_config("      1: one  # <-"), "predictor.config.1",
         'key 1 is an integer (a string key: quote it, e.g. "1")',
         id="predictor.config-key-not-string"),
    case(api(*GPU2[:1], "  autoscaling: {workers_per_replica: 2}  # <-"),
         "autoscaling.workers_per_replica", "2 TensorFlow processes share compute.gpu and the "
         'first takes all GPU memory (limit each one: predictor.env TF_FORCE_GPU_ALLOW_GROWTH: '
         '"true", or predictor.config.gpu_memory_fraction: 0.5)', id="template-gpu-workers"),
    case(api_config("      gpu_memory_fraction: 0.6  # <-", *GPU2),
         "predictor.config.gpu_memory_fraction", "0.6 x 2 workers_per_replica = 1.2, more than "
         "the whole GPU (gpu_memory_fraction x workers_per_replica <= 1, e.g. 0.5)",
         id="template-gpu-fraction-too-big"),
    case(api("    env: {TF_FORCE_GPU_ALLOW_GROWTH: 'false'}", "  compute: {gpu: 2}",
             "  autoscaling: {workers_per_replica: 3}  # <-"),
         "autoscaling.workers_per_replica", "3 TensorFlow processes share compute.gpu and the "
         'first takes all GPU memory (limit each one: predictor.env TF_FORCE_GPU_ALLOW_GROWTH: '
         '"true", or predictor.config.gpu_memory_fraction: 0.33)',
         id="template-gpu-growth-false"),
    case(api("    threads_per_process: 4  # <-"), "predictor.threads_per_process",
         "is Cortex 0.18+ syntax, not 0.17 (0.17 spells it autoscaling.threads_per_worker)",
         id="newer-cortex-threads_per_process"),
    case(api("    processes_per_replica: 2  # <-"), "predictor.processes_per_replica",
         "is Cortex 0.18+ syntax, not 0.17 (0.17 spells it autoscaling.workers_per_replica)",
         id="newer-cortex-processes_per_replica"),
    case(api("  networking:  # <-", "    endpoint: /iris"), "networking",
         "is Cortex 0.18+ syntax, not 0.17 (0.17 has endpoint and local_port directly under "
         "the API)", id="newer-cortex-networking"),
    case(api("  kind: RealtimeAPI  # <-"), "kind",
         "is Cortex 0.19+ syntax, not 0.17 (0.17 APIs have no kind; remove it)",
         id="newer-cortex-kind"),
    case(api("  compute: {inf: 1}  # <-"), "compute.inf",
         "is Cortex 0.18+ syntax, not 0.17 (0.17 has no Inferentia; remove it)",
         id="newer-cortex-inf"),
    # --- a misspelt key of tf_session's own: an error (its setting would be ignored) -------
    case(api_config("      inter_op_paralellism_threads: -1  # <-"),
         "predictor.config.inter_op_paralellism_threads", MISSPELT % "inter_op_parallelism_"
         "threads", id="template-misspelt-inter_op"),
    case(api_config("      intra_op_paralelism_threads: 1  # <-"),
         "predictor.config.intra_op_paralelism_threads", MISSPELT % "intra_op_parallelism_"
         "threads", id="template-misspelt-intra_op"),
    case(api_config("      finalize_grpah: false  # <-"), "predictor.config.finalize_grpah",
         MISSPELT % "finalize_graph", id="template-misspelt-finalize_graph"),
    # inputs and outputs are required for a checkpoint: the misspelling is the one message
    case(CHECKPOINT_CONFIG + '      inptus: {x: "x:0"}  # <-\n      outputs: {y: "y:0"}\n',
         "predictor.config.inptus", MISSPELT % "inputs", files=CHECKPOINT_FILES,
         id="template-misspelt-inputs"),
]

WARNINGS = [
    case(api_config("      server_side_batching: {max_batch_size: 4, batch_interval: 2ms}",
                    "  autoscaling:", "    workers_per_replica: 2", "    threads_per_worker: 4",
                    "    target_replica_concurrency: 4  # <-"),
         "autoscaling.target_replica_concurrency", "4 is less than server_side_batching."
         "max_batch_size x workers_per_replica = 8: the autoscaler adds replicas until each "
         "holds about target_replica_concurrency requests, so batches seldom fill and a batch "
         "often waits out batch_interval (target_replica_concurrency >= 8, or a smaller "
         "max_batch_size)", severity="warning", id="template-batching-target-too-low"),
    case(api_config("      server_side_batching: {max_batch_size: 2}",
                    "  autoscaling: {threads_per_worker: 2, target_replica_concurrency: 1}  # <-"),
         "autoscaling.target_replica_concurrency", "1 is less than server_side_batching."
         "max_batch_size x workers_per_replica = 2: the autoscaler adds replicas until each "
         "holds about target_replica_concurrency requests, so batches seldom fill "
         "(target_replica_concurrency >= 2, or a smaller max_batch_size)", severity="warning",
         id="template-batching-target-too-low-no-wait"),
    case(HEAD.replace("path: predictor.py", "path: predictor.py  # <-"), "predictor.path",
         "tf_session.py has no literal CONFIG_SCHEMA, so predictor.config is not checked (the "
         "template's tf_session.py has one)", files={"tf_session.py": "CONFIG_SCHEMA = dict()\n"},
         severity="warning", id="template-tf_session-without-schema"),
    case(HEAD.replace("path: predictor.py", "path: predictor.py  # <-"), "predictor.path",
         "predictor.py: PythonPredictor is bound 2 times (lines 4, 13) and Cortex takes the last "
         "one (one class PythonPredictor)", files={"predictor.py": PREDICTOR + "\n\n" + PREDICTOR
                                                    .split("\n", 2)[2]},
         severity="warning", id="predictor-class-twice"),
    case(CHECKPOINT_CONFIG + "      signature: serving_default  # <-\n"
         "      inputs: {x: x}\n      outputs: {y: y}\n", "predictor.config.signature",
         "is ignored: a checkpoint has no signatures (its tensors are named in inputs and "
         "outputs)", files=CHECKPOINT_FILES, severity="warning",
         id="template-signature-of-a-checkpoint"),
    case(api("  autoscaling:", "    min_replicas: 1", "    min_replicas: 2  # <-"),
         "autoscaling.min_replicas", "is written twice in one mapping; the last one wins "
         "(each key once)", severity="warning", id="duplicate-key"),
    case(api("    env: {TF_FORCE_GPU_ALLOW_GROWTH: 'True'}  # <-"),
         "predictor.env.TF_FORCE_GPU_ALLOW_GROWTH",
         '"True" is ignored by TensorFlow ("true" or "false")', severity="warning",
         id="tf-force-gpu-allow-growth-spelling"),
    case(api_config("      gpu_memory_fraction: 0.5  # <-"),
         "predictor.config.gpu_memory_fraction",
         "has no effect without a GPU (compute.gpu >= 1)", severity="warning",
         id="gpu_memory_fraction-without-gpu"),
    case("- name: iris\n  predictor:\n    type: tensorflow  # <-\n    path: predictor.py\n"
         "    model: s3://bucket/model\n", "predictor.type",
         "tensorflow predictors are outside this template (make serve and predictor.py serve "
         "type python)", severity="warning", id="predictor.type-tensorflow"),
]


def expected_line(text: str) -> int:
    marked = [n for n, line in enumerate(text.splitlines(), 1) if MARK in line]
    assert len(marked) == 1, "a case marks exactly one line"
    return marked[0]


@pytest.mark.parametrize("c", BROKEN + WARNINGS)
def test_one_rule_one_message(project, c: Case):
    path = project(c.text, files=c.files)
    result = make_check(path)
    assert [(p.severity, p.line, p.api, p.key, p.message) for p in result.problems] == [
        (c.severity, expected_line(c.text), c.api_name, c.key, c.message)
    ]
    assert result.ok is (c.severity == "warning")
    assert make_check(path, strict=True).ok is False


def test_the_table_covers_every_key_of_the_schema():
    """Every key of section 5 has a broken case, so a rule cannot go untested."""
    def keys(schema, prefix=""):
        for key, sub in schema.get("properties", {}).items():
            yield prefix + key
            yield from keys(sub, prefix + key + ".")

    tested = {param.values[0].key for param in BROKEN}
    covered = {key for key in keys(API_SCHEMA)
               if any(t == key or t.startswith(key + ".") for t in tested)}
    assert covered == set(keys(API_SCHEMA))
    assert len(BROKEN) >= 40


def test_the_table_covers_every_key_of_tf_sessions_config_schema():
    """Every predictor.config key that tf_session.py reads has a broken case too."""
    def keys(schema, prefix="predictor.config."):
        for key, sub in schema.get("properties", {}).items():
            yield prefix + key
            yield from keys(sub, prefix + key + ".")

    tested = {param.values[0].key for param in BROKEN}
    assert {key for key in keys(CONFIG_SCHEMA)
            if not any(t == key or t.startswith(key + ".") for t in tested)} == set()


def test_a_misspelt_required_key_is_the_one_message(project):
    """Not "session_strategy is missing" beside it: the misspelling is what to fix."""
    text = HEAD.replace("session_strategy: per_request}", "sesion_strategy: per_request}")
    result = make_check(project(text))
    assert [(p.severity, p.line, p.key, p.message) for p in result.problems] == [
        ("error", 5, "predictor.config.sesion_strategy", MISSPELT % "session_strategy")]


@pytest.mark.parametrize("name", ["broken_init_args.py", "broken_predict_args.py",
                                  "broken_no_class.py"])
def test_class_rules_say_what_the_runtimes_loader_says(project, name):
    """Read with ast, the rules give the words the runtime (Cortex's own rules) gives when it
    loads the file."""
    source = (ROOT / "tests/tools/serve_predictors" / name).read_text()
    path = project(HEAD, files={"predictor.py": source})
    with pytest.raises(PredictorError) as loaded:
        load_predictor_class(path.parent, "predictor.py")
    words = str(loaded.value).removeprefix("error in predictor.py: ")
    (problem,) = make_check(path).problems
    assert problem.key == "predictor.path" and words in problem.message


REQUIREMENTS_ERROR = ("makes pip install TensorFlow over the image's tensorflow 2.1.0 at every "
                      "container start: slow starts, and on the GPU image a build that does "
                      "not match its CUDA 10.1 (remove it: the image has TensorFlow)")


@pytest.mark.parametrize(("line", "severity", "message"), [
    pytest.param("tensorflow==2.3.0", "error", f'"tensorflow==2.3.0" {REQUIREMENTS_ERROR}',
                 id="tensorflow-other-version"),
    pytest.param("tensorflow", "error", f'"tensorflow" {REQUIREMENTS_ERROR}',
                 id="tensorflow-unpinned"),
    pytest.param("TensorFlow_GPU>=2.1  # for the GPU", "error",
                 f'"TensorFlow_GPU>=2.1" {REQUIREMENTS_ERROR}', id="tensorflow-gpu-spelling"),
    pytest.param("tensorflow-cpu==2.1.0", "error", f'"tensorflow-cpu==2.1.0" '
                 f"{REQUIREMENTS_ERROR}", id="tensorflow-cpu"),
    pytest.param("tf-nightly", "error", f'"tf-nightly" {REQUIREMENTS_ERROR}', id="tf-nightly"),
    pytest.param("tensorflow @ https://example.com/tensorflow-2.3.0-cp36-none-any.whl", "error",
                 '"tensorflow @ https://example.com/tensorflow-2.3.0-cp36-none-any.whl" '
                 f"{REQUIREMENTS_ERROR}", id="tensorflow-direct-reference"),
    pytest.param("tensorflow == 2.1.0", "warning", '"tensorflow == 2.1.0" is the image\'s own '
                 "tensorflow 2.1.0, which pip finds installed: the line does nothing (remove "
                 "it)", id="tensorflow-the-images-own"),
])
def test_requirements_never_install_tensorflow(project, line, severity, message):
    text = f"# the API's own packages\nrequests==2.23.0\n{line}\nnumpy\n"
    path = project(HEAD, files={"requirements.txt": text})
    result = make_check(path)
    assert [(p.severity, p.file, p.line, p.api, p.key, p.message) for p in result.problems] == [
        (severity, str(path.parent / "requirements.txt"), 3, None, "", message)]
    assert result.ok is (severity == "warning")


VALID = [
    pytest.param(HEAD, id="every-optional-section-omitted"),
    pytest.param(HEAD.replace("name: iris", "name: " + "a" * 42), id="name-42-characters"),
    pytest.param(api("  endpoint: /iris/v1.2_beta-x", "  local_port: 1"), id="endpoint-nested"),
    pytest.param(api("  endpoint: iris/", "  local_port: 65535"), id="endpoint-no-slash"),
    pytest.param(api("  compute: {cpu: 20m, mem: 20Mi, gpu: 0}"), id="compute-at-minimum"),
    pytest.param(api("  compute: {cpu: 0.5, mem: 1G}"), id="compute-cpu-float"),
    pytest.param(api("  compute: {cpu: 1, mem: 500Mi}"), id="compute-cpu-int"),
    pytest.param(api("  compute: {cpu: null, mem: null}"), id="compute-explicit-null"),
    pytest.param(api("  autoscaling:", "    min_replicas: 3", "    init_replicas: 3",
                     "    max_replicas: 3", "    workers_per_replica: 20",
                     "    threads_per_worker: 1", "    target_replica_concurrency: 65535",
                     "    max_replica_concurrency: 65535", "    window: 10s",
                     "    downscale_stabilization_period: 0s",
                     "    upscale_stabilization_period: '0'", "    max_downscale_factor: 0",
                     "    max_upscale_factor: 1.01", "    downscale_tolerance: 0",
                     "    upscale_tolerance: 0"), id="autoscaling-at-bounds"),
    pytest.param(api("  autoscaling:", "    workers_per_replica: 4", "    threads_per_worker: 256",
                     "    window: 1m30s", "    upscale_tolerance: 2.5"),
                 id="autoscaling-concurrency-at-default-max"),
    pytest.param(api("  update_strategy: {max_surge: 100%, max_unavailable: 0}"),
                 id="surge-percent-100-unavailable-0"),
    pytest.param(api("  update_strategy: {max_surge: 0%, max_unavailable: 3}"),
                 id="surge-integer"),
    pytest.param(api("  update_strategy: {max_surge: '2', max_unavailable: 0%}"),
                 id="surge-quoted-integer"),
    pytest.param(api("  monitoring: {model_type: classification, key: label}"),
                 id="monitoring"),
    pytest.param(api("  monitoring: null"), id="monitoring-null"),
    pytest.param(api("    python_path: src", "    image: cortexlabs/python-predictor-gpu:0.17.1",
                     "    tensorflow_serving_image: ''", "    env: {A: '1', B: 'true'}"),
                 id="predictor-optional-keys"),
    pytest.param(api("    image: quay.io/me/predictor:v1"), id="own-image"),
    pytest.param(HEAD.replace("model: model,", "model: 's3://bucket/iris/1',"), id="model-s3"),
    pytest.param(HEAD.replace("model: model,", "model: 's3://bucket',"), id="model-s3-bucket"),
    pytest.param(HEAD.replace("model: model,", "model: ./model/,"), id="model-dot-slash"),
    pytest.param(api_config("      gpu_memory_fraction: 0.5", "      finalize_graph: false",
                            *GPU2), id="gpu-fraction-exactly-one-gpu"),
    pytest.param(api_config("      gpu_memory_fraction: 1", "  compute: {gpu: 1}"),
                 id="gpu-one-worker-fraction-1"),
    pytest.param(api("    env: {TF_FORCE_GPU_ALLOW_GROWTH: 'true'}", "  compute: {gpu: 1}",
                     "  autoscaling: {workers_per_replica: 20}"), id="gpu-growth"),
    pytest.param(api("  compute: {gpu: 1}"), id="gpu-one-worker-no-limit"),
    pytest.param(HEAD + HEAD.replace("name: iris", "name: iris-2"), id="two-apis"),
    pytest.param("- &base\n  name: iris\n  predictor:\n    type: python\n    path: predictor.py\n"
                 "    config: {model: model, session_strategy: once_per_thread}\n"
                 "- <<: *base\n  name: iris-copy\n", id="yaml-merge-key"),
    pytest.param(api_config("      signature: serving_default", "      inputs: {x: 'in/x:0'}",
                            "      outputs: {y: out/y}", "      my_own_key: [1, 2]",
                            "      labels_file: labels.txt"), id="template-optional-keys"),
    pytest.param(api_config("      server_side_batching: {max_batch_size: 4, batch_interval: "
                            "0.1}", "  autoscaling: {workers_per_replica: 2, threads_per_worker: "
                            "4}"), id="template-batching-at-bounds"),
    pytest.param(api_config("      server_side_batching:", "        max_batch_size: 1",
                            "        batch_interval: 100ms"), id="template-batching-ms"),
    pytest.param(api_config("      server_side_batching: {max_batch_size: 2, batch_interval: "
                            "' 500us '}", "  autoscaling: {threads_per_worker: 2, "
                            "target_replica_concurrency: 2}"), id="template-batching-us"),
    pytest.param(api_config("      server_side_batching: {max_batch_size: 3, batch_interval: "
                            "0}", "  autoscaling: {threads_per_worker: 3}"),
                 id="template-batching-no-wait"),
    pytest.param(HEAD.replace("model: model,", "model: frozen.pb, inputs: {x: 'x:0'}, outputs: "
                              "{y: 'y:0'},"), id="template-frozen-graph"),
    pytest.param(HEAD.replace("model: model,", "model: ckpt, inputs: {x: 'x:0'}, outputs: "
                              "{y: 'y:0'},"), id="template-checkpoint-folder"),
    pytest.param(HEAD.replace("model: model,", "model: ckpt/model.meta, inputs: {x: 'x:0'}, "
                              "outputs: {y: 'y:0'},"), id="template-checkpoint-meta"),
    pytest.param(HEAD.replace("model: model,", "model: ckpt/model, inputs: {x: 'x:0'}, "
                              "outputs: {y: 'y:0'},"), id="template-checkpoint-prefix"),
    pytest.param(HEAD.replace("model: model,", "model: 's3://b/iris/frozen.pb', inputs: {x: "
                              "'x:0'}, outputs: {y: 'y:0'},"), id="template-s3-frozen-graph"),
    pytest.param(HEAD.replace("model: model,", "model: 's3://b/iris/',"), id="template-s3-folder"),
    pytest.param(HEAD.replace("model: model,", "model: 's3://b/iris/ckpt/model',"),
                 id="template-s3-prefix-of-unknown-form"),
    pytest.param(HEAD, {"predictor.py": "import tf_session\n\n\nclass PythonPredictor(Base):\n"
                        "    pass\n"}, id="predictor-inherits-its-methods"),
    pytest.param(HEAD, {"predictor.py": PREDICTOR.replace(
        "(self, payload)", "(self, payload, query_params, headers, *, debug=False)")},
                 id="predictor-every-predict-argument"),
    pytest.param(HEAD, {"predictor.py": "from serving import PythonPredictor\n"
                        "import tf_session\n", "serving.py": ""}, id="predictor-class-imported"),
    pytest.param(HEAD, {"predictor.py": "from tf_session import *\n"},
                 id="predictor-star-import"),
    pytest.param(HEAD, {"requirements.txt": "tensorflow-hub==0.8.0\ntensorboard\n"
                        "# tensorflow==2.3.0\n-r more-requirements.txt\n"},
                 id="requirements-without-tensorflow"),
]

CHECKPOINT_FILES = {"ckpt/checkpoint": 'model_checkpoint_path: "model"\n', "ckpt/model.meta": "",
                    "ckpt/model.index": "", "ckpt/model.data-00000-of-00001": "",
                    "frozen.pb": "pb"}


@pytest.mark.parametrize(("text", "files"), [
    param if len(param.values) == 2 else pytest.param(param.values[0], {}, id=param.id)
    for param in VALID])
def test_valid_configs_pass(project, text, files):
    result = make_check(project(text, files={**CHECKPOINT_FILES, **files}), strict=True)
    assert [p.format() for p in result.problems] == []
    assert result.ok


def test_a_predictor_without_tf_session_has_a_free_form_config(project):
    # Its config keys are its own business, even those tf_session reads.
    path = project(HEAD.replace("per_request", "anything").replace("model: model", "model: 7"),
                   files={"predictor.py": OWN_PREDICTOR})
    assert make_check(path, strict=True).ok


def test_the_runtime_leaves_class_rules_and_requirements_to_make_check(project):
    """check_file is what `make serve` loads a config with: its loader then reports a
    broken class in Cortex's own words, and a local server installs no requirements."""
    path = project(HEAD, files={"predictor.py": "class Predictor:\n    pass\n",
                                "requirements.txt": "tensorflow\n"})
    assert check_file(path).problems == []
    assert [p.key for p in make_check(path).problems] == ["predictor.path", ""]
    path = project(HEAD, files={"predictor.py": "def (:\n"})
    assert [(p.severity, p.message) for p in check_file(path).problems] == [
        ("warning", "predictor.py has a syntax error on line 1 (invalid syntax), so "
                    "predictor.config is not checked (valid Python 3.6)")]


def test_a_predictor_that_does_not_import_tf_session_is_not_the_templates(project):
    path = project(HEAD.replace("per_request", "anything"),
                   files={"predictor.py": "import tf_session_extra\n" + OWN_PREDICTOR,
                          "tf_session_extra.py": ""})
    assert make_check(path, strict=True).ok


def test_every_default_is_filled_in(project):
    result = check_file(project(HEAD))
    assert result.apis == [{
        "name": "iris",
        "endpoint": "/iris",
        "local_port": 8888,
        "predictor": {
            "type": "python", "path": "predictor.py", "python_path": ".",
            "image": "cortexlabs/python-predictor-cpu:0.17.1",
            "config": {"model": "model", "session_strategy": "per_request"}, "env": {},
        },
        "monitoring": None,
        "compute": {"cpu": "200m", "mem": None, "gpu": 0},
        "autoscaling": {
            "min_replicas": 1, "max_replicas": 100, "init_replicas": 1,
            "workers_per_replica": 1, "threads_per_worker": 1,
            "target_replica_concurrency": 1.0, "max_replica_concurrency": 1024,
            "window": "60s", "downscale_stabilization_period": "5m",
            "upscale_stabilization_period": "1m", "max_downscale_factor": 0.75,
            "max_upscale_factor": 1.5, "downscale_tolerance": 0.05, "upscale_tolerance": 0.05,
        },
        "update_strategy": {"max_surge": "25%", "max_unavailable": "25%"},
    }]
    assert result.project_dir == result.path.parent.absolute()


def test_computed_defaults_follow_other_fields(project):
    result = check_file(project(api(
        "  endpoint: models/iris/", "  compute: {cpu: 1, gpu: 1}",
        "  autoscaling: {min_replicas: 2, workers_per_replica: 3, threads_per_worker: 4}",
        "  update_strategy: {max_surge: 2}",
    )))
    api_ = result.apis[0]
    assert api_["endpoint"] == "/models/iris"
    assert api_["predictor"]["image"] == "cortexlabs/python-predictor-gpu:0.17.1"
    assert api_["compute"]["cpu"] == "1"
    assert api_["autoscaling"]["init_replicas"] == 2
    assert api_["autoscaling"]["target_replica_concurrency"] == 12.0
    assert api_["update_strategy"] == {"max_surge": "2", "max_unavailable": "25%"}


def test_defaults_never_change_the_yaml_data(project):
    # Both APIs share one mapping through a YAML alias; filling one must not fill the other.
    text = ("- name: a\n  predictor: &p {type: python, path: predictor.py, config: {model: "
            "model, session_strategy: per_request}}\n- name: b\n  predictor: *p\n")
    result = check_file(project(text))
    assert result.ok
    assert result.apis[0]["predictor"] is not result.apis[1]["predictor"]


def test_every_error_at_once_in_file_order(project):
    text = api("  compute: {gpu: -1}", "  autoscaling: {window: 5s}") + HEAD.replace(
        "name: iris", "name: Bad_Name")
    result = check_file(project(text))
    assert [(p.line, p.key) for p in result.problems] == [
        (6, "compute.gpu"), (7, "autoscaling.window"), (8, "name")]
    assert not result.ok and result.errors == result.problems and result.warnings == []


def test_format_reads_alone(project):
    path = project(api("  compute:", "    gpu: -1"))
    (problem,) = check_file(path).problems
    assert problem.format() == (
        f"{path}:7: api iris: compute.gpu: -1 is too small (an integer >= 0; default 0)")


def test_format_of_file_and_unnamed_problems():
    assert Problem("error", None, None, "", "no such file", "x.yaml").format() == (
        "x.yaml: no such file")
    assert Problem("warning", 3, None, "name", "is odd", "x.yaml", api_index=1).format() == (
        "x.yaml:3: api #2: name: warning: is odd")


def test_path_may_be_a_string(project):
    path = project(HEAD)
    result = check_file(str(path))
    assert result.ok and result.path == path


FILE_PROBLEMS = [
    pytest.param(b"", None, "is empty (a YAML list of APIs, each starting with '- name: ...')",
                 id="empty"),
    pytest.param(b"# nothing yet\n\n", None, "is empty (a YAML list of APIs, each starting "
                 "with '- name: ...')", id="only-comments"),
    pytest.param(b"[]\n", 1, "has no APIs (a YAML list of APIs, each starting with "
                 "'- name: ...')", id="empty-list"),
    pytest.param(b"name: iris\npredictor: {}\n", 1, "holds a mapping, not a list of APIs (a "
                 "YAML list of APIs, each starting with '- name: ...')", id="mapping"),
    pytest.param(b"hello\n", 1, "holds a string, not a list of APIs (a YAML list of APIs, each "
                 "starting with '- name: ...')", id="scalar"),
    pytest.param(b"- name: iris\n  predictor: [\n", 3, "is not valid YAML: while parsing a "
                 "flow node, expected the node content, but found '<stream end>' (a YAML list "
                 "of APIs; check indentation and quoting)", id="not-yaml"),
    pytest.param(b"- name: iris\n\tpredictor: {}\n", 2, "is not valid YAML: while scanning for "
                 "the next token, found character '\\t' that cannot start any token (a YAML "
                 "list of APIs; check indentation and quoting)", id="tab"),
    pytest.param(b"- name: caf\xe9\n", 1, "is not UTF-8 text: byte 0xe9 at offset 11 (Cortex "
                 "reads configs as UTF-8; save the file as UTF-8)", id="latin-1"),
    pytest.param(b"- name: a\n\x00", 2, "is not valid YAML: character #x0000 is not allowed "
                 "(printable text; remove control characters)", id="binary"),
]


@pytest.mark.parametrize(("content", "line", "message"), FILE_PROBLEMS)
def test_unreadable_files_get_one_clear_message(tmp_path, content, line, message):
    path = tmp_path / "cortex.yaml"
    path.write_bytes(content)
    result = check_file(path)
    assert [(p.line, p.api, p.key, p.message) for p in result.problems] == [
        (line, None, "", message)]
    assert not result.ok and result.apis == []


def test_a_list_item_that_is_not_a_mapping(project):
    result = check_file(project(HEAD + "- just-a-name\n"))
    assert [p.format().split(": ", 1)[1] for p in result.problems] == [
        "api #2: is a string, not a mapping (an API: a mapping with name, predictor and "
        "optional sections)"]
    assert len(result.apis) == 1


def test_missing_file(tmp_path):
    result = check_file(tmp_path / "nope.yaml")
    assert [p.message for p in result.problems] == [
        "no such file (a cortex*.yaml file to check)"]


def test_schema_is_valid_json_schema():
    Draft202012Validator.check_schema(API_SCHEMA)


def test_shipped_configs_pass():
    shipped = sorted(ROOT.glob("cortex*.yaml"))
    assert shipped, "the template ships cortex.yaml and cortex-gpu.yaml"
    for path in shipped:
        result = check_file(path, strict=True)
        assert [p.format() for p in result.problems] == [], path.name
        assert result.apis


# --- the command line -----------------------------------------------------------------


def run_cli(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    # --no-build: these projects' models are stand-ins; test_check_config_build.py builds.
    return subprocess.run([sys.executable, *CLI, "--no-build", *args], cwd=cwd,
                          capture_output=True, text=True, timeout=60, check=False)


def test_cli_ok_lines_for_every_cortex_yaml(project, tmp_path):
    project(HEAD)
    project(HEAD + HEAD.replace("name: iris", "name: iris-2"), name="cortex-gpu.yaml")
    project("not: checked", name="other.yaml")
    done = run_cli(cwd=tmp_path)
    assert (done.returncode, done.stdout, done.stderr) == (
        0, "cortex-gpu.yaml: OK (2 apis)\ncortex.yaml: OK (1 api)\n", "")


def test_cli_reports_every_error_and_exits_1(project, tmp_path):
    project(HEAD)
    project(api("  compute: {gpu: -1}", "  local_port: 0"), name="bad.yaml")
    done = run_cli("cortex.yaml", "bad.yaml", cwd=tmp_path)
    assert done.returncode == 1
    assert done.stdout.splitlines() == [
        "cortex.yaml: OK (1 api)",
        "bad.yaml:6: api iris: compute.gpu: -1 is too small (an integer >= 0; default 0)",
        "bad.yaml:7: api iris: local_port: 0 is too small (an integer from 1 to 65535; "
        "default 8888)",
        "bad.yaml: FAILED (2 errors)",
    ]


def test_cli_warnings_fail_only_with_strict(project, tmp_path):
    project(api("    env: {TF_FORCE_GPU_ALLOW_GROWTH: 'yes'}"))
    warning = ('cortex.yaml:6: api iris: predictor.env.TF_FORCE_GPU_ALLOW_GROWTH: warning: '
               '"yes" is ignored by TensorFlow ("true" or "false")')
    done = run_cli("cortex.yaml", cwd=tmp_path)
    assert (done.returncode, done.stdout.splitlines()) == (
        0, [warning, "cortex.yaml: OK (1 api, 1 warning)"])
    done = run_cli("--strict", "cortex.yaml", cwd=tmp_path)
    assert (done.returncode, done.stdout.splitlines()) == (
        1, [warning, "cortex.yaml: FAILED (1 warning)"])


@pytest.mark.parametrize(("content", "expected"), [
    pytest.param(b"- name: [\n", "cortex.yaml:2: is not valid YAML:", id="not-yaml"),
    pytest.param(b"\xff\xfe- name: x\n", "cortex.yaml:1: is not UTF-8 text:", id="not-utf-8"),
    pytest.param(b"", "cortex.yaml: is empty (", id="empty"),
])
def test_cli_unreadable_file(tmp_path, content, expected):
    (tmp_path / "cortex.yaml").write_bytes(content)
    done = run_cli(cwd=tmp_path)
    assert done.returncode == 1 and done.stderr == ""
    first, last = done.stdout.splitlines()
    assert first.startswith(expected) and last == "cortex.yaml: FAILED (1 error)"


def test_cli_missing_file_and_no_configs(tmp_path):
    done = run_cli("nope.yaml", cwd=tmp_path)
    assert (done.returncode, done.stderr) == (1, "")
    assert done.stdout.splitlines()[0] == "nope.yaml: no such file (a cortex*.yaml file to check)"
    done = run_cli(cwd=tmp_path)
    assert done.returncode == 1 and done.stdout.startswith("no cortex*.yaml in ")


def test_cli_checks_paths_against_each_files_folder(project, tmp_path):
    """Paths resolve against the config file's folder, not the current folder (as Cortex)."""
    project(HEAD)
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    done = run_cli(str(tmp_path / "cortex.yaml"), cwd=elsewhere)
    assert done.returncode == 0, done.stdout
