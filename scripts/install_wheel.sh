#!/usr/bin/env bash
# Build the wheel and install it with the locked runtime dependencies (no dev group) into a
# fresh virtual environment at DEST/venv, outside the checkout: the artifact that ships.
#
#   scripts/install_wheel.sh DEST        → DEST/venv/bin/course-supporter
set -euo pipefail

repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
dest="${1:?usage: scripts/install_wheel.sh DEST}"
uv="$repo/.tools/bin/uv"
[[ -x "$uv" ]] || make -C "$repo" --no-print-directory .tools/bin/uv >/dev/null

mkdir -p "$dest"
dest="$(cd "$dest" && pwd)"
case "$dest/" in "$repo"/*) echo "DEST must be outside the checkout: $dest" >&2; exit 2 ;; esac

rm -rf "$dest/dist" "$dest/venv"
"$uv" build --quiet --wheel --out-dir "$dest/dist" "$repo"
"$uv" export --quiet --frozen --no-dev --no-emit-project --no-hashes --project "$repo" \
    --output-file "$dest/requirements.txt"
"$uv" venv --quiet --python "$(command -v python3)" "$dest/venv"
"$uv" pip install --quiet --compile-bytecode --python "$dest/venv/bin/python" \
    -r "$dest/requirements.txt" "$dest"/dist/course_supporter-*.whl
echo "installed $(basename "$dest"/dist/course_supporter-*.whl) into $dest/venv"
