#!/usr/bin/env bash
# Times `vecsafe check chroma` (not deep) on a directory with 1,000
# collections written by real Chroma (20 records of 8 dimensions each, flushed
# to HNSW). The directory is made once and cached under
# $VECSAFE_CACHE/chroma/bench-<N>-<version>; the goal is < 2 s.
#   bench/chroma_check_bench.sh [VERSION] [N]      default 1.5.9 1000
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
version=${1:-1.5.9}
n=${2:-1000}
cache=${VECSAFE_CACHE:-$HOME/.cache/vecsafe}/chroma
bin=${VECSAFE_BIN:-$root/build/vecsafe}
"$root/tests/harness/chroma_envs.sh" "$version" >/dev/null
data=$cache/bench-$n-$version
if [ ! -f "$data/.ok" ]; then
  rm -rf "$data"
  spec=$(python3 -c "import json; print(json.dumps([{'name': f'c{i:04d}', 'n': 20, 'dim': 8, 'seed': i, 'sync_threshold': 10, 'batch_size': 10} for i in range($n)]))")
  start=$SECONDS
  ANONYMIZED_TELEMETRY=False "$cache/$version/bin/python" "$root/tests/integration/chroma/chroma_driver.py" \
    create --path "$data" --spec "$spec" >/dev/null 2>"$data.log"
  echo "made $n collections with chromadb $version in $((SECONDS - start)) s"
  touch "$data/.ok"
fi
echo "data: $data ($(du -sh "$data" | cut -f1), $(ls "$data" | wc -l) entries)"
best=999
for run in 1 2 3; do
  t0=$(date +%s.%N)
  rc=0
  "$bin" check chroma "$data" --json >/tmp/chroma_check_bench.json || rc=$?
  t1=$(date +%s.%N)
  s=$(python3 -c "print(f'{$t1 - $t0:.3f}')")
  echo "run $run: exit $rc, ${s} s, findings $(python3 -c "import json; print(len(json.load(open('/tmp/chroma_check_bench.json'))['findings']))")"
  best=$(python3 -c "print(min($best, $s))")
done
echo "best: ${best} s for $n collections (goal < 2 s)"
