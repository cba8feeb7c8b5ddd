#!/usr/bin/env bash
# Regenerates the golden frame fixtures in test/fixtures/frames/ from REAL Linux kernel stacks.
#
# Two throw-away namespaces, fx-<pid>-a (203.0.113.1/24) and fx-<pid>-b (203.0.113.2/24), joined by
# one veth pair created directly inside them (fixed, locally administered MACs 02:00:5e:00:71:01 and
# 02:00:5e:00:71:02), IPv6 off, all offloads off so every checksum in the capture is final and no
# frame exceeds the MTU. tcpdump runs on side A's interface; side B is the "target" kernel.
# Needs root, iproute2, ethtool, tcpdump, iputils ping, nmap and node. Never touches the root namespace.
#
# Usage: sudo scripts/capture-fixtures.sh [OUTPUT_DIR]   (default: test/fixtures/frames)
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
OUT=${1:-$ROOT/test/fixtures/frames}
NS_A="fx-$$-a"
NS_B="fx-$$-b"
IF_A=fxa
IF_B=fxb
IP_A=203.0.113.1
IP_B=203.0.113.2
MAC_A=02:00:5e:00:71:01
MAC_B=02:00:5e:00:71:02
TCP_OPEN=7000
TCP_CLOSED=7001
UDP_CLOSED=40000
WORK=$(mktemp -d)
SERVER_PID=
CAPTURE_PID=

if [[ $(id -u) -ne 0 ]]; then
  echo "capture-fixtures: needs root (network namespaces)" >&2
  exit 1
fi
for tool in ip ethtool tcpdump ping nmap node ss; do
  command -v "$tool" >/dev/null || { echo "capture-fixtures: $tool is missing (run scripts/install-debian.sh)" >&2; exit 1; }
done

cleanup() {
  # Only processes this script started, by pid; then the namespaces.
  [[ -n $CAPTURE_PID ]] && kill -KILL "$CAPTURE_PID" 2>/dev/null || true
  [[ -n $SERVER_PID ]] && kill -KILL "$SERVER_PID" 2>/dev/null || true
  ip netns del "$NS_A" 2>/dev/null || true
  ip netns del "$NS_B" 2>/dev/null || true
  rm -rf "$WORK"
}
trap cleanup EXIT

in_a() { ip netns exec "$NS_A" "$@"; }
in_b() { ip netns exec "$NS_B" "$@"; }

setup() {
  ip netns add "$NS_A"
  ip netns add "$NS_B"
  for ns in "$NS_A" "$NS_B"; do
    ip netns exec "$ns" sysctl -q -w net.ipv6.conf.all.disable_ipv6=1 net.ipv6.conf.default.disable_ipv6=1
  done
  ip link add "$IF_A" address "$MAC_A" netns "$NS_A" type veth peer name "$IF_B" address "$MAC_B" netns "$NS_B"
  in_a ethtool -K "$IF_A" tx off rx off tso off gso off gro off >/dev/null
  in_b ethtool -K "$IF_B" tx off rx off tso off gso off gro off >/dev/null
  ip -n "$NS_A" link set lo up
  ip -n "$NS_B" link set lo up
  ip -n "$NS_A" addr add "$IP_A/24" dev "$IF_A"
  ip -n "$NS_B" addr add "$IP_B/24" dev "$IF_B"
  ip -n "$NS_A" link set "$IF_A" up
  ip -n "$NS_B" link set "$IF_B" up
  wait_until "veth up" 50 sh -c "ip -n '$NS_A' -o link show dev '$IF_A' | grep -q 'state UP'"
}

# wait_until WHAT TRIES CMD...: retries CMD every 0.1 s, at most TRIES times.
wait_until() {
  local what=$1 tries=$2
  shift 2
  for ((i = 0; i < tries; i++)); do
    if "$@" >/dev/null 2>&1; then return 0; fi
    sleep 0.1
  done
  echo "capture-fixtures: timed out waiting for $what" >&2
  return 1
}

# start_capture NAME FILTER...: tcpdump on side A into $OUT/NAME.pcap, returns when it listens.
start_capture() {
  local name=$1
  shift
  rm -f "$OUT/$name.pcap"
  # Started straight from ip (which execs tcpdump), so $! is tcpdump's own pid.
  ip netns exec "$NS_A" tcpdump -Z root -U --immediate-mode -n -s 0 -i "$IF_A" -w "$OUT/$name.pcap" "$@" 2>"$WORK/tcpdump.err" &
  CAPTURE_PID=$!
  wait_until "tcpdump for $name" 50 grep -q "listening on" "$WORK/tcpdump.err"
}

# stop_capture NAME: lets late replies arrive, stops tcpdump, writes a readable NAME.txt next to it.
stop_capture() {
  local name=$1
  sleep 0.3
  # SIGTERM, not SIGINT: background jobs of a script start with SIGINT ignored. tcpdump flushes on both.
  kill -TERM "$CAPTURE_PID"
  wait "$CAPTURE_PID" || true
  CAPTURE_PID=
  tcpdump -nn -e -vv -r "$OUT/$name.pcap" 2>/dev/null >"$OUT/$name.txt"
  printf "%-28s %3d frames\n" "$name.pcap" "$(tcpdump -nn -r "$OUT/$name.pcap" 2>/dev/null | wc -l)"
}

