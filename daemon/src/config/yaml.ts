/**
 * YAML front end: turns a decoyd YAML file into a DecoydConfig plus source positions.
 * Shape errors (unknown keys, wrong types, bad addresses, duplicate ports) are found here;
 * cross-references are checked afterwards by validate.ts, the same code the Honeyd front end uses.
 */

import path from 'node:path';
import { IssueList } from './errors';
import {
  DEFAULT_TEMPLATE_NAME,
  TEMPLATE_NAME_PATTERN,
  checkDhcpHostname,
  checkIpv4,
  emptyConfig,
  emptyOrigins,
  isLogLevel,
  isProto,
  newTemplate,
  parseCidrStrict,
  parseIcmpAction,
  parsePortAction,
  type ParsedConfig,
} from './model';
import { noteFeature } from './runtime-support';
import { isActionValue, readActionService, readProxyAllow } from './yaml-actions';
import { DEFAULT_CLAIM, DEFAULT_DETECT, DEFAULT_LIMITS, DETECT_RANGES, DEFAULT_STORE_SETTINGS, type AdminSettings, type StoreSettings, type ClaimSettings, type DetectConfig, type DhcpBinding, type DynamicCondition, type Limits, type PortRule, type ServiceIdentitySpec, type ServiceSpec, type TemplateConfig } from './types';
import { loadYamlWithPositions, type KeyPath } from './yaml-positions';
import { YamlReader, isMapping, type YamlMapping } from './yaml-reader';
import { readTopology } from './yaml-topology';
import { readShip } from './yaml-ship';
import { readSshTelnet } from './yaml-ssh-telnet';
import { readHttpService } from './yaml-http';
import { isMailFtpEmulator, readMailFtpService } from './yaml-mail-ftp';

const TOP_KEYS = ['interface', 'templates', 'hosts', 'claim', 'dhcp', 'limits', 'claim_settings', 'osdb', 'mac_prefixes', 'service_probes', 'p0f_fp', 'service_seed', 'log', 'topology', 'detect', 'store', 'capture', 'admin', 'sensor', 'ship', 'proxy_allow'] as const;
const TEMPLATE_KEYS = ['personality', 'ethernet', 'uptime', 'droprate_in', 'droprate_syn', 'uid', 'gid', 'defaults', 'ports', 'dynamic', 'subsystems', 'maxfds', 'default_service'] as const;
const CONDITION_KEYS = ['source_os', 'source_ip', 'time', 'proto'] as const;
/** uid/gid: 0 is refused as Honeyd refuses it (scripts never run as root). */
const MAX_ID = 0xfffffffe;
const PORT_KEYS = ['proto', 'port', 'action', 'service'] as const;
const PORT_ACTIONS = 'open, reset (or closed) or block (or filtered)';
/** Linux interface names: at most 15 bytes, no slash or blank. */
const INTERFACE_PATTERN = /^[A-Za-z0-9_.:@\-]{1,15}$/;
/** Upper bound for `uptime`: 2^32 s keeps TCP timestamp arithmetic in range at any rate nmap knows. */
const MAX_UPTIME_SECONDS = 0xffffffff;

