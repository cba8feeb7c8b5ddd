#!/usr/bin/env bash
# Regenerates test/fixtures/p0f/syns.json: SYNs from REAL senders (the Linux kernel as it is, the
# kernel tuned to send Windows 7's SYN, the kernel without timestamps, nmap -sS, nmap -O, hping3),
# each with the verdict the installed p0f gives it (`p0f -r` on the capture). The p0f matcher's unit
# test checks decoyd gives every one of them the same label.
#
# Two throw-away namespaces p0fx-<pid>-a (198.51.100.2/24, the senders) and p0fx-<pid>-b
# (198.51.100.1/24, nobody listening), one veth pair created inside them, offloads off.
# Needs root, iproute2, ethtool, tcpdump, p0f, nmap, hping3, curl, node. Never touches the root namespace.
#
# Usage: sudo scripts/capture-p0f-fixtures.sh [OUTPUT_FILE]
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
OUT=${1:-$ROOT/test/fixtures/p0f/syns.json}
NS_A="p0fx-$$-a"
NS_B="p0fx-$$-b"
WORK=$(mktemp -d)
CAPTURE_PID=
[[ $(id -u) -eq 0 ]] || { echo "capture-p0f-fixtures: needs root" >&2; exit 1; }
cleanup() {
  [[ -n $CAPTURE_PID ]] && kill -KILL "$CAPTURE_PID" 2>/dev/null || true
  ip netns del "$NS_A" 2>/dev/null || true
  ip netns del "$NS_B" 2>/dev/null || true
  rm -rf "$WORK"
}
trap cleanup EXIT
ip netns add "$NS_A"
ip netns add "$NS_B"
for ns in "$NS_A" "$NS_B"; do ip netns exec "$ns" sysctl -qw net.ipv6.conf.all.disable_ipv6=1 net.ipv6.conf.default.disable_ipv6=1; done
ip -n "$NS_A" link add p0fa type veth peer name p0fb netns "$NS_B"
ip -n "$NS_A" addr add 198.51.100.2/24 dev p0fa
ip -n "$NS_B" addr add 198.51.100.1/24 dev p0fb
ip -n "$NS_A" link set p0fa up
ip -n "$NS_B" link set p0fb up
ip netns exec "$NS_A" ethtool -K p0fa tx off rx off tso off gso off gro off >/dev/null 2>&1 || true
sleep 1

# capture NAME COMMAND...: the SYNs COMMAND sends, in $WORK/NAME.pcap.
capture() {
  local name=$1; shift
  ip netns exec "$NS_A" tcpdump -i p0fa -U -w "$WORK/$name.pcap" 'tcp[tcpflags] & (tcp-syn|tcp-ack) == tcp-syn' >/dev/null 2>&1 &
  CAPTURE_PID=$!
  # tcpdump writes the file header once its capture is active (slow on a loaded machine).
  for _ in $(seq 50); do [[ -s "$WORK/$name.pcap" ]] && break; sleep 0.1; done
  sleep 1
  ip netns exec "$NS_A" "$@" >/dev/null 2>&1 || true
  sleep 1
  kill -INT "$CAPTURE_PID"; wait "$CAPTURE_PID" 2>/dev/null || true
  CAPTURE_PID=
}

capture linux-curl curl -s --connect-timeout 1 http://198.51.100.1:80/
capture nmap-syn nmap -n -Pn -sS -p 80,81 198.51.100.1
capture nmap-os nmap -n -Pn -O --osscan-guess -p 80 198.51.100.1
capture hping3-syn hping3 -S -p 80 -c 2 -i u100000 198.51.100.1
ip netns exec "$NS_A" sysctl -qw net.ipv4.tcp_timestamps=0
capture linux-no-timestamps curl -s --connect-timeout 1 http://198.51.100.1:80/
# The kernel made to send Windows 7's SYN: TTL 128, no timestamps, no window scaling, window 8192 (MSS 1024).
ip netns exec "$NS_A" sysctl -qw net.ipv4.ip_default_ttl=128 net.ipv4.tcp_window_scaling=0
ip -n "$NS_A" route replace 198.51.100.0/24 dev p0fa window 8192 advmss 1024
capture windows7-like curl -s --connect-timeout 1 http://198.51.100.1:80/

# Every SYN of every capture with p0f's verdict (os = …, or ??? for no match), as JSON.
node "$ROOT/dist/test/tools/p0f-fixtures.js" "$WORK" "$OUT"
echo "wrote $OUT"
