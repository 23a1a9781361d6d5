#!/usr/bin/env bash
# Re-fetch the vendored front-end files from the npm registry and check them against
# the pinned SHA-256 sums in VENDOR.md. Run by `make vendor`; the files are committed,
# so exercises run air-gapped and no page ever loads from a CDN.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

# package@version  file-in-package  local-name
while read -r spec path name; do
    [ -z "$spec" ] && continue
    (cd "$work" && npm pack --silent "$spec" >/dev/null)
    tgz="$(ls "$work"/*.tgz)"
    tar -xzf "$tgz" -C "$work" "package/$path"
    cp "$work/package/$path" "$here/$name"
    rm -rf "$work/package" "$tgz"
done <<'LIST'
htmx.org@2.0.8 dist/htmx.min.js htmx.min.js
socket.io-client@4.8.1 dist/socket.io.min.js socket.io.min.js
chart.js@4.5.1 dist/chart.umd.min.js chart.umd.min.js
LIST

cd "$here"
grep -E '^\| `[^`]+` \|' VENDOR.md | awk -F'|' '{gsub(/[` ]/,"",$2); gsub(/[` ]/,"",$5); print $5"  "$2}' | sha256sum -c -
