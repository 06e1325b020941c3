#!/usr/bin/env bash
# Benchmark: vecsafe against restic, borg and `tar | zstd -1 -T2` on the same
# corpus, side by side in one run.
#
#   bench/run.sh [--corpus-script PATH] [--work DIR] [SCALE...]   (default scales: 0.25 1)
#   bench/run.sh --smoke      scale 0.02, results thrown away: only checks it completes
#
# The corpus comes from make_corpus.sh (--corpus-script, else $VECSAFE_SHARED/bench/,
# else ../shared/bench/ beside the repository). For each scale and tool:
#   first backup MiB/s, unchanged re-backup seconds, repository bytes, bytes
#   added by a backup after `make_corpus.sh --mutate`, restore MiB/s,
#   verify --read-data MiB/s (restic check --read-data, borg check --verify-data,
#   zstd -t), peak RSS over all steps (/usr/bin/time -v).
# Page caches cannot be dropped here: every tool runs once, without warm-up,
# in the same order and conditions, right after the corpus is written.
# Writes bench/results/engine-<UTC date>.md (not with --smoke).
# On a VM that hands free memory back to its host (virtio-balloon free page
# reporting), every page the kernel hands out again costs a host fault: writing
# 1 GiB to a fresh file took 10.4 s of system time there, 0.47 s with the
# pages kept. That cost is the same for every tool and hides their differences;
# the report records the setting (/sys/module/page_reporting/parameters/
# page_reporting_order; a value above 10 turns reporting off).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
vecsafe=${VECSAFE_BIN:-$root/build/vecsafe}
corpus_script=""
work=""
smoke=0
scales=()
while [ $# -gt 0 ]; do
  case $1 in
    --smoke) smoke=1 ;;
    --corpus-script) corpus_script=$2; shift ;;
    --work) work=$2; shift ;;
    -h|--help) sed -n '2,22p' "$0"; exit 0 ;;
    *) scales+=("$1") ;;
  esac
  shift
done
if [ -z "$corpus_script" ]; then
  for c in "${VECSAFE_SHARED:-}/bench/make_corpus.sh" "$root/../shared/bench/make_corpus.sh"; do
    if [ -f "$c" ]; then corpus_script=$c; break; fi
  done
fi
[ -n "$corpus_script" ] && [ -f "$corpus_script" ] ||
  { echo "bench: make_corpus.sh not found (pass --corpus-script PATH)" >&2; exit 2; }
