#!/usr/bin/env bash
# Post-deploy smoke test for Course Supporter.
#
#   scripts/smoke_test.sh [--insecure] [--behind-proxy] BASE_URL API_KEY
#
#   BASE_URL        e.g. https://api.pythoncourse.me (no trailing slash needed)
#   API_KEY         a key with the prep scope (cs_live_...)
#   --insecure      accept a self-signed certificate (or CURL_INSECURE=1)
#   --behind-proxy  also check what the nginx in front must do: /metrics is not
#                   reachable and the X-Request-ID sent is the one the API sees
#                   (or SMOKE_BEHIND_PROXY=1)
#
# Prints one PASS/FAIL line per check and exits non-zero if any check failed.
# Creates one course (deleted again at the end, also on failure).
set -euo pipefail

insecure="${CURL_INSECURE:-0}"
behind_proxy="${SMOKE_BEHIND_PROXY:-0}"
timeout="${SMOKE_TIMEOUT:-30}"
args=()
while [[ $# -gt 0 ]]; do
    case "$1" in
        -k|--insecure) insecure=1; shift ;;
        --behind-proxy) behind_proxy=1; shift ;;
        -h|--help) sed -n '2,16p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
        -*) echo "smoke_test.sh: unknown option $1" >&2; exit 2 ;;
        *) args+=("$1"); shift ;;
    esac
