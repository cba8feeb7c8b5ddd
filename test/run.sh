#!/usr/bin/env bash
# The whole test suite: install what is missing, build, unit tests, then end-to-end tests.
# Exits non-zero if the build or any test fails. The e2e tests need root (network namespaces);
# as another user they report themselves as skipped.
#
#   bash test/run.sh        (also: npm test)
set -uo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"

REQUIRED_COMMANDS=(node npm ip tcpdump nmap hping3 masscan zmap arping ethtool nft sysctl ping ss dnsmasq socat tc traceroute tcptraceroute curl
  ssh sshpass ssh-keyscan swaks telnet openssl dig snmpget rsyslogd script
  p0f cc python3)  # p0f: the dynamic-template test checks its verdicts; cc: the subsystem helpers; python3: the subsystem test server; script: a pty for the telnet client
E2E_TEST_TIMEOUT_MS=300000
UNIT_TEST_TIMEOUT_MS=300000

say() { printf '\n== %s\n' "$*"; }

needs_install=0
for cmd in "${REQUIRED_COMMANDS[@]}"; do
  command -v "$cmd" >/dev/null || { echo "run.sh: $cmd is missing"; needs_install=1; }
done
[[ -x /usr/lib/postgresql/15/bin/initdb ]] || { echo "run.sh: PostgreSQL 15 (initdb, for the fleet test) is missing"; needs_install=1; }
[[ -d node_modules && -f node_modules/.package-lock.json ]] || { echo "run.sh: node_modules is missing"; needs_install=1; }
if [[ -d node_modules && -f node_modules/.package-lock.json && package-lock.json -nt node_modules/.package-lock.json ]]; then
  echo "run.sh: node_modules is older than package-lock.json"
  needs_install=1
fi
if ((needs_install)); then
  say "installing dependencies"
  bash scripts/install-debian.sh || { echo "run.sh: install failed"; exit 1; }
fi

say "build"
build_status=0
npm run build --silent || build_status=$?

# Test files come from the sources, so stale outputs in dist/ of deleted tests never run.
compiled_tests() {
  local dir=$1
  [[ -d $dir ]] || return 0
  find "$dir" -name '*.test.ts' | sort | while read -r source; do
    local js="dist/${source%.ts}.js"
    if [[ -f $js ]]; then echo "$js"; else echo "run.sh: $source was not compiled" >&2; echo "$js"; fi
  done
}

