#!/usr/bin/env bash
# End-to-end run of the PRODUCTION topology on loopback, without containers:
#
#   curl --https--> nginx (real deploy/nginx/course-supporter.conf, self-signed cert)
#                     --> API: course_supporter serve --workers 2 (from the wheel, see below)
#                           --> PostgreSQL 127.0.0.1:5432 (fresh database cs_e2e_<random>)
#                           --> Redis 127.0.0.1:6379 (an empty db index)
#                           --> S3: python -m moto.server (fresh bucket)
#                     worker: python -m course_supporter worker (1 process)
#
# Then: tenant + key from the CLI, scripts/smoke_test.sh through nginx over HTTPS, and
# a 200 MiB upload through nginx while the API workers' RSS is sampled from /proc;
# fails if it grows by more than 64 MiB. Everything started here is stopped and the
# database / redis index / temp dir are removed on exit (E2E_KEEP=1 keeps the temp dir
# with all logs).
#
# The API, worker, migrations and admin CLI run from the artifact that ships: the wheel installed
# without the dev group outside the checkout (E2E_APP_PYTHON, or scripts/install_wheel.sh into
# the temp dir); the dev .venv only runs the test tools (moto's S3 server, boto3).
# Needs: make install done (or it runs it), nginx, openssl, curl, psql, redis-cli.
# Knobs: E2E_PG_URL (postgresql://postgres@127.0.0.1:5432), E2E_REDIS_HOST/PORT,
#        E2E_UPLOAD_MIB (200), E2E_RSS_LIMIT_MIB (64), E2E_UPLOAD_SOURCE_TYPE (video),
#        E2E_PYTHON (.venv/bin/python, the tools), E2E_APP_PYTHON (the wheel's), E2E_KEEP (0).
set -euo pipefail

repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$repo"

pg_base="${E2E_PG_URL:-postgresql://postgres@127.0.0.1:5432}"
redis_host="${E2E_REDIS_HOST:-127.0.0.1}"
redis_port="${E2E_REDIS_PORT:-6379}"
upload_mib="${E2E_UPLOAD_MIB:-200}"
rss_limit_mib="${E2E_RSS_LIMIT_MIB:-64}"
upload_type="${E2E_UPLOAD_SOURCE_TYPE:-video}"
export PATH="$PATH:/usr/sbin"

log() { printf '[e2e %s] %s\n' "$(date +%H:%M:%S)" "$*"; }
die() { log "ERROR: $*"; exit 1; }
passed=0
failed=0
pass() { passed=$((passed + 1)); printf 'PASS  e2e: %s\n' "$1"; }
fail() { failed=$((failed + 1)); printf 'FAIL  e2e: %s\n' "$1"; }

for tool in nginx openssl curl psql redis-cli; do
    command -v "$tool" >/dev/null 2>&1 || die "$tool not found (apt-get install nginx openssl curl postgresql-client redis-tools)"
done
py="${E2E_PYTHON:-$repo/.venv/bin/python}"
if [[ ! -x "$py" ]]; then
    log "no .venv: running make install"
    make install
fi
"$py" -c 'import moto, boto3' 2>/dev/null || die "moto and boto3 must import from .venv (make install)"

tmp="$(mktemp -d /tmp/cs-e2e.XXXXXX)"
app="${E2E_APP_PYTHON:-}"
if [[ -z "$app" ]]; then
    log "installing the wheel into $tmp/wheel"
    scripts/install_wheel.sh "$tmp/wheel" >"$tmp/install.log" 2>&1 || { cat "$tmp/install.log"; exit 1; }
    app="$tmp/wheel/venv/bin/python"
