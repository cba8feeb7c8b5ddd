// e2e: exclusive (the demo audit's two-minute wall-clock budget, and nmap -O)
/**
 * `decoyd audit CONFIG` end to end, through the CLI as a user runs it: configs/demo.yaml in its own
 * lab in under two minutes with no contradiction on any demo host (and, over the 34 s it watches,
 * the Windows, FreeBSD and Cisco decoys retransmit their SYN/ACKs as their tables say, unlike the
 * Linux one); a configuration with planted contradictions gets each one reported from what the
 * probes saw; no namespace is left behind.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { runCommand } from '../../daemon/src/lab/run-command';
import type { LiveAuditReport } from '../../daemon/src/audit/live-audit';
import { FAMILY_BEHAVIOURS } from '../../daemon/src/personality/behaviour/tables';
import { listNamespaces, needsRoot } from '../helpers/lab';

const MAIN = resolve(__dirname, '../../daemon/src/cli/main.js');
const DEMO = resolve(__dirname, '../../../configs/demo.yaml');
const BUDGET_MS = 120_000;

const PLANTED = `
templates:
  linux-mssql:
    personality: "Linux 4.15 - 5.6"
    defaults: { tcp: reset, udp: reset, icmp: open }
    ports:
      - { proto: tcp, port: 22, action: open, service: { banner: "SSH-2.0-OpenSSH_8.9p1 Ubuntu-3ubuntu0.10\\r\\n" } }
      - { proto: tcp, port: 1433, action: open, service: { name: ms-sql-s, product: "Microsoft SQL Server 2019", version: "15.00.2000" } }
  windows-canon:
    personality: "Microsoft Windows 10 1507 - 1607"
    ethernet: "Canon"
    defaults: { tcp: reset, udp: reset, icmp: open }
    ports:
      - { proto: tcp, port: 445, action: open }
  freebsd-cisco:
    personality: "FreeBSD 12.1-RELEASE"
    defaults: { tcp: reset, udp: reset, icmp: open }
    ports:
      - { proto: tcp, port: 22, action: open, service: { banner: "SSH-1.99-Cisco-1.25\\r\\n" } }
hosts:
  - { address: 203.0.113.10, template: linux-mssql }
  - { address: 203.0.113.20, template: windows-canon }
  - { address: 203.0.113.30, template: freebsd-cisco }
`;

async function audit(config: string): Promise<{ code: number | null; report: LiveAuditReport; ms: number; stderr: string }> {
  const t0 = Date.now();
  const r = await runCommand(process.execPath, [MAIN, 'audit', config, '--json'], { timeoutMs: BUDGET_MS + 30_000 });
  const ms = Date.now() - t0;
  assert.ok(r.stdout.trim().startsWith('{'), `no JSON report (exit ${r.code}): ${r.stderr}`);
  return { code: r.code, report: JSON.parse(r.stdout) as LiveAuditReport, ms, stderr: r.stderr };
}

test('decoyd audit: the demo is clean in under two minutes; planted contradictions are each reported', { skip: needsRoot.skip, timeout: 2 * (BUDGET_MS + 60_000) }, async (t) => {
  const before = new Set(await listNamespaces());

  await t.test('configs/demo.yaml', async () => {
    const { code, report, ms } = await audit(DEMO);
    t.diagnostic(`demo audit: ${ms} ms, score ${report.score}`);
    assert.ok(ms < BUDGET_MS, `${ms} ms`);
    assert.equal(code, 0);
    assert.equal(report.hosts.length, 6);
    for (const h of report.hosts) {
      assert.deepEqual(h.findings.map((f) => `${f.code}: ${f.message}`), [], h.address);
      // What nmap named is the configured personality, at 100 %.
      assert.ok(h.observed.osMatches.some((m) => m.name === h.personality && m.accuracy === 100), `${h.address}: nmap named ${h.observed.osMatches[0]?.name}`);
      assert.ok(h.observed.macVendor !== undefined, `${h.address}: a MAC vendor`);
    }
    // SYN/ACK retransmissions over the 34 s watched: each family's count, unlike Linux's five.
    const retries = (family: string): number => (report.hosts.find((h) => h.family === family)?.observed.synAckOffsetsMs?.length ?? 0) - 1;
    const lines = report.hosts.map((h) => `${h.family.padEnd(11)} ${(h.observed.synAckOffsetsMs ?? []).map((x) => (x / 1000).toFixed(1)).join(', ')}`);
    t.diagnostic(`SYN/ACK times (s after the first):\n${lines.join('\n')}`);
    assert.equal(retries('linux'), 5);
    for (const family of ['windows-10', 'freebsd', 'cisco-ios'] as const) {
      assert.equal(retries(family), FAMILY_BEHAVIOURS[family].tcp.timing.synAckRetransmitMs.length, family);
      assert.notEqual(retries(family), retries('linux'), `${family} retransmits like Linux`);
    }
  });

  await t.test('planted contradictions', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'decoyd-audit-'));
    try {
      const file = join(dir, 'planted.yaml');
      writeFileSync(file, PLANTED);
      const { code, report } = await audit(file);
      assert.equal(code, 3, 'high findings give exit status 3');
      const live = (ip: string): string[] => report.hosts.find((h) => h.address === ip)?.liveFindings.map((f) => f.code) ?? [];
      // Each one from what the probes saw (the static findings come along as well).
      assert.ok(live('203.0.113.10').includes('service-of-other-os'), 'MSSQL answers on a Linux stack');
      assert.ok(live('203.0.113.10').includes('service-names-other-os'), 'nmap -sV reads Microsoft SQL Server');
      assert.ok(live('203.0.113.20').includes('mac-vendor-contradicts-os'), 'nmap shows a Canon MAC on Windows');
      assert.ok(live('203.0.113.30').includes('service-names-other-os'), 'nmap -sV reads a Cisco SSH on FreeBSD');
      const allFindings = JSON.stringify(report.hosts.map((h) => h.findings));
      assert.match(allFindings, /1433/);
      assert.match(allFindings, /Canon/);
      assert.match(allFindings, /Cisco/);
      // Nothing else on those hosts: nmap still names the configured stacks.
      for (const h of report.hosts) assert.ok(!h.liveFindings.some((f) => f.code === 'nmap-names-other-os'), h.address);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  const left = (await listNamespaces()).filter((n) => !before.has(n) && n.startsWith('decoyd-audit'));
  assert.deepEqual(left, [], 'the audit removed its namespaces');
});
