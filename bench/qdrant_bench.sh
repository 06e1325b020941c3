#!/usr/bin/env bash
# Streaming Qdrant backup benchmark (the stand-in in tests/qdrant_standin serves the snapshot).
#
#   bench/qdrant_bench.sh                 2 GiB collection, table in bench/results/qdrant-<date>.md
#   QDRANT_BENCH_BYTES=268435456 bench/qdrant_bench.sh    a smaller run
#
# Measures, on the same bytes, in QDRANT_BENCH_ROUNDS alternating rounds (default 5):
#   1. `vecsafe backup qdrant` of one collection: wall time, the stand-in's own snapshot
#      creation and deletion times (Qdrant's work, not vecsafe's), streaming throughput,
#      peak RSS;
#   2. `vecsafe backup dir` of a folder holding the same .snapshot file: wall time, peak RSS;
#   and reports the median round's ratio of the two throughputs;
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
rounds=${QDRANT_BENCH_ROUNDS:-5}
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

# The same bytes as a plain file, for `backup dir` (when this build has it).
has_dir=0
if "$bin" backup --help 2>/dev/null | grep -qE "^ +dir( |$)"; then
  has_dir=1
  log "fetching the snapshot file for backup dir"
  name=$(curl -s -X POST "$url/collections/big/snapshots" | "$py" -c "import json,sys; print(json.load(sys.stdin)['result']['name'])")
  mkdir -p "$work/dirsrc"
  curl -s -o "$work/dirsrc/big.snapshot" "$url/collections/big/snapshots/$name"
  curl -s -X DELETE "$url/collections/big/snapshots/$name" >/dev/null
else
  log "this build has no 'backup dir': skipping the comparison"
fi

# Rounds of (1) a streaming backup of the collection into a fresh repository
# and (2) `backup dir` of the same bytes into another, alternating: a single
# pair varies by more than the margin being measured. Each timed run starts
# with nothing left to write back (sync): the stand-in has just written the
# snapshot, and that writeback would throttle the repository's own writes.
state() { curl -s "$url/__standin/state" | "$py" -c "import json,sys; print(json.load(sys.stdin)[sys.argv[1]][-1])" "$1"; }
: > "$work/rounds.txt"
for r in $(seq 1 "$rounds"); do
  rm -rf "$work/repo-q" "$work/repo-d"
  "$bin" init --repo "$work/repo-q" >/dev/null
  "$bin" init --repo "$work/repo-d" >/dev/null
  sync
  log "round $r: backup qdrant"
  /usr/bin/time -v "$bin" backup qdrant "$url" --repo "$work/repo-q" --json \
    > "$work/q1.json" 2> "$work/q1.time"
  q_wall=$(wall_s "$work/q1.time"); q_rss=$(rss_kib "$work/q1.time")
  create=$(state create_seconds); delete=$(state delete_seconds)
  d_wall=0; d_rss=0
  if [ "$has_dir" = 1 ]; then
    sync
    log "round $r: backup dir"
    /usr/bin/time -v "$bin" backup dir "$work/dirsrc" --repo "$work/repo-d" --json \
      > "$work/d1.json" 2> "$work/d1.time"
    d_wall=$(wall_s "$work/d1.time"); d_rss=$(rss_kib "$work/d1.time")
  fi
  echo "$q_wall $create $delete $q_rss $d_wall $d_rss" >> "$work/rounds.txt"
done
rm -f "$work/dirsrc/big.snapshot"
snap_size=$(json_get "$work/q1.json" "d['collections'][0]['nodes'][0]['size']")
q1_new=$(json_get "$work/q1.json" "d['collections'][0]['bytes_new_stored']")

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

"$py" - "$work" "$size" "$snap_size" "$q1_new" "$q2_read" "$q2_new" "$q2_new_raw" "$outside" <<'EOF'
import datetime, os, statistics, sys
work, size, snap, q1_new, q2_read, q2_new, q2_new_raw, outside = sys.argv[1:]
snap = int(snap)
mib = 1 << 20
rounds = []
for line in open(os.path.join(work, "rounds.txt")):
    q_wall, create, delete, q_rss, d_wall, d_rss = (float(x) for x in line.split())
    # Creating and deleting the snapshot is Qdrant's work (writing, then
    # unlinking, a 2 GiB file); what is left is vecsafe's streaming backup.
    stream = max(q_wall - create - delete, 1e-9)
    q_tp = snap / stream / mib
    d_tp = snap / d_wall / mib if d_wall else 0
    rounds.append(dict(q_wall=q_wall, create=create, delete=delete, stream=stream, q_tp=q_tp,
                       q_rss=q_rss, d_wall=d_wall, d_tp=d_tp, d_rss=d_rss,
                       ratio=q_tp / d_tp if d_tp else 0))