/** Parses YAML text read from `file`; problems go to `issues`, the result is best effort. */
export function parseYamlConfig(text: string, file: string, issues: IssueList): ParsedConfig {
  const config = emptyConfig(file);
  const origins = emptyOrigins();
  const parsed: ParsedConfig = { config, origins };
  const loaded = loadYamlWithPositions(text, file, issues);
  if (!loaded) return parsed;
  const r = new YamlReader(file, loaded.positions, issues);
  if (loaded.doc === undefined || loaded.doc === null) {
    r.error([], 'the file is empty; expected a mapping with "templates" and "hosts" or "claim"');
    return parsed;
  }
  const top = r.mapping(loaded.doc, [], TOP_KEYS);
  if (!top) return parsed;
  const baseDir = path.dirname(file);

  if (top.interface !== undefined) {
    const name = r.string(top.interface, ['interface']);
    if (name !== undefined && !INTERFACE_PATTERN.test(name)) r.error(['interface'], `"${name}" is not a valid interface name`);
    else if (name !== undefined) config.interface = name;
  }
  if (top.templates !== undefined) readTemplates(r, top.templates, parsed, issues);
  if (top.hosts !== undefined) readHosts(r, top.hosts, parsed);
  if (top.claim !== undefined) readClaims(r, top.claim, parsed);
  if (top.dhcp !== undefined) readDhcp(r, top.dhcp, parsed);
  if (top.limits !== undefined) config.limits = readLimits(r, top.limits);
  if (top.claim_settings !== undefined) config.claim = readClaimSettings(r, top.claim_settings);
  if (top.topology !== undefined) config.topology = readTopology(r, top.topology);
  if (top.osdb !== undefined) {
    const files = r.list(top.osdb, ['osdb']);
    if (files) {
      config.osDb = [];
      origins.osDb = [];
      files.forEach((entry, i) => {
        const file = r.string(entry, ['osdb', i]);
        if (file === undefined) return;
        config.osDb.push(path.resolve(baseDir, file));
        origins.osDb.push(r.located(['osdb', i]));
      });
      if (files.length === 0) r.error(['osdb'], 'expected at least one nmap-os-db file');
    }
  }
  if (top.mac_prefixes !== undefined) {
    const file = r.string(top.mac_prefixes, ['mac_prefixes']);
    if (file !== undefined) {
      config.macPrefixes = path.resolve(baseDir, file);
      origins.macPrefixes = r.located(['mac_prefixes']);
    }
  }
  if (top.service_probes !== undefined) {
    const file = r.string(top.service_probes, ['service_probes']);
    if (file !== undefined) config.serviceProbes = path.resolve(baseDir, file);
  }
  if (top.p0f_fp !== undefined) {
    const file = r.string(top.p0f_fp, ['p0f_fp']);
    if (file !== undefined) config.p0fDatabase = path.resolve(baseDir, file);
  }
  if (top.service_seed !== undefined) {
    const seed = r.string(top.service_seed, ['service_seed']);
    if (seed !== undefined) config.serviceSeed = seed;
  }
  if (top.detect !== undefined) config.detect = readDetect(r, top.detect);
  if (top.log !== undefined) {
    const log = r.mapping(top.log, ['log'], ['level']);
    if (log && log.level !== undefined) {
      const level = r.word(log.level, ['log', 'level'], (w) => (isLogLevel(w) ? w : undefined), 'trace, debug, info, warn or error');
      if (level) config.log.level = level;
    }
  }
  if (top.store !== undefined) config.store = readStore(r, top.store, baseDir);
  if (top.admin !== undefined) config.admin = readAdmin(r, top.admin, baseDir);
  if (top.ship !== undefined) config.ship = readShip(r, top.ship, baseDir);
  // The PostgreSQL shipper's outbox is the embedded store.
  (config.ship ?? []).forEach((s, k) => {
    if (s.kind === 'postgres' && config.store === undefined) r.error(['ship', k, 'kind'], 'kind: postgres ships from the embedded store: add store: { path: DIR }');
  });
  if (top.proxy_allow !== undefined) config.proxyAllow = readProxyAllow(r, top.proxy_allow); // Honeyd proxy actions (yaml-actions.ts)
  if (top.capture !== undefined) {
    const m = r.mapping(top.capture, ['capture'], ['dir', 'maxFileBytes', 'maxFiles', 'bufferBytes'], ['dir']);
    const dir = m?.dir === undefined ? undefined : r.string(m.dir, ['capture', 'dir']);
    if (m && dir !== undefined) {
      const capture = { dir: path.resolve(baseDir, dir), maxFileBytes: 64 << 20, maxFiles: 8, bufferBytes: 16 << 20 };
      if (m.maxFileBytes !== undefined) capture.maxFileBytes = r.integer(m.maxFileBytes, ['capture', 'maxFileBytes'], 2 ** 18, 2 ** 40) ?? capture.maxFileBytes;
      if (m.maxFiles !== undefined) capture.maxFiles = r.integer(m.maxFiles, ['capture', 'maxFiles'], 1, 100_000) ?? capture.maxFiles;
      if (m.bufferBytes !== undefined) capture.bufferBytes = r.integer(m.bufferBytes, ['capture', 'bufferBytes'], 2 ** 18, 2 ** 32) ?? capture.bufferBytes;
      config.capture = capture;
    }
  }
  if (top.sensor !== undefined) {
    const m = r.mapping(top.sensor, ['sensor'], ['name', 'id']);
    if (m) {
      const name = m.name === undefined ? undefined : r.string(m.name, ['sensor', 'name']);
      const id = m.id === undefined ? undefined : r.string(m.id, ['sensor', 'id']);
      config.sensor = { ...(name === undefined ? {} : { name }), ...(id === undefined ? {} : { id }) };
    }
  }
  return parsed;
}

