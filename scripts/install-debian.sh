#!/usr/bin/env bash
# Installs what decoyd needs to build, run and be tested on Debian 12 (bookworm), then builds it.
# Idempotent: apt runs only when a package is missing, npm only when node_modules is missing or
# older than package-lock.json. Run as root, or as a user with sudo.
#
#   bash scripts/install-debian.sh          (also: npm run setup)
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"

# Build: libpcap-dev + build-essential + python3 (node-gyp, for the pcap addon).
# Run/tests: nmap (also brings /usr/share/nmap/nmap-os-db and nmap-service-probes), hping3, masscan, zmap, arping (Habets), iproute2 (ip, ss),
# tcpdump, ethtool, nftables, p0f; procps (sysctl) and iputils-ping for the lab and fixture capture;
# dnsmasq-base (the binary without the system service) as the DHCP server the DHCP-decoy test runs in its lab;
# socat, the client of the TCP socket-layer lab tests;
# traceroute and tcptraceroute for the virtual-topology tests; curl for the admin API tests (and as the
# HTTP, FTP, POP3 and IMAP client of the service tests); openssh-client + sshpass, swaks, telnet, openssl,
# bind9-dnsutils (dig) and snmp (snmpget) as the real clients of the interactive-service tests;
# postgresql (tests run a throw-away cluster of their own; no system service is started) for the
# fleet shipper; rsyslog + rsyslog-gnutls as the syslog receiver of the shipping tests.
PACKAGES=(libpcap-dev nmap hping3 masscan zmap arping iproute2 tcpdump ethtool nftables p0f build-essential python3 procps iputils-ping dnsmasq-base socat traceroute tcptraceroute curl
  openssh-client sshpass swaks telnet openssl bind9-dnsutils snmp postgresql rsyslog rsyslog-gnutls
  bsdutils)  # bsdutils: `script`, the pty the ssh/telnet e2e tests type through (Essential on Debian; listed for minimal images)
NODE_MAJOR_MIN=20

log() { printf 'install-debian: %s\n' "$*"; }

as_root() {
  if [[ $(id -u) -eq 0 ]]; then
    "$@"
  elif command -v sudo >/dev/null; then
    sudo "$@"
  else
    log "need root (or sudo) to run: $*" >&2
    exit 1
  fi
}

is_installed() {
  dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q 'install ok installed'
}

missing=()
for pkg in "${PACKAGES[@]}"; do
  is_installed "$pkg" || missing+=("$pkg")
done
if ((${#missing[@]} > 0)); then
  log "installing: ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  # Tests run their own PostgreSQL and rsyslog: keep the packages from starting system services
  # while they install (a policy-rc.d of our own only for this apt run, if there is none).
  made_policy=0
  if [[ ! -e /usr/sbin/policy-rc.d ]]; then
    printf '#!/bin/sh\nexit 101\n' | as_root tee /usr/sbin/policy-rc.d >/dev/null
    as_root chmod +x /usr/sbin/policy-rc.d
    made_policy=1
  fi
  as_root apt-get update -q
  apt_status=0
  as_root apt-get install -y -q --no-install-recommends "${missing[@]}" || apt_status=$?
  ((made_policy)) && as_root rm -f /usr/sbin/policy-rc.d
  ((apt_status == 0)) || exit "$apt_status"
else
  log "system packages: all present"
fi

if ! command -v node >/dev/null || ! command -v npm >/dev/null; then
  log "Node.js >= $NODE_MAJOR_MIN with npm is required (Debian 12's nodejs is 18: use the NodeSource or official Node.js 20 packages)" >&2
  exit 1
fi
node_major=$(node -p 'process.versions.node.split(".")[0]')
if ((node_major < NODE_MAJOR_MIN)); then
  log "Node.js $(node --version) is too old; need >= $NODE_MAJOR_MIN" >&2
  exit 1
fi

# npm writes node_modules/.package-lock.json on every install; older than the lockfile = stale.
if [[ ! -d node_modules || ! -f node_modules/.package-lock.json || package-lock.json -nt node_modules/.package-lock.json || package.json -nt node_modules/.package-lock.json ]]; then
  if [[ -f package-lock.json ]]; then
    log "npm ci"
    npm ci --no-audit --no-fund
  else
    log "npm install"
    npm install --no-audit --no-fund
  fi
else
  log "node_modules: up to date"
fi

log "npm run build"
npm run build --silent
log "done"
