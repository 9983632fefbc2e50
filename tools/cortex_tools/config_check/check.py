"""check_file: read one config file, run every check, collect every problem at once."""

from __future__ import annotations

from pathlib import Path

from . import rules, template
from .defaults import with_defaults
from .messages import kind, schema_problems
from .problems import ERROR, ApiScope, Problem, Result
from .project import Project
from .schema import API_VALIDATOR
from .yamlfile import ConfigFileError, load_yaml

FILE_ALLOWED = "a YAML list of APIs, each starting with '- name: ...'"


def check_file(path: str | Path, strict: bool = False) -> Result:
    path = Path(path)
    result = Result(path=path, project_dir=path.absolute().parent, strict=strict)
    file = str(path)

    def file_problem(message: str, line: int | None = None) -> None:
        result.problems.append(Problem(ERROR, line, None, "", message, file))

    try:
        document = load_yaml(path)
    except ConfigFileError as exc:
        file_problem(exc.message, exc.line)
        return result

    data = document.data
    if data is None:
        file_problem(f"is empty ({FILE_ALLOWED})", document.lines.get(()))
        return result
    if not isinstance(data, list):
        file_problem(f"holds {kind(data)}, not a list of APIs ({FILE_ALLOWED})",
                     document.lines.get(()))
        return result
    if not data:
        file_problem(f"has no APIs ({FILE_ALLOWED})", document.lines.get(()))
        return result

    for key_path, line in document.duplicates:
        index, *rest = key_path
        scope = ApiScope(result, document, index, data[index] if isinstance(
            data[index], dict) else {})
        scope.warning(tuple(rest), "is written twice in one mapping; the last one wins "
                      "(each key once)", line=line)

    project = Project(result.project_dir, path)
    scopes: list[ApiScope] = []
    for index, item in enumerate(data):
        if not isinstance(item, dict):
            ApiScope(result, document, index, {}).error(
                (), f"is {kind(item)}, not a mapping (an API: a mapping with name, "
                    "predictor and optional sections)")
            continue
        scope = ApiScope(result, document, index, item)
        errors = API_VALIDATOR.iter_errors(item)
        for key_path, message in schema_problems(errors, template.newer_cortex_hint):
            scope.error(key_path, message)
        api = with_defaults(item)
        rules.check_api(api, item, scope, project)
        template.check_api(api, scope, project)
        scopes.append(scope)
        result.apis.append(api)
    rules.check_across(result.apis, scopes)

    # File order; a problem without a line (about the whole file) first.
    result.problems.sort(key=lambda p: p.line or 0)
    return result
