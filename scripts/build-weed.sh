#!/usr/bin/env bash
# Builds SeaweedFS's `weed` binary, the S3-compatible server that internal/testserver starts for the blob.S3 tests,
# into ${XDG_CACHE_HOME:-$HOME/.cache}/campaignstats/weed, once per machine: it does nothing when that file exists.
# The source comes through the Go module proxy at a pinned version; it is copied out of the (read-only) module cache
# and built there, since `go install` refuses a module with replace directives. The first build takes about 8
# minutes on 2 cores.
# Usage: scripts/build-weed.sh [--force]
set -euo pipefail
version=v0.0.0-20261109003541-7506e5f91cd6
cache_dir="${XDG_CACHE_HOME:-$HOME/.cache}/campaignstats"
target="$cache_dir/weed"
if [[ -x "$target" && "${1:-}" != "--force" ]]; then
  echo "build-weed: $target already built" >&2
  exit 0
fi
mkdir -p "$cache_dir"
src_dir=$(go mod download -json "github.com/seaweedfs/seaweedfs@$version" |
  sed -n 's/^[[:space:]]*"Dir": "\(.*\)",\{0,1\}$/\1/p')
if [[ -z "$src_dir" || ! -d "$src_dir" ]]; then
  echo "build-weed: go mod download printed no source directory" >&2
  exit 1
fi
work=$(mktemp -d)
trap 'chmod -R u+w "$work" 2>/dev/null || true; rm -rf "$work"' EXIT
cp -R "$src_dir/." "$work/src"
chmod -R u+w "$work/src"
echo "build-weed: building SeaweedFS $version (several minutes)" >&2
start=$SECONDS
(cd "$work/src" && GOFLAGS=-buildvcs=false go build -o "$work/weed" ./weed)
mv "$work/weed" "$target"
echo "build-weed: built $target in $((SECONDS - start)) s" >&2