function readStore(r: YamlReader, value: unknown, baseDir: string): StoreSettings | undefined {
  const m = r.mapping(value, ['store'], ['path', 'flushIntervalMs', 'retention', 'queueLimit'], ['path']);
  if (!m || m.path === undefined) return undefined;
  const dir = r.string(m.path, ['store', 'path']);
  if (dir === undefined) return undefined;
  const store: StoreSettings = { path: path.resolve(baseDir, dir), ...DEFAULT_STORE_SETTINGS, retention: { ...DEFAULT_STORE_SETTINGS.retention } };
  if (m.flushIntervalMs !== undefined) store.flushIntervalMs = r.integer(m.flushIntervalMs, ['store', 'flushIntervalMs'], 10, 1000) ?? store.flushIntervalMs;
  if (m.queueLimit !== undefined) store.queueLimit = r.integer(m.queueLimit, ['store', 'queueLimit'], 1, 100_000_000) ?? store.queueLimit;
  if (m.retention !== undefined) {
    const ret = r.mapping(m.retention, ['store', 'retention'], ['maxAgeDays', 'maxBytes']);
    if (ret?.maxAgeDays !== undefined) store.retention.maxAgeDays = r.number(ret.maxAgeDays, ['store', 'retention', 'maxAgeDays'], 0, 36500) ?? store.retention.maxAgeDays;
    if (ret?.maxBytes !== undefined) store.retention.maxBytes = r.integer(ret.maxBytes, ['store', 'retention', 'maxBytes'], 0, Number.MAX_SAFE_INTEGER) ?? store.retention.maxBytes;
  }
  return store;
}

function readAdmin(r: YamlReader, value: unknown, baseDir: string): AdminSettings | undefined {
  const m = r.mapping(value, ['admin'], ['listen', 'token_file', 'tls_cert', 'tls_key']);
  if (!m) return undefined;
  const admin: AdminSettings = { listen: '127.0.0.1:8080' };
  if (m.listen !== undefined) {
    const listen = r.string(m.listen, ['admin', 'listen']);
    if (listen !== undefined && parseListen(listen) === undefined) r.error(['admin', 'listen'], `expected HOST:PORT with an IPv4 host, got "${listen}"`);
    else if (listen !== undefined) admin.listen = listen;
  }
  if (m.token_file !== undefined) {
    const file = r.string(m.token_file, ['admin', 'token_file']);
    if (file !== undefined) admin.tokenFile = path.resolve(baseDir, file);
  }
  // TLS needs both halves: a certificate without its key (or the reverse) is a mistake, not plain HTTP.
  const cert = m.tls_cert === undefined ? undefined : r.string(m.tls_cert, ['admin', 'tls_cert']);
  const key = m.tls_key === undefined ? undefined : r.string(m.tls_key, ['admin', 'tls_key']);
  if (cert !== undefined && key !== undefined) admin.tls = { certFile: path.resolve(baseDir, cert), keyFile: path.resolve(baseDir, key) };
  else if (cert !== undefined) r.error(['admin', 'tls_key'], 'tls_cert is set but tls_key is not: give both, or neither for plain HTTP');
  else if (key !== undefined) r.error(['admin', 'tls_cert'], 'tls_key is set but tls_cert is not: give both, or neither for plain HTTP');
  return admin;
}

/** `HOST:PORT` with a dotted IPv4 host (or `localhost`). */
export function parseListen(text: string): { host: string; port: number } | undefined {
  const m = /^(localhost|\d{1,3}(?:\.\d{1,3}){3}):(\d{1,5})$/.exec(text);
  if (m === null) return undefined;
  const port = Number(m[2]);
  if (port < 1 || port > 65535) return undefined;
  if (m[1] !== 'localhost' && checkIpv4(m[1] as string) !== undefined) return undefined;
  return { host: m[1] as string, port };
}

