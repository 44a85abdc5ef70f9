#!/usr/bin/env bash
# Exercise the VPS deploy script embedded in .github/workflows/deploy.yml with stub
# `docker` and `git` commands: the success path, and a failing health check that
# must roll back (retag the previous image, up -d, git reset). No Docker needed.
set -euo pipefail

repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT

python3 "$repo/scripts/lib/extract_ssh_script.py" "$repo/.github/workflows/deploy.yml" \
    | sed "s|cd /opt/course-supporter|cd \"$tmp/site\"|" >"$tmp/remote.sh"
mkdir -p "$tmp/bin" "$tmp/site"

cat >"$tmp/bin/docker" <<'STUB'
#!/bin/sh
echo "docker $*" >>"$STUB_LOG"
case "$*" in
  "image inspect"*) echo "sha256:previous" ;;
  "exec course-supporter-api python"*) [ "$STUB_HEALTH" = ok ] ;;
  *) exit 0 ;;
esac
STUB
cat >"$tmp/bin/git" <<'STUB'
#!/bin/sh
echo "git $*" >>"$STUB_LOG"
case "$1" in
  rev-parse) echo "abc123" ;;
esac
exit 0
STUB
cat >"$tmp/bin/sleep" <<'STUB'
#!/bin/sh
exit 0
STUB
chmod +x "$tmp/bin/"*

fails=0
run_case() {
    local name="$1" health="$2" want_rc="$3"
    shift 3
    : >"$tmp/log"
    local rc=0
    PATH="$tmp/bin:$PATH" STUB_LOG="$tmp/log" STUB_HEALTH="$health" DEPLOY_SHA=abc123 \
        sh "$tmp/remote.sh" >"$tmp/out" 2>&1 || rc=$?
    local ok=1
    [[ "$rc" == "$want_rc" ]] || ok=0
    for pattern in "$@"; do
        grep -q -- "$pattern" "$tmp/log" || { ok=0; echo "  missing: $pattern"; }
    done
    if [[ "$ok" == 1 ]]; then
        echo "PASS  deploy.yml script: $name (exit $rc)"
    else
        echo "FAIL  deploy.yml script: $name (exit $rc, want $want_rc)"
        sed 's/^/  | /' "$tmp/out" | tail -n 20
        fails=$((fails + 1))
    fi
}

run_case "healthy deploy: pull, build, up, migrate, health" ok 0 \
    "git pull --ff-only" "compose --env-file .env.prod -f deploy/docker-compose.prod.yaml build" \
    "up -d" "exec -T api python -m course_supporter db upgrade" "docker exec course-supporter-api"
run_case "failing /health rolls back to the previous image" bad 1 \
    "docker tag sha256:previous course-supporter:current" "git reset --hard abc123" "up -d --no-build"
[[ "$fails" -eq 0 ]]
