#!/usr/bin/env bash
# Builds the upstream OpenTelemetry Collector that test/upstream-collector.test.ts runs as a
# forwarder (OTLP receiver; `otlp` and `otlphttp` exporters; batch processor) with the
# OpenTelemetry Collector Builder, from the Go module proxy, into .cache/otelcol-forwarder
# (git-ignored: sources and binary are never committed).
#   bash test/otelcol/build.sh        # → .cache/otelcol-forwarder/otelcol-audit-forwarder
# Needs Go (GO=/path/to/go to choose one). Skips the build when the binary is newer than the
# manifest; FORCE=1 rebuilds.
set -euo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
cd "$root"
BUILDER_VERSION=v0.130.0
GO="${GO:-$(command -v go || echo /usr/local/go/bin/go)}"
manifest=test/otelcol/builder-config.yaml
binary=.cache/otelcol-forwarder/otelcol-audit-forwarder
if [[ -x "$binary" && "$binary" -nt "$manifest" && "${FORCE:-}" != 1 ]]; then
  echo "$binary is up to date"
  exit 0
fi
mkdir -p .cache/otelcol-forwarder
# As in bench/otelcol/build.sh: the checksum database reachable here answers 404 for many of
# these modules, so it is off by default (set GOSUMDB to check against one that answers).
export GOSUMDB="${GOSUMDB:-off}"
# The builder runs `go mod tidy` and `go build` in output_path; CGO off gives a static binary.
CGO_ENABLED=0 PATH="$(dirname "$GO"):$PATH" "$GO" run "go.opentelemetry.io/collector/cmd/builder@${BUILDER_VERSION}" --config "$manifest"
"$binary" --version
