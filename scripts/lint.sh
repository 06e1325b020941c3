#!/usr/bin/env bash
# Style check: clang-format on every C++ file (fails listing the files that
# differ; `scripts/lint.sh --fix` rewrites them). With --tidy, also clang-tidy
# (.clang-tidy) on the C++ files changed against main (needs build/compile_commands.json).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
fix=0 tidy=0
for a in "$@"; do
  case $a in
    --fix) fix=1 ;;
    --tidy) tidy=1 ;;
    *) echo "usage: scripts/lint.sh [--fix] [--tidy]" >&2; exit 2 ;;
  esac
done
mapfile -t files < <(git ls-files 'src/*.cc' 'src/*.h' 'include/*.h' 'tests/*.cc' 'tests/*.h' \
                       'bench/*.cc')
bad=()
for f in "${files[@]}"; do
  [ -f "$f" ] || continue
  if [ $fix = 1 ]; then
    clang-format -i "$f"
  elif ! clang-format --dry-run --Werror "$f" >/dev/null 2>&1; then
    bad+=("$f")
  fi
done
status=0
if [ ${#bad[@]} -gt 0 ]; then
  printf 'lint: not clang-formatted (run scripts/lint.sh --fix):\n'; printf '  %s\n' "${bad[@]}"
  status=1
fi
if [ $tidy = 1 ]; then
  [ -f build/compile_commands.json ] || { echo "lint: build first (build/compile_commands.json)"; exit 2; }
  base=$(git merge-base HEAD main 2>/dev/null || echo HEAD)
  mapfile -t changed < <(git diff --name-only "$base" -- 'src/*.cc' 'tests/unit/*.cc' | while read -r f; do
                           [ -f "$f" ] && echo "$f"; done)
  if [ ${#changed[@]} -gt 0 ]; then
    clang-tidy -p build --quiet "${changed[@]}" || status=1
  fi
fi
[ $status = 0 ] && echo "lint: ok (${#files[@]} files)"
exit $status
