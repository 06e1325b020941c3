#!/usr/bin/env bash
# Builds the real object-store servers the remote-repository tests run against:
#   MinIO            (S3, checks SigV4 signatures)
#   fake-gcs-server  (GCS JSON API + upload endpoints)
# with `go install` into $VECSAFE_CACHE/go/bin. Idempotent and cached: a server
# whose binary for the pinned version exists is not rebuilt, so a second run
# takes well under a second. Prints the time each build took.
# Go comes from PATH, /usr/local/go, or the module proxy (cached).
# Cost on a fresh machine (measured with go1.26, empty caches): MinIO 347 s of
# CPU (1.5 GB peak RSS), fake-gcs-server 168 s of CPU, plus ~2 GB of module
# downloads; about 4-5 min of wall time on 2 idle cores, far more on a loaded
# machine (30 min at 19 % CPU). Cache $VECSAFE_CACHE/go between CI runs.
#   tests/harness/build_servers.sh            build both
#   tests/harness/build_servers.sh minio      build one (minio | fake-gcs-server)
set -euo pipefail

MINIO_VERSION=${MINIO_VERSION:-v0.0.0-20260212201848-7aac2a2c5b7c}
FAKE_GCS_VERSION=${FAKE_GCS_VERSION:-v1.56.1}

cache=${VECSAFE_CACHE:-$HOME/.cache/vecsafe}
export GOPATH=$cache/go
export GOMODCACHE=$cache/go/pkg/mod
export GOCACHE=$cache/go/build-cache
export GOBIN=$cache/go/bin
export GOFLAGS=${GOFLAGS:--buildvcs=false}
export CGO_ENABLED=0
mkdir -p "$GOBIN"

# Go: on PATH, in /usr/local/go, or fetched once from the Go module proxy
# (Debian 12's golang 1.19 is too old for MinIO).
GO_TOOLCHAIN=${GO_TOOLCHAIN:-go1.26.8}
fetch_go() {
  local dir=$cache/go-toolchain/$GO_TOOLCHAIN zip
  if [ ! -x "$dir/bin/go" ]; then
    echo "build_servers: fetching $GO_TOOLCHAIN from proxy.golang.org" >&2
    zip=$(mktemp)
    curl -fsSL -o "$zip" \
      "https://proxy.golang.org/golang.org/toolchain/@v/v0.0.1-$GO_TOOLCHAIN.linux-amd64.zip" || return 1
    rm -rf "$dir.tmp" && mkdir -p "$dir.tmp"
    python3 - "$zip" "$dir.tmp" <<'PY' || return 1
import sys, zipfile
with zipfile.ZipFile(sys.argv[1]) as z:
    for info in z.infolist():
        # golang.org/toolchain@v0.0.1-goX.linux-amd64/<path>
        name = info.filename.partition(".linux-amd64/")[2]
        if not name:
            continue
        info.filename = name
        path = z.extract(info, sys.argv[2])
        mode = info.external_attr >> 16
        if mode:
            __import__("os").chmod(path, mode & 0o7777)
PY
    rm -f "$zip"
    rm -rf "$dir" && mv "$dir.tmp" "$dir"
  fi
  export PATH=$dir/bin:$PATH
}
if ! command -v go >/dev/null 2>&1; then
  if [ -x /usr/local/go/bin/go ]; then export PATH=$PATH:/usr/local/go/bin
  elif ! fetch_go; then
    echo "build_servers: the Go toolchain is needed to build the test servers; fetching" \
      "$GO_TOOLCHAIN from proxy.golang.org failed (install Go 1.24 or newer)" >&2
    exit 2
  fi
fi

# build NAME MODULE VERSION: go install MODULE@VERSION unless the stamped binary exists.
build() {
  local name=$1 module=$2 version=$3
  local stamp=$GOBIN/.$name.version
  if [ -x "$GOBIN/$name" ] && [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$version" ]; then
    echo "build_servers: $name $version cached ($GOBIN/$name)"
    return 0
  fi
  local start end
  start=$(date +%s)
  echo "build_servers: building $name $version with $(go version | cut -d' ' -f3) ..."
  nice -n 5 go install -trimpath -ldflags=-s "$module@$version"
  echo "$version" > "$stamp"
  end=$(date +%s)
  echo "build_servers: $name built in $((end - start)) s"
}

which=${1:-all}
total_start=$(date +%s)
if [ "$which" = all ] || [ "$which" = minio ]; then
  build minio github.com/minio/minio "$MINIO_VERSION"
fi
if [ "$which" = all ] || [ "$which" = fake-gcs-server ]; then
  build fake-gcs-server github.com/fsouza/fake-gcs-server "$FAKE_GCS_VERSION"
fi
echo "build_servers: done in $(( $(date +%s) - total_start )) s"
