#!/usr/bin/env bash
# The main job on a local default, step by step: set up and build, make a
# small demo data set, back it up into a new local repository, list the
# snapshot, verify it (reading every byte back), restore it to a new folder,
# and show that the restored bytes are the original bytes.
#
#   scripts/demo.sh [WORKDIR]     default WORKDIR: ./demo (removed and re-made)
#
# Data: the benchmark corpus at a small scale when ../shared/bench/make_corpus.sh
# (or $VECSAFE_SHARED/bench/make_corpus.sh) is there, else generated files.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
work=$(realpath -m "${1:-$root/demo}")
shared=${VECSAFE_SHARED:-$root/../shared}
step() { printf '\n\033[1m==> %s\033[0m\n' "$*"; }
run() { printf '$ %s\n' "$*"; "$@"; }

step "setup and build (scripts/setup.sh)"
"$root/scripts/setup.sh"
vecsafe=${VECSAFE_BIN:-$root/build/vecsafe}

step "demo data in $work/data"
rm -rf "$work"
mkdir -p "$work"
if [ -x "$shared/bench/make_corpus.sh" ] || [ -f "$shared/bench/make_corpus.sh" ]; then
  run bash "$shared/bench/make_corpus.sh" "$work/data" 0.02
else
  mkdir -p "$work/data/docs" "$work/data/vectors" "$work/data/empty"
  head -c $((8 << 20)) /dev/urandom >"$work/data/vectors/data_level0.bin"
  for i in $(seq 1 200); do echo "document $i: vector databases need backups"; done \
    >"$work/data/docs/notes.txt"
  : >"$work/data/docs/empty.txt"
  ln -s docs/notes.txt "$work/data/notes-link"
  chmod 600 "$work/data/vectors/data_level0.bin"
  du -sb "$work/data"
fi

# A demo password; real use: VECSAFE_PASSWORD_FILE or the prompt (docs/OPERATIONS.md).
export VECSAFE_PASSWORD=${VECSAFE_PASSWORD:-demo-password}
export VECSAFE_REPO=$work/repo

step "create an encrypted local repository"
run "$vecsafe" init --repo "$VECSAFE_REPO"

step "back up the folder"
run "$vecsafe" backup dir "$work/data" --tag demo

step "back it up again: unchanged files are skipped"
run "$vecsafe" backup dir "$work/data" --tag demo

step "list the snapshots"
run "$vecsafe" snapshots

step "verify the repository, reading and re-hashing every byte"
run "$vecsafe" verify --read-data

step "restore the latest snapshot to a new folder"
run "$vecsafe" restore latest --to "$work/restored"

step "compare: contents (diff -r) and a digest of each tree"
run diff -r --no-dereference "$work/data" "$work/restored"
tree_digest() { (cd "$1" && find . -type f -print0 | LC_ALL=C sort -z | xargs -0 sha256sum | sha256sum | cut -c1-64); }
a=$(tree_digest "$work/data")
b=$(tree_digest "$work/restored")
echo "original: $a"
echo "restored: $b"
[ "$a" = "$b" ] || { echo "demo: MISMATCH"; exit 1; }
echo
echo "demo: ok, the restored bytes match the original ($work)"
