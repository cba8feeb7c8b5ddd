import { parseArgs } from 'node:util';
import type { ServiceIdentitySpec } from '../config/types';
import type { EventSink } from '../events/event';
import { identityProblem } from '../services/identity/check';
import { deploymentSeed } from '../services/identity/deployment-seed';
import { IdentityDatagramService, IdentityStreamService } from '../services/identity/identity-service';
import { serviceNameOf } from '../services/identity/synthesize';
import { serviceProbes } from '../services/probes/catalog';
import { probeOrder } from '../services/probes/matcher';
import { DEFAULT_SERVICE_PROBES_FILE } from '../services/probes/service-probes';

const USAGE = 'usage: decoyd services search TEXT | show "PROTO/PORT NAME PRODUCT [VERSION]" [--address IP] [--template NAME] [--seed TEXT] [--probes FILE]';
const MAX_SEARCH_LINES = 200;
const NO_EVENTS: EventSink = { wants: () => false, emit: () => {} };

/** Bytes as a C-style escaped string: printable ASCII as is, everything else \r \n \t \0 \xHH. */
export function escapeBytes(text: string): string {
  let out = '';
  for (const ch of text) {
    const c = ch.charCodeAt(0);
    if (ch === '\r') out += '\\r';
    else if (ch === '\n') out += '\\n';
    else if (ch === '\t') out += '\\t';
    else if (ch === '\\') out += '\\\\';
    else if (ch === '"') out += '\\"';
    else if (c === 0) out += '\\0';
    else if (c < 0x20 || c >= 0x7f) out += `\\x${c.toString(16).padStart(2, '0')}`;
    else out += ch;
  }
  return out;
}

/** `tcp/21 ftp "ProFTPD" 1.3.5` → proto, port and the identity (quotes group words). */
export function parseServiceSpec(text: string): { proto: 'tcp' | 'udp'; port: number; spec: ServiceIdentitySpec } {
  const words = [...text.matchAll(/"([^"]*)"|(\S+)/g)].map((m) => m[1] ?? m[2]);
  const m = /^(tcp|udp)\/(\d{1,5})$/.exec(words[0] ?? '');
  if (m === null || words.length < 3) throw new Error(`expected "PROTO/PORT NAME PRODUCT [VERSION]", got ${JSON.stringify(text)}`);
  const port = Number(m[2]);
  if (port < 1 || port > 65535) throw new Error(`port ${port} out of range`);
  const name = words[1];
  const spec: ServiceIdentitySpec = { name, product: words[2], tls: name === 'https' || name.startsWith('ssl/') };
  if (words.length > 3) spec.version = words.slice(3).join(' ');
  return { proto: m[1] as 'tcp' | 'udp', port, spec };
}

/** `decoyd services search TEXT` and `decoyd services show SPEC`. */
export function servicesCommand(argv: string[]): void {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      probes: { type: 'string', default: DEFAULT_SERVICE_PROBES_FILE },
      address: { type: 'string', default: '198.51.100.10' },
      template: { type: 'string', default: 'default' },
      seed: { type: 'string' },
    },
  });
  const [sub, ...words] = positionals;
  const text = words.join(' ');
  if ((sub !== 'search' && sub !== 'show') || text === '') {
    process.stderr.write(`decoyd: ${USAGE}\n`);
    process.exit(2);
  }
  const file = serviceProbes(values.probes);

  if (sub === 'search') {
    const needle = text.toLowerCase();
    const lines: string[] = [];
    let total = 0;
    for (const probe of file.probes) {
      for (const rule of probe.rules) {
        const p = rule.info.p;
        if (rule.soft || p === undefined || !p.toLowerCase().includes(needle)) continue;
        total++;
        if (lines.length >= MAX_SEARCH_LINES) continue;
        const version = rule.info.v === undefined ? '-' : rule.info.v.includes('$') ? `v/${rule.info.v}/ (configurable)` : `"${rule.info.v}"`;
        lines.push(`${p.padEnd(40)} ${`${probe.proto}/${rule.service}`.padEnd(20)} probe ${probe.name.padEnd(18)} line ${String(rule.line).padEnd(6)} version ${version}`);
      }
    }
    process.stdout.write(lines.join('\n') + (lines.length > 0 ? '\n' : ''));
    if (total > lines.length) process.stdout.write(`… ${total - lines.length} more; narrow the search\n`);
    if (total === 0) process.stdout.write(`no rule in ${file.file} prints a product containing "${text}"\n`);
    return;
  }

  const { proto, port, spec } = parseServiceSpec(text);
  const problem = identityProblem(file, proto, port, spec);
  if (problem !== undefined) {
    process.stderr.write(`decoyd: ${problem}\n`);
    process.exit(2);
  }
  const opts = { file, spec, port, templateName: values.template, deploymentSeed: deploymentSeed(values.seed), events: NO_EVENTS };
  const service = proto === 'tcp' ? new IdentityStreamService(opts) : new IdentityDatagramService(opts);
  const plan = service.planFor(values.address);
  if (plan === undefined) throw new Error(`no plan for ${values.address}`);
  const order = probeOrder(file, proto, port, spec.tls);
  const out: string[] = [
    `${proto}/${port} on ${values.address} (template ${values.template}): ${plan.tls ? 'ssl/' : ''}${serviceNameOf(spec) ?? plan.rule.service} "${spec.product}"${spec.version === undefined ? '' : ' ' + spec.version}`,
    `rule      ${file.file}:${plan.rule.line}  ${plan.rule.soft ? 'softmatch' : 'match'} ${plan.rule.service} m|${plan.rule.pattern}|${plan.rule.caseless ? 'i' : ''}${plan.rule.dotall ? 's' : ''}`,
    `nmap prints ${Object.entries(plan.printed).map(([k, v]) => `${k}/${v}/`).join(' ')}`,
  ];
  if (plan.tls) out.push('tls       real handshake (node:tls), self-signed certificate for this host; the probes below run inside it');
  for (const probe of order.slice(0, plan.position + 1)) {
    if (probe === plan.probe) {
      const when = probe.name === 'NULL' ? 'on connect' : `on "${escapeBytes(probe.payload.slice(0, 40))}${probe.payload.length > 40 ? '…' : ''}"`;
      out.push(`${probe.name.padEnd(22)} ${when}: "${escapeBytes(plan.response)}"${plan.dateAt !== undefined ? ' (Date refreshed when sent)' : ''}${plan.nonces !== undefined ? ' (salts drawn per connection)' : ''}`);
    } else {
      out.push(`${probe.name.padEnd(22)} ${proto === 'tcp' ? 'quiet, connection kept open' : 'no answer'}`);
    }
  }
  process.stdout.write(out.join('\n') + '\n');
}
