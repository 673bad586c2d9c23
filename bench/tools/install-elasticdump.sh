#!/usr/bin/env bash
# Installs elasticdump, the peer of bench/export-comparison.ts, into .cache/bench-tools
# (git-ignored), pinned, outside the project's dependencies.
#   bash bench/tools/install-elasticdump.sh   # → .cache/bench-tools/node_modules/.bin/elasticdump
set -euo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
VERSION=6.125.1
prefix="$root/.cache/bench-tools"
bin="$prefix/node_modules/.bin/elasticdump"
if [[ -x "$bin" ]] && grep -q "\"version\": \"$VERSION\"" "$prefix/node_modules/elasticdump/package.json"; then
  echo "elasticdump $VERSION is installed"
  exit 0
fi
mkdir -p "$prefix"
# Its own package.json, so npm does not walk up into the workspace root.
[[ -f "$prefix/package.json" ]] || echo '{ "private": true }' > "$prefix/package.json"
npm install --prefix "$prefix" --no-audit --no-fund --ignore-scripts "elasticdump@$VERSION"
"$bin" --version
