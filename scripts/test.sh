#!/usr/bin/env bash
# THE test command (CI runs it through .ci/run). On a fresh Debian 12:
#   1. scripts/setup.sh: Debian packages, the Python test venv
#   2. release build in build/, then ctest (unit tests + fuzz smoke)
#   3. every pytest integration test in tests/integration/ against build/vecsafe
#   4. ASan+UBSan build in build-asan/, its ctest, and the integration tests
#      marked `asan` against build-asan/vecsafe
#   5. the benchmark smoke (bench/run.sh --smoke: completes, nothing more)
# Ends with the line "vecsafe tests: N passed, M failed" (over all stages; a
# stage that cannot run, such as a failed build, counts as one failure) and
# exits non-zero on any failure.
#
# Environment:
#   VECSAFE_TEST_STAGES  comma list of stages to run (default: all of
#                        setup,unit,integration,asan,bench)
#   VECSAFE_CACHE        cache for the venv and test servers (default ~/.cache/vecsafe)
#   PYTEST_ARGS          extra arguments for every pytest run (e.g. "-x -k roundtrip")
set -uo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
export VECSAFE_CACHE=${VECSAFE_CACHE:-$HOME/.cache/vecsafe}
export CCACHE_BASEDIR=${CCACHE_BASEDIR:-$root}
export CCACHE_NOHASHDIR=${CCACHE_NOHASHDIR:-1}  # worktrees and clones share cache hits
stages=",${VECSAFE_TEST_STAGES:-setup,unit,integration,asan,bench},"
jobs=$(nproc 2>/dev/null || echo 2)
results=$root/build/test-results
venv_py=$VECSAFE_CACHE/test-venv/bin/python
passed=0
failed=0
t_start=$(date +%s)

want() { [[ $stages == *",$1,"* ]]; }
log() { printf '\n=== %s (%ss)\n' "$*" "$(($(date +%s) - t_start))"; }
add_counts() {  # add_counts FILE... : adds the JUnit counts of the files
  local p f
  read -r p f < <("$venv_py" tests/harness/junit_count.py "$@")
  passed=$((passed + p))
  failed=$((failed + f))
  echo "    -> $p passed, $f failed"
}
stage_failed() { echo "*** $1 FAILED"; failed=$((failed + 1)); }
finish() {
  log "done"
  echo "vecsafe tests: $passed passed, $failed failed"
  [ "$failed" -eq 0 ]
  exit $?
}

if want setup; then
  log "setup"
  if ! SETUP_SKIP_BUILD=1 scripts/setup.sh; then stage_failed "setup"; finish; fi
  # The real servers the tests run against, built or found in the cache here
  # rather than by a pytest fixture, whose first test would carry the build
  # (MinIO: ~350 s of CPU) inside its 300 s timeout.
  if want integration; then
    log "test servers (MinIO, fake-gcs-server) and Chroma venvs"
    if ! tests/harness/build_servers.sh >"$VECSAFE_CACHE/servers-build.log" 2>&1; then
      tail -n 20 "$VECSAFE_CACHE/servers-build.log"; stage_failed "test servers"
    fi
    if ! bash tests/harness/chroma_envs.sh >"$VECSAFE_CACHE/chroma-envs.log" 2>&1; then
      tail -n 20 "$VECSAFE_CACHE/chroma-envs.log"; stage_failed "chroma venvs"
    fi
  fi
fi
if [ ! -x "$venv_py" ]; then
  echo "*** no test venv at $VECSAFE_CACHE/test-venv: run scripts/setup.sh"; stage_failed "venv"
  finish
fi
rm -rf "$results"
mkdir -p "$results"

run_pytest() {  # run_pytest NAME BIN [pytest args...]
  local name=$1 bin=$2; shift 2
  local rc=0
  # shellcheck disable=SC2086
  VECSAFE_BIN=$bin "$venv_py" -m pytest tests/integration -p no:cacheprovider -q -rfE \
    --junitxml="$results/$name.xml" ${PYTEST_ARGS:-} "$@" || rc=$?
  if [ "$rc" -eq 5 ]; then  # nothing collected (e.g. no test carries the marker yet)
    echo "    (no tests collected)"; return
  fi
  add_counts "$results/$name.xml"
  if [ "$rc" -ne 0 ] && [ "$rc" -ne 1 ]; then stage_failed "pytest $name (exit $rc)"; fi
}

build_ok=0
if want unit || want integration || want bench; then
  log "release build (build/)"
  if cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null &&
     nice -n 5 ninja -C build -j"$jobs"; then
    build_ok=1
  else
    stage_failed "release build"
  fi
fi

if want unit && [ $build_ok = 1 ]; then
  log "unit tests + fuzz smoke (ctest, build/)"
  ctest --test-dir build -j"$jobs" --output-on-failure --timeout 600 \
    --output-junit "$results/ctest.xml" >"$results/ctest.log" 2>&1
  tail -n 3 "$results/ctest.log"
  grep -E '^\s*[0-9]+ - |\*\*\*Failed|Timeout' "$results/ctest.log" | head -50
  add_counts "$results/ctest.xml"
fi

if want integration && [ $build_ok = 1 ]; then
  log "integration tests (pytest, build/vecsafe)"
  run_pytest integration "$root/build/vecsafe"
fi

if want asan; then
  log "ASan+UBSan build (build-asan/)"
  if cmake -S . -B build-asan -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo \
       -DVECSAFE_SANITIZE=ON >/dev/null && nice -n 5 ninja -C build-asan -j"$jobs"; then
    export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=0:exitcode=86}
    export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1:exitcode=87}
    log "ASan+UBSan unit tests + fuzz smoke (ctest, build-asan/)"
    ctest --test-dir build-asan -j"$jobs" --output-on-failure --timeout 900 \
      --output-junit "$results/ctest-asan.xml" >"$results/ctest-asan.log" 2>&1
    tail -n 3 "$results/ctest-asan.log"
    grep -E '\*\*\*Failed|Timeout' "$results/ctest-asan.log" | head -50
    add_counts "$results/ctest-asan.xml"
    log "ASan+UBSan integration subset (pytest -m asan, build-asan/vecsafe)"
    run_pytest integration-asan "$root/build-asan/vecsafe" -m asan
  else
    stage_failed "ASan build"
  fi
fi

if want bench && [ $build_ok = 1 ]; then
  log "benchmark smoke (bench/run.sh --smoke)"
  if [ -x bench/run.sh ]; then
    if VECSAFE_BIN=$root/build/vecsafe bench/run.sh --smoke >"$results/bench-smoke.log" 2>&1; then
      passed=$((passed + 1)); echo "    -> ok"
    else
      tail -n 30 "$results/bench-smoke.log"; stage_failed "benchmark smoke"
    fi
  fi
fi

finish