function readTemplates(r: YamlReader, value: unknown, parsed: ParsedConfig, issues: IssueList): void {
  const templates = r.anyMapping(value, ['templates']);
  if (!templates) return;
  for (const [name, body] of Object.entries(templates)) {
    const at: KeyPath = ['templates', name];
    if (!TEMPLATE_NAME_PATTERN.test(name)) {
      r.error(at, `template names start with a letter and use letters, digits, "_", "-" and "."`, true);
      continue;
    }
    const tmpl = newTemplate(name);
    parsed.origins.templates.set(name, r.located(at));
    parsed.config.templates.set(name, tmpl);
    // `web:` with nothing under it is a template with all defaults.
    if (body === null) continue;
    const fields = r.mapping(body, at, TEMPLATE_KEYS);
    if (fields && fields.dynamic !== undefined) readDynamic(r, at, fields, tmpl, issues);
    else if (fields) readTemplateFields(r, at, fields, tmpl, parsed, issues);
  }
}

function readTemplateFields(r: YamlReader, at: KeyPath, fields: YamlMapping, tmpl: TemplateConfig, parsed: ParsedConfig, issues: IssueList): void {
  if (fields.personality !== undefined) {
    const personality = r.string(fields.personality, [...at, 'personality']);
    if (personality !== undefined) {
      tmpl.personality = personality;
      parsed.origins.personality.set(tmpl.name, r.located([...at, 'personality']));
    }
  }
  if (fields.ethernet !== undefined) {
    const ethernet = r.string(fields.ethernet, [...at, 'ethernet']);
    if (ethernet !== undefined) {
      tmpl.ethernet = ethernet;
      parsed.origins.ethernet.set(tmpl.name, r.located([...at, 'ethernet']));
    }
  }
  if (fields.uptime !== undefined) {
    const uptime = r.integer(fields.uptime, [...at, 'uptime'], 0, MAX_UPTIME_SECONDS);
    if (uptime !== undefined) tmpl.uptime = uptime;
  }
  if (fields.droprate_in !== undefined) {
    const rate = r.number(fields.droprate_in, [...at, 'droprate_in'], 0, 100);
    if (rate !== undefined) tmpl.dropRateIn = rate;
  }
  if (fields.droprate_syn !== undefined) {
    const rate = r.number(fields.droprate_syn, [...at, 'droprate_syn'], 0, 100);
    if (rate !== undefined) {
      tmpl.dropRateSyn = rate;
      const where = r.located([...at, 'droprate_syn']);
      noteFeature(issues, where.pos, 'dropRateSyn', `template "${tmpl.name}"`, where.keyPath);
    }
  }
  if (fields.gid !== undefined && fields.uid === undefined) r.error([...at, 'gid'], 'gid needs uid (as Honeyd: set T uid N gid M)');
  if (fields.uid !== undefined) {
    const uid = r.integer(fields.uid, [...at, 'uid'], 1, MAX_ID);
    const gid = fields.gid === undefined ? undefined : r.integer(fields.gid, [...at, 'gid'], 1, MAX_ID);
    if (uid !== undefined) {
      tmpl.uid = uid;
      if (gid !== undefined) tmpl.gid = gid;
      const where = r.located([...at, 'uid']);
      noteFeature(issues, where.pos, 'uid', `template "${tmpl.name}"`, where.keyPath);
    }
  }
  // Honeyd `set T maxfds N` and `set T default tcp|udp action SERVICE` (yaml-actions.ts).
  if (fields.maxfds !== undefined) {
    const n = r.integer(fields.maxfds, [...at, 'maxfds'], 4, 65536);
    if (n !== undefined) tmpl.maxfds = n;
  }
  if (fields.default_service !== undefined) {
    const d = r.mapping(fields.default_service, [...at, 'default_service'], ['tcp', 'udp']);
    for (const proto of ['tcp', 'udp'] as const) {
      if (d?.[proto] === undefined) continue;
      const svc = readService(r, [...at, 'default_service', proto], d[proto]);
      if (svc !== undefined) tmpl.defaultServices = { ...tmpl.defaultServices, [proto]: svc };
    }
  }
  if (fields.defaults !== undefined) {
    const d = r.mapping(fields.defaults, [...at, 'defaults'], ['tcp', 'udp', 'icmp']);
    if (d) {
      const tcp = d.tcp === undefined ? undefined : r.word(d.tcp, [...at, 'defaults', 'tcp'], parsePortAction, PORT_ACTIONS);
      const udp = d.udp === undefined ? undefined : r.word(d.udp, [...at, 'defaults', 'udp'], parsePortAction, PORT_ACTIONS);
      const icmp = d.icmp === undefined ? undefined : r.word(d.icmp, [...at, 'defaults', 'icmp'], parseIcmpAction, 'open or block');
      if (tcp) tmpl.defaults.tcp = tcp;
      if (udp) tmpl.defaults.udp = udp;
      if (icmp) tmpl.defaults.icmp = icmp;
    }
  }
  // Honeyd `add T subsystem "command" [shared] [restart]` (README "Subsystems").
  if (fields.subsystems !== undefined) {
    r.list(fields.subsystems, [...at, 'subsystems'])?.forEach((entry, i) => {
      const sp: KeyPath = [...at, 'subsystems', i];
      const sub = r.mapping(entry, sp, ['command', 'shared', 'restart'], ['command']);
      if (!sub || sub.command === undefined) return;
      const command = r.string(sub.command, [...sp, 'command']);
      const shared = sub.shared === undefined ? false : r.boolean(sub.shared, [...sp, 'shared']);
      const restart = sub.restart === undefined ? false : r.boolean(sub.restart, [...sp, 'restart']);
      if (command === undefined || command.trim() === '' || shared === undefined || restart === undefined) {
        if (command !== undefined && command.trim() === '') r.error([...sp, 'command'], 'expected a command');
        return;
      }
      const origin = r.located(sp).pos;
      (tmpl.subsystems ??= []).push({ command, shared, restart, origin: `${origin.file}:${origin.line}` });
    });
  }
  if (fields.ports !== undefined) {
    const ports = r.list(fields.ports, [...at, 'ports']);
    const firstSeen = new Map<string, number>();
    ports?.forEach((entry, i) => {
      const rule = readPort(r, [...at, 'ports', i], entry, parsed, tmpl.name);
      if (!rule) return;
      const key = `${rule.proto}/${rule.port}`;
      const first = firstSeen.get(key);
      if (first !== undefined) {
        r.error([...at, 'ports', i, 'port'], `duplicate port ${key} (also at ports[${first}])`);
        return;
      }
      firstSeen.set(key, i);
      tmpl.ports.push(rule);
    });
  }
}

