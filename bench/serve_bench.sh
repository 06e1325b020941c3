#!/usr/bin/env bash
# Benchmark of `vecsafe serve`: p50/p99 latency of the list routes under 50
# concurrent clients (wrk), idle CPU of the daemon, and its memory after 24
# simulated hourly jobs (every_seconds schedules on a scaled clock).
# Usage: bench/serve_bench.sh [build/vecsafe]   -> bench/results/serve-<date>.md
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
bin=${1:-$root/build/vecsafe}
command -v wrk >/dev/null || { echo "wrk missing: scripts/setup.sh installs it (scripts/deps/apt-serve.txt)"; exit 1; }
work=$(mktemp -d)
trap 'kill $pid 2>/dev/null || true; rm -rf "$work"' EXIT
token=bench-token-0123456789abcdef
sha=$(printf %s "$token" | sha256sum | cut -d' ' -f1)
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
mkdir -p "$work/data"; head -c 1048576 /dev/urandom > "$work/data/blob"
cat > "$work/config.json" <<JSON
{"listen": "127.0.0.1:$port", "state_dir": "$work/state",
 "tokens": [{"name": "bench", "role": "admin", "sha256": "$sha"}],
 "repositories": [{"name": "main", "url": "$work/repo"}],
 "sources": [{"name": "files", "type": "dir", "path": "$work/data"}],
 "schedules": [{"job": "backup", "source": "files", "every_hours": 1}]}
JSON
# Scale 3600: one simulated hour per real second.
"$bin" serve --config "$work/config.json" --test-clock-scale 3600 > "$work/out" 2> "$work/err" &
pid=$!
for _ in $(seq 100); do grep -q listening "$work/out" 2>/dev/null && break; sleep 0.1; done
sleep 26  # 24+ simulated hourly jobs
runs=$(curl -s -H "Authorization: Bearer $token" "http://127.0.0.1:$port/api/v1/jobs/backup:files/history?limit=1000" | python3 -c 'import json,sys; print(len(json.load(sys.stdin)["runs"]))')
rss_kb=$(awk '/VmRSS/ {print $2}' /proc/$pid/status)
# Idle CPU over 10 s.
t0=$(awk '{print $14+$15}' /proc/$pid/stat); sleep 10; t1=$(awk '{print $14+$15}' /proc/$pid/stat)
idle_cpu=$(python3 -c "print(round(($t1-$t0)/$(getconf CLK_TCK)/10*100, 3))")
table="| route | p50 | p99 | req/s |\n|---|---|---|---|\n"
for route in /api/v1/jobs /api/v1/operations /api/v1/jobs/history /api/v1/journal /api/v1/sources; do
  out=$(wrk -t2 -c50 -d5s --latency -H "Authorization: Bearer $token" "http://127.0.0.1:$port$route")
  p50=$(echo "$out" | awk '$1=="50%" {print $2}'); p99=$(echo "$out" | awk '$1=="99%" {print $2}')
  rps=$(echo "$out" | awk '/Requests\/sec/ {print $2}')
  table+="| $route | $p50 | $p99 | $rps |\n"
done
mkdir -p "$root/bench/results"
f="$root/bench/results/serve-$(date -u +%Y-%m-%d).md"
{
  echo "# vecsafe serve benchmark ($(date -u +%Y-%m-%dT%H:%MZ), $(nproc) cores, shared machine)"
  echo
  echo "wrk -t2 -c50 -d5s per route (50 concurrent clients), admin token:"
  echo
  printf "%b" "$table"
  echo
  echo "| measure | value |"
  echo "|---|---|"
  echo "| job runs recorded after ~26 simulated hours | $runs |"
  echo "| RSS after those jobs | $((rss_kb / 1024)) MiB |"
  echo "| idle CPU (10 s) | ${idle_cpu} % of one core |"
} > "$f"
cat "$f"
