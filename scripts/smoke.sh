#!/usr/bin/env bash
# The check to run after `make serve` or a deploy: does the API answer as it should?
#
#   scripts/smoke.sh [ENDPOINT] [--payload FILE] [--expected FILE] [--requests N] [--concurrency C]
#
# ENDPOINT defaults to http://localhost:8888. Checks, each reported on its own line:
#   1. GET ENDPOINT answers 200 with the API summary;
#   2. POST of the payload (default sample.json) answers 2xx with JSON; and when the
#      expected answer file exists (default: the payload's name with .expected.json, e.g.
#      sample.expected.json, written by `make expected`), the answer equals it (keys in
#      order; a difference is named by its path, e.g. .scores[2]), numbers
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

# JSON tokens, one per line: strings, numbers, punctuation, true/false/null; any other
# character that is not a space comes out alone, for same_json to refuse.
json_tokens() {
    grep -oE '"([^"\\]|\\.)*"|-?[0-9]+(\.[0-9]+)?([eE][+-]?[0-9]+)?|[][{}:,]|true|false|null|[^[:space:]]'
}

# same_json FILE < JSON: whether the JSON on stdin equals FILE's, token by token (keys in
# the same order), numbers within the tolerances; prints the first difference, at its
# path (.key[index]), when not, or why FILE is not JSON.
same_json() {
    awk -v rtol="${SMOKE_RTOL:-1e-4}" -v atol="${SMOKE_ATOL:-1e-6}" -v file="$1" '
        function num(t) { return t ~ /^-?[0-9]/ }
        function abs(x) { return x < 0 ? -x : x }
        function scalar(t) { return num(t) || t ~ /^"/ || t == "true" || t == "false" || t == "null" }
        function here(k,   d, p) {  # the path of the value at level k
            p = ""
            for (d = 1; d <= k; d++)
                p = p (kind[d] == "[" ? "[" at[d] "]" : (at[d] == "" ? "" : "." at[d]))
            return p == "" ? "." : p
        }
        function bad(why) { print file " is not JSON: " why; invalid = 1; exit 1 }
        # The grammar, token by token: path[i] is where expected token i stands (a key, a
        # comma or a closing bracket: where its object or array stands).
        function walk(t) {
            if (expect == "end") bad("more after its end: " t)
            if (expect == "key") {
                if (t == "}" && fresh) { close_(t); return }
                if (t !~ /^"/) bad("a key expected at " here(depth - 1) ", found " t)
                at[depth] = substr(t, 2, length(t) - 2); expect = ":"; return
            }
            if (expect == ":") { if (t != ":") bad(": expected at " here(depth) ", found " t); expect = "value"; return }
            if (expect == "next") {
                if (t == ",") {
                    if (kind[depth] == "[") { at[depth]++; expect = "value" } else expect = "key"
                    fresh = 0; return
                }
                if ((t == "}" && kind[depth] == "{") || (t == "]" && kind[depth] == "[")) { close_(t); return }
                bad(", or a closing bracket expected at " here(depth - 1) ", found " t)
            }
            if (t == "]" && fresh && kind[depth] == "[") { close_(t); return }
            if (t == "{" || t == "[") {
                kind[++depth] = t; at[depth] = (t == "[" ? 0 : ""); fresh = 1
                expect = (t == "{" ? "key" : "value"); return
            }
            if (!scalar(t)) bad("a value expected at " here(depth) ", found " t)
            after()
        }
        function close_(t) { depth--; after() }
        function after() { expect = (depth == 0 ? "end" : "next"); fresh = 0 }
        FILENAME == ARGV[1] {
            path[++n] = ($0 ~ /^[]},]$/ || expect == "key") ? here(depth - 1) : here(depth)
            walk($0); want[n] = $0; next
        }
        { got[++m] = $0 }
        END {
            if (invalid) exit 1
            if (n == 0) { print file " is not JSON: it is empty"; exit 1 }
            if (expect != "end") { print file " is not JSON: it ends early, after " here(depth); exit 1 }
            for (i = 1; i <= (n > m ? n : m); i++) {
                w = want[i]; g = got[i]
                if (i > m) { print "at " path[i] ": the answer ends where " w " was expected"; exit 1 }
                if (i > n) { print "the answer goes on after the expected end: " g; exit 1 }
                if (num(w) && num(g)) {
                    if (abs(g - w) <= atol + rtol * abs(w)) continue
                } else if (w == g) continue
                if ((w == "}" || w == "]") && g == ",") why = "more items than expected"
                else if (w == "," && (g == "}" || g == "]")) why = "fewer items than expected"
                else why = g " where " w " was expected"
                print "at " path[i] ": the answer has " why; exit 1
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
