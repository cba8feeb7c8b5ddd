/**
 * A small authoritative DNS responder (RFC 1035) for `dig @decoy`: A records from the config
 * (authoritative answers, NXDOMAIN for other names of those zones), `version.bind` /
 * `version.server` / `hostname.bind` CHAOS TXT answers fitting the configured product, REFUSED for
 * everything else (a server with recursion off), FORMERR for malformed queries, NOTIMP for other
 * opcodes. Never recursive: decoyd asks no other server. nmap's DNSVersionBindReq goes to the
 * identity engine first, so `nmap -sV` prints what it always did.
 */
import type { DnsOptions } from '../../config/mail-ftp-options';
import { SeededRandom, hashString } from '../../personality/model/prng';
import { hostnameFor } from '../interactive/host-profile';
import type { DatagramService, Endpoint } from '../service';
import { AnswerBudget, answeredByIdentity, emitStep, type ResponderSettings } from './responder';

export interface DnsQuestion { id: number; flags: number; name: string; type: number; qclass: number; questionEnd: number; opcode: number }

const TYPE_NAMES: Record<number, string> = { 1: 'A', 2: 'NS', 5: 'CNAME', 6: 'SOA', 12: 'PTR', 15: 'MX', 16: 'TXT', 28: 'AAAA', 33: 'SRV', 255: 'ANY', 252: 'AXFR' };

/** The one question of a query; undefined for a datagram that is not a query decoyd can read. */
export function parseDnsQuery(buf: Buffer): DnsQuestion | 'formerr' | undefined {
  if (buf.length < 12) return undefined;
  const flags = buf.readUInt16BE(2);
  if ((flags & 0x8000) !== 0) return undefined; // a response: never answered
  const opcode = (flags >> 11) & 0xf;
  if (buf.readUInt16BE(4) !== 1) return 'formerr';
  let i = 12;
  const labels: string[] = [];
  for (;;) {
    if (i >= buf.length) return 'formerr';
    const len = buf[i] as number;
    if (len === 0) { i++; break; }
    if (len > 63 || i + 1 + len > buf.length) return 'formerr';
    labels.push(buf.toString('latin1', i + 1, i + 1 + len));
    i += 1 + len;
    if (i > 12 + 255) return 'formerr';
  }
  if (i + 4 > buf.length) return 'formerr';
  return { id: buf.readUInt16BE(0), flags, name: labels.join('.').toLowerCase(), type: buf.readUInt16BE(i), qclass: buf.readUInt16BE(i + 2), questionEnd: i + 4, opcode };
}

/** The TXT answer of version.bind for a product (what the real server says by default). */
export function versionText(product: string, version: string | undefined): string {
  const v = version ?? '';
  if (/dnsmasq/i.test(product)) return `dnsmasq-${v || '2.89'}`;
  if (/PowerDNS/i.test(product)) return `PowerDNS Authoritative Server ${v || '4.7.3'}`;
  if (/Unbound/i.test(product)) return `unbound ${v || '1.17.1'}`;
  return v || '9.18.19-1~deb12u1-Debian';
}

export function buildDnsAnswer(query: Buffer, q: DnsQuestion, rcode: number, aa: boolean, answer?: { type: number; qclass: number; ttl: number; rdata: Buffer }): Buffer {
  const head = Buffer.from(query.subarray(0, q.questionEnd));
  // QR, the opcode and RD as asked; AA when authoritative; RA off (no recursion).
  head.writeUInt16BE(0x8000 | (q.flags & 0x7900) | (aa ? 0x0400 : 0) | (rcode & 0xf), 2);
  head.writeUInt16BE(answer === undefined ? 0 : 1, 6);
  head.writeUInt16BE(0, 8);
  head.writeUInt16BE(0, 10);
  if (answer === undefined) return head;
  const rr = Buffer.alloc(12);
  rr.writeUInt16BE(0xc00c, 0);
  rr.writeUInt16BE(answer.type, 2);
  rr.writeUInt16BE(answer.qclass, 4);
  rr.writeUInt32BE(answer.ttl, 6);
  rr.writeUInt16BE(answer.rdata.length, 10);
  return Buffer.concat([head, rr, answer.rdata]);
}

