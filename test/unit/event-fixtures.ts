/** One realistic event of every kind, for the ECS and store tests. */
import type { DecoyEvent } from '../../daemon/src/events/event';

const T = Date.UTC(2026, 11, 1, 23, 0, 0, 123);
const conn = (dstPort: number) => ({ proto: 'tcp' as const, srcIp: '198.51.100.2', srcPort: 40000, dstIp: '198.51.100.10', dstPort });
const CONN22 = conn(22);
const CONN23 = conn(23);
const CONN25 = conn(25);
const CONN80 = conn(80);
const macs = { srcMac: '02:00:00:00:00:02', dstMac: '00:1b:21:aa:bb:01', srcIp: '198.51.100.2', dstIp: '198.51.100.10' };

export const SAMPLE_EVENTS: DecoyEvent[] = [
  { kind: 'daemon.start', time: T, message: 'decoyd on hp0: 7 hosts bound' },
  { kind: 'daemon.stop', time: T, message: 'stopped by SIGTERM' },
  { kind: 'daemon.error', time: T, message: 'store: 12 events dropped' },
  { kind: 'daemon.bind', time: T, message: 'bound', address: '198.51.100.10' },
  { kind: 'daemon.refuse', time: T, message: 'refused', address: '198.51.100.11' },
  { kind: 'arp.announce', time: T, address: '198.51.100.10', mac: '00:1b:21:aa:bb:01', template: 'web' },
  { kind: 'arp.reply', time: T, address: '198.51.100.10', mac: '00:1b:21:aa:bb:01', peerIp: '198.51.100.2', peerMac: '02:00:00:00:00:02' },
  { kind: 'arp.claim', time: T, address: '198.51.100.140', mac: '00:1b:21:aa:bb:02', template: 'web', peerIp: '198.51.100.2', peerMac: '02:00:00:00:00:02', reason: '3 unanswered requests' },
  { kind: 'arp.release', time: T, address: '198.51.100.140', mac: '00:1b:21:aa:bb:02', peerMac: '02:00:00:00:00:09', template: 'web', reason: 'owner-appeared' },
  { kind: 'arp.conflict', time: T, address: '198.51.100.10', mac: '00:1b:21:aa:bb:01', peerMac: '02:00:00:00:00:09', template: 'web', reason: 'in use by another host; binding refused' },
  { kind: 'arp.probe', time: T, address: '198.51.100.10', mac: '00:1b:21:aa:bb:01' },
  { kind: 'tcp.packet', time: T, ...macs, srcPort: 40000, dstPort: 22, flags: 'S', state: 'open', answer: 'syn-ack' },
  // As the store holds packets: 120 alike SYNs of one interval folded into one row (events/packet-tally.ts).
  { kind: 'tcp.packet', time: T, ...macs, srcPort: 40001, dstPort: 80, flags: 'S', state: 'open', answer: 'syn-ack', packets: 120, lastTime: T + 240 },
  { kind: 'udp.packet', time: T, ...macs, srcPort: 40000, dstPort: 161, length: 40, state: 'closed', answer: 'port-unreachable' },
  { kind: 'icmp', time: T, ...macs, type: 8, code: 0, answer: 'echo-reply' },
  { kind: 'tcp.open', time: T, srcIp: '198.51.100.2', srcPort: 40000, dstIp: '198.51.100.10', dstPort: 22, service: 'banner' },
  { kind: 'tcp.close', time: T, srcIp: '198.51.100.2', srcPort: 40000, dstIp: '198.51.100.10', dstPort: 22, service: 'banner', bytesIn: 10, bytesOut: 22, reason: 'closed' },
  { kind: 'drop', time: T, reason: 'bad-checksum', srcIp: '198.51.100.2', dstIp: '198.51.100.10' },
  { kind: 'drop', time: T, reason: 'per-source-limit', srcIp: '198.51.100.2', packets: 5000, lastTime: T + 250 },
  { kind: 'service.identity', time: T, proto: 'tcp', srcIp: '198.51.100.2', srcPort: 40000, dstIp: '198.51.100.10', dstPort: 21, service: 'ftp', product: 'vsftpd', version: '3.0.3', probe: 'NULL', ruleLine: 1234 },
  { kind: 'service.probe', time: T, proto: 'tcp', srcIp: '198.51.100.2', srcPort: 40001, dstIp: '198.51.100.10', dstPort: 443, service: 'ssl/http', product: 'nginx', probe: 'GetRequest', ruleLine: 99, bytes: 512, tls: 'TLSv1.3' },
  { kind: 'route', time: T, srcIp: '198.51.100.2', dstIp: '203.0.113.50', router: '198.51.100.1', answer: 'time-exceeded', ttl: 1 },
  { kind: 'dhcp.lease', time: T, address: '198.51.100.77', mac: '00:1b:21:aa:bb:07', server: '198.51.100.1', leaseTime: 3600, template: 'win', hostname: 'DESKTOP-4F2A' },
  { kind: 'dhcp.renew', time: T, address: '198.51.100.77', mac: '00:1b:21:aa:bb:07', server: '198.51.100.1', leaseTime: 3600, template: 'win', hostname: 'DESKTOP-4F2A' },
  { kind: 'dhcp.release', time: T, address: '198.51.100.77', mac: '00:1b:21:aa:bb:07', server: '198.51.100.1', leaseTime: 3600, template: 'win', hostname: 'DESKTOP-4F2A', reason: 'shutdown' },
  { kind: 'dhcp.lost', time: T, address: '198.51.100.77', mac: '00:1b:21:aa:bb:07', server: '198.51.100.1', leaseTime: 3600, template: 'win', hostname: 'DESKTOP-4F2A', reason: 'nak' },
  { kind: 'service.request', time: T, ...CONN80, service: 'http', product: 'nginx', method: 'GET', path: '/admin', status: 404, headers: ['Host: 198.51.100.10', 'User-Agent: curl/7.88.1'], userAgent: 'curl/7.88.1', bodyBytes: 0 },
  { kind: 'service.login', time: T, ...CONN22, service: 'ssh', product: 'OpenSSH', authMethod: 'password', user: 'root', password: 'hunter2', result: 'refused', clientVersion: 'SSH-2.0-OpenSSH_9.2p1 Debian-2+deb12u3', hassh: 'aae6b9604f6f3356543709a376d7f657' },
  { kind: 'service.command', time: T, ...CONN22, service: 'ssh', product: 'OpenSSH', command: 'uname -a' },
  { kind: 'service.message', time: T, ...CONN25, service: 'smtp', product: 'Postfix smtpd', mailFrom: 'a@example.org', rcptTo: ['b@example.net'], subject: 'hi', body: 'hello\\n', bodyBytes: 6 },
  { kind: 'service.session', time: T, ...CONN22, service: 'ssh', transcript: '> SSH-2.0-x\\r\\n\n', transcriptDropped: 0, durationMs: 1200, bytesIn: 900, bytesOut: 1400 },
  { kind: 'subsystem.start', time: T, template: 'web', command: 'python3 /srv/hello.py 8080', addresses: ['198.51.100.10'], pid: 4300, uid: 65534, gid: 65534 },
  { kind: 'subsystem.listen', time: T, template: 'web', command: 'python3 /srv/hello.py 8080', addresses: ['198.51.100.10'], pid: 4300, port: 8080, boundAddress: '0.0.0.0' },
  { kind: 'subsystem.unlisten', time: T, template: 'web', command: 'python3 /srv/hello.py 8080', addresses: ['198.51.100.10'], pid: 4300, port: 8080, boundAddress: '0.0.0.0' },
  { kind: 'subsystem.exit', time: T, template: 'web', command: 'python3 /srv/hello.py 8080', addresses: ['198.51.100.10'], pid: 4300, signal: 'SIGKILL', restartInMs: 0, reason: 'killed' },
  { kind: 'script.start', time: T, ...CONN80, template: 'web', command: 'sh scripts/web.sh 198.51.100.2 80', pid: 4242, uid: 65534, gid: 65534 },
  { kind: 'script.exit', time: T, ...CONN80, template: 'web', command: 'sh scripts/web.sh 198.51.100.2 80', pid: 4242, exitCode: 0, durationMs: 35, bytesIn: 80, bytesOut: 300 },
  { kind: 'script.limit', time: T, ...CONN80, template: 'web', command: 'sh scripts/web.sh 198.51.100.2 80', pid: 4242, limit: 'time', reason: 'ran 30 s' },
  { kind: 'proxy.open', time: T, ...CONN23, template: 'web', target: '192.0.2.5:23' },
  { kind: 'proxy.close', time: T, ...CONN23, template: 'web', target: '192.0.2.5:23', durationMs: 5000, reason: 'closed', bytesIn: 40, bytesOut: 400 },
  { kind: 'proxy.refused', time: T, ...CONN23, template: 'web', target: '192.0.2.99:23', reason: 'not in proxy allow-list' },
  { kind: 'tarpit.open', time: T, ...CONN80, template: 'tarpit' },
  { kind: 'tarpit.close', time: T, ...CONN80, template: 'tarpit', durationMs: 600000, reason: 'idle', bytesIn: 20, bytesOut: 0 },
  {
    kind: 'scan.detected', time: T, scanId: '198.51.100.2-1', srcIp: '198.51.100.2', scanType: 'tcp-syn', tool: 'nmap', targets: ['198.51.100.10'], targetCount: 1,
    ports: [22, 80], portCount: 2, packets: 40, ratePps: 400, firstSeen: T - 100, lastSeen: T, evidence: ['window 1024', 'MSS-only options'],
  },
];