fi
case "$("$app" -c 'import course_supporter; print(course_supporter.__file__)')" in
    "$repo"/*) die "$app imports course_supporter from the checkout, not from an installed wheel" ;;
esac
suffix="$(od -An -N4 -tx1 /dev/urandom | tr -d ' \n')"
db="cs_e2e_${suffix}"
redis_db=""
api_pid=""
worker_pid=""
moto_pid=""
sampler_pid=""

# all descendants of a pid (children first found via /proc)
descendants() {
    local parent="$1" child
    for child in $(pgrep -P "$parent" 2>/dev/null || true); do
        echo "$child"
        descendants "$child"
    done
}

stop_tree() { # PID NAME: TERM the process and its descendants, KILL after 15 s
    local pid="$1" name="$2" pids i
    [[ -n "$pid" ]] || return 0
    kill -0 "$pid" 2>/dev/null || return 0
    mapfile -t pids < <(descendants "$pid")
    kill -TERM "$pid" 2>/dev/null || true
    for i in $(seq 1 150); do
        kill -0 "$pid" 2>/dev/null || break
        sleep 0.1
    done
    for p in "$pid" "${pids[@]}"; do
        if kill -0 "$p" 2>/dev/null; then
            log "killing leftover $name process $p"
            kill -KILL "$p" 2>/dev/null || true
        fi
    done
    wait "$pid" 2>/dev/null || true
}

cleanup() {
    local rc=$?
    set +e
    [[ -n "$sampler_pid" ]] && kill "$sampler_pid" 2>/dev/null
    if [[ -f "$tmp/nginx/nginx.pid" ]]; then
        kill -QUIT "$(cat "$tmp/nginx/nginx.pid")" 2>/dev/null
    fi
    stop_tree "$worker_pid" worker
    stop_tree "$api_pid" api
    stop_tree "$moto_pid" moto
    psql "$pg_base/postgres" -q -c "DROP DATABASE IF EXISTS \"$db\" WITH (FORCE)" >/dev/null 2>&1
    if [[ -n "$redis_db" ]]; then
        redis-cli -h "$redis_host" -p "$redis_port" -n "$redis_db" FLUSHDB >/dev/null 2>&1
    fi
    if [[ "$rc" -ne 0 || "$failed" -ne 0 ]]; then
        for f in "$tmp"/api.log "$tmp"/worker.log "$tmp"/nginx/logs/error.log; do
            [[ -f "$f" ]] && { log "--- last lines of $f"; tail -n 40 "$f"; }
        done
    fi
    if [[ "${E2E_KEEP:-0}" == "1" ]]; then
        log "kept $tmp"
    else
        rm -rf "$tmp"
    fi
    exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

free_port() { "$py" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }

wait_http() { # URL SECONDS [curl args]
    local url="$1" secs="$2" i
    shift 2
    for i in $(seq 1 $((secs * 5))); do
        curl -s -o /dev/null --max-time 2 "$@" "$url" && return 0
        sleep 0.2
    done
    return 1
}

# ------------------------------------------------------------------ PostgreSQL
log "PostgreSQL: creating database $db"
psql "$pg_base/postgres" -q -v ON_ERROR_STOP=1 -c "CREATE DATABASE \"$db\"" >/dev/null

# ------------------------------------------------------------------ Redis: an empty db index
for i in $(seq 1 15); do
    if [[ "$(redis-cli -h "$redis_host" -p "$redis_port" -n "$i" DBSIZE)" == "0" ]]; then
        redis_db="$i"
        break
    fi
done
[[ -n "$redis_db" ]] || die "no empty Redis database index in 1..15"
log "Redis: using db $redis_db"

# ------------------------------------------------------------------ S3 (moto)
moto_port="$(free_port)"
"$py" -m moto.server -H 127.0.0.1 -p "$moto_port" >"$tmp/moto.log" 2>&1 &
moto_pid=$!
wait_http "http://127.0.0.1:$moto_port/" 30 || die "moto server did not start"
bucket="cs-e2e-$suffix"
AWS_ACCESS_KEY_ID=e2e AWS_SECRET_ACCESS_KEY=e2e "$py" -c '
import sys, boto3
boto3.client("s3", endpoint_url=sys.argv[1], region_name="us-east-1").create_bucket(Bucket=sys.argv[2])
' "http://127.0.0.1:$moto_port" "$bucket"
log "S3: moto on :$moto_port, bucket $bucket"

# ------------------------------------------------------------------ app settings (as in .env.prod)
export ENVIRONMENT=production
export DATABASE_URL="$pg_base/$db"
export REDIS_URL="redis://$redis_host:$redis_port/$redis_db"
export STORAGE_BACKEND=s3
export S3_ENDPOINT_URL="http://127.0.0.1:$moto_port"
export S3_BUCKET="$bucket"
export S3_ACCESS_KEY_ID=e2e
export S3_SECRET_ACCESS_KEY=e2e
export S3_REGION=us-east-1
export STORAGE_DIR="$tmp/storage"
export MAX_UPLOAD_BYTES=1073741824
export CORS_ALLOWED_ORIGINS=https://example.test
export LOG_LEVEL=INFO
export EMBEDDED_WORKER=false
export API_KEY_CACHE_TTL_SECONDS=5
export METRICS_TOKEN="e2e-metrics-$suffix"
export TRUSTED_PROXIES=127.0.0.1
unset GEMINI_API_KEY ANTHROPIC_API_KEY OPENAI_API_KEY DEEPSEEK_API_KEY

# ------------------------------------------------------------------ migrations
log "migrations: course_supporter db upgrade"
"$app" -m course_supporter db upgrade >"$tmp/migrate.log" 2>&1 || { cat "$tmp/migrate.log"; die "migrations failed"; }
pass "db upgrade on a fresh PostgreSQL database (the installed wheel)"

# ------------------------------------------------------------------ API (2 workers) + worker
api_port="$(free_port)"
(cd "$tmp" && exec "$app" -m course_supporter serve --host 127.0.0.1 --port "$api_port" --workers 2) >"$tmp/api.log" 2>&1 &
api_pid=$!
(cd "$tmp" && exec "$app" -m course_supporter worker) >"$tmp/worker.log" 2>&1 &
worker_pid=$!
wait_http "http://127.0.0.1:$api_port/health/live" 60 || die "API did not answer /health/live"
kill -0 "$worker_pid" 2>/dev/null || die "worker exited at start"
log "API on :$api_port (pid $api_pid), worker pid $worker_pid"

# ------------------------------------------------------------------ nginx (real conf)
# shellcheck source=scripts/lib/nginx_loopback.sh
source scripts/lib/nginx_loopback.sh
http_port="$(free_port)"
https_port="$(free_port)"
nginx_loopback_prepare "$tmp/nginx" "http://127.0.0.1:$api_port" "$http_port" "$https_port"
nginx_loopback_cmd "$tmp/nginx" -t 2>"$tmp/nginx-t.log" || { cat "$tmp/nginx-t.log"; die "nginx -t failed"; }
nginx_loopback_cmd "$tmp/nginx" 2>>"$tmp/nginx-t.log"
base="https://127.0.0.1:$https_port"
curl_k=(curl --silent --show-error --insecure --max-time 30)
wait_http "$base/health/live" 30 --insecure || die "nginx did not answer on $base"
log "nginx on $base"

# ------------------------------------------------------------------ topology checks
code="$("${curl_k[@]}" -o "$tmp/health.json" -w '%{http_code}' "$base/health" || true)"
if [[ "$code" == "200" ]] && "$py" - "$tmp/health.json" <<'PY'
import json, sys
d = json.load(open(sys.argv[1]))
assert d["status"] == "ok", d
assert all(d["checks"].get(k) == "ok" for k in ("db", "storage", "redis")), d
PY
then
    pass "GET /health through nginx: ok with db, storage and redis checks"
else
    fail "GET /health through nginx -> $code $(head -c 300 "$tmp/health.json")"
fi
code="$(curl -s -o "$tmp/metrics.txt" -w '%{http_code}' -H "Authorization: Bearer $METRICS_TOKEN" \
    "http://127.0.0.1:$api_port/metrics" || true)"
if [[ "$code" == "200" ]] && grep -q '^# HELP' "$tmp/metrics.txt" && grep -q '^# TYPE' "$tmp/metrics.txt"; then
    pass "API /metrics (direct, with METRICS_TOKEN) is Prometheus text"
else
    fail "API /metrics (direct, with METRICS_TOKEN) -> $code"
fi
code="$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$api_port/metrics" || true)"
if [[ "$code" == "404" ]]; then pass "API /metrics (direct) without the token -> 404"; else fail "API /metrics without the token -> $code"; fi
code="$("${curl_k[@]}" -o /dev/null -w '%{http_code}' "$base/metrics" || true)"
if [[ "$code" == "403" ]]; then pass "/metrics through nginx -> 403"; else fail "/metrics through nginx -> $code"; fi

# ------------------------------------------------------------------ tenant + key from the CLI
tenant="e2e-$suffix"
"$app" -m course_supporter tenants create "$tenant" >"$tmp/tenant.out" 2>&1 || { cat "$tmp/tenant.out"; die "tenants create failed"; }
"$app" -m course_supporter keys create --tenant "$tenant" --scopes prep,check --json >"$tmp/key.json" 2>"$tmp/key.err" \
    || { cat "$tmp/key.err"; die "keys create failed"; }
api_key="$("$py" -c 'import json,sys; print(json.load(open(sys.argv[1]))["key"])' "$tmp/key.json")"
[[ "$api_key" =~ ^cs_live_[0-9a-f]{32}$ ]] || die "unexpected key format from keys create --json"
pass "tenant and key created with the CLI"

# ------------------------------------------------------------------ smoke test through nginx
if CURL_INSECURE=1 scripts/smoke_test.sh --behind-proxy "$base" "$api_key"; then
    pass "scripts/smoke_test.sh through nginx over HTTPS"
else
    fail "scripts/smoke_test.sh through nginx over HTTPS"
fi

if CURL_INSECURE=1 scripts/e2e_auth_per_client.sh "$base" "$api_key" "$API_KEY_CACHE_TTL_SECONDS"; then
    pass "bad keys through nginx are limited per client and never lock out a valid key"
else
    fail "bad keys through nginx are limited per client and never lock out a valid key"
fi

# ------------------------------------------------------------------ big upload, flat memory
course_json="$("${curl_k[@]}" -H "X-API-Key: $api_key" -H 'Content-Type: application/json' \
    --data '{"title":"e2e big upload"}' "$base/api/v1/courses")"
course_id="$("$py" -c 'import json,sys; print(json.loads(sys.argv[1])["id"])' "$course_json")"

big="$tmp/big.mp4"
# A minimal MP4 'ftyp' box so content sniffing sees a video, then zeros.
printf '\x00\x00\x00\x18ftypisom\x00\x00\x02\x00isommp41' >"$big"
head -c $((upload_mib * 1024 * 1024 - 24)) /dev/zero >>"$big"
big_size="$(stat -c %s "$big")"
big_sha="$(sha256sum "$big" | cut -d' ' -f1)"

api_rss_kib() { # sum of VmRSS over the API process tree (master + uvicorn workers)
    local total=0 p v
    for p in "$api_pid" $(descendants "$api_pid"); do
        v="$(awk '/^VmRSS:/ {print $2}' "/proc/$p/status" 2>/dev/null || true)"
        total=$((total + ${v:-0}))
    done
    echo "$total"
}
log "API processes: $api_pid $(descendants "$api_pid" | tr '\n' ' ')"
baseline="$(api_rss_kib)"
( while true; do api_rss_kib; sleep 0.2; done ) >"$tmp/rss.samples" &
sampler_pid=$!

log "uploading $upload_mib MiB through nginx"
start=$(date +%s)
code="$("${curl_k[@]}" --max-time 900 -o "$tmp/upload.json" -w '%{http_code}' -H "X-API-Key: $api_key" \
    -F "source_type=$upload_type" -F "file=@$big;type=video/mp4" \
    "$base/api/v1/courses/$course_id/materials" || true)"
elapsed=$(( $(date +%s) - start ))
sleep 1
kill "$sampler_pid" 2>/dev/null || true
wait "$sampler_pid" 2>/dev/null || true
sampler_pid=""

if [[ "$code" == "201" ]]; then
    pass "$upload_mib MiB multipart upload through nginx -> 201 (${elapsed}s)"
else
    fail "$upload_mib MiB upload through nginx -> $code $(head -c 300 "$tmp/upload.json")"
fi
peak="$(sort -n "$tmp/rss.samples" | tail -n 1)"
growth_mib=$(( (peak - baseline) / 1024 ))
log "API RSS: baseline $((baseline / 1024)) MiB, peak $((peak / 1024)) MiB over $(wc -l <"$tmp/rss.samples") samples"
if [[ "$growth_mib" -le "$rss_limit_mib" ]]; then
    pass "API RSS grew by ${growth_mib} MiB during the upload (limit ${rss_limit_mib} MiB)"
else
    fail "API RSS grew by ${growth_mib} MiB during the upload (limit ${rss_limit_mib} MiB): uploads are buffered"
fi

if [[ "$code" == "201" ]]; then
    material_id="$("$py" -c 'import json,sys; print(json.load(open(sys.argv[1]))["id"])' "$tmp/upload.json")"
    "${curl_k[@]}" -H "X-API-Key: $api_key" -o "$tmp/material.json" \
        "$base/api/v1/courses/$course_id/materials/$material_id"
    if "$py" - "$tmp/material.json" "$big_size" "$big_sha" <<'PY'
import json, sys
m = json.load(open(sys.argv[1]))
assert int(m["size_bytes"]) == int(sys.argv[2]), (m.get("size_bytes"), sys.argv[2])
assert m["sha256"] == sys.argv[3], (m.get("sha256"), sys.argv[3])
PY
    then
        pass "stored material has the uploaded size and sha256"
    else
        fail "stored material size/sha256 differ: $(head -c 300 "$tmp/material.json")"
    fi
    stored="$(AWS_ACCESS_KEY_ID=e2e AWS_SECRET_ACCESS_KEY=e2e "$py" -c '
import sys, boto3
s3 = boto3.client("s3", endpoint_url=sys.argv[1], region_name="us-east-1")
print(max((o["Size"] for o in s3.list_objects_v2(Bucket=sys.argv[2]).get("Contents", [])), default=0))
' "$S3_ENDPOINT_URL" "$bucket")"
    if [[ "$stored" == "$big_size" ]]; then
        pass "the object in S3 has all $big_size bytes"
    else
        fail "largest object in S3 is $stored bytes, want $big_size"
    fi
fi
"${curl_k[@]}" -o /dev/null -X DELETE -H "X-API-Key: $api_key" "$base/api/v1/courses/$course_id" || true

if kill -0 "$worker_pid" 2>/dev/null; then pass "worker process still running"; else fail "worker process died"; fi
if kill -0 "$api_pid" 2>/dev/null; then pass "API process still running"; else fail "API process died"; fi

echo "e2e: $passed passed, $failed failed"
[[ "$failed" -eq 0 ]]
