"""Check Cortex 0.17 API configs (cortex*.yaml) before `cortex deploy` does.

    from cortex_tools.config_check import check_file, check_files
    result = check_file("cortex.yaml")
    for problem in result.problems:
        print(problem.format())   # FILE:LINE: api NAME: key: what is wrong (what is allowed)
    result.ok, result.apis        # apis: each API with every default filled in
    check_files(["cortex.yaml", "cortex-gpu.yaml"])  # and each predictor built (make check)

Modules, one job each: yamlfile (YAML with line numbers), schema (the declarative
schema, checked by jsonschema), units (quantities, durations, surge values), rules
(Cortex's cross-field rules), template (checks that depend on the API's predictor:
predictor_class, Cortex's class rules; machinery, tf_session.py read with ast;
predictor_config, predictor.config against its CONFIG_SCHEMA; model_location and
model_formats, the model and its format by tf_session's rules), requirements
(requirements.txt), build and build_child (each predictor built in a child process),
project (which files Cortex uploads), defaults, messages, problems.

Defaults that depend on Cortex's provider take the aws (cluster) value: endpoint
/<name>, compute.cpu 200m, autoscaling and update_strategy filled in; local_port is
8888. Paths in `apis` stay as written, relative to `result.project_dir`;
predictor.python_path defaults to ".".
"""

from .check import check_file, check_files
from .problems import ERROR, WARNING, Problem, Result

__all__ = ["ERROR", "WARNING", "Problem", "Result", "check_file", "check_files"]