[ -x "$vecsafe" ] || { echo "bench: no vecsafe binary at $vecsafe (build first)" >&2; exit 2; }
if [ $smoke = 1 ]; then scales=(0.02); fi
[ ${#scales[@]} -gt 0 ] || scales=(0.25 1)
if [ -z "$work" ]; then work=$(mktemp -d "${TMPDIR:-/tmp}/vecsafe-bench.XXXXXX"); fi
mkdir -p "$work"
cleanup() { rm -rf "$work"; }
trap cleanup EXIT

export VECSAFE_PASSWORD=bench-password RESTIC_PASSWORD=bench-password BORG_PASSPHRASE=bench-password
export BORG_BASE_DIR=$work/borg-home BORG_RELOCATED_REPO_ACCESS_IS_OK=yes
export BORG_UNKNOWN_UNENCRYPTED_REPO_ACCESS_IS_OK=yes
unset VECSAFE_REPO

tools=(vecsafe)
command -v restic >/dev/null && tools+=(restic) || echo "bench: restic not installed, skipped"
command -v borg >/dev/null && tools+=(borg) || echo "bench: borg not installed, skipped"
command -v zstd >/dev/null && tools+=(tarzstd) || echo "bench: zstd not installed, skipped"
# Last, so that its cold repository reads change nothing for the others.
tools+=(vecsafe-drop)
[ -x /usr/bin/time ] || { echo "bench: /usr/bin/time missing (Debian package 'time')" >&2; exit 2; }

# measure NAME CMD...: runs CMD under /usr/bin/time -v; records seconds and peak RSS (KiB).
declare -A secs rss
measure() {
  local name=$1; shift
  # Flush the dirty pages of earlier steps (the corpus, another tool's
  # repository) first, so that their writeback is not billed to this step.
  sync
  # The steps are shell functions: run them in a child bash (they and their variables are exported).
  /usr/bin/time -v -o "$work/time.txt" bash -c '"$@"' _ "$@" >"$work/last.log" 2>&1 ||
    { echo "bench: '$name' failed:"; tail -20 "$work/last.log"; cat "$work/time.txt"; exit 1; }
  local e m
  e=$(awk -F': ' '/Elapsed \(wall clock\)/ {print $2}' "$work/time.txt")
  m=$(awk -F': ' '/Maximum resident set size/ {print $2}' "$work/time.txt")
  # h:mm:ss or m:ss.ss -> seconds
  secs[$name]=$(echo "$e" | awk -F: '{ if (NF==3) print $1*3600+$2*60+$3; else print $1*60+$2 }')
  rss[$name]=$m
}
bytes_of() { du -sb "$1" | cut -f1; }
mibs() { awk -v b="$1" -v s="$2" 'BEGIN { if (s <= 0) s = 0.001; printf "%.1f", b / 1048576 / s }'; }

tool_backup() {  # tool_backup TOOL REPO CORPUS TAG
  local t=$1 repo=$2 corpus=$3 tag=$4
  case $t in
    vecsafe) "$vecsafe" backup dir "$corpus" --repo "$repo" --quiet ;;
    vecsafe-drop) "$vecsafe" backup dir "$corpus" --repo "file://$repo?pagecache=drop" --quiet ;;
    restic) (cd "$corpus" && restic -r "$repo" --cache-dir "$work/restic-cache" backup --quiet .) ;;
    borg) (cd "$corpus" && borg create "$repo::$tag" .) ;;
    tarzstd) tar -C "$corpus" -cf - . | zstd -q -1 -T2 -o "$repo/$tag.tar.zst" ;;
  esac
}
tool_init() {
  local t=$1 repo=$2
  case $t in
    vecsafe|vecsafe-drop) "$vecsafe" init --repo "$repo" --quiet ;;
    restic) restic -r "$repo" init --quiet ;;
    borg) borg init -e repokey-blake2 "$repo" ;;
    tarzstd) mkdir -p "$repo" ;;
  esac
}
tool_restore() {  # latest backup into DEST
  local t=$1 repo=$2 dest=$3 tag=$4
  mkdir -p "$(dirname "$dest")"
  case $t in
    vecsafe|vecsafe-drop) "$vecsafe" restore latest --to "$dest" --repo "$repo" --quiet ;;
    restic) restic -r "$repo" --cache-dir "$work/restic-cache" restore latest --target "$dest" --quiet ;;
    borg) mkdir -p "$dest" && (cd "$dest" && borg extract "$repo::$tag") ;;
    tarzstd) mkdir -p "$dest" && zstd -q -d -c "$repo/$tag.tar.zst" | tar -C "$dest" -xf - ;;
  esac
}
# The same, until the restored data is on the disk: vecsafe fsyncs before it
# renames the tree into place; restic, borg and tar leave the writeback to the
# kernel, which `sync` waits for.
tool_restore_durable() { tool_restore "$@" && sync; }
tool_verify() {
  local t=$1 repo=$2 tag=$3
  case $t in
    vecsafe|vecsafe-drop) "$vecsafe" verify --read-data --repo "$repo" --quiet ;;
    restic) restic -r "$repo" --cache-dir "$work/restic-cache" check --read-data --quiet ;;
    borg) borg check --verify-data "$repo" ;;
    tarzstd) zstd -q -t "$repo/$tag.tar.zst" ;;
  esac
}
tool_version() {
  case $1 in
    vecsafe) "$vecsafe" version ;;
    vecsafe-drop) echo "vecsafe-drop: vecsafe with file://REPO?pagecache=drop" ;;
    restic) restic version | cut -d' ' -f1-2 ;;
    borg) borg --version ;;
    tarzstd) echo "$(tar --version | head -1), $(zstd --version)" ;;
  esac
}

export vecsafe work
export -f tool_backup tool_init tool_restore tool_restore_durable tool_verify

tree_digest() { (cd "$1" && find . -type f -print0 | LC_ALL=C sort -z | xargs -0 sha256sum | sha256sum | cut -c1-16); }

