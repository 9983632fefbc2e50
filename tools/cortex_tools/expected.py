"""`make expected`: write the answers smoke.sh expects, from the local runtime's own answers.

    python -m cortex_tools.expected [--config cortex.yaml] [--api NAME]

Serves the API (default: the first of cortex.yaml) as `make serve` does, POSTs each of the
project's payloads (sample.json, samples/*.json) and writes each answer beside its payload
as NAME.expected.json (sample.expected.json, ...). scripts/smoke.sh then checks that the
served or deployed API still gives those answers, numbers within a tolerance.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from cortex_tools import project
from cortex_tools.bench.server import Server, ServerError, post, serving
from cortex_tools.runtime.config import load_api
from cortex_tools.runtime.errors import ConfigError


def expected_path(payload_file: Path) -> Path:
    return payload_file.with_name(payload_file.name.removesuffix(".json") + ".expected.json")


def served_answers(config: Path, api: str | None, bodies: list[bytes]) -> list[str]:
    """Each body POSTed to the API served by the local runtime; its answers, as sent."""
    name = api or load_api(config).name
    server = Server(config, name, f"API {name}")
    answers = []
    with serving([server], bodies[0]) as (url,):
        for body in bodies:
            status, text, _ = post(url, body, timeout=60)
            if not 200 <= status < 300:
                raise ServerError(f"the API answered HTTP {status}: {text[:500]}")
            answers.append(text)
    return answers


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--config", type=Path, default=Path("cortex.yaml"))
    parser.add_argument("--api", help="default: the config's first API")
    args = parser.parse_args(argv)
    root = args.config.absolute().parent
    payloads = project.payloads(root)
    if not payloads:
        print(f"error: no {project.SAMPLE} in {root}", file=sys.stderr)
        return 1
    try:
        answers = served_answers(args.config, args.api,
                                 [json.dumps(p.value).encode() for p in payloads])
    except (ServerError, ConfigError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 1
    for payload, answer in zip(payloads, answers, strict=True):
        target = expected_path(root / payload.name)
        target.write_text(json.dumps(json.loads(answer), indent=2) + "\n")
        print(f"wrote {target.relative_to(root)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
