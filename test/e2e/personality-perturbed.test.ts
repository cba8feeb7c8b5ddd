/**
 * Nmap's OS probes with single fields changed (another window, the options in another order,
 * another MSS, another destination port), sent by hand (hping3, or frames injected with the pcap
 * binding where options matter). The replies must follow the personality's model, not a default:
 * the same TTL and DF, the IP ID sequence class of the entry, and the OS's own option layout
 * (the same option kinds in the OS's order) whatever order or window the SYN used.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { createLab, type Lab } from '../../daemon/src/lab/netns';
import { OsDbPersonality } from '../../daemon/src/personality/model/os-personality';
import { hostSeed } from '../../daemon/src/personality/model/prng';
import { classifyIpIds, ipIdClassValue } from '../../daemon/src/personality/nmap-sim/ipid-class';
import { nmapOptionString } from '../../daemon/src/personality/nmap-sim/tcp-options';
import { hping3 } from '../helpers/clients';
import { startDaemon, type DaemonHandle } from '../helpers/daemon';
import { Flag, parseFrame, tcpFrame, type ParsedFrame } from '../helpers/frames';
import { injectAndCapture, interfaceMac } from '../helpers/inject';
import { isRoot } from '../helpers/lab';
import { decoysYaml, entriesNamed, haveOsDb, installedOsDb, type DecoyPlacement } from './personality-support';

const NAMES = [
  'Linux 5.0 - 5.4',
  'Microsoft Windows 7 SP1 or Windows Server 2008 R2',
  'FreeBSD 11.2-RELEASE',
  'OpenBSD 6.0 - 6.4',
  'Apple macOS 10.13 (High Sierra) (Darwin 17.0.0)',
  'Sun Solaris 11.3',
  'Cisco 1600 router (IOS 12.0)',
];
const OPEN = [22, 80] as const;
const CLOSED = 21;
const PLACEMENTS: DecoyPlacement[] = NAMES.map((name, i) => ({ address: `198.51.100.${40 + i}`, template: `p${i}`, name, open: OPEN }));

const skip = !isRoot() ? 'needs root (network namespaces)' : !haveOsDb ? 'nmap-os-db is not installed' : false;

// TCP option bytes (Nmap's TS probes carry TSval FFFFFFFF, TSecr 0).
const MSS = (v: number): number[] => [2, 4, v >> 8, v & 0xff];
const WS = (s: number): number[] => [3, 3, s];
const TS = [8, 10, 0xff, 0xff, 0xff, 0xff, 0, 0, 0, 0];
const SACK = [4, 2];
const NOP = [1];
/** Nmap's SEQ probe #1 options, in its order. */
const NMAP_SEQ1 = Buffer.from([...WS(10), ...NOP, ...MSS(1460), ...TS, ...SACK]);

/** The model the daemon builds for a placement (same entry, same seed). */
function modelOf(p: DecoyPlacement): OsDbPersonality {
  const fp = entriesNamed(installedOsDb(), p.name)[0];
  assert.ok(fp, p.name);
  return new OsDbPersonality(fp, { seed: hostSeed(p.address, p.template) });
}

/** An O-string with values blanked: the option kinds in wire order (`M5B4NW7NNT11` → `MNWNNT`). */
function kindsOf(oString: string): string {
  return oString.replace(/M[0-9A-F]+/g, 'M').replace(/W[0-9A-F]+/g, 'W').replace(/T[01]{2}/g, 'T');
}

function optionString(f: ParsedFrame): string {
  assert.ok(f.tcp);
  return nmapOptionString(f.tcp.options, f.tcp.payload);
}

