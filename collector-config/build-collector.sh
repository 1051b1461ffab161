#!/usr/bin/env bash
# Build the collector of otelcol-builder.yaml with the OpenTelemetry Collector Builder, from
# the Go module proxy, into a cache folder; reuse the binary when the manifest is unchanged.
# Prints the binary's path. Cache: $AI_INCIDENTS_CACHE (default ~/.cache/ai-incidents).
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
builder_version="v0.161.0"
cache="${AI_INCIDENTS_CACHE:-$HOME/.cache/ai-incidents}"
key="$( (cat "$here/otelcol-builder.yaml"; echo "$builder_version"; go env GOVERSION) | sha256sum | cut -c1-16)"
target="$cache/otelcol-$key"
binary="$target/otelcol-ai-incidents"
if [ -x "$binary" ]; then
  echo "$binary"
  exit 0
fi
mkdir -p "$target"
GOBIN="$cache/bin" go install "go.opentelemetry.io/collector/cmd/builder@$builder_version" >&2
sed "s#output_path: ./dist#output_path: $target/src#" "$here/otelcol-builder.yaml" > "$target/builder.yaml"
"$cache/bin/builder" --config "$target/builder.yaml" >&2
mv "$target/src/otelcol-ai-incidents" "$binary"
rm -rf "$target/src"
echo "$binary"
