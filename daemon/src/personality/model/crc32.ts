/**
 * CRC-32 (zlib/IEEE, reflected 0xEDB88320) and its inverse for four free bytes: Nmap's RD test
 * prints the CRC-32 of RST payload, so a personality forges 4 bytes with exactly that CRC.
 */

const TABLE = buildTable();
/** Index of the table entry whose top byte is b (unique for CRC-32). */
const BY_TOP_BYTE = buildTopIndex();

function buildTable(): Uint32Array {
  const t = new Uint32Array(256);
  for (let i = 0; i < 256; i++) {
    let c = i;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    t[i] = c >>> 0;
  }
  return t;
}

function buildTopIndex(): Uint8Array {
  const idx = new Uint8Array(256);
  for (let i = 0; i < 256; i++) idx[TABLE[i] >>> 24] = i;
  return idx;
}

export function crc32(data: Uint8Array): number {
  let c = 0xffffffff;
  for (let i = 0; i < data.length; i++) c = (c >>> 8) ^ TABLE[(c ^ data[i]) & 0xff];
  return (c ^ 0xffffffff) >>> 0;
}

/** Four bytes whose CRC-32 is `target`. */
export function forgeCrc32(target: number): Buffer {
  // Walk back from the final register: each step's table index is fixed by the top byte.
  const indices = [0, 0, 0, 0];
  let reg = (target ^ 0xffffffff) >>> 0;
  for (let k = 3; k >= 0; k--) {
    const i = BY_TOP_BYTE[reg >>> 24];
    indices[k] = i;
    reg = ((reg ^ TABLE[i]) << 8) >>> 0;
  }
  // Walk forward choosing each byte so that the register hits those indices.
  const out = Buffer.alloc(4);
  let c = 0xffffffff;
  for (let k = 0; k < 4; k++) {
    out[k] = (c ^ indices[k]) & 0xff;
    c = (c >>> 8) ^ TABLE[indices[k]];
  }
  return out;
}
