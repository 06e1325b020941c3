#!/usr/bin/env bash
# Streaming Qdrant backup benchmark (the stand-in in tests/qdrant_standin serves the snapshot).
#
#   bench/qdrant_bench.sh                 2 GiB collection, table in bench/results/qdrant-<date>.md
#   QDRANT_BENCH_BYTES=268435456 bench/qdrant_bench.sh    a smaller run
#
# Measures, on the same bytes:
#   1. `vecsafe backup qdrant` of one collection: wall time, the stand-in's own snapshot
#      creation time (Qdrant's work, not vecsafe's), streaming throughput, peak RSS;
#   2. `vecsafe backup dir` of a folder holding the same .snapshot file: wall time, peak RSS;
#   3. a second `backup qdrant` after a 1 % change: new bytes stored, under strace to list
#      every file vecsafe creates (proof that no temporary copy of the snapshot is written).
# Environment: VECSAFE_BIN (default build/vecsafe), VECSAFE_CACHE (test venv),
# QDRANT_BENCH_DIR (work folder, default a fresh one under /var/tmp, removed at the end).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
bin=${VECSAFE_BIN:-$root/build/vecsafe}
size=${QDRANT_BENCH_BYTES:-2147483648}
py=${VECSAFE_CACHE:-$HOME/.cache/vecsafe}/test-venv/bin/python
[ -x "$py" ] || py=python3
work=${QDRANT_BENCH_DIR:-$(mktemp -d /var/tmp/vecsafe-qbench.XXXXXX)}
keep=${QDRANT_BENCH_KEEP:-0}
mkdir -p "$work"
export VECSAFE_PASSWORD=bench-password
unset VECSAFE_REPO QDRANT_URL QDRANT_HOST QDRANT_PORT QDRANT_API_KEY || true

standin_pid=""
cleanup() {
  if [ -n "$standin_pid" ]; then kill "$standin_pid" 2>/dev/null || true; wait "$standin_pid" 2>/dev/null || true; fi
  if [ "$keep" != 1 ] && [ -z "${QDRANT_BENCH_DIR:-}" ]; then rm -rf "$work"; fi
}
trap cleanup EXIT

log() { printf '[%s] %s\n' "$(date -u +%H:%M:%S)" "$*" >&2; }
json_get() { "$py" -c "import json,sys; d=json.load(open(sys.argv[1])); print(eval(sys.argv[2]))" "$@"; }
rss_kib() { awk -F': ' '/Maximum resident set size/ {print $2}' "$1"; }
wall_s() {  # "Elapsed (wall clock) time (h:mm:ss or m:ss): 0:03.52"
  awk -F': ' '/Elapsed \(wall clock\)/ {print $2}' "$1" |
    awk -F: '{ if (NF == 3) print $1*3600 + $2*60 + $3; else print $1*60 + $2 }'
}

log "starting the stand-in with a $size-byte collection in $work (generating data)"
PYTHONPATH=$root/tests "$py" -m qdrant_standin.server --data "$work/node" \
  --collection "big:$size:7" > "$work/standin.out" &
standin_pid=$!
for _ in $(seq 1 1200); do
  grep -q LISTENING "$work/standin.out" 2>/dev/null && break
  sleep 0.5
done
port=$(awk '/LISTENING/ {print $2}' "$work/standin.out")
[ -n "$port" ] || { echo "stand-in did not start" >&2; exit 1; }
url=http://127.0.0.1:$port
log "stand-in on $url"

"$bin" init --repo "$work/repo-q" >/dev/null
"$bin" init --repo "$work/repo-d" >/dev/null || true
# Each timed run starts with nothing left to write back: the stand-in has just
# written the collection (and `backup dir` gets a freshly downloaded file), and
# that writeback would otherwise throttle the repository's own writes.
sync

# 1. Streaming backup of the collection.
log "backup qdrant #1"
/usr/bin/time -v "$bin" backup qdrant "$url" --repo "$work/repo-q" --json \
  > "$work/q1.json" 2> "$work/q1.time"
q1_wall=$(wall_s "$work/q1.time")
q1_rss=$(rss_kib "$work/q1.time")
create1=$(curl -s "$url/__standin/state" | "$py" -c "import json,sys; print(json.load(sys.stdin)['create_seconds'][-1])")
snap_size=$(json_get "$work/q1.json" "d['collections'][0]['nodes'][0]['size']")
q1_new=$(json_get "$work/q1.json" "d['collections'][0]['bytes_new_stored']")

# 2. The same bytes as a plain file, backed up with `backup dir` (when this build has it).
d1_wall=0; d1_rss=0
if "$bin" backup --help 2>/dev/null | grep -qE "^ +dir( |$)"; then
  log "fetching the same snapshot file for backup dir"
  name=$(curl -s -X POST "$url/collections/big/snapshots" | "$py" -c "import json,sys; print(json.load(sys.stdin)['result']['name'])")
  mkdir -p "$work/dirsrc"
  curl -s -o "$work/dirsrc/big.snapshot" "$url/collections/big/snapshots/$name"
  curl -s -X DELETE "$url/collections/big/snapshots/$name" >/dev/null
  sync
  log "backup dir"
  /usr/bin/time -v "$bin" backup dir "$work/dirsrc" --repo "$work/repo-d" --json \
    > "$work/d1.json" 2> "$work/d1.time"
  d1_wall=$(wall_s "$work/d1.time")
  d1_rss=$(rss_kib "$work/d1.time")
  rm -f "$work/dirsrc/big.snapshot"
