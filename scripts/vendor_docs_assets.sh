#!/usr/bin/env bash
# Refresh the Swagger UI and ReDoc files served at /docs and /redoc from the npm registry.
#
#   scripts/vendor_docs_assets.sh [SWAGGER_UI_VERSION] [REDOC_VERSION]
# Takes only the files the pages load, with their licences; commit the result.
set -euo pipefail

swagger_version="${1:-5.35.0}"
redoc_version="${2:-2.5.4}"
repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
static="$repo/src/course_supporter/api_docs/static"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

(cd "$work" && npm pack --silent "swagger-ui-dist@$swagger_version" "redoc@$redoc_version" >/dev/null)
mkdir -p "$work/swagger" "$work/redoc"
tar -xzf "$work/swagger-ui-dist-$swagger_version.tgz" -C "$work/swagger" --strip-components=1
tar -xzf "$work/redoc-$redoc_version.tgz" -C "$work/redoc" --strip-components=1

rm -rf "$static/swagger-ui" "$static/redoc"
mkdir -p "$static/swagger-ui" "$static/redoc"
for name in swagger-ui-bundle.js swagger-ui-bundle.js.LICENSE.txt swagger-ui.css \
    favicon-32x32.png LICENSE NOTICE; do
    cp "$work/swagger/$name" "$static/swagger-ui/"
done
for name in bundles/redoc.standalone.js bundles/redoc.standalone.js.LICENSE.txt LICENSE; do
    cp "$work/redoc/$name" "$static/redoc/"
done
# The bundles name source maps that are not shipped; drop the reference.
sed -i '/^\/\/# sourceMappingURL=/d' "$static/swagger-ui/swagger-ui-bundle.js" \
    "$static/redoc/redoc.standalone.js"
sed -i 's#/\*\# sourceMappingURL=[^*]*\*/##' "$static/swagger-ui/swagger-ui.css"
# ReDoc's sidebar footer loads Redocly's logo from their CDN; an empty data: image fails to load
# and ReDoc then hides it, so the page makes no outside request.
grep -q 'https://cdn.redoc.ly/redoc/logo-mini.svg' "$static/redoc/redoc.standalone.js"
sed -i 's#https://cdn.redoc.ly/redoc/logo-mini.svg#data:,#' "$static/redoc/redoc.standalone.js"
printf 'swagger-ui-dist %s\nredoc %s\n' "$swagger_version" "$redoc_version" >"$static/VERSIONS"
echo "vendored swagger-ui-dist@$swagger_version and redoc@$redoc_version into $static"
