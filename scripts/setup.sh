#!/usr/bin/env bash
# Installs everything the build and the tests need on a fresh Debian 12, then
# builds vecsafe into build/. Idempotent: a second run only re-checks.
#   scripts/setup.sh            packages + python test env + release build
#   SETUP_SKIP_BUILD=1 ...      packages + python env only
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
export VECSAFE_CACHE=${VECSAFE_CACHE:-$HOME/.cache/vecsafe}
mkdir -p "$VECSAFE_CACHE"

sudo_cmd=""
if [ "$(id -u)" != 0 ]; then sudo_cmd="sudo"; fi

# Every scripts/deps/apt*.txt lists packages; comments and blank lines ignored.
pkgs=$(cat scripts/deps/apt*.txt | sed 's/#.*//' | tr -s ' \n' '\n' | sed '/^$/d' | sort -u)
missing=()
for p in $pkgs; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "setup: installing ${#missing[@]} Debian packages: ${missing[*]}"
  $sudo_cmd apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo_cmd apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

# Python is used by the tests only (integration harness, real Chroma, spec checks).
venv=$VECSAFE_CACHE/test-venv
if [ ! -x "$venv/bin/python" ]; then python3 -m venv "$venv"; fi
req_hash=$(cat tests/requirements*.txt 2>/dev/null | sha256sum | cut -c1-16)
if [ ! -f "$venv/.req-$req_hash" ]; then
  "$venv/bin/pip" install -q --upgrade pip >/dev/null
  for r in tests/requirements*.txt; do "$venv/bin/pip" install -q -r "$r"; done
  rm -f "$venv"/.req-*; touch "$venv/.req-$req_hash"
fi

if [ "${SETUP_SKIP_BUILD:-0}" != 1 ]; then
  cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
  ninja -C build
fi
echo "setup: ok (binary: $root/build/vecsafe)"
