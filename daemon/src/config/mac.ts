/**
 * Choosing each decoy's MAC address.
 *
 * The OUI must fit the host: nmap prints the vendor next to the MAC, and a printer OUI on a
 * Windows stack gives a decoy away. The low three bytes come from the IPv4 address through a
 * keyed permutation, so a host keeps its MAC across restarts, the MAC does not spell out the
 * address, and hosts within one /8 that share an OUI never collide.
 */

import { parseMac } from '../wire/address';
import { MacPrefixes, loadMacPrefixes } from './mac-prefixes';

export { MacPrefixes, loadMacPrefixes };

/**
 * Hardware vendors that plausibly carry an OS, keyed by nmap `Class` vendor (lower case).
 * Vendors not listed here are looked up by their own name (printers, routers, NAS boxes
 * make their own NICs' OUIs), and failing that get a generic PC NIC vendor.
 */
const NIC_VENDORS_BY_OS_VENDOR: Record<string, readonly string[]> = {
  microsoft: ['Dell', 'Intel Corporate', 'Hewlett Packard', 'Lenovo'],
  linux: ['Intel Corporate', 'Dell', 'Super Micro Computer', 'Hewlett Packard'],
  freebsd: ['Intel Corporate', 'Super Micro Computer'],
  openbsd: ['Intel Corporate', 'Super Micro Computer'],
  netbsd: ['Intel Corporate', 'Super Micro Computer'],
  dragonfly: ['Intel Corporate', 'Super Micro Computer'],
  sco: ['Intel Corporate', 'Dell'],
  novell: ['Intel Corporate', 'Dell'],
  hp: ['Hewlett Packard', 'HP'],
  sun: ['Oracle'],
  cisco: ['Cisco Systems'],
  juniper: ['Juniper Networks'],
  apc: ['American Power Conversion'],
  mikrotik: ['Routerboard.com'],
  // Embedded stacks (VxWorks, lwIP) say nothing about the board maker.
  'wind river': ['Intel Corporate'],
  lwip: ['Espressif'],
};

const GENERIC_NIC_VENDORS: readonly string[] = ['Intel Corporate', 'Dell'];

/**
 * The MAC for a decoy.
 * @param ethernet a template's `ethernet`: a MAC, or a vendor name; undefined to derive from the OS
 * @param osVendor the personality's class vendor (`Microsoft`, `Cisco`, ...), if known
 * @param ip the decoy's IPv4 address as an unsigned 32-bit number
 * @param seed per-deployment salt, so two installations do not share MACs
 * @throws Error when `ethernet` is a multicast MAC or names no known vendor
 */
export function chooseMac(
  ethernet: string | undefined,
  osVendor: string | undefined,
  ip: number,
  prefixes: MacPrefixes,
  seed = 0,
): Buffer {
  if (ethernet !== undefined) {
    const explicit = parseMac(ethernet);
    if (explicit) {
      if ((explicit[0] & 1) === 1) throw new Error(`ethernet ${ethernet} is a multicast address`);
      return explicit;
    }
    const match = prefixes.findVendor(ethernet);
    if (match.ouis.length === 0) throw new Error(`unknown ethernet vendor "${ethernet}"`);
    return macFrom(pick(match.ouis, ip, seed, 2), ip, seed);
  }
  return macFrom(pick(ouisForOs(osVendor, ip, seed, prefixes), ip, seed, 2), ip, seed);
}

/** A MAC string is `aa:bb:cc:dd:ee:ff`; otherwise the text is a vendor name. */
export function isMacText(text: string): boolean {
  return parseMac(text) !== null;
}

function ouisForOs(osVendor: string | undefined, ip: number, seed: number, prefixes: MacPrefixes): number[] {
  const key = osVendor?.trim().toLowerCase() ?? '';
  const listed = NIC_VENDORS_BY_OS_VENDOR[key];
  const candidates = listed ?? (key === '' ? GENERIC_NIC_VENDORS : [osVendor ?? '']);
  // Start at an IP-chosen vendor so a population of one OS spreads over several makers.
  const start = mix32(ip, seed, 1) % candidates.length;
  for (let i = 0; i < candidates.length; i++) {
    const ouis = prefixes.findVendor(candidates[(start + i) % candidates.length], true).ouis;
    if (ouis.length > 0) return ouis;
  }
  for (const generic of GENERIC_NIC_VENDORS) {
    const ouis = prefixes.findVendor(generic).ouis;
    if (ouis.length > 0) return ouis;
  }
  throw new Error('the MAC prefix table has no usable vendor (is nmap-mac-prefixes empty?)');
}

function pick(ouis: readonly number[], ip: number, seed: number, salt: number): number {
  return ouis[mix32(ip, seed, salt) % ouis.length];
}

function macFrom(oui: number, ip: number, seed: number): Buffer {
  const low = permute24(ip & 0xffffff, (ip >>> 24) ^ (seed >>> 0));
  const mac = Buffer.alloc(6);
  mac.writeUIntBE(oui, 0, 3);
  mac.writeUIntBE(low, 3, 3);
  return mac;
}

/** A keyed bijection on 24-bit values (odd multiplies and xor-shifts are each invertible). */
function permute24(value: number, key: number): number {
  const M = 0xffffff;
  let x = (value ^ (Math.imul(key, 0x9e3779) & M)) & M;
  x = Math.imul(x, 0x2c1b3d) & M;
  x ^= x >>> 11;
  x = (x + (Math.imul(key ^ 0x5bd1e9, 0x85ebcb) & M)) & M;
  x = Math.imul(x, 0x7feb35) & M;
  x ^= x >>> 13;
  x = Math.imul(x, 0x846ca5) & M;
  x ^= x >>> 9;
  return x;
}

/** Murmur3's 32-bit finaliser over address, seed and a salt that separates the uses. */
function mix32(ip: number, seed: number, salt: number): number {
  let h = (ip ^ Math.imul(seed, 0x9e3779b9) ^ Math.imul(salt, 0x85ebca6b)) >>> 0;
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}
