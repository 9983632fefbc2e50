#!/usr/bin/env bash
# The check to run after `make serve` or a deploy: does the API answer as it should?
#
#   scripts/smoke.sh [ENDPOINT] [--payload FILE] [--expected FILE] [--requests N] [--concurrency C]
#
# ENDPOINT defaults to http://localhost:8888. Checks, each reported on its own line:
#   1. GET ENDPOINT answers 200 with the API summary;
#   2. POST of the payload (default sample.json) answers 2xx with JSON; and when the
#      expected answer file exists (default: the payload's name with .expected.json, e.g.
#      sample.expected.json, written by `make expected`), the answer equals it, numbers
#      within SMOKE_RTOL (default 1e-4) relative or SMOKE_ATOL (default 1e-6) absolute;
#   3. POST of a JSON payload that is not an object ([]) answers 4xx;
#   4. a burst of N requests (default 200), C at a time (default 16), all answer 2xx.
# Ends with "N passed, N failed"; exits 0 only when none failed (2 on a usage error).
# Needs only bash, curl and awk. SMOKE_TIMEOUT (seconds, default 60) bounds each request.
set -uo pipefail

me=smoke.sh
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
timeout_s="${SMOKE_TIMEOUT:-60}"

die_usage() {
    echo "$me: $*" >&2
    sed -n '4p' "${BASH_SOURCE[0]}" | sed 's/^# */usage: /' >&2
    exit 2
}

endpoint="" payload="" expected="" requests=200 concurrency=16
while (($#)); do
    case "$1" in
        --payload | --expected | --requests | --concurrency)
            (($# >= 2)) || die_usage "$1 needs a value"
            case "$1" in
                --payload) payload="$2" ;;
                --expected) expected="$2" ;;
                --requests) requests="$2" ;;
                --concurrency) concurrency="$2" ;;
            esac
            shift 2 ;;
        -h | --help) sed -n '2,16p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'; exit 0 ;;
        -*) die_usage "unknown option $1" ;;
        *) [[ -z "$endpoint" ]] || die_usage "one ENDPOINT only"; endpoint="$1"; shift ;;
    esac
done
endpoint="${endpoint:-http://localhost:8888}"
[[ "$requests" =~ ^[1-9][0-9]*$ ]] || die_usage "--requests must be a positive number"
[[ "$concurrency" =~ ^[1-9][0-9]*$ ]] || die_usage "--concurrency must be a positive number"
if [[ -z "$payload" ]]; then
    payload=sample.json
    [[ -f "$payload" ]] || payload="$here/../sample.json"
fi
[[ -f "$payload" ]] || die_usage "payload file not found: $payload"
if [[ -z "$expected" ]]; then
    expected="${payload%.json}.expected.json"
    [[ -f "$expected" ]] || expected=""
else
    [[ -f "$expected" ]] || die_usage "expected answer file not found: $expected"
fi

work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
passed=0 failed=0

pass() { passed=$((passed + 1)); echo "ok   $1"; }
fail() { failed=$((failed + 1)); echo "FAIL $1: $2"; }

# call METHOD [curl args...]: sets $status (000: no answer), $content_type, $body, and
# $got to show.
call() {
    local method="$1"
    shift
    local out
    out="$(curl -sS --connect-timeout 10 --max-time "$timeout_s" -X "$method" \
        -o "$work/body" -w '%{http_code} %{content_type}' "$@" "$endpoint" 2>"$work/err")" ||
        out=000
    status="${out%% *}" content_type="${out#* }"
    body="$(cat "$work/body" 2>/dev/null)"
    got="HTTP $status: $body"
    [[ "$status" != 000 ]] || got="no answer ($(tr -d '\n' <"$work/err"))"
    rm -f "$work/body"
}

json=(-H "Content-Type: application/json")

# JSON tokens, one per line: strings, numbers, punctuation, true/false/null.
json_tokens() {
    grep -oE '"([^"\\]|\\.)*"|-?[0-9]+(\.[0-9]+)?([eE][+-]?[0-9]+)?|[][{}:,]|true|false|null'
}

# same_json FILE < JSON: whether the JSON on stdin equals FILE's, token by token, numbers
# within the tolerances; prints the first difference when not.
same_json() {
    awk -v rtol="${SMOKE_RTOL:-1e-4}" -v atol="${SMOKE_ATOL:-1e-6}" '
        function num(t) { return t ~ /^-?[0-9]/ }
        function abs(x) { return x < 0 ? -x : x }
        NR == FNR { want[++n] = $0; next }
        { got[++m] = $0 }
        END {
            for (i = 1; i <= (n > m ? n : m); i++) {
                if (i > n || i > m) { print "the answer has " m " JSON tokens, expected " n; exit 1 }
                w = want[i]; g = got[i]
                if (num(w) && num(g)) {
                    if (abs(g - w) > atol + rtol * abs(w)) { print g " where " w " was expected"; exit 1 }
                } else if (w != g) { print g " where " w " was expected"; exit 1 }
            }
        }' <(json_tokens <"$1") <(json_tokens)
}

echo "smoke-testing $endpoint"

call GET
if [[ "$status" == 200 && "$body" == *"make a prediction"* ]]; then
    pass "GET answers the summary"
else
    fail "GET answers the summary" "$got"
fi

name="POST $(basename "$payload") answers 2xx with JSON"
[[ -z "$expected" ]] || name="POST $(basename "$payload") answers $(basename "$expected")"
call POST "${json[@]}" --data-binary @"$payload"
if [[ "$status" != 2?? || "$content_type" != application/json* ]]; then
    fail "$name" "$got"
elif [[ -n "$expected" ]] && ! difference="$(printf '%s' "$body" | same_json "$expected")"; then
    fail "$name" "$difference; got $body"
else
    pass "$name"
fi

call POST "${json[@]}" --data-binary '[]'
if [[ "$status" == 4?? ]]; then
    pass "a payload that is not a JSON object gets $status"
else
    fail "a payload that is not a JSON object gets 4xx" "$got"
fi

# The burst: one curl doing every request, C at a time (curl >= 7.66), else xargs -P.
burst_name="$requests requests, $concurrency at a time, all answer 2xx"
burst=(-sS --connect-timeout 10 --max-time "$timeout_s" -X POST "${json[@]}"
    --data-binary @"$payload" -w '%{http_code}\n')
if curl --help all 2>/dev/null | grep -q -- '--parallel-immediate'; then
    for ((i = 0; i < requests; i++)); do
        printf 'url = "%s"\noutput = "/dev/null"\n' "$endpoint"
    done >"$work/burst.conf"
    curl --parallel --parallel-immediate --parallel-max "$concurrency" "${burst[@]}" \
        --config "$work/burst.conf" >"$work/codes" 2>"$work/err"
else
    seq "$requests" | xargs -P "$concurrency" -I{} \
        curl "${burst[@]}" -o /dev/null "$endpoint" >"$work/codes" 2>"$work/err"
fi
ok_count="$(grep -c '^2[0-9][0-9]$' "$work/codes")"
if [[ "$ok_count" == "$requests" ]]; then
    pass "$burst_name"
else
    others="$(grep -v '^2[0-9][0-9]$' "$work/codes" | sort | uniq -c |
        awk '{ printf "%s x %s, ", $1, ($2 == "000" ? "no answer" : "HTTP " $2) }')"
    missing=$((requests - $(wc -l <"$work/codes")))
    ((missing <= 0)) || others+="$missing x no answer, "
    fail "$burst_name" "$ok_count x 2xx, ${others%, }"
fi

echo "$passed passed, $failed failed"
((failed == 0))