done
if [[ ${#args[@]} -ne 2 ]]; then
    echo "usage: $0 [--insecure] [--behind-proxy] BASE_URL API_KEY" >&2
    exit 2
fi
base="${args[0]%/}"
key="${args[1]}"

work="$(mktemp -d)"
course_id=""
failures=0
checks=0

curl_opts=(--silent --show-error --max-time "$timeout")
if [[ "$insecure" == "1" ]]; then
    curl_opts+=(--insecure)
fi

cleanup() {
    if [[ -n "$course_id" ]]; then
        curl "${curl_opts[@]}" -o /dev/null -X DELETE -H "X-API-Key: $key" \
            "$base/api/v1/courses/$course_id" || true
    fi
    rm -rf "$work"
}
trap cleanup EXIT

pass() { checks=$((checks + 1)); printf 'PASS  %s\n' "$1"; }
fail() { checks=$((checks + 1)); failures=$((failures + 1)); printf 'FAIL  %s\n' "$1"; }

# req NAME METHOD PATH [curl args...] -> sets $status; body in $work/NAME.body,
# headers in $work/NAME.headers
req() {
    local name="$1" method="$2" path="$3"
    shift 3
    status="$(curl "${curl_opts[@]}" -X "$method" -o "$work/$name.body" -D "$work/$name.headers" \
        -w '%{http_code}' "$@" "$base$path" 2>"$work/$name.err" || true)"
    [[ -n "$status" ]] || status="000"
}

# body snippet for FAIL lines
snippet() { head -c 200 "$work/$1.body" 2>/dev/null | tr "\n" " "; head -c 200 "$work/$1.err" 2>/dev/null; }

# header NAME HEADER -> value (case-insensitive), empty if absent
header() {
    { grep -i "^$2:" "$work/$1.headers" 2>/dev/null || true; } | tail -n 1 | cut -d: -f2- | tr -d '\r' | sed 's/^ *//'
}

# json_get NAME FIELD -> top-level string/number field of the JSON body
json_get() {
    if command -v python3 >/dev/null 2>&1; then
        python3 -c 'import json,sys
try:
    v = json.load(open(sys.argv[1])).get(sys.argv[2], "")
except Exception:
    v = ""
print("" if v is None else v)' "$work/$1.body" "$2"
    else
        sed -n "s/.*\"$2\" *: *\"\\{0,1\\}\\([^\",}]*\\).*/\\1/p" "$work/$1.body" | head -n 1
    fi
}

auth=(-H "X-API-Key: $key")
rid="smoke-$(date +%s)-$$"

# 1. health
req health GET /health -H "X-Request-ID: $rid"
if [[ "$status" == "200" ]] && grep -Eq '"status" *: *"ok"' "$work/health.body"; then
    pass "GET /health -> 200 status ok"
else
    fail "GET /health -> $status $(snippet health)"
fi

# 2. request id on every response
got_rid="$(header health X-Request-ID)"
if [[ -n "$got_rid" ]]; then
    pass "X-Request-ID present on responses ($got_rid)"
else
    fail "X-Request-ID missing from /health response"
fi

# 3. wrong key
req badkey GET /api/v1/me -H "X-API-Key: cs_live_00000000000000000000000000000000"
if [[ "$status" == "401" ]]; then
    pass "GET /api/v1/me with a wrong key -> 401"
else
    fail "GET /api/v1/me with a wrong key -> $status (want 401) $(snippet badkey)"
fi

# 4. me
req me GET /api/v1/me "${auth[@]}"
if [[ "$status" == "200" ]]; then
    pass "GET /api/v1/me -> 200 (tenant $(json_get me tenant_name))"
else
    fail "GET /api/v1/me -> $status $(snippet me)"
fi

# 5. create course
req create POST /api/v1/courses "${auth[@]}" -H "Content-Type: application/json" \
    --data "{\"title\":\"smoke test $rid\",\"description\":\"created by scripts/smoke_test.sh\"}"
course_id="$(json_get create id)"
if [[ "$status" == "201" && -n "$course_id" ]]; then
    pass "POST /api/v1/courses -> 201 (id $course_id)"
else
    fail "POST /api/v1/courses -> $status $(snippet create)"
    course_id=""
fi

# 6. rate-limit headers on a scoped response
missing=""
for h in RateLimit-Limit RateLimit-Remaining RateLimit-Reset; do
    [[ -n "$(header create "$h")" ]] || missing="$missing $h"
done
if [[ -z "$missing" ]]; then
    pass "RateLimit-Limit/Remaining/Reset present ($(header create RateLimit-Remaining)/$(header create RateLimit-Limit) left)"
else
    fail "rate-limit headers missing:$missing"
fi

if [[ -n "$course_id" ]]; then
    # 7. get course
    req get GET "/api/v1/courses/$course_id" "${auth[@]}"
    if [[ "$status" == "200" ]] && grep -q "$course_id" "$work/get.body"; then
        pass "GET /api/v1/courses/{id} -> 200"
    else
        fail "GET /api/v1/courses/{id} -> $status $(snippet get)"
    fi

    # 8. small upload (multipart, text)
    printf '# Smoke test\n\nA tiny lesson about *variables* in Python.\n' >"$work/lesson.md"
    req upload POST "/api/v1/courses/$course_id/materials" "${auth[@]}" \
        -F "source_type=text" -F "file=@$work/lesson.md;type=text/markdown"
    if [[ "$status" == "201" && -n "$(json_get upload id)" ]]; then
        pass "POST /api/v1/courses/{id}/materials (text, multipart) -> 201 (status $(json_get upload status))"
    else
        fail "POST /api/v1/courses/{id}/materials -> $status $(snippet upload)"
    fi

    # 9. delete course, then it is gone
    req delete DELETE "/api/v1/courses/$course_id" "${auth[@]}"
    if [[ "$status" == "204" ]]; then
        req gone GET "/api/v1/courses/$course_id" "${auth[@]}"
        if [[ "$status" == "404" ]]; then
            pass "DELETE /api/v1/courses/{id} -> 204, then GET -> 404"
            course_id=""
        else
            fail "after DELETE, GET /api/v1/courses/{id} -> $status (want 404)"
        fi
    else
        fail "DELETE /api/v1/courses/{id} -> $status $(snippet delete)"
    fi
else
    fail "course get/upload/delete skipped: no course was created"
fi

if [[ "$behind_proxy" == "1" ]]; then
    # 10. request id chosen by the client reaches the API and comes back
    if [[ "$got_rid" == "$rid" ]]; then
        pass "X-Request-ID sent by the client is passed through ($rid)"
    else
        fail "X-Request-ID sent as $rid came back as '${got_rid}'"
    fi
    # 11. /metrics is internal
    req metrics GET /metrics
    if [[ "$status" == "403" || "$status" == "404" ]]; then
        pass "GET /metrics from outside -> $status (not exposed)"
    else
        fail "GET /metrics from outside -> $status (must be 403/404)"
    fi
fi

echo "smoke: $((checks - failures)) passed, $failures failed"
[[ "$failures" -eq 0 ]]