run_suite() {
  local name=$1 timeout_ms=$2
  shift 2
  local files
  mapfile -t files < <(compiled_tests "test/$name")
  if ((${#files[@]} == 0)); then
    echo "run.sh: no $name tests found"
    return 0
  fi
  say "$name tests (${#files[@]} files)"
  node --test --test-reporter=spec --test-timeout="$timeout_ms" "$@" "${files[@]}" 2>&1 | tee -a "$RUN_LOG"
  return "${PIPESTATUS[0]}"
}

# The runner's own totals, summed over both suites, for one plain closing line.
RUN_LOG=$(mktemp)
total_of() { grep -E "^ℹ $1 [0-9]+$" "$RUN_LOG" | awk '{ n += $3 } END { print n + 0 }'; }

# E2E files run as separate processes, up to E2E_JOBS at a time: each lab's namespaces have unique
# names, so files cannot see each other's traffic. A file whose source has a line starting
# `// e2e: exclusive` runs alone: it measures timing (latency, rate limits, retransmission schedules,
# fast scans without retries, a loss window, a wall-clock budget) that a second file's CPU
# load would skew. A file's output is printed whole when it ends, headed by its verdict and wall time.
E2E_JOBS=${E2E_JOBS:-2}
E2E_OUT=$(mktemp -d)
E2E_SEQ=0
E2E_TIMES=()
declare -A E2E_FILE=() E2E_LOG=() E2E_START=()
trap 'kill "${!E2E_FILE[@]}" 2>/dev/null; rm -rf "$RUN_LOG" "$E2E_OUT"' EXIT

e2e_exclusive() { local source=${1#dist/}; grep -q '^// e2e: exclusive' "${source%.js}.ts" 2>/dev/null; }

e2e_start() {
  local file=$1 log="$E2E_OUT/$((++E2E_SEQ)).log"
  node --test --test-reporter=spec --test-timeout="$E2E_TEST_TIMEOUT_MS" "$file" >"$log" 2>&1 &
  E2E_FILE[$!]=$file
  E2E_LOG[$!]=$log
  E2E_START[$!]=$(date +%s%N)
  echo "run.sh: started $file"
}

# Waits for a running file to end, prints its output, and records its time and verdict.
e2e_finish_one() {
  local pid rc=0 seconds verdict
  if ((BASH_VERSINFO[0] > 5 || (BASH_VERSINFO[0] == 5 && BASH_VERSINFO[1] >= 1))); then
    wait -n -p pid "${!E2E_FILE[@]}" || rc=$?
  else
    pid=$(printf '%s\n' "${!E2E_FILE[@]}" | sort -n | head -1)  # no `wait -p` before bash 5.1: the oldest first
    wait "$pid" || rc=$?
  fi
  seconds=$(awk -v a="${E2E_START[$pid]}" -v b="$(date +%s%N)" 'BEGIN { printf "%.1f", (b - a) / 1e9 }')
  if ((rc == 0)); then verdict=pass; else verdict="FAIL ($rc)"; e2e_status=1; fi
  { printf '\n-- %s: %s in %s s\n' "${E2E_FILE[$pid]}" "$verdict" "$seconds"; cat "${E2E_LOG[$pid]}"; } | tee -a "$RUN_LOG"
  E2E_TIMES+=("$(printf '%7s s  %-10s %s' "$seconds" "$verdict" "${E2E_FILE[$pid]}")")
  unset "E2E_FILE[$pid]" "E2E_LOG[$pid]" "E2E_START[$pid]"
}

run_e2e() {
  local files=() exclusive=() shared=() file started
  mapfile -t files < <(compiled_tests test/e2e)
  if ((${#files[@]} == 0)); then
    echo "run.sh: no e2e tests found"
    return 0
  fi
  for file in "${files[@]}"; do
    if e2e_exclusive "$file"; then exclusive+=("$file"); else shared+=("$file"); fi
  done
  say "e2e tests (${#files[@]} files: ${#exclusive[@]} alone, ${#shared[@]} up to $E2E_JOBS at a time)"
  started=$(date +%s)
  for file in "${exclusive[@]}"; do
    e2e_start "$file"
    e2e_finish_one
  done
  for file in "${shared[@]}"; do
    while ((${#E2E_FILE[@]} >= E2E_JOBS)); do e2e_finish_one; done
    e2e_start "$file"
  done
  while ((${#E2E_FILE[@]} > 0)); do e2e_finish_one; done
  say "e2e wall times ($(($(date +%s) - started)) s in all)"
  printf '%s\n' "${E2E_TIMES[@]}" | sort -rn
}

unit_status=0
# Unit tests are pure (no network, no shared state): two files at a time use both cores.
run_suite unit "$UNIT_TEST_TIMEOUT_MS" --test-concurrency="${UNIT_JOBS:-2}" || unit_status=$?
e2e_status=0
run_e2e

passed=$(total_of pass)
failed=$(total_of fail)
skipped=$(total_of skipped)
verdict() { if (($1 == 0)); then echo pass; else echo "FAIL ($1)"; fi; }
say "summary: build $(verdict $build_status), unit $(verdict $unit_status), e2e $(verdict $e2e_status)"
if ((build_status && failed == 0)); then failed=1; fi
echo "tests: $passed passed, $failed failed, $skipped skipped"
if ((build_status || unit_status || e2e_status)); then exit 1; fi
exit 0