flush_neighbours() {
  ip -n "$NS_A" neigh flush dev "$IF_A"
  ip -n "$NS_B" neigh flush dev "$IF_B"
}

resolve_neighbours() {
  in_a ping -n -q -c 1 -W 1 "$IP_B" >/dev/null
}

# A TCP server on B that echoes what it gets and closes when the client closes.
start_server() {
  ip netns exec "$NS_B" node -e "
    const net = require('net');
    net.createServer((s) => { s.on('data', (d) => s.write(d)); s.on('end', () => s.end()); s.on('error', () => {}); })
      .listen($TCP_OPEN, '$IP_B');
    setTimeout(() => process.exit(0), 120000);
  " &
  SERVER_PID=$!
  wait_until "server on $TCP_OPEN" 50 sh -c "ip netns exec '$NS_B' ss -Htln 'sport = :$TCP_OPEN' | grep -q LISTEN"
}

mkdir -p "$OUT"
setup

# 1. ARP request from A's kernel, reply from B's kernel (ping triggers resolution).
flush_neighbours
start_capture arp-request-reply arp
in_a ping -n -q -c 1 -W 1 "$IP_B" >/dev/null
stop_capture arp-request-reply

# 2. Gratuitous ARP: B's kernel announces its address when the link comes up with arp_notify=1.
start_capture arp-gratuitous arp
in_b sysctl -q -w "net.ipv4.conf.$IF_B.arp_notify=1"
ip -n "$NS_B" link set "$IF_B" down
ip -n "$NS_B" link set "$IF_B" up
wait_until "gratuitous ARP" 30 sh -c "[ \$(stat -c %s '$OUT/arp-gratuitous.pcap') -gt 24 ]"
stop_capture arp-gratuitous
in_b sysctl -q -w "net.ipv4.conf.$IF_B.arp_notify=0"
wait_until "veth up again" 50 sh -c "ip -n '$NS_A' -o link show dev '$IF_A' | grep -q 'state UP'"

# 3. ICMP echo request (56 data bytes) and reply.
resolve_neighbours
start_capture icmp-echo icmp
in_a ping -n -q -c 1 -W 1 "$IP_B" >/dev/null
stop_capture icmp-echo

# 4. A whole TCP session: SYN with Linux's full options, SYN/ACK, ACK, data both ways, FIN both ways.
start_server
start_capture tcp-session tcp port $TCP_OPEN
in_a node -e "
  const s = require('net').connect($TCP_OPEN, '$IP_B');
  s.setNoDelay(true);
  s.on('connect', () => s.write('hello decoyd\n'));
  s.on('data', () => s.end());
  s.on('close', () => process.exit(0));
  setTimeout(() => process.exit(1), 5000);
"
stop_capture tcp-session

# 5. SYN to a closed port, RST/ACK from the kernel.
start_capture tcp-rst-closed tcp port $TCP_CLOSED
in_a node -e "
  const s = require('net').connect($TCP_CLOSED, '$IP_B');
  s.on('error', () => process.exit(0));
  setTimeout(() => process.exit(1), 5000);
"
stop_capture tcp-rst-closed

# 6. UDP datagram to a closed port and the ICMP port unreachable it draws.
start_capture udp-port-unreachable udp port $UDP_CLOSED or icmp
in_a node -e "
  const s = require('dgram').createSocket('udp4');
  s.send(Buffer.from('decoyd udp probe\n'), $UDP_CLOSED, '$IP_B', () => setTimeout(() => s.close(), 200));
"
stop_capture udp-port-unreachable

# 7. IPv4 fragments: a 3000-byte echo over a 1500-byte MTU, fragmented both ways.
start_capture ipv4-fragments icmp
in_a ping -n -q -c 1 -W 1 -s 3000 "$IP_B" >/dev/null
stop_capture ipv4-fragments

# 8. nmap OS detection against B (open $TCP_OPEN, closed $TCP_CLOSED): port scan SYNs, then the
#    SEQ1-6, ECN, T2-T7, U1 and IE1/IE2 probes and the kernel's replies (one try, no retries).
start_capture nmap-os-probes host "$IP_B" and not arp
in_a nmap -n -Pn -O --max-os-tries 1 -p "$TCP_OPEN,$TCP_CLOSED" "$IP_B" >"$WORK/nmap.txt"
stop_capture nmap-os-probes
sed -n '/^PORT/,/^Network Distance/p' "$WORK/nmap.txt" >"$OUT/nmap-os-probes.nmap.txt" || true

kill -TERM "$SERVER_PID" 2>/dev/null || true
wait "$SERVER_PID" 2>/dev/null || true
SERVER_PID=
echo "capture-fixtures: kernel $(uname -r), written to $OUT"
