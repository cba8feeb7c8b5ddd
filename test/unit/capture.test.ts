import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PcapRecorder } from '../../daemon/src/capture/pcap-recorder';
import { parsePcap } from '../helpers/pcap-file';

/** An Ethernet + IPv4 + TCP frame from `src` to `dst` (checksums irrelevant here). */
function frame(src: number[], dst: number[], pad = 0): Buffer {
  const f = Buffer.alloc(54 + pad);
  f.writeUInt16BE(0x0800, 12);
  f[14] = 0x45;
  f.writeUInt16BE(40 + pad, 16);
  f[23] = 6;
  Buffer.from(src).copy(f, 26);
  Buffer.from(dst).copy(f, 30);
  return f;
}

test('frames go to rotating pcap files that parse, and per-source extraction keeps only that source', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'decoyd-capture-'));
  try {
    const rec = new PcapRecorder({ dir, maxFileBytes: 256 * 1024, maxFiles: 3, bufferBytes: 1 << 20, flushIntervalMs: 60_000 }, () => undefined);
    const a = [203, 0, 113, 1];
    const b = [203, 0, 113, 2];
    const decoy = [198, 51, 100, 10];
    // 6000 frames of ~250 bytes = ~1.5 MB: several rotations; only the last 3 files are kept.
    for (let k = 0; k < 6000; k++) {
      const f = k % 2 === 0 ? frame(a, decoy, 200) : frame(decoy, b, 200);
      f.writeUInt16BE(k & 0xffff, 34);
      rec.record(f, f.length, 1_700_000_000_000 + k);
      if (k % 1000 === 999) await rec.settled(); // give the disk its turn, as the event loop does
    }
    await rec.settled();
    const files = rec.files();
    assert.equal(files.length, 3);
    for (const name of files) {
      assert.ok(statSync(join(dir, name)).size <= 256 * 1024, name);
      const p = parsePcap(readFileSync(join(dir, name)));
      assert.equal(p.linkType, 1);
      assert.ok(p.records.length > 0);
    }
    const onlyB = parsePcap(await rec.extract('203.0.113.2'));
    assert.ok(onlyB.records.length > 500);
    assert.ok(onlyB.records.every((r) => r.data.readUInt32BE(30) === 0xcb007102));
    const seq = onlyB.records.map((r) => r.data.readUInt16BE(34));
    assert.deepEqual(seq, [...seq].sort((x, y) => x - y), 'oldest first');
    assert.equal(seq[seq.length - 1], 5999, 'the newest frame is in');
    assert.equal(onlyB.records[onlyB.records.length - 1]?.tsSec, Math.floor((1_700_000_000_000 + 5999) / 1000));
    assert.equal(parsePcap(await rec.extract('192.0.2.1')).records.length, 0);
    assert.equal(rec.dropped, 0);
    await rec.close();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('when every buffer waits for the disk, frames are dropped and counted, never queued without bound', () => {
  const dir = mkdtempSync(join(tmpdir(), 'decoyd-capture-'));
  try {
    const rec = new PcapRecorder({ dir, maxFileBytes: 1 << 20, maxFiles: 2, bufferBytes: 1, flushIntervalMs: 60_000 }, () => undefined);
    const f = frame([203, 0, 113, 1], [198, 51, 100, 10], 1400);
    // Synchronously (the disk gets no turn): two chunks fill up, the rest is dropped.
    for (let k = 0; k < 5000; k++) rec.record(f, f.length, 1);
    assert.ok(rec.dropped > 0);
    assert.equal(rec.frames + rec.dropped, 5000);
    return rec.close();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
