#!/usr/bin/env bash
# Regenerates the table in docs/errors.md from the error table compiled into
# vecsafe (include/vecsafe/error_table.inc), between the BEGIN/END markers.
# tests/unit/base/error_table_test.cc fails when the two disagree.
#   scripts/gen_errors_md.sh [path/to/vecsafe]     (default: build/vecsafe)
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
bin=${1:-$root/build/vecsafe}
doc=$root/docs/errors.md
table=$("$bin" errors --markdown)
awk -v table="$table" '
  /<!-- BEGIN ERROR TABLE/ { print; print table; skip = 1; next }
  /<!-- END ERROR TABLE/ { skip = 0 }
  !skip { print }
' "$doc" >"$doc.new"
mv "$doc.new" "$doc"
echo "updated $doc"
