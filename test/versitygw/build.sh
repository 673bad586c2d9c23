#!/usr/bin/env bash
# Builds versitygw, the S3-compatible gateway (Apache-2.0) that the S3 export-storage tests
# run as a real server on loopback, from the Go module proxy, into .cache/versitygw
# (git-ignored: the binary is never committed).
#   bash test/versitygw/build.sh        # → .cache/versitygw/versitygw
# Needs Go (GO=/path/to/go to choose one). Skips the build when the binary of this version is
# there; FORCE=1 rebuilds.
set -euo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
cd "$root"
VERSION=v1.8.0
GO="${GO:-$(command -v go || echo /usr/local/go/bin/go)}"
dir=.cache/versitygw
binary="$dir/versitygw"
if [[ -x "$binary" && "$(cat "$dir/VERSION" 2>/dev/null)" == "$VERSION" && "${FORCE:-}" != 1 ]]; then
  echo "$binary $VERSION is up to date"
  exit 0
fi
mkdir -p "$dir"
# As in test/otelcol/build.sh: the checksum database reachable here answers 404 for many
# modules, so it is off by default (set GOSUMDB to check against one that answers).
export GOSUMDB="${GOSUMDB:-off}"
# CGO off gives a static binary; GOBIN puts it in the cache folder, not in ~/go/bin.
CGO_ENABLED=0 GOBIN="$root/$dir" "$GO" install "github.com/versity/versitygw/cmd/versitygw@${VERSION}"
echo "$VERSION" > "$dir/VERSION"
"$binary" --version
