/** IPv4 addresses as unsigned 32-bit numbers and MACs as 6-byte Buffers; formatting only at the edges. */

export function ipToString(ip: number): string {
  return `${ip >>> 24}.${(ip >>> 16) & 0xff}.${(ip >>> 8) & 0xff}.${ip & 0xff}`;
}

/** Parse dotted IPv4; returns -1 when not a valid address. */
export function parseIp(text: string): number {
  const parts = text.split('.');
  if (parts.length !== 4) return -1;
  let ip = 0;
  for (const part of parts) {
    if (!/^\d{1,3}$/.test(part)) return -1;
    const n = Number(part);
    if (n > 255) return -1;
    ip = ip * 256 + n;
  }
  return ip;
}

const HEX: string[] = [];
for (let i = 0; i < 256; i++) HEX[i] = i.toString(16).padStart(2, '0');

export function macToString(buf: Buffer, off = 0): string {
  return `${HEX[buf[off]]}:${HEX[buf[off + 1]]}:${HEX[buf[off + 2]]}:${HEX[buf[off + 3]]}:${HEX[buf[off + 4]]}:${HEX[buf[off + 5]]}`;
}

/** Parse `aa:bb:cc:dd:ee:ff` (also `-` separated); returns null when invalid. */
export function parseMac(text: string): Buffer | null {
  const m = /^([0-9a-f]{2})[:-]([0-9a-f]{2})[:-]([0-9a-f]{2})[:-]([0-9a-f]{2})[:-]([0-9a-f]{2})[:-]([0-9a-f]{2})$/i.exec(text.trim());
  if (!m) return null;
  return Buffer.from(m.slice(1).map((h) => parseInt(h, 16)));
}

export function macEquals(a: Buffer, aOff: number, b: Buffer, bOff: number): boolean {
  return (
    a[aOff] === b[bOff] && a[aOff + 1] === b[bOff + 1] && a[aOff + 2] === b[bOff + 2] &&
    a[aOff + 3] === b[bOff + 3] && a[aOff + 4] === b[bOff + 4] && a[aOff + 5] === b[bOff + 5]
  );
}

/** 48-bit MAC as a number (exact in a double), for map keys without allocation. */
export function macToNumber(buf: Buffer, off: number): number {
  return buf.readUIntBE(off, 6);
}

export function isMulticastMac(buf: Buffer, off: number): boolean {
  return (buf[off] & 1) === 1;
}

/** Network address and mask of a CIDR like `198.51.100.128/25`; null when invalid. */
export function parseCidr(text: string): { network: number; prefix: number; size: number } | null {
  const m = /^(\d+\.\d+\.\d+\.\d+)\/(\d{1,2})$/.exec(text.trim());
  if (!m) return null;
  const ip = parseIp(m[1]);
  const prefix = Number(m[2]);
  if (ip < 0 || prefix > 32) return null;
  const size = 2 ** (32 - prefix);
  const network = ip - (ip % size);
  return { network, prefix, size };
}
