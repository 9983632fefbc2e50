"""check_file / check_files: read config files, run every check, collect every problem at once.

check_file checks one config file's rules: Cortex's schema and cross-field rules, and
what the API's predictor reads from predictor.config (its model included). That is what
the runtime (`make serve`) and the tools load configs with.

check_files is `make check`: each file's rules and then what `cortex deploy` and a
container start would find in the project's files: Cortex's class rules on each
predictor (read with ast; `make serve` finds them by loading the class, in Cortex's own
words) and requirements.txt. With build=True the build check (build.py) then builds the
predictors of every file's template APIs together, in one child process.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

from . import requirements, rules, template
from .build import Candidate, build_all
from .defaults import with_defaults
from .messages import kind, schema_problems
from .problems import ERROR, ApiScope, Problem, Result
from .project import Project
from .schema import API_VALIDATOR
from .yamlfile import ConfigFileError, load_yaml

FILE_ALLOWED = "a YAML list of APIs, each starting with '- name: ...'"


def check_file(path: str | Path, strict: bool = False) -> Result:
    """Every problem of one config file's rules."""
    result, _ = _check_statically(Path(path), strict, deploy=False)
    result.sort()
    return result


def check_files(paths: Iterable[str | Path], strict: bool = False,
                build: bool = True) -> list[Result]:
    """`make check`: check_file for each file, the project files' rules, and (build=True)
    one build check for all of them."""
    checked = [_check_statically(Path(path), strict, deploy=True) for path in paths]
    if build:
        build_all([candidate for _, candidates in checked for candidate in candidates])
    for result, _ in checked:
        result.sort()
    return [result for result, _ in checked]


def _check_statically(path: Path, strict: bool,
                      deploy: bool) -> tuple[Result, list[Candidate]]:
    result = Result(path=path, project_dir=path.absolute().parent, strict=strict)
    file = str(path)

    def file_problem(message: str, line: int | None = None) -> None:
        result.problems.append(Problem(ERROR, line, None, "", message, file))

    try:
        document = load_yaml(path)
    except ConfigFileError as exc:
        file_problem(exc.message, exc.line)
        return result, []

    data = document.data
    if data is None:
        file_problem(f"is empty ({FILE_ALLOWED})", document.lines.get(()))
        return result, []
    if not isinstance(data, list):
        file_problem(f"holds {kind(data)}, not a list of APIs ({FILE_ALLOWED})",
                     document.lines.get(()))
        return result, []
    if not data:
        file_problem(f"has no APIs ({FILE_ALLOWED})", document.lines.get(()))
        return result, []

    for key_path, line in document.duplicates:
        index, *rest = key_path
        scope = ApiScope(result, document, index, data[index] if isinstance(
            data[index], dict) else {})
        scope.warning(tuple(rest), "is written twice in one mapping; the last one wins "
                      "(each key once)", line=line)

    project = Project(result.project_dir, path)
    scopes: list[ApiScope] = []
    candidates: list[Candidate] = []
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
        where = template.check_api(api, scope, project, class_rules=deploy)
        if where is not None:
            candidates.append(Candidate(result, scope, api, where))
        scopes.append(scope)
        result.apis.append(api)
    rules.check_across(result.apis, scopes)
    if deploy:  # the project's, whichever API: Cortex installs it in every API's containers
        result.problems += requirements.check(result.project_dir, path.parent)
    return result, candidates
