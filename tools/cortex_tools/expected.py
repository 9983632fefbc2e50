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
import os
import re
import subprocess
import sys
import urllib.error
import urllib.request
from pathlib import Path

from cortex_tools import project

READY = re.compile(r"^serving API \S+: .* at (?P<url>http://\S+)$")
START_TIMEOUT_S = 300


def expected_path(payload_file: Path) -> Path:
    return payload_file.with_name(payload_file.name.removesuffix(".json") + ".expected.json")


def served_answers(config: Path, api: str | None, bodies: list[bytes]) -> list[bytes]:
    """Each body POSTed to the API served by the local runtime; its answers, as sent."""
    command = [sys.executable, "-m", "cortex_tools.runtime", "--config", str(config),
               "--port", "0", "--no-access-log", *(["--api", api] if api else [])]
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2"}
    with subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                          text=True, env=env) as server:
        try:
            url = _ready_url(server)
            return [_post(url, body) for body in bodies]
        finally:
            server.terminate()
            server.wait(timeout=30)


def _ready_url(server: subprocess.Popen[str]) -> str:
    assert server.stdout is not None
    seen = []
    for line in server.stdout:
        seen.append(line.rstrip())
        found = READY.match(line.strip())
        if found:
            return found.group("url")
    raise RuntimeError("the local runtime stopped before it served:\n" + "\n".join(seen[-20:]))


def _post(url: str, body: bytes) -> bytes:
    request = urllib.request.Request(url, data=body, method="POST",
                                     headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=60) as response:
            return response.read()
    except urllib.error.HTTPError as e:
        raise RuntimeError(f"the API answered HTTP {e.code}: {e.read()[:500]!r}") from e


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
    except RuntimeError as e:
        print(f"error: {e}", file=sys.stderr)
        return 1
    for payload, answer in zip(payloads, answers, strict=True):
        target = expected_path(root / payload.name)
        target.write_text(json.dumps(json.loads(answer), indent=2) + "\n")
        print(f"wrote {target.relative_to(root)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
