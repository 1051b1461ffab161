#!/usr/bin/env bash
# Install Jaeger v2 (the `cmd/jaeger` binary) from the Go module proxy into a cache folder;
# reuse it when present. Jaeger v2's module path has no /v2, so it cannot be `go install`ed
# by its v2 tag: it is built at the module version v1.76.0 (the commit tagged both v1.76.0
# and v2.13.0) inside a throwaway module, which honours its replace directives' absence.
# Prints the binary's path. Cache: $AI_INCIDENTS_CACHE (default ~/.cache/ai-incidents).
set -euo pipefail
version="v1.76.0"
cache="${AI_INCIDENTS_CACHE:-$HOME/.cache/ai-incidents}"
target="$cache/jaeger-$version-$(go env GOVERSION)"
binary="$target/jaeger"
if [ -x "$binary" ]; then
  echo "$binary"
  exit 0
fi
mkdir -p "$target/module"
cd "$target/module"
[ -f go.mod ] || go mod init ai-incidents/jaeger-build >&2
go get -tool "github.com/jaegertracing/jaeger/cmd/jaeger@$version" >&2
go build -o "$binary" github.com/jaegertracing/jaeger/cmd/jaeger >&2
echo "$binary"
