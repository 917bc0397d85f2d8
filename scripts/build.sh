#!/bin/sh
# scripts/build.sh OUT [VERSION] — the one way a release binary of wxauth is
# built: the Dockerfile's build stage, CI and internal/prodtest all run this
# script, so the binary the image ships is the binary the tests ran.
# Static (CGO_ENABLED=0: SQLite is modernc's pure Go), reproducible paths
# (-trimpath), the version in `wxauth version` (-X main.version).
# VERSION defaults to $WXAUTH_VERSION, then `git describe`, then "devel".
set -eu
out=${1:?usage: scripts/build.sh OUT [VERSION]}
case $out in /*) ;; *) out=$(pwd)/$out ;; esac
cd "$(dirname "$0")/.."
version=${2:-${WXAUTH_VERSION:-$(git describe --tags --always --dirty 2>/dev/null || echo devel)}}
CGO_ENABLED=0 exec go build -trimpath -ldflags "-s -w -X main.version=$version" -o "$out" ./cmd/wxauth