has_dir = all(r["d_wall"] for r in rounds)
ratio = statistics.median(r["ratio"] for r in rounds) if has_dir else 0
mid = sorted(rounds, key=lambda r: r["ratio"])[len(rounds) // 2]
q_rss = max(r["q_rss"] for r in rounds)
d_rss = max(r["d_rss"] for r in rounds)
q2_read, q2_new, q2_new_raw = int(q2_read), int(q2_new), int(q2_new_raw)
load = os.getloadavg()
created = open(os.path.join(work, "created_outside.txt")).read().split()
n = len(rounds)
rows = [
    ("snapshot file size", f"{snap / mib:.1f} MiB", ""),
    ("backup qdrant wall time (median round)", f"{mid['q_wall']:.1f} s",
     f"of which the stand-in's snapshot creation {mid['create']:.1f} s and deletion {mid['delete']:.1f} s"),
    ("backup qdrant streaming throughput (median round)", f"{mid['q_tp']:.0f} MiB/s", "size / (wall - creation - deletion)"),
    ("backup dir of the same file (median round)", f"{mid['d_wall']:.1f} s, {mid['d_tp']:.0f} MiB/s" if has_dir else "not run", "" if has_dir else "this build has no `backup dir`"),
    (f"throughput ratio qdrant / dir, median of {n} rounds", f"{ratio:.2f}" if has_dir else "not measured", ("target >= 0.8: " + ("met" if ratio >= 0.8 else "NOT met")) if has_dir else "needs `backup dir`"),
    ("peak RSS backup qdrant (highest round)", f"{q_rss / 1024:.0f} MiB", "target < 256 MiB: " + ("met" if q_rss < 256 * 1024 else "NOT met")),
    ("peak RSS backup dir (highest round)", f"{d_rss / 1024:.0f} MiB" if has_dir else "not run", ""),
    ("new bytes stored, first backup", f"{int(q1_new) / mib:.1f} MiB", ""),
    ("second backup after a 1 % change: new bytes", f"{q2_new / mib:.1f} MiB stored ({q2_new_raw / mib:.1f} MiB raw) = {100 * q2_new / q2_read:.2f} % of {q2_read / mib:.0f} MiB",
     "target < 5 %: " + ("met" if q2_new < 0.05 * q2_read else "NOT met")),
    ("files created outside the repository (strace)", str(len(created)), ", ".join(created[:5]) or "none: no temporary file"),
]
date = datetime.date.today().isoformat()
out = [f"# Qdrant streaming backup benchmark ({date})", "",
       f"Machine: {os.cpu_count()} CPUs, load average at the end {load[0]:.1f} / {load[1]:.1f} / {load[2]:.1f} "
       "(the benchmark's own runs; anything else running would share the 2 cores).",
       "Source: the Qdrant stand-in (tests/qdrant_standin, Python, sendfile) serving one collection snapshot; "
       "repositories on the same local disk, default settings (encrypted, zstd 1).", "",
       "| measure | value | note |", "|---|---|---|"]
out += [f"| {a} | {b} | {c} |" for a, b, c in rows]
out += ["", "Every round, alternating, each into a fresh repository:", "",
        "| round | backup qdrant wall | creation | deletion | streaming | backup dir | ratio | peak RSS qdrant / dir |",
        "|---|---|---|---|---|---|---|---|"]
for i, r in enumerate(rounds, 1):
    out.append(f"| {i} | {r['q_wall']:.1f} s | {r['create']:.1f} s | {r['delete']:.1f} s | "
               f"{r['stream']:.1f} s, {r['q_tp']:.0f} MiB/s | "
               + (f"{r['d_wall']:.1f} s, {r['d_tp']:.0f} MiB/s | {r['ratio']:.2f}" if r["d_wall"] else "not run | -")
               + f" | {r['q_rss'] / 1024:.0f} / {r['d_rss'] / 1024:.0f} MiB |")
out += ["", "Command: `bench/qdrant_bench.sh` (QDRANT_BENCH_BYTES=%s, QDRANT_BENCH_ROUNDS=%d)." % (size, n), ""]
text = "\n".join(out)
print(text)
with open(os.path.join(work, "result.md"), "w") as f:
    f.write(text)
EOF
mkdir -p "$root/bench/results"
dest=$root/bench/results/qdrant-$(date -u +%Y-%m-%d).md
cp "$work/result.md" "$dest"
log "table written to $dest"
