/** `decoyd audit --static`: planted contradictions are each reported; the demo hosts are clean. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { auditCommand } from '../../daemon/src/cli/audit-command';
import type { AuditReport } from '../../daemon/src/audit/static-audit';

const HAVE_NMAP = existsSync('/usr/share/nmap/nmap-os-db') && existsSync('/usr/share/nmap/nmap-mac-prefixes');
const skip = HAVE_NMAP ? false : 'needs the nmap data files';

const PLANTED = `
templates:
  linux-sql:
    personality: "Linux 4.15 - 5.6"
    ports:
      - { proto: tcp, port: 22, action: open }
      - { proto: tcp, port: 1433, action: open }
  win-canon:
    personality: "Microsoft Windows 10 1507 - 1607"
    ethernet: "Canon"
    ports:
      - { proto: tcp, port: 445, action: open }
  bsd-cisco:
    personality: "FreeBSD 12.1-RELEASE"
    ports:
      - { proto: tcp, port: 23, action: open, service: { banner: "\\r\\nUser Access Verification\\r\\n\\r\\nCisco IOS Software, C1900 Software\\r\\nUsername: " } }
  all-open:
    personality: "Linux 4.15 - 5.6"
    defaults: { tcp: open, udp: reset, icmp: open }
  web:
    personality: "Linux 4.15 - 5.6"
    ports:
      - { proto: tcp, port: 80, action: open }
  iis-on-linux:
    personality: "Linux 4.15 - 5.6"
    ports:
      - { proto: tcp, port: 80, action: open, service: { name: http, product: "Microsoft IIS httpd", version: "10.0" } }
hosts:
  - { address: 198.51.100.10, template: linux-sql }
  - { address: 198.51.100.20, template: win-canon }
  - { address: 198.51.100.30, template: bsd-cisco }
  - { address: 198.51.100.40, template: all-open }
  - { address: 198.51.100.50, template: web }
  - { address: 198.51.100.51, template: web }
  - { address: 198.51.100.52, template: web }
  - { address: 198.51.100.60, template: iis-on-linux }
claim:
  - { range: 198.51.100.128/25, template: web }
`;

async function audit(yaml: string, json: boolean): Promise<{ code: number; text: string }> {
  const dir = mkdtempSync(join(tmpdir(), 'decoyd-audit-'));
  try {
    const file = join(dir, 'planted.yaml');
    writeFileSync(file, yaml);
    let text = '';
    const code = await auditCommand(['--static', file, ...(json ? ['--json'] : [])], (t) => { text += t; });
    return { code, text };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

test('every planted contradiction is reported, on its host', { skip }, async () => {
  const { code, text } = await audit(PLANTED, true);
  assert.equal(code, 3, 'high findings make the exit status 3');
  const r = JSON.parse(text) as AuditReport;
  const codesOf = (ip: string): string[] => r.hosts.find((h) => h.address === ip)?.findings.map((f) => f.code) ?? [];
  assert.ok(codesOf('198.51.100.10').includes('service-of-other-os'), 'MSSQL on a Linux stack');
  assert.match(JSON.stringify(r.hosts.find((h) => h.address === '198.51.100.10')?.findings), /1433/);
  assert.ok(codesOf('198.51.100.20').includes('mac-vendor-contradicts-os'), 'a Canon MAC on a Windows personality');
  assert.equal(r.hosts.find((h) => h.address === '198.51.100.20')?.findings.find((f) => f.code === 'mac-vendor-contradicts-os')?.severity, 'high');
  assert.ok(codesOf('198.51.100.30').includes('banner-names-other-os'), 'a Cisco banner on FreeBSD');
  assert.ok(codesOf('198.51.100.40').includes('all-ports-open'));
  assert.ok(codesOf('198.51.100.60').includes('banner-names-other-os'), 'an IIS identity on a Linux stack');
  assert.deepEqual(codesOf('198.51.100.50'), [], 'a plain web server is clean');
  const pop = r.population.map((f) => f.code);
  assert.ok(pop.includes('identical-hosts'), 'three identical web hosts');
  assert.ok(pop.includes('every-address-alive'), 'a /25 claim range');
  assert.ok(r.score < 80, `score ${r.score}`);
  for (const h of r.hosts) assert.ok(h.score >= 0 && h.score <= 100);
  assert.equal(r.hosts.find((h) => h.address === '198.51.100.20')?.family, 'windows-10');
});

test('the text report names each host, its family, MAC vendor and findings', { skip }, async () => {
  const { text } = await audit(PLANTED, false);
  assert.match(text, /198\.51\.100\.20 +win-canon .*family windows-10/);
  assert.match(text, /Canon/);
  assert.match(text, /HIGH +banner-names-other-os/);
  assert.match(text, /score \d+\/100/);
});

test('the demo configuration has no contradiction on any host', { skip }, async () => {
  let text = '';
  const code = await auditCommand(['--static', resolve(__dirname, '../../../configs/demo.yaml'), '--json'], (t) => { text += t; });
  const r = JSON.parse(text) as AuditReport;
  assert.equal(code, 0);
  assert.ok(r.hosts.length >= 6);
  for (const h of r.hosts) assert.deepEqual(h.findings, [], h.address);
});

test('the live audit runs documentation addresses only, and refuses before building a lab', { skip }, async () => {
  const dir = mkdtempSync(join(tmpdir(), 'decoyd-audit-'));
  try {
    const file = join(dir, 'private.yaml');
    writeFileSync(file, 'templates:\n  web:\n    personality: "Linux 4.15 - 5.6"\nhosts:\n  - { address: 10.1.2.3, template: web }\n');
    await assert.rejects(auditCommand([file], () => {}), /documentation addresses|as root/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
