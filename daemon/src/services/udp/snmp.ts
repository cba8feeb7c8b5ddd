/**
 * A small SNMP agent (RFC 1157 v1, RFC 3416 v2c) for `snmpget`/`snmpwalk`: GetRequest,
 * GetNextRequest and GetBulkRequest on the system group (1.3.6.1.2.1.1), with the configured
 * community (others get no answer, as net-snmp does; every community tried is a `service.login`).
 * sysDescr, sysObjectID and sysServices fit the host's OS personality (net-snmp's uname line on
 * Linux, Windows' "Hardware: … Software: Windows Version …", IOS's banner on Cisco). nmap's
 * SNMPv3GetRequest goes to the identity engine first.
 */
import type { SnmpOptions } from '../../config/mail-ftp-options';
import type { OsClass } from '../../personality/osdb/types';
import { hashString } from '../../personality/model/prng';
import { distroFromOsClass, hostProfile, hostnameFor } from '../interactive/host-profile';
import { windowsHostname } from '../tls/cert';
import type { DatagramService, Endpoint } from '../service';
import { AnswerBudget, answeredByIdentity, emitStep, type ResponderSettings } from './responder';

// ---- BER ----

export interface Tlv { tag: number; start: number; end: number; next: number }

/** One TLV at `i` inside `buf[..limit]`; undefined when malformed. */
export function readTlv(buf: Buffer, i: number, limit = buf.length): Tlv | undefined {
  if (i + 2 > limit) return undefined;
  const tag = buf[i] as number;
  let len = buf[i + 1] as number;
  let start = i + 2;
  if (len & 0x80) {
    const n = len & 0x7f;
    if (n === 0 || n > 3 || start + n > limit) return undefined;
    len = 0;
    for (let k = 0; k < n; k++) len = len * 256 + (buf[start + k] as number);
    start += n;
  }
  if (start + len > limit) return undefined;
  return { tag, start, end: start + len, next: start + len };
}

function readInt(buf: Buffer, t: Tlv): number {
  let v = 0;
  for (let k = t.start; k < t.end && k < t.start + 6; k++) v = v * 256 + (buf[k] as number);
  if (t.end > t.start && ((buf[t.start] as number) & 0x80)) v -= 2 ** (8 * Math.min(6, t.end - t.start));
  return v;
}

export function decodeOid(buf: Buffer, t: Tlv): number[] | undefined {
  if (t.end <= t.start || t.end - t.start > 128) return undefined;
  const first = buf[t.start] as number;
  const out = [Math.min(2, Math.floor(first / 40)), first - 40 * Math.min(2, Math.floor(first / 40))];
  let v = 0;
  for (let k = t.start + 1; k < t.end; k++) {
    const b = buf[k] as number;
    v = v * 128 + (b & 0x7f);
    if (!(b & 0x80)) { out.push(v); v = 0; }
  }
  return out;
}

function len(n: number): Buffer {
  if (n < 128) return Buffer.from([n]);
  if (n < 256) return Buffer.from([0x81, n]);
  return Buffer.from([0x82, n >> 8, n & 0xff]);
}

export function tlv(tag: number, body: Buffer): Buffer {
  return Buffer.concat([Buffer.from([tag]), len(body.length), body]);
}

export function berInt(v: number, tag = 0x02): Buffer {
  const bytes: number[] = [];
  let x = v;
  do { bytes.unshift(x & 0xff); x = Math.floor(x / 256); } while (x > 0 && bytes.length < 5);
  if (v >= 0 && ((bytes[0] as number) & 0x80)) bytes.unshift(0);
  return tlv(tag, Buffer.from(bytes));
}

export function encodeOid(oid: readonly number[]): Buffer {
  const bytes: number[] = [40 * (oid[0] ?? 1) + (oid[1] ?? 3)];
  for (const n of oid.slice(2)) {
    const part: number[] = [n & 0x7f];
    for (let x = Math.floor(n / 128); x > 0; x = Math.floor(x / 128)) part.unshift((x & 0x7f) | 0x80);
    bytes.push(...part);
  }
  return tlv(0x06, Buffer.from(bytes));
}

// ---- the system group ----

export const SYSTEM = [1, 3, 6, 1, 2, 1, 1];

export interface SystemGroup { descr: string; objectId: number[]; contact: string; name: string; location: string; services: number; bootTime: number }

function compareOid(a: readonly number[], b: readonly number[]): number {
  for (let i = 0; i < Math.min(a.length, b.length); i++) if (a[i] !== b[i]) return (a[i] as number) - (b[i] as number);
  return a.length - b.length;
}