function readPort(r: YamlReader, at: KeyPath, entry: unknown, parsed: ParsedConfig, templateName: string): PortRule | undefined {
  const p = r.mapping(entry, at, PORT_KEYS, ['proto', 'port', 'action']);
  if (!p) return undefined;
  const proto = p.proto === undefined ? undefined : r.word(p.proto, [...at, 'proto'], (w) => (isProto(w) ? w : undefined), 'tcp or udp');
  const port = p.port === undefined ? undefined : r.integer(p.port, [...at, 'port'], 1, 65535);
  const action = p.action === undefined ? undefined : r.word(p.action, [...at, 'action'], parsePortAction, PORT_ACTIONS);
  if (proto === undefined || port === undefined || action === undefined) return undefined;
  const rule: PortRule = { proto, port, action };
  if (p.service !== undefined) {
    const service = readService(r, [...at, 'service'], p.service);
    if (service === undefined) return undefined;
    if (action !== 'open') {
      r.error([...at, 'service'], `a service needs action "open", this port is "${action}"`);
      return undefined;
    }
    if (service.kind === 'banner' && proto !== 'tcp') {
      r.error([...at, 'service'], 'a banner needs a tcp port');
      return undefined;
    }
    if ((service.kind === 'ssh' || service.kind === 'telnet') && proto !== 'tcp') { r.error([...at, 'service'], `the ${service.kind} emulator needs a tcp port`); return undefined; }
    rule.service = service;
    parsed.origins.services.set(`${templateName}\u0000${proto}/${port}`, r.located([...at, 'service']));
  }
  return rule;
}

const IDENTITY_KEYS = ['name', 'product', 'version', 'info', 'hostname', 'os', 'devicetype', 'tls'] as const;

