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
trap 'rm -f "$RUN_LOG"' EXIT
total_of() { grep -E "^ℹ $1 [0-9]+$" "$RUN_LOG" | awk '{ n += $3 } END { print n + 0 }'; }

unit_status=0
run_suite unit "$UNIT_TEST_TIMEOUT_MS" || unit_status=$?
e2e_status=0
# One e2e file at a time: they share the machine's namespaces and CPU with real scanners.
run_suite e2e "$E2E_TEST_TIMEOUT_MS" --test-concurrency=1 || e2e_status=$?

passed=$(total_of pass)
failed=$(total_of fail)
skipped=$(total_of skipped)
verdict() { if (($1 == 0)); then echo pass; else echo "FAIL ($1)"; fi; }
say "summary: build $(verdict $build_status), unit $(verdict $unit_status), e2e $(verdict $e2e_status)"
if ((build_status && failed == 0)); then failed=1; fi
echo "tests: $passed passed, $failed failed, $skipped skipped"
if ((build_status || unit_status || e2e_status)); then exit 1; fi
exit 0