function systemValues(g: SystemGroup, now: number): Array<{ oid: number[]; value: Buffer }> {
  const str = (s: string): Buffer => tlv(0x04, Buffer.from(s, 'latin1'));
  return [
    { oid: [...SYSTEM, 1, 0], value: str(g.descr) },
    { oid: [...SYSTEM, 2, 0], value: encodeOid(g.objectId) },
    { oid: [...SYSTEM, 3, 0], value: berInt(Math.floor((now - g.bootTime) / 10) % 2 ** 32, 0x43) },
    { oid: [...SYSTEM, 4, 0], value: str(g.contact) },
    { oid: [...SYSTEM, 5, 0], value: str(g.name) },
    { oid: [...SYSTEM, 6, 0], value: str(g.location) },
    { oid: [...SYSTEM, 7, 0], value: berInt(g.services) },
  ];
}

/** What the host's agent says about itself, from its OS class. */
export function systemGroupFor(os: OsClass | undefined, seed: number, o: SnmpOptions, now = Date.now()): SystemGroup {
  const windows = os?.vendor === 'Microsoft';
  const cisco = os?.vendor === 'Cisco';
  const name = o.sysName ?? (windows ? windowsHostname(seed) : cisco ? `${hostnameFor(seed)}-sw` : hostnameFor(seed));
  const profile = hostProfile(distroFromOsClass(os), seed, name, now);
  let descr: string;
  let objectId: number[];
  let services = 72;
  if (windows) {
    const g = os?.generation ?? '';
    const build = /XP|2003/.test(g) ? 'Windows 2000 Version 5.1 (Build 2600 Uniprocessor Free)' : /7|2008|Vista/.test(g) ? 'Windows Version 6.1 (Build 7601 Multiprocessor Free)' : 'Windows Version 6.3 (Build 17763 Multiprocessor Free)';
    descr = `Hardware: Intel64 Family 6 Model 85 Stepping 7 AT/AT COMPATIBLE - Software: ${build}`;
    objectId = [1, 3, 6, 1, 4, 1, 311, 1, 1, 3, 1, /Server|20\d\d/.test(g) ? 2 : 1];
    services = 76;
  } else if (cisco) {
    descr = 'Cisco IOS Software, C2960 Software (C2960-LANBASEK9-M), Version 15.0(2)SE11, RELEASE SOFTWARE (fc3)\r\nTechnical Support: http://www.cisco.com/techsupport\r\nCopyright (c) 1986-2017 by Cisco Systems, Inc.\r\nCompiled Sat 19-Aug-17 09:34 by prod_rel_team';
    objectId = [1, 3, 6, 1, 4, 1, 9, 1, 1208];
    services = 6;
  } else {
    // net-snmp: sysname nodename release version machine, from uname(2).
    descr = profile.uname.replace(/ (x86_64|armv7l)(?: \1)*(?: GNU\/Linux)?$/, ' $1');
    objectId = [1, 3, 6, 1, 4, 1, 8072, 3, 2, 10];
  }
  return {
    descr: o.sysDescr ?? descr, objectId, name, services, bootTime: profile.bootTime,
    contact: o.sysContact ?? (windows || cisco ? '' : 'Me <me@example.org>'),
    location: o.sysLocation ?? (windows || cisco ? '' : 'Sitting on the Dock of the Bay'),
  };
}

export interface SnmpRequest { version: number; community: string; pduType: number; requestId: number; nonRepeaters: number; maxRepetitions: number; oids: number[][] }

/** A v1/v2c Get/GetNext/GetBulk request; undefined for anything else (v3, traps, garbage). */
export function parseSnmpRequest(buf: Buffer): SnmpRequest | undefined {
  const msg = readTlv(buf, 0);
  if (msg === undefined || msg.tag !== 0x30) return undefined;
  const ver = readTlv(buf, msg.start, msg.end);
  if (ver === undefined || ver.tag !== 0x02) return undefined;
  const version = readInt(buf, ver);
  if (version !== 0 && version !== 1) return undefined;
  const comm = readTlv(buf, ver.next, msg.end);
  if (comm === undefined || comm.tag !== 0x04) return undefined;
  const pdu = readTlv(buf, comm.next, msg.end);
  if (pdu === undefined || (pdu.tag !== 0xa0 && pdu.tag !== 0xa1 && !(pdu.tag === 0xa5 && version === 1))) return undefined;
  const id = readTlv(buf, pdu.start, pdu.end);
  const e1 = id && readTlv(buf, id.next, pdu.end);
  const e2 = e1 && readTlv(buf, e1.next, pdu.end);
  const list = e2 && readTlv(buf, e2.next, pdu.end);
  if (!id || !e1 || !e2 || !list || list.tag !== 0x30) return undefined;
  const oids: number[][] = [];
  for (let i = list.start; i < list.end && oids.length < 64;) {
    const vb = readTlv(buf, i, list.end);
    if (vb === undefined || vb.tag !== 0x30) return undefined;
    const o = readTlv(buf, vb.start, vb.end);
    if (o === undefined || o.tag !== 0x06) return undefined;
    const oid = decodeOid(buf, o);
    if (oid === undefined) return undefined;
    oids.push(oid);
    i = vb.next;
  }
  return {
    version, community: buf.toString('latin1', comm.start, comm.end), pduType: pdu.tag, requestId: readInt(buf, id),
    nonRepeaters: pdu.tag === 0xa5 ? readInt(buf, e1) : 0, maxRepetitions: pdu.tag === 0xa5 ? Math.min(16, Math.max(0, readInt(buf, e2))) : 0, oids,
  };
}