/** `{ name, product, version?, … }`: an nmap-service-probes identity (checked against the file in load.ts). */
function readIdentity(r: YamlReader, at: KeyPath, value: YamlMapping): ServiceSpec | undefined {
  const s = r.mapping(value, at, IDENTITY_KEYS, ['product']);
  if (!s) return undefined;
  const text = (key: (typeof IDENTITY_KEYS)[number]): string | undefined => {
    if (s[key] === undefined) return undefined;
    const v = typeof s[key] === 'number' ? String(s[key]) : r.string(s[key], [...at, key]);
    if (v === '') r.error([...at, key], 'expected a non-empty string');
    return v === '' ? undefined : v;
  };
  const product = text('product');
  if (product === undefined) return undefined;
  const name = text('name');
  const identity: ServiceIdentitySpec = { product, tls: false };
  if (name !== undefined) identity.name = name;
  for (const key of ['version', 'info', 'hostname', 'os', 'devicetype'] as const) {
    const v = text(key);
    if (v !== undefined) identity[key] = v;
  }
  const tls = s.tls === undefined ? undefined : r.boolean(s.tls, [...at, 'tls']);
  identity.tls = tls ?? (name === 'https' || (name?.startsWith('ssl/') ?? false));
  return { kind: 'identity', identity };
}

function readService(r: YamlReader, at: KeyPath, value: unknown): ServiceSpec | undefined {
  if (isMapping(value) && (value.emulate === 'ssh' || value.emulate === 'telnet')) return readSshTelnet(r, at, value, readIdentity); // ssh / telnet emulators
  if (value === 'echo') return { kind: 'echo' };
  if (value === 'none') return { kind: 'none' };
  if (isMailFtpEmulator(value)) return readMailFtpService(r, at, value, readIdentity); // ftp / smtp / pop3 / imap / dns / snmp
  if (isActionValue(value)) return readActionService(r, at, value); // Honeyd script / proxy / tarpit

  if (isMapping(value) && value.emulate === 'http') return readHttpService(r, at, value, readIdentity, path.dirname(r.file));
  if (isMapping(value) && !('banner' in value)) return readIdentity(r, at, value);
  if (isMapping(value)) {
    const s = r.mapping(value, at, ['banner', 'close'], ['banner']);
    const banner = s?.banner === undefined ? undefined : r.string(s.banner, [...at, 'banner']);
    const close = s?.close === undefined ? false : r.boolean(s.close, [...at, 'close']);
    return banner === undefined ? undefined : { kind: 'banner', banner, ...(close === true ? { close: true } : {}) };
  }
  r.error(at, `expected "echo", "none", { banner: "text" } or { name, product, version }, got ${typeof value === 'string' ? JSON.stringify(value) : 'something else'}`);
  return undefined;
}

/**
 * `dynamic: [{ use: T, if: { source_os | source_ip | time | proto } }, …, { use: T }]`: Honeyd's
 * dynamic template. The first matching rule's template answers; a rule without `if` always matches.
 */
function readDynamic(r: YamlReader, at: KeyPath, fields: YamlMapping, tmpl: TemplateConfig, issues: IssueList): void {
  for (const key of Object.keys(fields)) {
    if (key !== 'dynamic') r.error([...at, key], 'a dynamic template has no behaviour of its own: only "dynamic" rules', true);
  }
  const rules = r.list(fields.dynamic, [...at, 'dynamic']);
  if (!rules) return;
  tmpl.dynamic = true;
  tmpl.rules = [];
  const where = r.located([...at, 'dynamic']);
  noteFeature(issues, where.pos, 'dynamic', `template "${tmpl.name}"`, where.keyPath);
  rules.forEach((entry, i) => {
    const rp: KeyPath = [...at, 'dynamic', i];
    const rule = r.mapping(entry, rp, ['use', 'if'], ['use']);
    if (!rule || rule.use === undefined) return;
    const use = r.string(rule.use, [...rp, 'use']);
    if (use === undefined) return;
    const condition = rule.if === undefined ? ({ kind: 'default' } as const) : readCondition(r, [...rp, 'if'], rule.if);
    if (condition === undefined) return;
    const origin = r.located(rp).pos;
    tmpl.rules?.push({ template: use, condition, origin: `${origin.file}:${origin.line}` });
  });
}

