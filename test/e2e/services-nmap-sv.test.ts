/**
 * Service identities against real `nmap -sV`: 26 products on three decoys (TCP banners,
 * request-first HTTP, HTTPS through a real TLS handshake, binary protocols, and UDP DNS/SNMP/NTP/NetBIOS),
 * one nmap run. nmap must print each configured product and version exactly, and the daemon must
 * log the identity and the probes it answered.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { startDaemon } from '../helpers/daemon';
import { needsRoot, withLab } from '../helpers/lab';
import { hostByAddress, portOf, runNmap } from '../helpers/nmap';

interface Expect { host: string; proto: 'tcp' | 'udp'; port: number; name: string; product: string; version?: string; info?: string; hostname?: string; tunnel?: string }

const LINUX = '198.51.100.10';
const LINUX2 = '198.51.100.11';
const WINDOWS = '198.51.100.12';

export const IDENTITIES: Expect[] = [
  { host: LINUX, proto: 'tcp', port: 21, name: 'ftp', product: 'ProFTPD', version: '1.3.5' },
  { host: LINUX, proto: 'tcp', port: 22, name: 'ssh', product: 'OpenSSH', version: '9.2p1 Debian 2+deb12u10' },
  { host: LINUX, proto: 'tcp', port: 23, name: 'telnet', product: 'Linux telnetd' },
  { host: LINUX, proto: 'tcp', port: 25, name: 'smtp', product: 'Postfix smtpd' },
  { host: LINUX, proto: 'tcp', port: 80, name: 'http', product: 'Apache httpd', version: '2.4.57' },
  { host: LINUX, proto: 'tcp', port: 443, name: 'http', product: 'nginx', version: '1.22.1', tunnel: 'ssl' },
  { host: LINUX, proto: 'tcp', port: 110, name: 'pop3', product: 'Dovecot pop3d' },
  { host: LINUX, proto: 'tcp', port: 143, name: 'imap', product: 'Dovecot imapd' },
  { host: LINUX, proto: 'tcp', port: 3306, name: 'mysql', product: 'MySQL', version: '5.7.33' },
  { host: LINUX, proto: 'tcp', port: 6379, name: 'redis', product: 'Redis key-value store', version: '6.0.16' },
  { host: LINUX, proto: 'udp', port: 53, name: 'domain', product: 'ISC BIND', version: '9.18.19' },
  { host: LINUX, proto: 'udp', port: 161, name: 'snmp', product: 'net-snmp' },
  { host: LINUX, proto: 'udp', port: 123, name: 'ntp', product: 'NTP', version: 'v4' },
  { host: LINUX2, proto: 'tcp', port: 2121, name: 'ftp', product: 'vsftpd', version: '3.0.3' },
  { host: LINUX2, proto: 'tcp', port: 2222, name: 'ssh', product: 'OpenSSH', version: '8.2p1' },
  { host: LINUX2, proto: 'tcp', port: 587, name: 'smtp', product: 'Exim smtpd', version: '4.96' },
  { host: LINUX2, proto: 'tcp', port: 5900, name: 'vnc', product: 'VNC', info: 'protocol 3.8' },
  { host: LINUX2, proto: 'tcp', port: 8080, name: 'http-proxy', product: 'Squid http proxy', version: '5.7' },
  { host: LINUX2, proto: 'tcp', port: 11211, name: 'memcached', product: 'Memcached', version: '1.6.18' },
  { host: LINUX2, proto: 'tcp', port: 27017, name: 'mongodb', product: 'MongoDB', version: '4.4.6' },
  { host: LINUX2, proto: 'tcp', port: 5432, name: 'postgresql', product: 'PostgreSQL DB' },
  { host: WINDOWS, proto: 'tcp', port: 3389, name: 'ms-wbt-server', product: 'Microsoft Terminal Services' },
  { host: WINDOWS, proto: 'tcp', port: 445, name: 'microsoft-ds', product: 'Microsoft Windows XP microsoft-ds' },
  { host: WINDOWS, proto: 'tcp', port: 8443, name: 'https', product: 'Apache httpd', version: '2.4.58', tunnel: 'ssl' },
  { host: WINDOWS, proto: 'udp', port: 137, name: 'netbios-ns', product: 'Microsoft Windows netbios-ns', hostname: 'FILESRV2' },
  { host: LINUX2, proto: 'udp', port: 161, name: 'snmp', product: 'SNMPv1 server', hostname: 'core-sw1' },
];

function yamlPort(e: Expect): string {
  const fields = [`name: ${JSON.stringify(e.name === 'http' && e.tunnel === 'ssl' ? 'https' : e.name)}`, `product: ${JSON.stringify(e.product)}`];
  if (e.version !== undefined) fields.push(`version: ${JSON.stringify(e.version)}`);
  if (e.info !== undefined) fields.push(`info: ${JSON.stringify(e.info)}`);
  if (e.hostname !== undefined) fields.push(`hostname: ${JSON.stringify(e.hostname)}`);
  return `      - { proto: ${e.proto}, port: ${e.port}, action: open, service: { ${fields.join(', ')} } }`;
}

function config(): string {
  const template = (name: string, personality: string, host: string): string => [
    `  ${name}:`,
    `    personality: ${JSON.stringify(personality)}`,
    '    defaults: { tcp: reset, udp: reset, icmp: open }',
    '    ports:',
    ...IDENTITIES.filter((e) => e.host === host).map(yamlPort),
  ].join('\n');
  return [
    'templates:',
    template('linux', 'Linux 4.15 - 5.6', LINUX),
    template('linux2', 'Linux 4.15 - 5.6', LINUX2),
    template('windows', 'Microsoft Windows 10', WINDOWS),
    'hosts:',
    `  - { address: ${LINUX}, template: linux }`,
    `  - { address: ${LINUX2}, template: linux2 }`,
    `  - { address: ${WINDOWS}, template: windows }`,
    'service_seed: e2e-services',
    'log: { level: info }',
    '',
  ].join('\n');
}

test('nmap -sV names every configured product and version (26 identities, TCP, TLS and UDP)', needsRoot, async (t) => {
  await withLab(t, {}, async (lab) => {
    // Loading checks every identity against nmap-service-probes (compiles thousands of rules): allow for a loaded machine.
    const d = await startDaemon(lab, config(), { readyTimeoutMs: 90_000 });
    try {
      const tcp = [...new Set(IDENTITIES.filter((e) => e.proto === 'tcp').map((e) => e.port))].sort((a, b) => a - b);
      const udp = [...new Set(IDENTITIES.filter((e) => e.proto === 'udp').map((e) => e.port))].sort((a, b) => a - b);
      const run = await runNmap(lab, ['-n', '-Pn', '-sS', '-sU', '-sV', '-p', `T:${tcp.join(',')},U:${udp.join(',')}`, LINUX, LINUX2, WINDOWS], { flushNeighbours: true, timeoutMs: 420_000 });
      const problems: string[] = [];
      for (const e of IDENTITIES) {
        const port = portOf(hostByAddress(run, e.host) ?? { ports: [] } as never, e.proto, e.port);
        const s = port?.service;
        const got = `${port?.state} ${s?.tunnel ?? ''}/${s?.name} "${s?.product}" ${s?.version ?? ''} (${s?.extraInfo ?? ''})`;
        t.diagnostic(`${e.host} ${e.proto}/${e.port}: ${got}`);
        const ok = port?.state === 'open' && s?.product === e.product && s?.version === e.version && (e.info === undefined || s?.extraInfo === e.info)
          && (e.hostname === undefined || s?.hostname === e.hostname)
          && (s?.tunnel ?? undefined) === e.tunnel;
        if (!ok) problems.push(`${e.host} ${e.proto}/${e.port}: expected "${e.product}" ${e.version ?? ''}, got ${got}`);
      }
      assert.deepEqual(problems, [], run.xml.slice(0, 20000));
      // Every identity left events naming itself and the probe it answered, linked by the four-tuple.
      const probes = d.eventsOfKind('service.probe');
      for (const e of IDENTITIES) {
        const ev = probes.find((p) => p['dstIp'] === e.host && p['dstPort'] === e.port && p['proto'] === e.proto);
        assert.ok(ev, `no service.probe event for ${e.host} ${e.proto}/${e.port}`);
        assert.equal(ev['product'], e.product);
        assert.equal(typeof ev['srcPort'], 'number');
        assert.equal(typeof ev['probe'], 'string');
      }
      assert.ok(d.eventsOfKind('service.identity').length >= IDENTITIES.length);
    } finally {
      await d.stop();
    }
  });
});
