#!/bin/sh
# Re-fetch the vendored browser libraries from the npm registry (`npm pack`), so the committed copies under
# static/vendor/ can be rebuilt and checked. Nothing is fetched at run time: the hub serves these files itself.
set -eu
HTMX_VERSION=2.0.11
ECHARTS_VERSION=6.1.0
HERE=$(cd "$(dirname "$0")" && pwd)
OUT="$HERE/static/vendor"
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT
cd "$WORK"
npm pack --silent "htmx.org@$HTMX_VERSION" "echarts@$ECHARTS_VERSION" >/dev/null
mkdir htmx echarts
tar xzf "htmx.org-$HTMX_VERSION.tgz" -C htmx
tar xzf "echarts-$ECHARTS_VERSION.tgz" -C echarts
mkdir -p "$OUT"
cp htmx/package/dist/htmx.min.js "$OUT/htmx.min.js"
cp htmx/package/LICENSE "$OUT/htmx.LICENSE"
cp echarts/package/dist/echarts.min.js "$OUT/echarts.min.js"
cp echarts/package/LICENSE "$OUT/echarts.LICENSE"
cp echarts/package/NOTICE "$OUT/echarts.NOTICE"
printf 'htmx.org %s\necharts %s\n' "$HTMX_VERSION" "$ECHARTS_VERSION" > "$OUT/VERSIONS"
( cd "$OUT" && sha256sum htmx.min.js echarts.min.js > SHA256SUMS )
echo "vendored into $OUT:" && cat "$OUT/VERSIONS"
