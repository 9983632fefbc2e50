"""cortex_tools.config_check: one broken config per rule, valid edge cases, defaults, the CLI."""

from __future__ import annotations

import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest
from jsonschema import Draft202012Validator

from cortex_tools.config_check import Problem, check_file
from cortex_tools.config_check.schema import API_SCHEMA

ROOT = Path(__file__).resolve().parents[2]
CLI = ("-m", "cortex_tools.config_check")
MARK = "# <-"  # marks the line a case expects its message on

PREDICTOR = '''SESSION_STRATEGIES = ("per_request", "once_per_thread")


class PythonPredictor:
    def __init__(self, config):
        self.config = config
'''

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


@pytest.fixture
def project(tmp_path: Path):
    """A project folder with the template's predictor, a SavedModel and a package."""
    (tmp_path / "predictor.py").write_text(PREDICTOR)
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
    # --- template-aware -------------------------------------------------------------------
    case(HEAD.replace("session_strategy: per_request}", "session_strategy: per_thread}  # <-"),
         "predictor.config.session_strategy",
         '"per_thread" is not one of the choices (per_request or once_per_thread, as '
         "predictor.py offers)", id="template-session_strategy-not-offered"),
    case(HEAD.replace("session_strategy: per_request}", "session_strategy: 1}  # <-"),
         "predictor.config.session_strategy",
         "1 is an integer (per_request or once_per_thread, as predictor.py offers)",
         id="template-session_strategy-not-string"),
    case(HEAD.replace("config: {model: model, session_strategy: per_request}",
                      "config: {model: model}  # <-"), "predictor.config.session_strategy",
         "is missing (per_request or once_per_thread, as predictor.py offers)",
         id="template-session_strategy-missing"),
    case(HEAD.replace("config: {model: model, session_strategy: per_request}",
                      "config: {session_strategy: per_request}  # <-"), "predictor.config.model",
         "is missing (a SavedModel folder in the project, or an s3:// URL)",
         id="template-model-missing"),
    case(HEAD.replace("model: model,", "model: modle,  # <-\n     "), "predictor.config.model",
         '"modle" does not exist (a SavedModel folder in the project, or an s3:// URL)',
         id="template-model-not-found"),
    case(HEAD.replace("model: model,", "model: src,  # <-\n     "), "predictor.config.model",
         '"src" has no saved_model.pb (a SavedModel folder in the project, or an s3:// URL)',
         id="template-model-not-saved-model"),
    case(HEAD.replace("model: model,", "model: model,  # <-\n     "),
         "predictor.config.model", '"model" is left out of the upload by .cortexignore (a '
         "SavedModel folder in the project, or an s3:// URL)",
         files={".cortexignore": "# big files\nmodel/\n"}, id="template-model-cortexignored"),
    case(HEAD.replace("model: model,", "model: 's3:///model',  # <-\n     "),
         "predictor.config.model", '"s3:///model" has no bucket (s3://bucket/prefix)',
         id="template-model-s3-no-bucket"),
    case(HEAD.replace("model: model,", "model: 'gs://bucket/model',  # <-\n     "),
         "predictor.config.model", '"gs://bucket/model" is neither a project folder nor an '
         "s3:// URL (a SavedModel folder in the project, or an s3:// URL)",
         id="template-model-other-scheme"),
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
         '"no" is a string (true or false; default true)', id="template-finalize_graph-string"),
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
]

WARNINGS = [
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
    case(HEAD.replace("path: predictor.py", "path: broken.py  # <-"), "predictor.path",
         "broken.py has a syntax error on line 1, so session_strategy is not checked (valid "
         "Python)", files={"broken.py": "def (:\n"}, severity="warning",
         id="predictor-syntax-error"),
]


def expected_line(text: str) -> int:
    marked = [n for n, line in enumerate(text.splitlines(), 1) if MARK in line]
    assert len(marked) == 1, "a case marks exactly one line"
    return marked[0]


@pytest.mark.parametrize("c", BROKEN + WARNINGS)
def test_one_rule_one_message(project, c: Case):
    path = project(c.text, files=c.files)
    result = check_file(path)
    assert [(p.severity, p.line, p.api, p.key, p.message) for p in result.problems] == [
        (c.severity, expected_line(c.text), c.api_name, c.key, c.message)
    ]
    assert result.ok is (c.severity == "warning")
    assert check_file(path, strict=True).ok is False


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
]


@pytest.mark.parametrize("text", VALID)
def test_valid_configs_pass(project, text):
    result = check_file(project(text), strict=True)
    assert [p.format() for p in result.problems] == []
    assert result.ok


def test_a_predictor_without_strategies_is_not_checked_for_them(project):
    path = project(HEAD.replace("per_request", "anything"),
                   files={"predictor.py": "class PythonPredictor:\n    pass\n"})
    assert check_file(path, strict=True).ok


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
    return subprocess.run([sys.executable, *CLI, *args], cwd=cwd, capture_output=True,
                          text=True, timeout=60, check=False)


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
