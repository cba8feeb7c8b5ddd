/**
 * Second half of scripts/capture-p0f-fixtures.sh: for every capture in DIR, every SYN's IPv4
 * bytes with what the installed p0f says of it (`p0f -r`), written as test/fixtures/p0f/syns.json.
 * p0f prints one `(syn)` block per SYN, in capture order; blocks and frames are paired by order
 * and checked by source port.
 *
 *   node dist/test/tools/p0f-fixtures.js DIR OUT.json
 */
import { execFileSync } from 'node:child_process';
import { readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { readPcapFile } from '../helpers/pcap-file';

export interface P0fSynFixture {
  capture: string;
  /** The IPv4 datagram (header and TCP segment), hex. */
  ip: string;
  /** p0f's verdict: `os = …` or `app = …` (a userland tool), or `???` for no match. */
  p0f: string;
  rawSig: string;
}

function main(): void {
  const [dir, out] = process.argv.slice(2);
  if (dir === undefined || out === undefined) throw new Error('usage: p0f-fixtures DIR OUT.json');
  const fixtures: P0fSynFixture[] = [];
  for (const name of readdirSync(dir).filter((n) => n.endsWith('.pcap')).sort()) {
    const file = join(dir, name);
    const frames = readPcapFile(file).records.map((r) => r.data).filter((f) => f.readUInt16BE(12) === 0x0800);
    const text = execFileSync('p0f', ['-r', file], { encoding: 'utf8' });
    const blocks = text.split('.-[ ').slice(1).filter((b) => /\(syn\) \]-/.test(b.split('\n')[0] ?? ''));
    if (blocks.length !== frames.length) throw new Error(`${name}: ${frames.length} SYNs but p0f printed ${blocks.length} syn blocks`);
    blocks.forEach((b, i) => {
      const frame = frames[i] as Buffer;
      const ip = frame.subarray(14, 14 + frame.readUInt16BE(16));
      const sport = ip.readUInt16BE(((ip[0] as number) & 0x0f) * 4);
      const head = /^\S+\/(\d+) ->/.exec(b);
      if (head === null || Number(head[1]) !== sport) throw new Error(`${name}: block ${i} is for port ${head?.[1]}, frame for ${sport}`);
      const verdict = /\| (os|app) += (.*)\n/.exec(b);
      const raw = /\| raw_sig += (.*)\n/.exec(b);
      const p0f = verdict === null ? '???' : verdict[2] === '???' ? '???' : `${verdict[1]} = ${verdict[2]}`;
      fixtures.push({ capture: name.replace(/\.pcap$/, ''), ip: ip.toString('hex'), p0f, rawSig: raw?.[1] ?? '' });
    });
  }
  writeFileSync(out, JSON.stringify(fixtures, null, 1) + '\n');
}

main();
