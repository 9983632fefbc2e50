#!/usr/bin/env bash
# POST a JSON payload to an API and print the answer.
#
#   scripts/predict.sh [ENDPOINT] [PAYLOAD_FILE]
#   scripts/predict.sh --api NAME [--env ENV] [PAYLOAD_FILE]
#
# ENDPOINT defaults to http://localhost:8888 (what `make serve` prints), PAYLOAD_FILE to
# sample.json (the one in the current folder, else the template's). With --api the
# endpoint is the `endpoint:` line of `cortex get NAME [--env ENV]`.
# Exit status: 0 on a 2xx answer; 1 on another status or no answer; 2 on a usage error.
# Needs only bash and curl. PREDICT_TIMEOUT (seconds, default 60) bounds the request.
set -euo pipefail

me=predict.sh
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"

usage() {
    sed -n '4,5p' "${BASH_SOURCE[0]}" | sed 's/^# *//'
}

die_usage() {
    echo "$me: $*" >&2
    usage >&2
    exit 2
}

# The endpoint `cortex get NAME` prints: its first `endpoint:` line (a later one, in the
# configuration section, is the API's path). Bold escapes are dropped in case colour is on.
endpoint_from_cortex() {
    local name="$1" env="$2" out
    command -v cortex >/dev/null || { echo "$me: --api needs the cortex CLI on PATH" >&2; exit 2; }
    out="$(cortex get "$name" ${env:+--env "$env"} 2>&1)" || {
        echo "$out" >&2
        echo "$me: \`cortex get $name${env:+ --env $env}\` failed" >&2
        exit 2
    }
    out="$(printf '%s\n' "$out" | sed 's/\x1b\[[0-9;]*m//g')"
    local endpoint
    endpoint="$(printf '%s\n' "$out" | awk '/^endpoint:/ { print $2; exit }')"
    if [[ -z "$endpoint" ]]; then
        printf '%s\n' "$out" >&2
        echo "$me: \`cortex get $name${env:+ --env $env}\` shows no endpoint (is it deployed?)" >&2
        exit 2
    fi
    printf '%s\n' "$endpoint"
}

api="" env="" positional=()
while (($#)); do
    case "$1" in
        --api) (($# >= 2)) || die_usage "--api needs a name"; api="$2"; shift 2 ;;
        --env) (($# >= 2)) || die_usage "--env needs a name"; env="$2"; shift 2 ;;
        -h | --help) usage; exit 0 ;;
        -*) die_usage "unknown option $1" ;;
        *) positional+=("$1"); shift ;;
    esac
done

if [[ -n "$api" ]]; then
    ((${#positional[@]} <= 1)) || die_usage "with --api, give at most a PAYLOAD_FILE"
    endpoint="$(endpoint_from_cortex "$api" "$env")"
    payload="${positional[0]:-}"
else
    [[ -z "$env" ]] || die_usage "--env goes with --api"
    ((${#positional[@]} <= 2)) || die_usage "too many arguments"
    endpoint="${positional[0]:-http://localhost:8888}"
    payload="${positional[1]:-}"
fi

if [[ -z "$payload" ]]; then
    payload=sample.json
    [[ -f "$payload" ]] || payload="$here/../sample.json"
fi
[[ -f "$payload" ]] || die_usage "payload file not found: $payload"

body="$(mktemp)"
trap 'rm -f "$body"' EXIT

if ! status="$(curl -sS --connect-timeout 10 --max-time "${PREDICT_TIMEOUT:-60}" \
    -X POST -H "Content-Type: application/json" --data-binary @"$payload" \
    -o "$body" -w '%{http_code}' "$endpoint")"; then
    echo "$me: no answer from $endpoint" >&2
    exit 1
fi

cat "$body"
[[ -z "$(tail -c 1 "$body")" ]] || echo  # end the answer with a newline

if [[ "$status" != 2?? ]]; then
    echo "$me: HTTP $status from $endpoint" >&2
    exit 1
fi
