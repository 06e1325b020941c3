#!/usr/bin/env bash
# Benchmark of `vecsafe serve`:
#   1. memory of the daemon after 24 simulated hourly backup jobs (every_hours: 1 on a
#      clock scaled 3600x: one simulated hour per second; each job really backs up a
#      folder that changes between jobs into an initialised repository),
#   2. idle CPU of the daemon (20 s of its own CPU time; restarted on the real clock with
#      the same state and quiet schedules, as a daemon spends most of its life),
#   3. p50/p99 latency of the list routes under 50 concurrent clients (wrk, 5 s each).
# Usage: bench/serve_bench.sh [build/vecsafe]   -> bench/results/serve-<date>.md
# Cost: about 90 s.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
bin=${1:-$root/build/vecsafe}
command -v wrk >/dev/null || { echo "wrk missing: scripts/setup.sh installs it (scripts/deps/apt-serve.txt)"; exit 1; }
work=$(mktemp -d)
pid=
trap '[ -n "$pid" ] && kill "$pid" 2>/dev/null; rm -rf "$work"' EXIT
export VECSAFE_PASSWORD=bench-password
token=bench-token-0123456789abcdef
sha=$(printf %s "$token" | sha256sum | cut -d' ' -f1)
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
base=http://127.0.0.1:$port
auth=(-H "Authorization: Bearer $token")
"$bin" init --repo "$work/repo" --kdf-memory-mib 8 --kdf-ops 1 >/dev/null
mkdir -p "$work/data"; head -c 4194304 /dev/urandom > "$work/data/blob"
config() {  # config SCHEDULES_JSON
  cat <<JSON
{"listen": "127.0.0.1:$port", "state_dir": "$work/state",
 "tokens": [{"name": "bench", "role": "admin", "sha256": "$sha"}],
 "repositories": [{"name": "main", "url": "$work/repo"}],
 "sources": [{"name": "files", "type": "dir", "path": "$work/data"}],
 "schedules": $1}
JSON
}
config '[{"job": "backup", "source": "files", "every_hours": 1}]' > "$work/config.json"
"$bin" serve --config "$work/config.json" --test-clock-scale 3600 > "$work/out" 2> "$work/err" &
pid=$!
for _ in $(seq 100); do grep -q listening "$work/out" 2>/dev/null && break; sleep 0.1; done
rss_start_kb=$(awk '/VmRSS/ {print $2}' /proc/$pid/status)
ok_runs() {
  curl -s "${auth[@]}" "$base/api/v1/jobs/backup:files/history?limit=1000" |
    python3 -c 'import json,sys; r=json.load(sys.stdin)["runs"]; print(sum(x["result"]=="ok" for x in r), len(r))'
}
# 24 successful hourly jobs; the folder changes a little between them (bounded: 120 s).
for i in $(seq 240); do
  read -r ok total < <(ok_runs)
  [ "$ok" -ge 24 ] && break
  head -c 65536 /dev/urandom | dd of="$work/data/blob" bs=65536 seek=$((i % 64)) conv=notrunc status=none
  sleep 0.5
done
# Quiet schedules (a yearly job), applied live; then the measures.
config '[{"job": "backup", "source": "files", "cron": "0 3 1 1 *"}]' |
  curl -s -o /dev/null -X PUT "${auth[@]}" -H 'Content-Type: application/json' --data-binary @- "$base/api/v1/config"
sleep 2
read -r ok total < <(ok_runs)
rss_kb=$(awk '/VmRSS/ {print $2}' /proc/$pid/status)
hwm_kb=$(awk '/VmHWM/ {print $2}' /proc/$pid/status)
snaps=$(curl -s "${auth[@]}" "$base/api/v1/backups" | python3 -c 'import json,sys; print(len(json.load(sys.stdin)["backups"]))')
table="| route | p50 | p99 | req/s | errors |\n|---|---|---|---|---|\n"
for route in /api/v1/jobs /api/v1/sources /api/v1/operations /api/v1/jobs/history /api/v1/journal \
             /api/v1/backups /api/robust/backups; do
  out=$(wrk -t2 -c50 -d5s --timeout 10s --latency "${auth[@]}" "$base$route")
  p50=$(echo "$out" | awk '$1=="50%" {print $2}'); p99=$(echo "$out" | awk '$1=="99%" {print $2}')
  rps=$(echo "$out" | awk '/Requests\/sec/ {print $2}')
  errs=$(echo "$out" | awk '/Non-2xx|Socket errors/ {printf "%s ", $0}')
  table+="| $route | $p50 | $p99 | $rps | ${errs:-0} |\n"
done
# Idle: the same daemon state on the real clock (the scaled clock wakes the scheduler often).
kill "$pid"; wait "$pid" 2>/dev/null || true
: > "$work/out"
"$bin" serve --config "$work/config.json" > "$work/out" 2>> "$work/err" &
pid=$!
for _ in $(seq 100); do grep -q listening "$work/out" 2>/dev/null && break; sleep 0.1; done
sleep 2
t0=$(awk '{print $14+$15}' /proc/$pid/stat); sleep 20; t1=$(awk '{print $14+$15}' /proc/$pid/stat)
idle_cpu=$(python3 -c "print(round(($t1-$t0)/$(getconf CLK_TCK)/20*100, 3))")
idle_rss_kb=$(awk '/VmRSS/ {print $2}' /proc/$pid/status)
mkdir -p "$root/bench/results"
f="$root/bench/results/serve-$(date -u +%Y-%m-%d).md"
{
  echo "# vecsafe serve benchmark ($(date -u +%Y-%m-%dT%H:%MZ), $(nproc) cores, load average $(cut -d' ' -f1-3 /proc/loadavg))"
  echo
  echo "wrk -t2 -c50 -d5s per route (50 concurrent clients, keep-alive), admin token:"
  echo
  printf "%b" "$table"
  echo
  echo "| measure | value |"
  echo "|---|---|"
  echo "| hourly backup jobs run (ok / all) on the scaled clock | $ok / $total |"
  echo "| snapshots in the repository | $snaps |"
  echo "| daemon RSS at start | $((rss_start_kb / 1024)) MiB |"
  echo "| daemon RSS after the jobs (peak) | $((rss_kb / 1024)) MiB ($((hwm_kb / 1024)) MiB) |"
  echo "| idle CPU of the daemon (20 s, real clock, quiet schedules) | ${idle_cpu} % of one core ($((t1 - t0)) ticks of 1/$(getconf CLK_TCK) s) |"
  echo "| idle daemon RSS (restarted, same state) | $((idle_rss_kb / 1024)) MiB |"
} > "$f"
cat "$f"
