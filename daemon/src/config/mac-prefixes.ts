/**
 * Nmap's nmap-mac-prefixes table (OUI -> vendor) and vendor lookup by name.
 *
 * Lookup follows Honeyd's `set T ethernet "vendor"`: the name is split into words and
 * vendors score by how many words they share; decoyd also lets a word match the start of a
 * vendor word ("Asus" finds "Asustek Computer"), ranks whole-word matches above that, and
 * among equals prefers the vendor with the fewest extra words ("Dell" before "Dell EMC").
 */

import fs from 'node:fs';

interface VendorGroup {
  /** Vendor name as first spelled in the file. */
  name: string;
  words: string[];
  ouis: number[];
}

export interface VendorMatch {
  /** Vendor names that matched best (one spelling each). */
  vendors: string[];
  /** Their usable OUIs, ascending. */
  ouis: number[];
}

export class MacPrefixes {
  private readonly vendorByOui = new Map<number, string>();
  private readonly groups = new Map<string, VendorGroup>();
  /** findVendor scans every vendor; a config asks the same few names once per host. */
  private readonly found = new Map<string, VendorMatch>();

  /** Lines are `XXXXXX Vendor name`; `#` comments; longer (MA-M/MA-S) prefixes are skipped. */
  static parse(text: string): MacPrefixes {
    const table = new MacPrefixes();
    for (const line of text.split('\n')) {
      const m = /^([0-9A-Fa-f]{6})\s+(.+?)\s*$/.exec(line);
      if (m) table.add(parseInt(m[1], 16), m[2]);
    }
    return table;
  }

  get size(): number {
    return this.vendorByOui.size;
  }

  /** Vendor of a 24-bit OUI. */
  vendorOf(oui: number): string | undefined {
    return this.vendorByOui.get(oui);
  }

  /**
   * Best-matching vendors for a name such as "Dell" or "cisco systems".
   * With `requireAll`, a vendor must match every word of the name (used when the name is
   * an OS vendor, where a single shared word like "Networks" says nothing).
   */
  findVendor(name: string, requireAll = false): VendorMatch {
    const key = `${requireAll ? 1 : 0}:${name}`;
    let match = this.found.get(key);
    if (match === undefined) {
      match = this.searchVendor(name, requireAll);
      this.found.set(key, match);
    }
    return match;
  }

  private searchVendor(name: string, requireAll: boolean): VendorMatch {
    const query = wordsOf(name);
    let bestScore = 0;
    let bestExtra = Infinity;
    let best: VendorGroup[] = [];
    if (query.length === 0) return { vendors: [], ouis: [] };
    for (const group of this.groups.values()) {
      let score = 0;
      let matched = 0;
      for (const q of query) {
        if (group.words.includes(q)) {
          score += 2;
          matched++;
        } else if (group.words.some((w) => w.startsWith(q))) {
          score += 1;
          matched++;
        }
      }
      if (score === 0 || (requireAll && matched < query.length)) continue;
      const extra = group.words.length - matched;
      if (score > bestScore || (score === bestScore && extra < bestExtra)) {
        bestScore = score;
        bestExtra = extra;
        best = [group];
      } else if (score === bestScore && extra === bestExtra) best.push(group);
    }
    const ouis = best.flatMap((g) => g.ouis).sort((a, b) => a - b);
    return { vendors: best.map((g) => g.name), ouis };
  }

  private add(oui: number, vendor: string): void {
    this.found.clear();
    this.vendorByOui.set(oui, vendor);
    // Multicast or locally administered first octets cannot serve as a host's prefix.
    if (((oui >>> 16) & 0x03) !== 0) return;
    const key = wordsOf(vendor).join(' ');
    if (key === '') return;
    let group = this.groups.get(key);
    if (!group) {
      group = { name: vendor, words: key.split(' '), ouis: [] };
      this.groups.set(key, group);
    }
    group.ouis.push(oui);
  }
}

export function loadMacPrefixes(file: string): MacPrefixes {
  return MacPrefixes.parse(fs.readFileSync(file, 'utf8'));
}

/** Lower-case words; punctuation separates words except `&` (AT&T). */
function wordsOf(text: string): string[] {
  return text
    .toLowerCase()
    .split(/[^a-z0-9&]+/)
    .filter((w) => w !== '');
}