/** The GetResponse for a request against the system group. */
export function snmpResponse(req: SnmpRequest, g: SystemGroup, now = Date.now()): Buffer {
  const values = systemValues(g, now);
  const v2 = req.version === 1;
  let errorStatus = 0;
  let errorIndex = 0;
  const binds: Buffer[] = [];
  const bind = (oid: readonly number[], value: Buffer): void => { binds.push(tlv(0x30, Buffer.concat([encodeOid(oid), value]))); };
  const nextOf = (oid: readonly number[]): { oid: number[]; value: Buffer } | undefined => values.find((v) => compareOid(v.oid, oid) > 0);
  req.oids.forEach((oid, i) => {
    if (req.pduType === 0xa0) {
      const hit = values.find((v) => compareOid(v.oid, oid) === 0);
      if (hit) bind(oid, hit.value);
      else if (v2) bind(oid, Buffer.from([compareOid(oid.slice(0, SYSTEM.length + 1), oid) === 0 || oid.length <= SYSTEM.length + 1 ? 0x80 : 0x80, 0]));
      else { bind(oid, Buffer.from([0x05, 0])); if (errorStatus === 0) { errorStatus = 2; errorIndex = i + 1; } }
      return;
    }
    const reps = req.pduType === 0xa5 && i >= req.nonRepeaters ? Math.max(1, req.maxRepetitions) : 1;
    let at: readonly number[] = oid;
    for (let r = 0; r < reps; r++) {
      const n = nextOf(at);
      if (n === undefined) {
        if (v2) bind(at, Buffer.from([0x82, 0]));
        else { bind(oid, Buffer.from([0x05, 0])); if (errorStatus === 0) { errorStatus = 2; errorIndex = i + 1; } }
        break;
      }
      bind(n.oid, n.value);
      at = n.oid;
    }
  });
  const pdu = tlv(0xa2, Buffer.concat([berInt(req.requestId), berInt(errorStatus), berInt(errorIndex), tlv(0x30, Buffer.concat(binds))]));
  return tlv(0x30, Buffer.concat([berInt(req.version), tlv(0x04, Buffer.from(req.community, 'latin1')), pdu]));
}

const PDU_NAMES: Record<number, string> = { 0xa0: 'GetRequest', 0xa1: 'GetNextRequest', 0xa5: 'GetBulkRequest' };
const MAX_GROUPS = 4096;

export class SnmpDatagramService implements DatagramService {
  readonly name = 'snmp';
  private readonly budget: AnswerBudget;
  private readonly groups = new Map<string, SystemGroup>();

  constructor(private readonly s: ResponderSettings & { snmp: SnmpOptions }) {
    this.budget = new AnswerBudget(s.snmp.maxAnswersPerSecond);
  }

  groupFor(address: string): SystemGroup {
    let g = this.groups.get(address);
    if (g === undefined) {
      g = systemGroupFor(this.s.osClass, hashString(`${address}\u0000${this.s.templateName}\u0000snmp`, this.s.deploymentSeed), this.s.snmp);
      if (this.groups.size >= MAX_GROUPS) this.groups.delete(this.groups.keys().next().value as string);
      this.groups.set(address, g);
    }
    return g;
  }

  onDatagram(data: Buffer, remote: Endpoint, local: Endpoint, reply: (data: Buffer) => void): void {
    if (!this.budget.take(remote.address)) return;
    if (answeredByIdentity(this.s.probeAnswer, data, remote, local, reply)) return;
    const req = parseSnmpRequest(data);
    if (req === undefined) return;
    const ok = req.community === this.s.snmp.community;
    const product = this.s.identity.product;
    emitStep(this.s.events, 'service.login', remote, local, 'snmp', product, { authMethod: req.version === 0 ? 'community v1' : 'community v2c', password: req.community, result: ok ? 'accepted' : 'refused' });
    if (!ok) return;
    emitStep(this.s.events, 'service.request', remote, local, 'snmp', product, { method: PDU_NAMES[req.pduType] ?? 'unknown', path: req.oids.map((o) => o.join('.')).join(' ') });
    reply(snmpResponse(req, this.groupFor(local.address)));
  }
}