function readCondition(r: YamlReader, at: KeyPath, value: unknown): DynamicCondition | undefined {
  const c = r.mapping(value, at, CONDITION_KEYS);
  if (!c) return undefined;
  const keys = Object.keys(c);
  if (keys.length !== 1) {
    r.error(at, `expected exactly one of ${CONDITION_KEYS.join(', ')}`);
    return undefined;
  }
  if (c.source_os !== undefined) {
    const os = r.string(c.source_os, [...at, 'source_os']);
    return os === undefined ? undefined : { kind: 'os', value: os };
  }
  if (c.source_ip !== undefined) {
    const ip = r.string(c.source_ip, [...at, 'source_ip']);
    if (ip === undefined) return undefined;
    const bad = ip.includes('/') ? (() => { const x = parseCidrStrict(ip); return typeof x === 'string' ? x : undefined; })() : checkIpv4(ip);
    if (bad) {
      r.error([...at, 'source_ip'], bad);
      return undefined;
    }
    return { kind: 'ip', value: ip };
  }
  if (c.proto !== undefined) {
    const proto = r.word(c.proto, [...at, 'proto'], (w) => (w === 'tcp' || w === 'udp' || w === 'icmp' ? w : undefined), 'tcp, udp or icmp');
    return proto === undefined ? undefined : { kind: 'proto', value: proto };
  }
  const text = r.string(c.time, [...at, 'time']);
  if (text === undefined) return undefined;
  const m = /^(\d{1,2}):(\d{2})(?::(\d{2}))?\s*-\s*(\d{1,2}):(\d{2})(?::(\d{2}))?$/.exec(text);
  const seconds = (h?: string, mi?: string, se?: string): number | undefined => {
    const [hh, mm, ss] = [Number(h), Number(mi), Number(se ?? 0)];
    return hh <= 23 && mm <= 59 && ss <= 59 ? hh * 3600 + mm * 60 + ss : undefined;
  };
  const start = m ? seconds(m[1], m[2], m[3]) : undefined;
  const end = m ? seconds(m[4], m[5], m[6]) : undefined;
  if (start === undefined || end === undefined) {
    r.error([...at, 'time'], `expected a local time range "HH:MM-HH:MM" (24-hour, no wrap past midnight), got ${JSON.stringify(text)}`);
    return undefined;
  }
  return { kind: 'time', value: { startSeconds: start, endSeconds: end } };
}

function readHosts(r: YamlReader, value: unknown, parsed: ParsedConfig): void {
  const hosts = r.list(value, ['hosts']);
  hosts?.forEach((entry, i) => {
    const at: KeyPath = ['hosts', i];
    const h = r.mapping(entry, at, ['address', 'template'], ['address', 'template']);
    if (!h || h.address === undefined || h.template === undefined) return;
    const address = r.string(h.address, [...at, 'address']);
    const template = r.string(h.template, [...at, 'template']);
    if (address === undefined || template === undefined) return;
    const bad = checkIpv4(address);
    if (bad) {
      r.error([...at, 'address'], bad);
      return;
    }
    const origin = r.located(at).pos;
    parsed.config.hosts.push({ address, template, origin: `${origin.file}:${origin.line}` });
    parsed.origins.hosts.push({ address: r.located([...at, 'address']), template: r.located([...at, 'template']) });
  });
}

function readClaims(r: YamlReader, value: unknown, parsed: ParsedConfig): void {
  const claims = r.list(value, ['claim']);
  claims?.forEach((entry, i) => {
    const at: KeyPath = ['claim', i];
    const c = r.mapping(entry, at, ['range', 'template'], ['range']);
    if (!c || c.range === undefined) return;
    const range = r.string(c.range, [...at, 'range']);
    const template = c.template === undefined ? DEFAULT_TEMPLATE_NAME : r.string(c.template, [...at, 'template']);
    if (range === undefined || template === undefined) return;
    const cidr = parseCidrStrict(range);
    if (typeof cidr === 'string') {
      r.error([...at, 'range'], cidr);
      return;
    }
    const origin = r.located(at).pos;
    parsed.config.claims.push({ range, template, origin: `${origin.file}:${origin.line}` });
    parsed.origins.claims.push({
      range: r.located([...at, 'range']),
      template: r.located(c.template === undefined ? at : [...at, 'template']),
    });
  });
}

