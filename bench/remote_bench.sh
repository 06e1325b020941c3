#!/usr/bin/env bash
# Remote repository benchmark: backup and restore of the benchmark corpus to MinIO (s3://)
# and fake-gcs-server (gs://) on loopback, against a local repository on the same disk.
#
#   bench/remote_bench.sh                    scale 0.25 (~0.5 GiB), table in bench/results/remote-<date>.md
#   REMOTE_BENCH_SCALE=0.05 bench/remote_bench.sh    a quick run
#
# For each target: `vecsafe backup dir` of the corpus into a fresh repository, then
# `vecsafe restore latest` into an empty folder (checked file by file with sha256sum):
# wall time and MiB/s (corpus bytes / wall time), ratio to the local repository, HTTP
# requests per GiB (vecsafe's own counters: VECSAFE_HTTP_STATS), peak RSS (/usr/bin/time -v).
# The servers are the ones the tests use (tests/harness/build_servers.sh, cached): MinIO
# with its data on disk, fake-gcs-server with its memory backend. They run on the same
# machine, so they share its cores with vecsafe.
# Environment: VECSAFE_BIN (default build/vecsafe), VECSAFE_CACHE (servers, test venv),
# REMOTE_BENCH_DIR (work folder, default a fresh one under /var/tmp, removed at the end),
# REMOTE_BENCH_RUNS (rounds per target, default 3; the median is reported),
# REMOTE_BENCH_CORPUS (an existing corpus folder to reuse), REMOTE_BENCH_OUT (table file),
# VECSAFE_SHARED (where bench/make_corpus.sh lives, as for bench/run.sh; or MAKE_CORPUS=PATH).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
bin=${VECSAFE_BIN:-$root/build/vecsafe}
scale=${REMOTE_BENCH_SCALE:-0.25}
cache=${VECSAFE_CACHE:-$HOME/.cache/vecsafe}
py=$cache/test-venv/bin/python
[ -x "$py" ] || py=python3
work=${REMOTE_BENCH_DIR:-$(mktemp -d /var/tmp/vecsafe-rbench.XXXXXX)}
out_md=${REMOTE_BENCH_OUT:-$root/bench/results/remote-$(date -u +%F).md}
mkdir -p "$work"
export VECSAFE_PASSWORD=bench-password
unset VECSAFE_REPO GCS_BUCKET_NAME GCS_FOLDER_PREFIX BACKUP_LOCAL_PATH AWS_PROFILE || true

pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; wait "$p" 2>/dev/null || true; done
  if [ -z "${REMOTE_BENCH_DIR:-}" ]; then rm -rf "$work"; fi
}
trap cleanup EXIT
log() { printf '[%s] %s\n' "$(date -u +%H:%M:%S)" "$*" >&2; }
free_port() { "$py" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
wait_url() { for _ in $(seq 300); do curl -sf -o /dev/null "$1" && return 0; sleep 0.1; done; echo "no answer from $1" >&2; return 1; }
rss_mib() { awk -F': ' '/Maximum resident set size/ {printf "%.0f", $2/1024}' "$1"; }
wall_s() {
  awk -F': ' '/Elapsed \(wall clock\)/ {print $2}' "$1" |
    awk -F: '{ if (NF == 3) print $1*3600 + $2*60 + $3; else print $1*60 + $2 }'
}

"$root/tests/harness/build_servers.sh" 2>&1 | tee "$work/servers.txt" >&2
gobin=$cache/go/bin

corpus=${REMOTE_BENCH_CORPUS:-$work/corpus}
if [ ! -d "$corpus" ]; then
  log "building the scale-$scale corpus"
  mk=${MAKE_CORPUS:-}
  for c in "${VECSAFE_SHARED:-}/bench/make_corpus.sh" "$root/../shared/bench/make_corpus.sh" \
    "$root/../../shared/bench/make_corpus.sh"; do
    if [ -z "$mk" ] && [ -f "$c" ]; then mk=$c; fi
  done
  [ -n "$mk" ] || { echo "remote_bench: make_corpus.sh not found (set MAKE_CORPUS)" >&2; exit 2; }
  bash "$mk" "$corpus" "$scale" >/dev/null
fi
bytes=$(du -sb --apparent-size "$corpus" | cut -f1)
files=$(find "$corpus" -type f | wc -l)
(cd "$corpus" && find . -type f -print0 | sort -z | xargs -0 sha256sum) > "$work/corpus.sha256"
log "corpus: $files files, $bytes bytes"

# MinIO (data on disk, next to the local repository) and fake-gcs-server.
s3port=$(free_port); gport=$(free_port)
MINIO_ROOT_USER=bench-admin MINIO_ROOT_PASSWORD=bench-secret-12345 MINIO_BROWSER=off \
  MINIO_UPDATE=off "$gobin/minio" server --quiet --address "127.0.0.1:$s3port" \
  --console-address "127.0.0.1:$(free_port)" "$work/minio-data" >"$work/minio.log" 2>&1 &
pids+=($!)
"$gobin/fake-gcs-server" -scheme http -host 127.0.0.1 -port "$gport" -backend memory \
  -external-url "http://127.0.0.1:$gport" -public-host "127.0.0.1:$gport" -log-level error \
  >"$work/gcs.log" 2>&1 &
pids+=($!)
wait_url "http://127.0.0.1:$s3port/minio/health/ready"
wait_url "http://127.0.0.1:$gport/storage/v1/b?project=bench"
PYTHONPATH=$root/tests/integration/remote "$py" -c "
import sys, time
from s3client import S3Client
c = S3Client('http://127.0.0.1:$s3port', 'bench-admin', 'bench-secret-12345')
c.make_bucket('vs-bench')"
curl -sf -X POST -H 'Content-Type: application/json' -d '{"name":"vs-bench"}' \
  "http://127.0.0.1:$gport/storage/v1/b?project=bench" >/dev/null
export AWS_ACCESS_KEY_ID=bench-admin AWS_SECRET_ACCESS_KEY=bench-secret-12345 AWS_REGION=us-east-1
export AWS_ENDPOINT_URL_S3=http://127.0.0.1:$s3port STORAGE_EMULATOR_HOST=http://127.0.0.1:$gport

load_before=$(cut -d' ' -f1-3 /proc/loadavg)
declare -A R
runs=${REMOTE_BENCH_RUNS:-3}
median() { tr ' ' '\n' | sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
run_target() {  # name url: $runs rounds of backup into a fresh repository + restore
  local name=$1 url=$2 i op
  declare -A walls=([backup]="" [restore]="")
  declare -A rss=([backup]=0 [restore]=0)
  for i in $(seq "$runs"); do
    local u=$url-$i st=$work/stats-$name-$i
    log "$name round $i: init, backup, restore"
    "$bin" init --repo "$u" --kdf-memory-mib 8 --kdf-ops 1 -q
    sync
    VECSAFE_HTTP_STATS=$st.backup /usr/bin/time -v -o "$work/time-$name-backup" \
      "$bin" backup dir "$corpus" --repo "$u" -q
    rm -rf "$work/out-$name"
    sync
    VECSAFE_HTTP_STATS=$st.restore /usr/bin/time -v -o "$work/time-$name-restore" \
      "$bin" restore latest --to "$work/out-$name" --repo "$u" -q
    (cd "$work/out-$name" && sha256sum --quiet -c "$work/corpus.sha256") ||
      { echo "$name: restore differs from the corpus" >&2; exit 1; }
    rm -rf "$work/out-$name"
    for op in backup restore; do
      walls[$op]+=" $(wall_s "$work/time-$name-$op")"
      local r; r=$(rss_mib "$work/time-$name-$op")
      [ "$r" -gt "${rss[$op]}" ] && rss[$op]=$r
    done
  done
  for op in backup restore; do
    R[$name.$op.wall]=$(echo ${walls[$op]} | median)
    R[$name.$op.walls]=$(echo ${walls[$op]})
    R[$name.$op.rss]=${rss[$op]}
    local st=$work/stats-$name-$runs.$op
    if [ -f "$st" ]; then
      R[$name.$op.req]=$("$py" -c "import json,sys; print(sum(json.loads(l)['requests'] for l in open(sys.argv[1])))" "$st")
      R[$name.$op.retries]=$("$py" -c "import json,sys; print(sum(json.loads(l)['retries'] for l in open(sys.argv[1])))" "$st")
    else
      R[$name.$op.req]=-; R[$name.$op.retries]=-
    fi
  done
}
run_target local "$work/local-repo"
run_target s3 "s3://vs-bench/repo"
run_target gs "gs://vs-bench/repo"
load_after=$(cut -d' ' -f1-3 /proc/loadavg)

row() {  # name op label
  local n=$1 op=$2 w=${R[$1.$2.wall]} lw=${R[local.$2.wall]}
  "$py" - "$n" "$op" "$w" "$lw" "$bytes" "${R[$n.$op.req]}" "${R[$n.$op.retries]}" "${R[$n.$op.rss]}" "$3" "${R[$n.$op.walls]}" <<'PY'
import sys
n, op, w, lw, b, req, retries, rss, label, walls = sys.argv[1:]
w, lw, b = float(w), float(lw), int(b)
mibs = b / 2**20 / w
ratio = lw / w
per_gib = "-" if req == "-" else f"{int(req) / (b / 2**30):.0f} ({req} total, {retries} retried)"
print(f"| {label} | {op} | {w:.2f} ({walls}) | {mibs:.0f} | {ratio:.2f}x | {per_gib} | {rss} |")
PY
}
{
  echo "# Remote repositories: backup and restore on loopback ($(date -u +%F))"
  echo
  echo "\`bench/remote_bench.sh\` (REMOTE_BENCH_SCALE=$scale): the benchmark corpus"
  echo "(\`make_corpus.sh OUT $scale\`: $files files, $(( bytes / 1048576 )) MiB, vector files"
  echo "and a SQLite file, little compressible) backed up into a fresh encrypted repository,"
  echo "then restored into an empty folder and checked with sha256sum; $runs rounds per target"
  echo "(each into a fresh repository), median wall time (all rounds in brackets), peak RSS of"
  echo "all rounds, requests of the last round (vecsafe's counters, VECSAFE_HTTP_STATS)."
  echo
  echo "Machine: $(nproc) cores ($(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //')),"
  echo "shared with other work: load average $load_before before, $load_after after."
  echo "Servers on 127.0.0.1 on the same cores: $(grep -o 'minio v[^ ]*' "$work/servers.txt" | head -1) (data"
  echo "on the same disk as the local repository), $(grep -o 'fake-gcs-server v[^ ]*' "$work/servers.txt" | head -1) (memory"
  echo "backend: no disk writes, unlike the local repository and MinIO, which fsync)."
  echo "$("$bin" version 2>/dev/null | head -1), built from commit $(git -C "$root" rev-parse --short HEAD 2>/dev/null || echo unknown)."
  echo
  echo "| repository | verb | wall s, median (rounds) | MiB/s | vs local | HTTP requests per GiB | peak RSS MiB |"
  echo "|---|---|---|---|---|---|---|"
  row local backup "local folder"
  row s3 backup "MinIO s3://"
  row gs backup "fake-gcs-server gs://"
  row local restore "local folder"
  row s3 restore "MinIO s3://"
  row gs restore "fake-gcs-server gs://"
} > "$out_md"
cat "$out_md"