describe('personality: perturbed Nmap probes get the personality model, not a default', { skip }, () => {
  let lab: Lab | undefined;
  let daemon: DaemonHandle | undefined;
  let scannerMac = '';
  const decoyMac = new Map<string, string>();

  before(async () => {
    lab = await createLab({ name: 'dt-pers-perturb' });
    // Log level info: the decoys' MACs come from their `arp.announce` events.
    daemon = await startDaemon(lab, decoysYaml(PLACEMENTS, 'log: { level: info }'));
    scannerMac = await interfaceMac(lab, lab.scannerNs, lab.scannerIf);
    for (const p of PLACEMENTS) {
      const announce = daemon.eventsOfKind('arp.announce').find((e) => e.address === p.address);
      assert.ok(announce && typeof announce.mac === 'string', `no announcement for ${p.address}`);
      decoyMac.set(p.address, announce.mac);
    }
  });

  after(async () => {
    await daemon?.stop();
    await lab?.destroy();
  });

  /** Sends one SYN per option set to `port` and returns the SYN/ACKs in order (one per probe). */
  async function synAcks(p: DecoyPlacement, probes: Array<{ options: Buffer; window: number; port: number }>): Promise<ParsedFrame[]> {
    assert.ok(lab);
    const base = 40000 + Math.floor(Math.random() * 20000);
    const frames = probes.map((probe, i) =>
      tcpFrame(decoyMac.get(p.address) as string, scannerMac, lab?.scannerIp as string, p.address, {
        srcPort: base + i,
        dstPort: probe.port,
        seq: 0x10000000 + i * 0x1000,
        ack: 0x2000,
        flags: Flag.SYN,
        window: probe.window,
        options: probe.options,
      }, { ttl: 48, id: 0x3000 + i }),
    );
    const got = await injectAndCapture(lab, frames, { filter: `tcp and src host ${p.address}`, gapMs: 100, waitMs: 400 });
    const parsed = got.map((g) => parseFrame(g.frame)).filter((f) => f.tcp !== undefined && (f.tcp.flags & (Flag.SYN | Flag.ACK)) === (Flag.SYN | Flag.ACK));
    // Order by probe: each SYN/ACK goes back to the probe's source port.
    return probes.map((_, i) => {
      const f = parsed.find((x) => x.tcp?.dstPort === base + i);
      assert.ok(f, `${p.name}: no SYN/ACK to probe ${i} (${got.length} frames captured)`);
      return f;
    });
  }

  test('window, option order and destination port do not change the SYN/ACK: O1/W1 layout, T1 TTL and DF', async () => {
    const problems: string[] = [];
    for (const p of PLACEMENTS) {
      const m = modelOf(p);
      const o1 = m.chosen.get('OPS')?.get('O1');
      const w1 = m.chosen.get('WIN')?.get('W1');
      assert.ok(o1 !== undefined && w1 !== undefined, p.name);
      const linuxOrder = Buffer.from([...MSS(1460), ...SACK, ...TS, ...NOP, ...WS(10)]);
      const sackFirst = Buffer.from([...SACK, ...NOP, ...NOP, ...TS, ...MSS(1460), ...NOP, ...WS(10)]);
      const replies = await synAcks(p, [
        { options: NMAP_SEQ1, window: 1, port: OPEN[0] }, // Nmap's probe as sent
        { options: NMAP_SEQ1, window: 29200, port: OPEN[0] }, // another window
        { options: linuxOrder, window: 1, port: OPEN[0] }, // the same options, Linux's order
        { options: sackFirst, window: 64240, port: OPEN[0] }, // yet another order and window
        { options: NMAP_SEQ1, window: 1, port: OPEN[1] }, // another open port
      ]);
      replies.forEach((r, i) => {
        const got = { o: optionString(r), w: r.tcp?.window.toString(16).toUpperCase(), ttl: r.ip?.ttl, df: r.ip?.df };
        const want = { o: o1, w: w1, ttl: m.lines.T1.ttl, df: m.lines.T1.df };
        if (JSON.stringify(got) !== JSON.stringify(want)) problems.push(`${p.name} probe ${i}: got ${JSON.stringify(got)}, model ${JSON.stringify(want)}`);
      });
    }
    assert.deepEqual(problems, [], problems.join('\n'));
  });

  test('an MSS no Nmap probe offers gets the OS layout: O1 option kinds in O1 order, MSS by the OS rule', async () => {
    const problems: string[] = [];
    for (const p of PLACEMENTS) {
      const m = modelOf(p);
      const o1 = m.chosen.get('OPS')?.get('O1') as string;
      const o2 = m.chosen.get('OPS')?.get('O2') as string;
      const [at1400, at1200] = await synAcks(p, [
        // MSS 1400 offered with the same kinds as probe #2: exactly O2, whatever the order and window.
        { options: Buffer.from([...MSS(1400), ...SACK, ...TS, ...NOP, ...WS(10)]), window: 5840, port: OPEN[0] },
        // MSS 1200: no probe offers it, so the layout is derived (same kinds as O1, the OS order).
        { options: Buffer.from([...MSS(1200), ...SACK, ...TS, ...NOP, ...WS(7)]), window: 5840, port: OPEN[1] },
      ]);
      if (optionString(at1400 as ParsedFrame) !== o2) problems.push(`${p.name}: MSS 1400 → ${optionString(at1400 as ParsedFrame)}, O2 is ${o2}`);
      const derived = optionString(at1200 as ParsedFrame);
      if (kindsOf(derived) !== kindsOf(o1)) problems.push(`${p.name}: MSS 1200 → ${derived}, kinds ${kindsOf(derived)} vs O1 ${o1}`);
      const expectedMss = m.synLayout.answer(0x0f, 1200).mss;
      const mssHex = /M([0-9A-F]+)/.exec(derived)?.[1];
      if (expectedMss >= 0 && mssHex !== expectedMss.toString(16).toUpperCase()) problems.push(`${p.name}: MSS 1200 → M${mssHex}, model ${expectedMss}`);
      if (at1200?.ip?.ttl !== m.lines.T1.ttl || at1200?.ip?.df !== m.lines.T1.df) problems.push(`${p.name}: MSS 1200 reply TTL/DF ${at1200?.ip?.ttl}/${at1200?.ip?.df}`);
    }
    assert.deepEqual(problems, [], problems.join('\n'));
  });

  test('hping3 SYNs with a non-Nmap window: the IP ID sequence follows TI, TTL and DF follow T1', async () => {
    assert.ok(lab);
    const problems: string[] = [];
    for (const p of PLACEMENTS) {
      const m = modelOf(p);
      const ti = m.chosen.get('SEQ')?.get('TI');
      const r = await hping3(lab, p.address, { mode: 'syn', port: OPEN[0], count: 6, intervalUs: 100_000 });
      const answers = r.replies.filter((x) => x.flags === 'SA');
      if (answers.length !== 6) {
        problems.push(`${p.name}: ${answers.length} SYN/ACKs to 6 SYNs`);
        continue;
      }
      const cls = ipIdClassValue(classifyIpIds(answers.map((a) => a.id ?? -1)), answers[0]?.id ?? 0);
      if (ti !== undefined && cls !== ti) problems.push(`${p.name}: IP IDs ${answers.map((a) => a.id).join(',')} read as ${cls}, TI is ${ti}`);
      if (answers.some((a) => a.ttl !== m.lines.T1.ttl || a.df !== m.lines.T1.df)) problems.push(`${p.name}: TTL/DF ${answers[0]?.ttl}/${answers[0]?.df}`);
    }
    assert.deepEqual(problems, [], problems.join('\n'));
  });

  test('closed-port SYN and open-port ACK with other windows and ports get the T5 and T4 shapes', async () => {
    assert.ok(lab);
    const problems: string[] = [];
    const expectShape = (label: string, line: OsDbPersonality['lines']['T5'], reply: { flags?: string; win?: number; ttl?: number; df?: boolean } | undefined): void => {
      if (!line.reply) {
        if (reply !== undefined) problems.push(`${label}: answered ${reply.flags}, the entry says R=N`);
        return;
      }
      const flags = (line.flags & Flag.RST ? 'R' : '') + (line.flags & Flag.ACK ? 'A' : '');
      const got = { flags: reply?.flags, win: reply?.win, ttl: reply?.ttl, df: reply?.df };
      const want = { flags, win: line.window, ttl: line.ttl, df: line.df };
      if (JSON.stringify(got) !== JSON.stringify(want)) problems.push(`${label}: got ${JSON.stringify(got)}, model ${JSON.stringify(want)}`);
    };
    for (const p of PLACEMENTS) {
      const m = modelOf(p);
      // T5 is a SYN with window 31337 to a closed port; hping3 sends its own window (64) to another closed port.
      const closed = await hping3(lab, p.address, { mode: 'syn', port: CLOSED + 1000, count: 1 });
      expectShape(`${p.name} closed SYN`, m.lines.T5, closed.replies[0]);
      // T4 is an ACK with window 1024 to the open port; hping3 sends window 64 to the other open port.
      const ack = await hping3(lab, p.address, { mode: 'ack', port: OPEN[1], count: 1 });
      expectShape(`${p.name} open ACK`, m.lines.T4, ack.replies[0]);
    }
    assert.deepEqual(problems, [], problems.join('\n'));
  });
});
