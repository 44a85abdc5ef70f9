#!/usr/bin/env bash
# The artifact that ships is the artifact tested. Outside the checkout, without the dev group:
#   1. the wheel (scripts/install_wheel.sh) imports every module, migrates SQLite and
#      PostgreSQL, serves /health 200 and builds a course from a shipped sample;
#   2. the Dockerfile's install steps, replayed into a fresh folder
#      (scripts/lib/replay_image_install.py), migrate and serve the way the image's CMD does.
# Prints PASS/FAIL lines and "release: N passed, M failed"; exit 1 on any failure.
#
#   scripts/check_release.sh [DEST]   (DEST keeps the wheel install, e.g. for make e2e-prod)
# Knobs: RELEASE_PG_URL (postgresql://postgres@127.0.0.1:5432).
set -euo pipefail

repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
pg_base="${RELEASE_PG_URL:-postgresql://postgres@127.0.0.1:5432}"
work="$(mktemp -d /tmp/cs-release.XXXXXX)"
dest="${1:-$work/wheel}"
db="cs_release_$(od -An -N4 -tx1 /dev/urandom | tr -d ' \n')"
server_pid=""
passed=0
failed=0
pass() { passed=$((passed + 1)); printf 'PASS  release: %s\n' "$1"; }
fail() { failed=$((failed + 1)); printf 'FAIL  release: %s\n' "$1"; }

cleanup() {
    local rc=$?
    [[ -n "$server_pid" ]] && kill "$server_pid" 2>/dev/null && wait "$server_pid" 2>/dev/null
    for name in "$db" "${db}_image"; do
        psql "$pg_base/postgres" -q -c "DROP DATABASE IF EXISTS \"$name\" WITH (FORCE)" >/dev/null 2>&1
    done
    rm -rf "$work"
    exit "$rc"
}
trap cleanup EXIT

free_port() { python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }

# serve_health NAME CWD COMMAND...: start the API, want /health 200 "ok", stop it.
serve_health() {
    local name="$1" cwd="$2" port
    shift 2
    port="$(free_port)"
    (cd "$cwd" && exec "$@" --host 127.0.0.1 --port "$port") >"$work/$name.log" 2>&1 &
    server_pid=$!
    local body=""
    for _ in $(seq 1 150); do
        body="$(curl -s --max-time 2 "http://127.0.0.1:$port/health" || true)"
        [[ "$body" == *'"status":"ok"'* ]] && break
        kill -0 "$server_pid" 2>/dev/null || break
        sleep 0.2
    done
    # The author panel's page and one of its assets, read from the installed package.
    local panel="" asset=""
    if [[ "$body" == *'"status":"ok"'* ]]; then
        panel="$(curl -s --max-time 5 "http://127.0.0.1:$port/app" || true)"
        asset="$(grep -o '/app/assets/[0-9a-f]*/js/app.js' <<<"$panel" | head -n 1 || true)"
        [[ -n "$asset" ]] && asset="$(curl -s --max-time 5 "http://127.0.0.1:$port$asset" || true)"
    fi
    kill "$server_pid" 2>/dev/null
    wait "$server_pid" 2>/dev/null || true
    server_pid=""
    if [[ "$body" == *'"status":"ok"'* ]]; then
        pass "$name: /health 200 ok"
    else
        fail "$name: /health did not answer ok: ${body:0:300}"
        tail -n 30 "$work/$name.log"
    fi
    if [[ "$asset" == *"whenUnauthorized"* ]]; then
        pass "$name: /app serves the panel and its assets"
    else
        fail "$name: /app or its assets missing: ${panel:0:200}"
    fi
}

# ------------------------------------------------------------------ the wheel
"$repo/scripts/install_wheel.sh" "$dest" >"$work/install.log" 2>&1 \
    || { cat "$work/install.log"; fail "wheel built and installed without the dev group"; exit 1; }
pass "wheel built and installed without the dev group into $dest/venv"
venv="$dest/venv"
cli="$venv/bin/course-supporter"
run="$work/run"
mkdir -p "$run"
cd "$run"

if "$venv/bin/python" - <<'PY' >"$work/imports.log" 2>&1
import importlib, pkgutil
import course_supporter

names = [m.name for m in pkgutil.walk_packages(course_supporter.__path__, "course_supporter.")]
for name in names:
    if not name.endswith("__main__"):
        importlib.import_module(name)
print(len(names), "modules")
PY
then
    pass "every module imports ($(tail -n 1 "$work/imports.log"))"
else
    fail "a module does not import without the dev group: $(tail -n 1 "$work/imports.log")"
fi

if "$venv/bin/python" - "$repo/src/course_supporter/panel/static" <<'PY' >"$work/panel.log" 2>&1
import sys
from importlib import resources
from pathlib import Path

