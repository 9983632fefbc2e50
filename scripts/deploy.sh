#!/usr/bin/env bash
# Deploy a config with the cortex CLI, wait until every API of it is live, smoke-test each.
#
#   scripts/deploy.sh [CONFIG] [--env ENV] [--yes] [--force]
#
# CONFIG defaults to cortex.yaml; the project is its folder, as for `cortex deploy`.
# Steps: `cortex deploy CONFIG [--env ENV] [--yes] [--force]` (--yes skips its prompts
# about large uploads, --force replaces an update in progress); then, for each API named
# in CONFIG (its `name:` lines), `cortex get NAME [--env ENV]` until the status is live
# (an error status stops at once; DEPLOY_TIMEOUT seconds, default 900, bound the wait,
# polled every DEPLOY_POLL seconds, default 10); then scripts/smoke.sh on each endpoint,
# with the project's sample.json and, when present, its sample.expected.json.
# Exit status: 0 when every API is live and passes; 1 otherwise; 2 on a usage error.
set -uo pipefail

me=deploy.sh
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
timeout_s="${DEPLOY_TIMEOUT:-900}"
poll_s="${DEPLOY_POLL:-10}"

die_usage() {
    echo "$me: $*" >&2
    echo "usage: scripts/deploy.sh [CONFIG] [--env ENV] [--yes] [--force]" >&2
    exit 2
}

config="" env="" deploy_flags=()
while (($#)); do
    case "$1" in
        --env | -e) (($# >= 2)) || die_usage "--env needs a name"; env="$2"; shift 2 ;;
        --yes | -y | --force | -f) deploy_flags+=("$1"); shift ;;
        -h | --help) sed -n '2,12p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'; exit 0 ;;
        -*) die_usage "unknown option $1" ;;
        *) [[ -z "$config" ]] || die_usage "one CONFIG only"; config="$1"; shift ;;
    esac
done
config="${config:-cortex.yaml}"
[[ -f "$config" ]] || die_usage "config file not found: $config"
command -v cortex >/dev/null || { echo "$me: the cortex CLI is not on PATH" >&2; exit 2; }
env_args=(${env:+--env "$env"})

# API names: the `name:` key of each top-level list item (`- name: x`, or `  name: x`
# under an item that starts with another key), without quotes or a trailing comment.
api_names() {
    sed -nE 's/^(-[[:space:]]+|  )name:[[:space:]]*//p' "$1" |
        sed -E 's/[[:space:]]+#.*$//; s/^["'\'']//; s/["'\'']?[[:space:]]*$//'
}

# `cortex get NAME` without colour codes.
cortex_get() {
    cortex get "$1" "${env_args[@]}" 2>&1 | sed 's/\x1b\[[0-9;]*m//g'
}

# The status column of the row under the `status` header ("live", "updating",
# "compute unavailable", "error (out of memory)", ...): columns are 3+ spaces apart.
status_of() {
    sed -n '/^status /{n;p;q;}' | sed -E 's/ {2,}.*$//'
}

names=()
while IFS= read -r name; do
    [[ -n "$name" ]] && names+=("$name")
done < <(api_names "$config")
((${#names[@]})) || { echo "$me: found no \`- name:\` line in $config" >&2; exit 1; }

echo "$me: cortex deploy $config ${env_args[*]} ${deploy_flags[*]}"
cortex deploy "$config" "${env_args[@]}" "${deploy_flags[@]}" ||
    { echo "$me: cortex deploy failed" >&2; exit 1; }
echo

endpoints=()
# SECONDS counts whole seconds, so SECONDS + N may come a moment later: the + 1 makes the
# wait at least DEPLOY_TIMEOUT seconds, as the message when it runs out says.
deadline=$((SECONDS + timeout_s + 1))
for name in "${names[@]}"; do
    status="" last_shown=""
    while :; do
        out="$(cortex_get "$name")"
        status="$(printf '%s\n' "$out" | status_of)"
        if [[ "$status" == live ]]; then
            endpoint="$(printf '%s\n' "$out" | awk '/^endpoint:/ { print $2; exit }')"
            [[ -n "$endpoint" ]] || { echo "$me: $name is live but shows no endpoint" >&2; exit 1; }
            echo "$me: $name is live at $endpoint"
            endpoints+=("$endpoint")
            break
        fi
        if [[ "$status" == error* ]]; then
            echo "$me: $name: status \"$status\"; see \`cortex logs $name ${env_args[*]}\`" >&2
            exit 1
        fi
        if ((SECONDS >= deadline)); then
            echo "$me: $name is not live after ${timeout_s}s (status: ${status:-none}); last \`cortex get\`:" >&2
            printf '%s\n' "$out" >&2
            exit 1
        fi
        shown="${status:-$(printf '%s\n' "$out" | head -n 1)}"
        [[ "$shown" == "$last_shown" ]] || echo "$me: $name: $shown; waiting"
        last_shown="$shown"
        sleep "$poll_s"
    done
done

# The project's sample.json (and its sample.expected.json, if any: smoke.sh finds it).
smoke_args=()
sample="$(dirname "$config")/sample.json"
[[ -f "$sample" ]] && smoke_args=(--payload "$sample")

echo
failed=()
for i in "${!names[@]}"; do
    "$here/smoke.sh" "${endpoints[$i]}" "${smoke_args[@]}" || failed+=("${names[$i]}")
    echo
done
if ((${#failed[@]})); then
    echo "$me: smoke test failed for: ${failed[*]}" >&2
    exit 1
fi
echo "$me: ${#names[@]} API(s) live and smoke-tested: ${names[*]}"
