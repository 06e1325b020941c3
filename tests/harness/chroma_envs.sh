#!/usr/bin/env bash
# Builds one cached virtualenv per pinned chromadb version under
# $VECSAFE_CACHE/chroma/<version>/ so the integration tests can run real Chroma
# side by side. Cached: a venv that finished installing has a .ok marker and is
# skipped on the next run. Installs run in parallel (two at a time on 2 cores).
#   tests/harness/chroma_envs.sh                 all pinned versions
#   tests/harness/chroma_envs.sh 0.6.3 1.5.9     only these
# Prints "<version> <venv path>" per ready venv; exits non-zero if any failed.
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
cache=${VECSAFE_CACHE:-$HOME/.cache/vecsafe}/chroma
mkdir -p "$cache"

# The versions the tests cover: oldest supported, newest of each line.
ALL_VERSIONS=(0.4.24 0.5.23 0.6.3 1.0.21 1.5.9)
versions=("$@")
if [ ${#versions[@]} -eq 0 ]; then versions=("${ALL_VERSIONS[@]}"); fi
jobs=${CHROMA_ENVS_JOBS:-2}

pins_for() {
  # 0.4 and 0.5 were built against numpy 1.x (np.float_ etc. are gone in 2.0).
  # The 0.4 and 0.5 HTTP clients post JSON without a Content-Type, which
  # FastAPI 0.110+ no longer parses.
  case $1 in
    0.4.*) echo "numpy<2 fastapi<0.110" ;;
    0.5.*) echo "numpy<2 fastapi<0.110" ;;
    *) echo "" ;;
  esac
}

install_one() {
  local v=$1 dir=$cache/$1
  local pins
  pins=$(pins_for "$v")
  # The marker records the pins, so changing them here rebuilds the venv.
  if [ -f "$dir/.ok" ] && [ "$(cat "$dir/.ok")" = "chromadb==$v $pins" ]; then return 0; fi
  rm -rf "$dir"
  python3 -m venv "$dir"
  local extra=()
  read -r -a extra <<<"$pins"
  local start=$SECONDS
  "$dir/bin/pip" install -q --disable-pip-version-check --only-binary=:all: \
    --cache-dir "$cache/.pip-cache" "chromadb==$v" ${extra[@]+"${extra[@]}"} >"$dir/install.log" 2>&1 || {
    echo "chroma_envs: install of chromadb $v failed, see $dir/install.log" >&2
    tail -5 "$dir/install.log" >&2
    return 1
  }
  echo "$((SECONDS - start))" >"$dir/install_seconds"
  echo "chromadb==$v $pins" >"$dir/.ok"
}

pids=()
names=()
failed=0
for v in "${versions[@]}"; do
  install_one "$v" &
  pids+=($!)
  names+=("$v")
  while [ "$(jobs -rp | wc -l)" -ge "$jobs" ]; do wait -n || failed=1; done
done
for p in "${pids[@]}"; do wait "$p" 2>/dev/null || true; done
for v in "${names[@]}"; do
  if [ -f "$cache/$v/.ok" ]; then echo "$v $cache/$v"; else failed=1; fi
done
exit $failed