report=$work/report.md
{
  echo "# vecsafe engine benchmark, $(date -u +%Y-%m-%d\ %H:%M) UTC"
  echo
  echo "Machine: $(nproc) cores ($(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //')),"
  echo "$(free -g | awk '/Mem:/ {print $2}') GiB RAM, kernel $(uname -r), filesystem $(df -T "$work" | awk 'NR==2 {print $2}'),"
  echo "load average at start: $(cut -d' ' -f1-3 /proc/loadavg)."
  if order=$(cat /sys/module/page_reporting/parameters/page_reporting_order 2>/dev/null); then
    if [ "$order" -gt 10 ]; then
      echo "Free page reporting to the VM host: off (page_reporting_order $order)."
    else
      echo "Free page reporting to the VM host: on (page_reporting_order $order): freshly used memory is slow."
    fi
  fi
  echo
  echo "Tools: $(for t in "${tools[@]}"; do printf '%s; ' "$(tool_version "$t")"; done)"
  echo
  echo "Method: corpus from make_corpus.sh; each tool runs each step once (restore three times,"
  echo "the median counts), no warm-up, in the"
  echo "order ${tools[*]}; page caches cannot be dropped on this machine, so every tool reads a"
  echo "corpus that is equally warm. Default settings of each tool (restic: encrypted, zstd auto;"
  echo "borg: repokey-blake2, lz4; vecsafe: aes-256-gcm, zstd 1). verify MiB/s is repository"
  echo "bytes read per second. tar|zstd has no incremental mode: its re-backup and after-mutate"
  echo "figures are new full archives. Peak RSS is the largest of all steps. vecsafe-drop is"
  echo "vecsafe on file://REPO?pagecache=drop: written packs leave the page cache, so its verify"
  echo "and restore read them from the disk (docs/OPERATIONS.md, The page cache). vecsafe's"
  echo "restore fsyncs every file before the tree is renamed into place, the others do not: the"
  echo "restore + sync row times one more restore followed by sync(1) for every tool."
} >"$report"