function txt(text: string): Buffer {
  const b = Buffer.from(text.slice(0, 255), 'latin1');
  return Buffer.concat([Buffer.from([b.length]), b]);
}

export function dnsAnswer(query: Buffer, records: Record<string, string>, version: string, hostname: string): { reply?: Buffer; q?: DnsQuestion; rcode: number } {
  const q = parseDnsQuery(query);
  if (q === undefined) return { rcode: -1 };
  if (q === 'formerr') {
    const head = Buffer.from(query.subarray(0, 12));
    head.writeUInt16BE(0x8000 | (head.readUInt16BE(2) & 0x7900) | 1, 2);
    head.fill(0, 4, 12);
    return { reply: head, rcode: 1 };
  }
  if (q.opcode !== 0) return { reply: buildDnsAnswer(query, q, 4, false), q, rcode: 4 };
  if (q.qclass === 3 && q.type === 16 && (q.name === 'version.bind' || q.name === 'version.server')) return { reply: buildDnsAnswer(query, q, 0, true, { type: 16, qclass: 3, ttl: 0, rdata: txt(version) }), q, rcode: 0 };
  if (q.qclass === 3 && q.type === 16 && (q.name === 'hostname.bind' || q.name === 'id.server')) return { reply: buildDnsAnswer(query, q, 0, true, { type: 16, qclass: 3, ttl: 0, rdata: txt(hostname) }), q, rcode: 0 };
  const name = q.name.replace(/\.$/, '');
  const address = records[name];
  if (q.qclass === 1 && address !== undefined) {
    if (q.type === 1 || q.type === 255) {
      const rdata = Buffer.from(address.split('.').map(Number));
      return { reply: buildDnsAnswer(query, q, 0, true, { type: 1, qclass: 1, ttl: 3600, rdata }), q, rcode: 0 };
    }
    return { reply: buildDnsAnswer(query, q, 0, true), q, rcode: 0 }; // NODATA
  }
  const zones = new Set(Object.keys(records).map((n) => n.split('.').slice(1).join('.')).filter((z) => z !== ''));
  const inZone = [...zones].some((z) => name === z || name.endsWith(`.${z}`));
  if (q.qclass === 1 && inZone) return { reply: buildDnsAnswer(query, q, 3, true), q, rcode: 3 };
  return { reply: buildDnsAnswer(query, q, 5, false), q, rcode: 5 };
}

export class DnsDatagramService implements DatagramService {
  readonly name = 'domain';
  private readonly budget: AnswerBudget;
  private readonly version: string;

  constructor(private readonly s: ResponderSettings & { dns: DnsOptions }) {
    this.budget = new AnswerBudget(s.dns.maxAnswersPerSecond);
    this.version = versionText(s.identity.product, s.identity.version);
  }

  onDatagram(data: Buffer, remote: Endpoint, local: Endpoint, reply: (data: Buffer) => void): void {
    if (!this.budget.take(remote.address)) return;
    if (answeredByIdentity(this.s.probeAnswer, data, remote, local, reply)) return;
    const seed = hashString(`${local.address}\u0000${this.s.templateName}\u0000dns`, this.s.deploymentSeed);
    const hostname = this.s.identity.hostname ?? hostnameFor(SeededRandom.derive(seed, 'x').int(0, 0x7fffffff));
    const a = dnsAnswer(data, this.s.dns.records, this.version, hostname);
    if (a.reply === undefined) return;
    reply(a.reply);
    emitStep(this.s.events, 'service.request', remote, local, 'dns', this.s.identity.product, {
      method: a.q === undefined ? 'FORMERR' : TYPE_NAMES[a.q.type] ?? String(a.q.type), ...(a.q !== undefined ? { path: a.q.name } : {}), status: a.rcode,
    });
  }
}