source = Path(sys.argv[1])
shipped = resources.files("course_supporter.panel").joinpath("static")
files = [path.relative_to(source) for path in source.rglob("*") if path.is_file()]
missing = [str(path) for path in files if not shipped.joinpath(*path.parts).is_file()]
assert not missing, f"not in the wheel: {missing}"
print(len(files), "panel files")
PY
then
    pass "the wheel ships every panel asset ($(tail -n 1 "$work/panel.log"))"
else
    fail "the wheel lacks panel assets: $(tail -n 1 "$work/panel.log")"
fi

if "$cli" db upgrade >"$work/upgrade-sqlite.log" 2>&1 && [[ -s var/course_supporter.db ]]; then
    pass "db upgrade on SQLite (./var/course_supporter.db in a folder outside the checkout)"
else
    fail "db upgrade on SQLite: $(tail -n 3 "$work/upgrade-sqlite.log")"
fi

if psql "$pg_base/postgres" -q -v ON_ERROR_STOP=1 -c "CREATE DATABASE \"$db\"" >/dev/null 2>&1 \
    && DATABASE_URL="$pg_base/$db" "$cli" db upgrade >"$work/upgrade-pg.log" 2>&1; then
    pass "db upgrade on PostgreSQL"
else
    fail "db upgrade on PostgreSQL: $(tail -n 3 "$work/upgrade-pg.log" 2>/dev/null)"
fi

serve_health "wheel serve (SQLite)" "$run" "$cli" serve
DATABASE_URL="$pg_base/$db" EMBEDDED_WORKER=false serve_health "wheel serve (PostgreSQL)" "$run" "$cli" serve

if "$cli" build "$repo/tests/data/tutorial" --out "$run/course.json" >"$work/build.log" 2>&1 \
    && "$venv/bin/python" -c '
import json, sys
course = json.load(open(sys.argv[1]))
lessons = [lesson for module in course["modules"] for lesson in module["lessons"]]
assert course["modules"] and lessons, course
print(len(course["modules"]), "modules,", len(lessons), "lessons")
' "$run/course.json" >"$work/build-check.log" 2>&1; then
    pass "build on the shipped tutorial sample: $(cat "$work/build-check.log")"
else
    fail "build on the shipped tutorial sample: $(tail -n 3 "$work/build.log" "$work/build-check.log")"
fi

# ------------------------------------------------------------------ the wheel with plain pip
# As a user installs it: pip resolves the declared dependencies itself (no lock), so a package
# we import but reach only through another's extra shows up here.
if python3 -m venv "$work/pip-venv" >/dev/null 2>&1 \
    && "$work/pip-venv/bin/pip" install --quiet --disable-pip-version-check \
        "$dest"/dist/course_supporter-*.whl >"$work/pip-install.log" 2>&1; then
    pass "pip install of the wheel (dependencies resolved by pip, no lock)"
    serve_health "pip-installed wheel serve (SQLite)" "$run" "$work/pip-venv/bin/course-supporter" serve
else
    fail "pip install of the wheel: $(tail -n 3 "$work/pip-install.log")"
fi

# ------------------------------------------------------------------ the image's install steps
image="$work/image"
if python3 "$repo/scripts/lib/replay_image_install.py" "$repo/Dockerfile" "$image" \
    >"$work/replay.log" 2>&1; then
    pass "Dockerfile install steps replayed into $image (uv sync --frozen --no-dev)"
    # IMAGE_WORKDIR, IMAGE_ENV (NAME=VALUE...) and IMAGE_CMD, container paths mapped.
    # shellcheck disable=SC1091
    source "$image/cmd.sh"
    # As in production: PostgreSQL, the jobs in a separate worker (the CMD runs 2 API workers).
    image_env=("${IMAGE_ENV[@]}" "DATABASE_URL=$pg_base/${db}_image" EMBEDDED_WORKER=false)
    mkdir -p "$IMAGE_WORKDIR/var/storage"
    if psql "$pg_base/postgres" -q -v ON_ERROR_STOP=1 -c "CREATE DATABASE \"${db}_image\"" >/dev/null 2>&1 \
        && (cd "$IMAGE_WORKDIR" && env -i "${image_env[@]}" "${IMAGE_CMD[0]}" -m course_supporter db upgrade) \
        >"$work/image-upgrade.log" 2>&1; then
        pass "image install: python -m course_supporter db upgrade"
    else
        fail "image install: db upgrade: $(tail -n 3 "$work/image-upgrade.log")"
    fi
    # The CMD as written; the --host/--port appended last move it to a free loopback port.
    serve_health "image CMD" "$IMAGE_WORKDIR" env -i "${image_env[@]}" "${IMAGE_CMD[@]}"
else
    fail "Dockerfile install steps replayed: $(tail -n 5 "$work/replay.log")"
fi

echo "release: $passed passed, $failed failed"
[[ "$failed" -eq 0 ]]
