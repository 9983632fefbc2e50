"""Check Cortex 0.17 configs before `cortex deploy`.

    python -m cortex_tools.config_check [--strict] [--no-build] FILE...

With no FILE, checks every cortex*.yaml in the current folder. Prints each problem as
FILE:LINE: api NAME: key: what is wrong (what is allowed), or one OK line per good file.
Then, unless --no-build, builds each template API's PythonPredictor with its local model
in one child process, as a Cortex worker would (build.py); the OK line counts the APIs
built, and those not built because their model is at s3://.
Exit status: 0 when every file is OK, 1 otherwise (with --strict, warnings count too).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from cortex_tools.config_check import Result, check_files


def plural(count: int, word: str) -> str:
    return f"{count} {word}{'' if count == 1 else 's'}"


def build_counts(result: Result) -> list[str]:
    counts = [f"{result.built} built"] if result.built else []
    if result.s3_not_built:
        counts.append(f"{plural(result.s3_not_built, 's3:// model')} not built")
    return counts


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("files", nargs="*", metavar="FILE", help="config files (default: "
                        "every cortex*.yaml in the current folder)")
    parser.add_argument("--strict", action="store_true", help="fail on warnings too")
    parser.add_argument("--no-build", action="store_true", help="only the static checks: "
                        "do not build the predictors (no TensorFlow, faster)")
    args = parser.parse_args(argv)

    files = args.files or sorted(str(p) for p in Path().glob("cortex*.yaml"))
    if not files:
        print(f"no cortex*.yaml in {Path.cwd()} (name config files, or run in the project)")
        return 1

    all_ok = True
    for file, result in zip(files, check_files(files, strict=args.strict,
                                               build=not args.no_build), strict=True):
        for problem in result.problems:
            print(problem.format())
        counts = [plural(len(result.apis), "api"), *build_counts(result)]
        if result.warnings:
            counts.append(plural(len(result.warnings), "warning"))
        if result.ok:
            print(f"{file}: OK ({', '.join(counts)})")
        else:
            failed = [plural(len(result.errors), "error")] if result.errors else []
            if result.warnings:
                failed.append(plural(len(result.warnings), "warning"))
            print(f"{file}: FAILED ({', '.join(failed)})")
            all_ok = False
    return 0 if all_ok else 1


if __name__ == "__main__":
    sys.exit(main())
