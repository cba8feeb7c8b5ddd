/**
 * Which behaviour table a personality uses, from its nmap-os-db Class lines
 * (`Class vendor | OS family | generation | device type`). The first class a rule recognises wins.
 */
import type { OsClass } from '../osdb/types';
import { DEFAULT_FAMILY, FAMILY_BEHAVIOURS } from './tables';
import type { FamilyBehaviour, FamilyId } from './types';

const LINUX_FAMILIES = new Set(['linux', 'android', 'routeros', 'diskstation manager', 'openwrt', 'dd-wrt', 'tomato', 'webos', 'tizen', 'chrome os']);
const FREEBSD_FAMILIES = new Set(['freebsd', 'freenas', 'truenas', 'pfsense', 'opnsense', 'junos', 'dragonfly bsd', 'data ontap']);
const DARWIN_FAMILIES = new Set(['mac os x', 'os x', 'macos', 'ios', 'iphone os', 'ipados', 'tvos', 'watchos', 'darwin', 'audioos']);
const SOLARIS_FAMILIES = new Set(['solaris', 'opensolaris', 'illumos', 'sunos', 'openindiana', 'smartos', 'hp-ux']);
const EMBEDDED_FAMILIES = new Set(['embedded', 'lwip', 'vxworks', 'threadx', 'nucleus', 'ecos', 'rtos', 'uc/os', 'freertos', 'zynos', 'jetdirect', 'contiki']);
const EMBEDDED_DEVICES = new Set(['printer', 'print server', 'webcam', 'power-device', 'media device', 'specialized', 'phone', 'voip phone', 'voip adapter', 'storage-misc', 'game console', 'terminal server', 'remote management', 'security-misc']);

/** Windows generation text (Class generation field) → family. */
function windowsFamily(generation: string): FamilyId {
  const g = generation.toLowerCase();
  if (/^(10|11|2016|2019|2022|2025)\b/.test(g)) return 'windows-10';
  if (/^(vista|7|8|8\.1|2008|2012|phone)\b/.test(g)) return 'windows-vista';
  return 'windows-xp'; // XP, 2003, 2000, NT, 95/98/Me, CE and unnamed older generations
}

/** The family of one Class line, or undefined when no rule knows it. */
export function familyOfClass(c: OsClass): FamilyId | undefined {
  const vendor = c.vendor.toLowerCase();
  const family = c.family.toLowerCase();
  if (vendor === 'microsoft' && family === 'windows') return windowsFamily(c.generation);
  if (vendor === 'cisco' && (family === 'ios' || family === 'ios xe' || family === 'cat os' || family === 'ios xr')) return 'cisco-ios';
  if (vendor === 'apple' || DARWIN_FAMILIES.has(family)) return vendor === 'cisco' ? undefined : 'darwin';
  if (LINUX_FAMILIES.has(family)) return 'linux';
  if (FREEBSD_FAMILIES.has(family)) return 'freebsd';
  if (family === 'openbsd') return 'openbsd';
  if (family === 'netbsd') return 'netbsd';
  if (SOLARIS_FAMILIES.has(family)) return 'solaris';
  if (EMBEDDED_FAMILIES.has(family)) return 'embedded';
  if (EMBEDDED_DEVICES.has(c.deviceType.toLowerCase())) return 'embedded';
  return undefined;
}

/** The family for a personality's classes (and CPEs: `cpe:/o:linux:linux_kernel` means Linux). */
export function familyOf(classes: readonly OsClass[], cpes: readonly string[] = []): FamilyId {
  // A Linux kernel anywhere in the entry is the most exact statement (devices often list their vendor first).
  if (classes.some((c) => familyOfClass(c) === 'linux') || cpes.some((cpe) => cpe.includes(':linux:linux_kernel'))) return 'linux';
  for (const c of classes) {
    const f = familyOfClass(c);
    if (f !== undefined) return f;
  }
  return DEFAULT_FAMILY;
}

export function behaviourOf(classes: readonly OsClass[], cpes: readonly string[] = []): FamilyBehaviour {
  return FAMILY_BEHAVIOURS[familyOf(classes, cpes)];
}