for scale in "${scales[@]}"; do
  corpus=$work/corpus-$scale
  echo "bench: corpus at scale $scale"
  bash "$corpus_script" "$corpus" "$scale" >/dev/null
  total=$(bytes_of "$corpus")
  digest=$(tree_digest "$corpus")
  declare -A first reb repo1 added restore durable verify peak
  for t in "${tools[@]}"; do
    repo=$work/repo-$t-$scale
    rm -rf "$repo"
    tool_init "$t" "$repo" >/dev/null 2>&1
    echo "bench: $t first backup"
    measure "$t.first" tool_backup "$t" "$repo" "$corpus" a1
    echo "bench: $t unchanged re-backup"
    measure "$t.again" tool_backup "$t" "$repo" "$corpus" a2
    repo1[$t]=$(bytes_of "$repo")
    first[$t]=$(mibs "$total" "${secs[$t.first]}")
    reb[$t]=${secs[$t.again]}
  done
  bash "$corpus_script" --mutate "$corpus" >/dev/null
  total2=$(bytes_of "$corpus")
  digest2=$(tree_digest "$corpus")
  for t in "${tools[@]}"; do
    repo=$work/repo-$t-$scale
    before=$(bytes_of "$repo")
    echo "bench: $t backup after --mutate"
    measure "$t.mutated" tool_backup "$t" "$repo" "$corpus" a3
    added[$t]=$(( $(bytes_of "$repo") - before ))
    # Restore is the step that varies most from run to run here (it writes
    # the whole corpus into new page-cache pages): three rounds, the median.
    dest=$work/restore-$t
    rtimes=() rmax=0
    for round in 1 2 3; do
      echo "bench: $t restore ($round of 3)"
      rm -rf "$dest"
      measure "$t.restore$round" tool_restore "$t" "$repo" "$dest" a3
      rtimes+=("${secs[$t.restore$round]}")
      [ "${rss[$t.restore$round]}" -gt "$rmax" ] && rmax=${rss[$t.restore$round]}
      if [ "$t" = vecsafe ] || [ "$t" = vecsafe-drop ]; then
        got=$(tree_digest "$dest")
        [ "$got" = "$digest2" ] || { echo "bench: vecsafe restore differs from the corpus!"; exit 1; }
      fi
    done
    rm -rf "$dest"
    echo "bench: $t restore until on disk"
    measure "$t.durable" tool_restore_durable "$t" "$repo" "$dest" a3
    durable[$t]=$(mibs "$total2" "${secs[$t.durable]}")
    rm -rf "$dest"
    secs[$t.restore]=$(printf '%s\n' "${rtimes[@]}" | sort -g | sed -n 2p)
    secs[$t.restores]=$(IFS=/; echo "${rtimes[*]}")
    rss[$t.restore]=$rmax
    restore[$t]=$(mibs "$total2" "${secs[$t.restore]}")
    echo "bench: $t verify"
    measure "$t.verify" tool_verify "$t" "$repo" a3
    verify[$t]=$(mibs "$(bytes_of "$repo")" "${secs[$t.verify]}")
    p=0
    for step in first again mutated restore verify; do
      r=${rss[$t.$step]}
      [ "$r" -gt "$p" ] && p=$r
    done
    peak[$t]=$p
  done
  {
    echo
    echo "## Scale $scale: corpus $(awk -v b="$total" 'BEGIN{printf "%.1f", b/1048576}') MiB ($total bytes), $(find "$corpus" -type f | wc -l) files"
    echo
    echo "| figure | $(printf '%s | ' "${tools[@]}")"
    echo "|---|$(printf -- '---|%.0s' "${tools[@]}")"
    echo "| first backup MiB/s | $(for t in "${tools[@]}"; do printf '%s | ' "${first[$t]}"; done)"
    echo "| unchanged re-backup s | $(for t in "${tools[@]}"; do printf '%s | ' "${reb[$t]}"; done)"
    echo "| repository MiB (after 2 backups) | $(for t in "${tools[@]}"; do awk -v b="${repo1[$t]}" 'BEGIN{printf "%.1f | ", b/1048576}'; done)"
    echo "| MiB added after --mutate | $(for t in "${tools[@]}"; do awk -v b="${added[$t]}" 'BEGIN{printf "%.1f | ", b/1048576}'; done)"
    echo "| restore MiB/s | $(for t in "${tools[@]}"; do printf '%s | ' "${restore[$t]}"; done)"
    echo "| restore + sync MiB/s (data on disk) | $(for t in "${tools[@]}"; do printf '%s | ' "${durable[$t]}"; done)"
    echo "| verify --read-data MiB/s | $(for t in "${tools[@]}"; do printf '%s | ' "${verify[$t]}"; done)"
    echo "| peak RSS MiB | $(for t in "${tools[@]}"; do awk -v k="${peak[$t]}" 'BEGIN{printf "%.0f | ", k/1024}'; done)"
    echo
    echo
    echo "Peak RSS MiB per step: $(for t in "${tools[@]}"; do printf '%s first %s, again %s, mutated %s, restore %s, verify %s; ' "$t" $(for st in first again mutated restore verify; do awk -v k="${rss[$t.$st]}" 'BEGIN{printf "%.0f ", k/1024}'; done); done)"
    echo
    echo "Seconds per step: $(for t in "${tools[@]}"; do printf '%s first %s, again %s, mutated %s, restore %s (median of %s), restore + sync %s, verify %s; ' "$t" "${secs[$t.first]}" "${secs[$t.again]}" "${secs[$t.mutated]}" "${secs[$t.restore]}" "${secs[$t.restores]}" "${secs[$t.durable]}" "${secs[$t.verify]}"; done)"
  } >>"$report"
  rm -rf "$corpus" "$work"/repo-*-"$scale" "$work/restic-cache" "$BORG_BASE_DIR"
  unset first reb repo1 added restore durable verify peak
done

cat "$report"
if [ $smoke = 0 ]; then
  out=$root/bench/results/engine-$(date -u +%Y-%m-%d).md
  # A second run on the same day gets its own file (-b, -c, ...).
  for suffix in b c d e f g h; do
    [ -e "$out" ] || break
    out=$root/bench/results/engine-$(date -u +%Y-%m-%d)-$suffix.md
  done
  mkdir -p "$(dirname "$out")"
  cp "$report" "$out"
  echo "bench: wrote $out"
fi