else
  log "this build has no 'backup dir': skipping the comparison"
fi

# 3. A 1 % change, then a second streaming backup under strace.
log "mutating 1 % and backing up again under strace"
curl -s -X POST -H 'Content-Type: application/json' -d '{"fraction": 0.01, "seed": 2}' \
  "$url/__standin/collections/big/mutate" > "$work/mutate.json"
strace -f -qq -e trace=openat,creat,rename,renameat,renameat2 -o "$work/strace.log" \
  "$bin" backup qdrant "$url" --repo "$work/repo-q" --json > "$work/q2.json" 2> "$work/q2.err"
q2_read=$(json_get "$work/q2.json" "d['collections'][0]['bytes_read']")
q2_new=$(json_get "$work/q2.json" "d['collections'][0]['bytes_new_stored']")
q2_new_raw=$(json_get "$work/q2.json" "d['collections'][0]['bytes_new_raw']")
# Every file vecsafe created for writing, outside the repository, and the largest such file.
grep -E 'O_CREAT|creat\(' "$work/strace.log" | grep -v ENOENT |
  sed -E 's/.*"([^"]+)".*/\1/' | sort -u > "$work/created.txt"
grep -v "^$work/repo-q" "$work/created.txt" > "$work/created_outside.txt" || true
outside=$(wc -l < "$work/created_outside.txt")

"$py" - "$work" "$size" "$snap_size" "$q1_wall" "$create1" "$q1_rss" "$q1_new" "$d1_wall" \
  "$d1_rss" "$q2_read" "$q2_new" "$q2_new_raw" "$outside" <<'EOF'
import datetime, os, sys
(work, size, snap, q1_wall, create1, q1_rss, q1_new, d1_wall, d1_rss, q2_read, q2_new, q2_new_raw,
 outside) = sys.argv[1:]
snap = int(snap); q1_wall = float(q1_wall); create1 = float(create1); d1_wall = float(d1_wall)
stream = max(q1_wall - create1, 1e-9)
mib = 1 << 20
q_tp = snap / stream / mib
d_tp = snap / d1_wall / mib if d1_wall else 0
ratio = q_tp / d_tp if d_tp else 0
q2_read, q2_new, q2_new_raw = int(q2_read), int(q2_new), int(q2_new_raw)
load = os.getloadavg()
created = open(os.path.join(work, "created_outside.txt")).read().split()
rows = [
    ("snapshot file size", f"{snap / mib:.1f} MiB", ""),
    ("backup qdrant #1 wall time", f"{q1_wall:.1f} s", f"of which the stand-in's snapshot creation {create1:.1f} s"),
    ("backup qdrant streaming throughput", f"{q_tp:.0f} MiB/s", "size / (wall - creation)"),
    ("backup dir of the same file", f"{d1_wall:.1f} s, {d_tp:.0f} MiB/s" if d1_wall else "not run", "" if d1_wall else "this build has no `backup dir`"),
    ("throughput ratio qdrant / dir", f"{ratio:.2f}" if d1_wall else "not measured", ("target >= 0.8: " + ("met" if ratio >= 0.8 else "NOT met")) if d1_wall else "needs `backup dir`"),
    ("peak RSS backup qdrant", f"{int(q1_rss) / 1024:.0f} MiB", "target < 256 MiB: " + ("met" if int(q1_rss) < 256 * 1024 else "NOT met")),
    ("peak RSS backup dir", f"{int(d1_rss) / 1024:.0f} MiB" if d1_wall else "not run", ""),
    ("new bytes stored, first backup", f"{int(q1_new) / mib:.1f} MiB", ""),
    ("second backup after a 1 % change: new bytes", f"{q2_new / mib:.1f} MiB stored ({q2_new_raw / mib:.1f} MiB raw) = {100 * q2_new / q2_read:.2f} % of {q2_read / mib:.0f} MiB",
     "target < 5 %: " + ("met" if q2_new < 0.05 * q2_read else "NOT met")),
    ("files created outside the repository (strace)", str(len(created)), ", ".join(created[:5]) or "none: no temporary file"),
]
date = datetime.date.today().isoformat()
out = [f"# Qdrant streaming backup benchmark ({date})", "",
       f"Machine: {os.cpu_count()} CPUs, load average during the run {load[0]:.1f} / {load[1]:.1f} / {load[2]:.1f} "
       "(anything above 1 means other work shared the 2 cores).",
       "Source: the Qdrant stand-in (tests/qdrant_standin, Python, sendfile) serving one collection snapshot; "
       "repositories on the same local disk, default settings (encrypted, zstd 1).", "",
       "| measure | value | note |", "|---|---|---|"]
out += [f"| {a} | {b} | {c} |" for a, b, c in rows]
out += ["", "Command: `bench/qdrant_bench.sh` (QDRANT_BENCH_BYTES=%s)." % size, ""]
text = "\n".join(out)
print(text)
with open(os.path.join(work, "result.md"), "w") as f:
    f.write(text)
EOF
mkdir -p "$root/bench/results"
dest=$root/bench/results/qdrant-$(date -u +%Y-%m-%d).md
cp "$work/result.md" "$dest"
log "table written to $dest"