function readDhcp(r: YamlReader, value: unknown, parsed: ParsedConfig): void {
  const entries = r.list(value, ['dhcp']);
  entries?.forEach((entry, i) => {
    const at: KeyPath = ['dhcp', i];
    const d = r.mapping(entry, at, ['template', 'interface', 'ethernet', 'hostname'], ['template']);
    if (!d || d.template === undefined) return;
    const template = r.string(d.template, [...at, 'template']);
    if (template === undefined) return;
    const origin = r.located(at).pos;
    const binding: DhcpBinding = { template, origin: `${origin.file}:${origin.line}` };
    let ok = true;
    if (d.interface !== undefined) {
      const name = r.string(d.interface, [...at, 'interface']);
      if (name !== undefined && !INTERFACE_PATTERN.test(name)) {
        r.error([...at, 'interface'], `"${name}" is not a valid interface name`);
        ok = false;
      } else if (name !== undefined) binding.interface = name;
      else ok = false;
    }
    if (d.ethernet !== undefined) {
      const ethernet = r.string(d.ethernet, [...at, 'ethernet']);
      if (ethernet !== undefined) binding.ethernet = ethernet;
      else ok = false;
    }
    if (d.hostname !== undefined) {
      const hostname = r.string(d.hostname, [...at, 'hostname']);
      const bad = hostname === undefined ? undefined : checkDhcpHostname(hostname);
      if (bad !== undefined) {
        r.error([...at, 'hostname'], bad);
        ok = false;
      } else if (hostname !== undefined) binding.hostname = hostname;
      else ok = false;
    }
    if (!ok) return;
    parsed.config.dhcp.push(binding);
    parsed.origins.dhcp.push({
      template: r.located([...at, 'template']),
      ...(binding.ethernet !== undefined ? { ethernet: r.located([...at, 'ethernet']) } : {}),
    });
  });
}

function readLimits(r: YamlReader, value: unknown): Limits {
  const limits: Limits = { ...DEFAULT_LIMITS };
  const keys = Object.keys(DEFAULT_LIMITS) as (keyof Limits)[];
  const m = r.mapping(value, ['limits'], keys);
  if (!m) return limits;
  for (const key of keys) {
    if (m[key] === undefined) continue;
    const n = r.integer(m[key], ['limits', key], 1, Number.MAX_SAFE_INTEGER);
    if (n !== undefined) limits[key] = n;
  }
  return limits;
}

function readClaimSettings(r: YamlReader, value: unknown): ClaimSettings {
  const settings: ClaimSettings = { ...DEFAULT_CLAIM };
  const m = r.mapping(value, ['claim_settings'], Object.keys(DEFAULT_CLAIM));
  if (!m) return settings;
  const at = (key: keyof ClaimSettings): KeyPath => ['claim_settings', key];
  if (m.tries !== undefined) settings.tries = r.integer(m.tries, at('tries'), 1, 100) ?? settings.tries;
  if (m.windowMs !== undefined) settings.windowMs = r.integer(m.windowMs, at('windowMs'), 1, 3_600_000) ?? settings.windowMs;
  if (m.probeBeforeBind !== undefined) settings.probeBeforeBind = r.boolean(m.probeBeforeBind, at('probeBeforeBind')) ?? settings.probeBeforeBind;
  if (m.probeWaitMs !== undefined) settings.probeWaitMs = r.integer(m.probeWaitMs, at('probeWaitMs'), 0, 60_000) ?? settings.probeWaitMs;
  return settings;
}


function readDetect(r: YamlReader, value: unknown): DetectConfig {
  const detect: DetectConfig = { ...DEFAULT_DETECT };
  const m = r.mapping(value, ['detect'], Object.keys(DEFAULT_DETECT));
  if (!m) return detect;
  if (m.enabled !== undefined) detect.enabled = r.boolean(m.enabled, ['detect', 'enabled']) ?? detect.enabled;
  for (const [key, [min, max]] of Object.entries(DETECT_RANGES) as [keyof typeof DETECT_RANGES, [number, number]][]) {
    if (m[key] === undefined) continue;
    const n = r.integer(m[key], ['detect', key], min, max);
    if (n !== undefined) detect[key] = n;
  }
  return detect;
}
