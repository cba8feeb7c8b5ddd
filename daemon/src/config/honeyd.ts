/**
 * Honeyd front end: reads Honeyd's configuration language (honeyd(8)) into a DecoydConfig.
 *
 * Supported, with Honeyd's meaning:
 *   create NAME | clone NEW OLD | bind IP TEMPLATE | include FILE | # comments
 *   set T personality "Fingerprint name" | set T default tcp|udp|icmp action ACTION
 *   set T ethernet "MAC or vendor" | set T uptime SECONDS | set T droprate in PERCENT
 *   add T tcp|udp port N open|closed|reset|block|filtered
 * `bind` takes a copy of the template as it is at that moment, as Honeyd does; `set`/`add`
 * on a bound address change only that host. A host whose copy differs from its template's
 * final state gets its own template, named by its address.
 *
 * decoyd extensions (not in Honeyd):
 *   claim CIDR [TEMPLATE]          answer for unused addresses in CIDR (Honeyd left this to
 *                                  arpd's command line); TEMPLATE defaults to `default`.
 *                                  A `default` template alone claims nothing.
 *   add T tcp port N open banner "text"   send text on connect (escapes: \r \n \t \\ \" \xHH)
 *   add T tcp|udp port N open echo        echo every byte back
 *   dhcp T on IF [ethernet "…"]    Honeyd's directive; the MAC is optional here (chosen to fit
 *                                  the OS), and IF must be the interface decoyd runs on.
 *   add T tcp|udp port N open service NAME product "P" [version "V"] [info|hostname|os|devicetype "…"] [tls]
 *                                  an nmap -sV identity (config/honeyd-identity.ts)
 *   option decoyd KEY VALUE        interface, osdb (first replaces the default, later ones
 *                                  add), mac_prefixes, log_level, and any key of Limits or
 *                                  ClaimSettings, e.g. `option decoyd maxConnections 1000`;
 *                                  `detect on|off` and `detect.KEY VALUE` for the scan detector.
 *
 * Everything else Honeyd knows (route, annotate, dynamic, delete, scripts, proxy,
 * subsystems, tarpit, uid/gid, spoof, ...) is reported as not supported, never ignored.
 */

import fs from 'node:fs';
import path from 'node:path';
import type { IssueList, SourcePos } from './errors';
import { lexHoneydLine, type HoneydToken } from './honeyd-lexer';
import { honeydIdentity } from './honeyd-identity';
import {
  DEFAULT_TEMPLATE_NAME,
  TEMPLATE_NAME_PATTERN,
  checkIpv4,
  copyTemplate,
  sameTemplateContent,
  emptyConfig,
  emptyOrigins,
  isLogLevel,
  isProto,
  newTemplate,
  parseCidrStrict,
  parseIcmpAction,
  parsePortAction,
  type Located,
  type ParsedConfig,
} from './model';
import { DEFAULT_CLAIM, DEFAULT_LIMITS, DETECT_RANGES, type ClaimSettings, type DetectNumberKey, type DhcpBinding, type Limits, type PortRule, type TemplateConfig } from './types';

export type ReadText = (file: string) => string;

/** Include nesting bound (Honeyd's MAX_INCLUDE_DEPTH is of the same order). */
const MAX_INCLUDE_DEPTH = 16;
const MAX_UPTIME_SECONDS = 0xffffffff;

/** Directives Honeyd has and decoyd does not implement yet. */
const UNSUPPORTED_DIRECTIVES = new Set(['route', 'annotate', 'dynamic', 'delete', 'list', 'debug']);
const UNSUPPORTED_SET_KEYS = new Set(['uid', 'gid', 'spoof', 'maxfds', 'subsystem']);

interface BindingState {
  address: string;
  template: string;
  /** The template as it was at `bind`, changed by `set IP`/`add IP`. */
  snapshot: TemplateConfig;
  modified: boolean;
  origin: SourcePos;
  addressAt: Located;
  templateAt: Located;
}

interface TemplateSources {
  personality?: Located;
  ethernet?: Located;
}

class HoneydParser {
  private readonly parsed: ParsedConfig;
  private readonly bindings: BindingState[] = [];
  private readonly bindingByAddress = new Map<string, BindingState>();
  private readonly sources = new WeakMap<TemplateConfig, TemplateSources>();
  private readonly includeStack: string[] = [];
  private osDbReplaced = false;

  constructor(
    rootFile: string,
    private readonly issues: IssueList,
    private readonly readText: ReadText,
  ) {
    this.parsed = { config: emptyConfig(rootFile), origins: emptyOrigins() };
  }

  run(rootFile: string): ParsedConfig {
    this.parseFile(rootFile, undefined);
    this.finishBindings();
    return this.parsed;
  }

  private parseFile(file: string, includedFrom: SourcePos | undefined): void {
    const real = path.resolve(file);
    if (this.includeStack.includes(real)) {
      const chain = [...this.includeStack.slice(this.includeStack.indexOf(real)), real].map((f) => path.basename(f)).join(' -> ');
      this.issues.add(includedFrom ?? { file, line: 1 }, `include cycle: ${chain}`);
      return;
    }
    if (this.includeStack.length >= MAX_INCLUDE_DEPTH) {
      this.issues.add(includedFrom ?? { file, line: 1 }, `includes nested more than ${MAX_INCLUDE_DEPTH} deep`);
      return;
    }
    let text: string;
    try {
      text = this.readText(file);
    } catch (err) {
      const reason = err instanceof Error ? err.message : String(err);
      this.issues.add(includedFrom ?? { file, line: 1 }, `cannot read ${file}: ${reason}`);
      return;
    }
    this.includeStack.push(real);
    const lines = text.split('\n');
    for (let n = 0; n < lines.length; n++) {
      const pos: SourcePos = { file, line: n + 1 };
      const lexed = lexHoneydLine(lines[n]);
      if ('error' in lexed) {
        this.issues.add(pos, lexed.error);
        continue;
      }
      if (lexed.tokens.length > 0) this.statement(lexed.tokens, pos);
    }
    this.includeStack.pop();
  }

  private error(pos: SourcePos, message: string): void {
    this.issues.add(pos, message);
  }

  private statement(t: HoneydToken[], pos: SourcePos): void {
    const directive = t[0].quoted ? '' : t[0].text;
    switch (directive) {
      case 'create':
        return this.create(t, pos);
      case 'clone':
        return this.clone(t, pos);
      case 'set':
        return this.set(t, pos);
      case 'add':
        return this.add(t, pos);
      case 'bind':
        return this.bind(t, pos);
      case 'claim':
        return this.claim(t, pos);
      case 'dhcp':
        return this.dhcp(t, pos);
      case 'include':
        return this.include(t, pos);
      case 'option':
        return this.option(t, pos);
      default:
        if (UNSUPPORTED_DIRECTIVES.has(directive)) this.error(pos, `"${directive}" is not supported by decoyd yet`);
        else this.error(pos, `unknown directive "${t[0].text}"`);
    }
  }

  private create(t: HoneydToken[], pos: SourcePos): void {
    if (t.length !== 2 || t[1].quoted) return this.error(pos, 'expected: create NAME');
    const name = t[1].text;
    if (!this.checkNewName(name, pos)) return;
    const tmpl = newTemplate(name);
    this.sources.set(tmpl, {});
    this.addTemplate(tmpl, pos);
  }

  private clone(t: HoneydToken[], pos: SourcePos): void {
    if (t.length !== 3 || t[1].quoted || t[2].quoted) return this.error(pos, 'expected: clone NEW EXISTING');
    const source = this.target(t[2].text, pos, false);
    if (!source || !this.checkNewName(t[1].text, pos)) return;
    const copy = copyTemplate(source, t[1].text);
    this.sources.set(copy, { ...this.sources.get(source) });
    this.addTemplate(copy, pos);
  }

  private set(t: HoneydToken[], pos: SourcePos): void {
    if (t.length < 3 || t[1].quoted || t[2].quoted) return this.error(pos, 'expected: set TEMPLATE personality|default|ethernet|uptime|droprate ...');
    const key = t[2].text;
    if (UNSUPPORTED_SET_KEYS.has(key)) return this.error(pos, `"set ... ${key}" is not supported by decoyd yet`);
    const known = ['personality', 'default', 'ethernet', 'uptime', 'droprate'];
    if (!known.includes(key)) return this.error(pos, `unknown setting "${key}"; expected one of ${known.join(', ')}`);
    const tmpl = this.target(t[1].text, pos, true);
    if (!tmpl) return;
    switch (key) {
      case 'personality':
        if (t.length === 4 && !t[3].quoted && t[3].text === 'random') return this.error(pos, '"personality random" is not supported by decoyd yet');
        if (t.length !== 4 || !t[3].quoted || t[3].text === '') return this.error(pos, 'expected: set TEMPLATE personality "Fingerprint name"');
        tmpl.personality = t[3].text;
        this.sourcesOf(tmpl).personality = { pos };
        return;
      case 'ethernet':
        if (t.length !== 4 || !t[3].quoted || t[3].text === '') return this.error(pos, 'expected: set TEMPLATE ethernet "MAC or vendor"');
        tmpl.ethernet = t[3].text;
        this.sourcesOf(tmpl).ethernet = { pos };
        return;
      case 'uptime': {
        const seconds = t.length === 4 && !t[3].quoted ? integerOf(t[3].text, 0, MAX_UPTIME_SECONDS) : undefined;
        if (seconds === undefined) return this.error(pos, `expected: set TEMPLATE uptime SECONDS (an integer 0-${MAX_UPTIME_SECONDS})`);
        tmpl.uptime = seconds;
        return;
      }
      case 'droprate': {
        if (t.length === 5 && t[3].text === 'syn') return this.error(pos, '"droprate syn" is not supported by decoyd yet');
        const rate = t.length === 5 && t[3].text === 'in' && /^\d+(\.\d+)?$/.test(t[4].text) ? Number(t[4].text) : undefined;
        if (rate === undefined || rate > 100) return this.error(pos, 'expected: set TEMPLATE droprate in PERCENT (0-100)');
        tmpl.dropRateIn = rate;
        return;
      }
      default:
        return this.setDefault(t, pos, tmpl);
    }
  }

  private setDefault(t: HoneydToken[], pos: SourcePos, tmpl: TemplateConfig): void {
    const usage = 'expected: set TEMPLATE default tcp|udp|icmp action open|closed|reset|block|filtered';
    if (t.length < 6 || t[4].text !== 'action' || t[4].quoted) return this.error(pos, usage);
    const proto = t[3].text;
    const actionTokens = t.slice(5);
    const unsupported = unsupportedAction(actionTokens);
    if (unsupported) return this.error(pos, unsupported);
    if (actionTokens.length !== 1) return this.error(pos, usage);
    const word = actionTokens[0].text;
    if (proto === 'icmp') {
      const action = parseIcmpAction(word);
      if (!action) return this.error(pos, `icmp default action must be open or block, got "${word}"`);
      tmpl.defaults.icmp = action;
      return;
    }
    if (!isProto(proto)) return this.error(pos, `unknown protocol "${proto}"; expected tcp, udp or icmp`);
    const action = parsePortAction(word);
    if (!action) return this.error(pos, `unknown action "${word}"; expected open, closed, reset, block or filtered`);
    tmpl.defaults[proto] = action;
  }

  private add(t: HoneydToken[], pos: SourcePos): void {
    if (t.length >= 3 && (t[2].text === 'subsystem' || t[2].text === 'use' || t[2].text === 'otherwise')) {
      return this.error(pos, `"add ... ${t[2].text}" is not supported by decoyd yet`);
    }
    const usage = 'expected: add TEMPLATE tcp|udp port NUMBER open|closed|reset|block|filtered';
    if (t.length < 6 || t[1].quoted || t[3].text !== 'port') return this.error(pos, usage);
    const tmpl = this.target(t[1].text, pos, true);
    if (!tmpl) return;
    const proto = t[2].text;
    if (!isProto(proto)) return this.error(pos, `ports need tcp or udp, got "${proto}"`);
    const port = integerOf(t[4].text, 1, 65535);
    if (port === undefined) return this.error(pos, `expected a port number 1-65535, got "${t[4].text}"`);
    const actionTokens = t.slice(5);
    const unsupported = unsupportedAction(actionTokens);
    if (unsupported) return this.error(pos, unsupported);
    const action = parsePortAction(actionTokens[0].text);
    if (!action) return this.error(pos, `unknown action "${actionTokens[0].text}"; expected open, closed, reset, block or filtered`);
    const rule: PortRule = { proto, port, action };
    const extra = actionTokens.slice(1);
    if (extra.length > 0) {
      if (action !== 'open') return this.error(pos, `a service needs action "open", this port is "${action}"`);
      const identity = honeydIdentity(extra);
      if (typeof identity === 'string') return this.error(pos, identity);
      if (identity !== undefined) rule.service = identity;
      else if (extra.length === 1 && !extra[0].quoted && extra[0].text === 'echo') rule.service = { kind: 'echo' };
      else if (extra.length === 2 && extra[0].text === 'banner' && extra[1].quoted && extra[1].text !== '') {
        if (proto !== 'tcp') return this.error(pos, 'a banner needs a tcp port');
        rule.service = { kind: 'banner', banner: extra[1].text };
      } else return this.error(pos, 'after "open" expected nothing, echo, banner "text" or service NAME product "P" …');
    }
    if (tmpl.ports.some((p) => p.proto === proto && p.port === port)) {
      return this.error(pos, `duplicate port ${proto}/${port} in template "${tmpl.name}"`);
    }
    tmpl.ports.push(rule);
    if (rule.service?.kind === 'identity') this.parsed.origins.services.set(`${tmpl.name}\u0000${proto}/${port}`, { pos });
  }

  private bind(t: HoneydToken[], pos: SourcePos): void {
    if (t.length === 4 && t[2].text === 'to') return this.error(pos, '"bind ADDRESS to INTERFACE" is not supported by decoyd yet');
    if (t.length > 3 && ['source', 'time', 'tcp', 'udp', 'icmp'].includes(t[1].text)) {
      return this.error(pos, 'conditional bind is not supported by decoyd yet');
    }
    if (t.length !== 3 || t[1].quoted || t[2].quoted) return this.error(pos, 'expected: bind ADDRESS TEMPLATE');
    const address = t[1].text;
    const bad = checkIpv4(address);
    if (bad) return this.error(pos, bad);
    const previous = this.bindingByAddress.get(address);
    if (previous) return this.error(pos, `${address} is already bound (at ${previous.origin.file}:${previous.origin.line})`);
    const tmpl = this.parsed.config.templates.get(t[2].text);
    if (!tmpl) return this.error(pos, `unknown template "${t[2].text}"`);
    const snapshot = copyTemplate(tmpl, address);
    this.sources.set(snapshot, { ...this.sources.get(tmpl) });
    const binding: BindingState = {
      address,
      template: tmpl.name,
      snapshot,
      modified: false,
      origin: pos,
      addressAt: { pos },
      templateAt: { pos },
    };
    this.bindings.push(binding);
    this.bindingByAddress.set(address, binding);
  }

  private claim(t: HoneydToken[], pos: SourcePos): void {
    if ((t.length !== 2 && t.length !== 3) || t.some((x) => x.quoted)) return this.error(pos, 'expected: claim CIDR [TEMPLATE]');
    const cidr = parseCidrStrict(t[1].text);
    if (typeof cidr === 'string') return this.error(pos, cidr);
    // The template is checked after parsing, like YAML's, so it may be created later.
    const template = t.length === 3 ? t[2].text : DEFAULT_TEMPLATE_NAME;
    this.parsed.config.claims.push({ range: t[1].text, template, origin: `${pos.file}:${pos.line}` });
    this.parsed.origins.claims.push({ range: { pos }, template: { pos } });
  }

  /**
   * `dhcp T on IF [ethernet "MAC or vendor"]`. Honeyd requires a MAC from the template or the
   * clause; decoyd chooses one to fit the OS when neither gives it. The template is checked after
   * parsing, like a claim's.
   */
  private dhcp(t: HoneydToken[], pos: SourcePos): void {
    const usage = 'expected: dhcp TEMPLATE on INTERFACE [ethernet "MAC or vendor"]';
    if ((t.length !== 4 && t.length !== 6) || t[1].quoted || t[2].quoted || t[2].text !== 'on' || t[3].quoted) return this.error(pos, usage);
    if (t.length === 6 && (t[4].quoted || t[4].text !== 'ethernet' || !t[5].quoted || t[5].text === '')) return this.error(pos, usage);
    const ifName = t[3].text;
    if (!/^[A-Za-z0-9_.:@\-]{1,15}$/.test(ifName)) return this.error(pos, `"${ifName}" is not a valid interface name`);
    const binding: DhcpBinding = { template: t[1].text, interface: ifName, origin: `${pos.file}:${pos.line}` };
    if (t.length === 6) binding.ethernet = t[5].text;
    this.parsed.config.dhcp.push(binding);
    this.parsed.origins.dhcp.push({ template: { pos }, ...(binding.ethernet !== undefined ? { ethernet: { pos } } : {}) });
  }

  private include(t: HoneydToken[], pos: SourcePos): void {
    if (t.length !== 2 || t[1].text === '') return this.error(pos, 'expected: include FILE');
    const target = path.join(path.dirname(pos.file), t[1].text);
    this.parseFile(path.isAbsolute(t[1].text) ? t[1].text : target, pos);
  }

  private option(t: HoneydToken[], pos: SourcePos): void {
    if (t.length < 2 || t[1].text !== 'decoyd') return this.error(pos, 'plugin options are not supported by decoyd yet; only "option decoyd KEY VALUE"');
    if (t.length !== 4) return this.error(pos, 'expected: option decoyd KEY VALUE');
    const key = t[2].text;
    const value = t[3].text;
    const config = this.parsed.config;
    const baseDir = path.dirname(pos.file);
    switch (key) {
      case 'interface':
        if (!/^[A-Za-z0-9_.:@\-]{1,15}$/.test(value)) return this.error(pos, `"${value}" is not a valid interface name`);
        config.interface = value;
        return;
      case 'osdb':
        if (!this.osDbReplaced) {
          config.osDb = [];
          this.parsed.origins.osDb = [];
          this.osDbReplaced = true;
        }
        config.osDb.push(path.resolve(baseDir, value));
        this.parsed.origins.osDb.push({ pos });
        return;
      case 'mac_prefixes':
        config.macPrefixes = path.resolve(baseDir, value);
        this.parsed.origins.macPrefixes = { pos };
        return;
      case 'log_level':
        if (!isLogLevel(value)) return this.error(pos, `log_level must be trace, debug, info, warn or error, got "${value}"`);
        config.log.level = value;
        return;
    }
    if (key in DEFAULT_LIMITS) {
      const n = integerOf(value, 1, Number.MAX_SAFE_INTEGER);
      if (n === undefined) return this.error(pos, `${key} must be a positive integer, got "${value}"`);
      config.limits[key as keyof Limits] = n;
      return;
    }
    if (key in DEFAULT_CLAIM) return this.claimSetting(key as keyof ClaimSettings, value, pos);
    if (key === 'detect' || key.startsWith('detect.')) return this.detectSetting(key.slice('detect.'.length), value, pos);
    this.error(pos, `unknown decoyd option "${key}"`);
  }

  /** `option decoyd detect on|off`, `option decoyd detect.KEY VALUE` (the keys of YAML's `detect:`). */
  private detectSetting(key: string, value: string, pos: SourcePos): void {
    const detect = this.parsed.config.detect;
    if (key === '' || key === 'enabled') {
      if (value !== 'on' && value !== 'off' && value !== 'true' && value !== 'false') return this.error(pos, `detect must be on or off, got "${value}"`);
      detect.enabled = value === 'on' || value === 'true';
      return;
    }
    const range = (DETECT_RANGES as Record<string, [number, number] | undefined>)[key];
    if (range === undefined) return this.error(pos, `unknown decoyd option "detect.${key}"`);
    const n = integerOf(value, range[0], range[1]);
    if (n === undefined) return this.error(pos, `detect.${key} must be an integer ${range[0]}-${range[1]}, got "${value}"`);
    detect[key as DetectNumberKey] = n;
  }

  private claimSetting(key: keyof ClaimSettings, value: string, pos: SourcePos): void {
    const claim = this.parsed.config.claim;
    if (key === 'probeBeforeBind') {
      if (value !== 'true' && value !== 'false') return this.error(pos, `probeBeforeBind must be true or false, got "${value}"`);
      claim.probeBeforeBind = value === 'true';
      return;
    }
    const bounds: Record<'tries' | 'windowMs' | 'probeWaitMs', [number, number]> = {
      tries: [1, 100],
      windowMs: [1, 3_600_000],
      probeWaitMs: [0, 60_000],
    };
    const [min, max] = bounds[key];
    const n = integerOf(value, min, max);
    if (n === undefined) return this.error(pos, `${key} must be an integer ${min}-${max}, got "${value}"`);
    claim[key] = n;
  }

  /** A template by name, or a bound address's own copy (Honeyd lets `set`/`add` name either). */
  private target(name: string, pos: SourcePos, forChange: boolean): TemplateConfig | undefined {
    const binding = this.bindingByAddress.get(name);
    if (binding) {
      if (forChange) binding.modified = true;
      return binding.snapshot;
    }
    const tmpl = this.parsed.config.templates.get(name);
    if (!tmpl) {
      this.error(pos, checkIpv4(name) === undefined ? `${name} is not bound to a template` : `unknown template "${name}"`);
      return undefined;
    }
    return tmpl;
  }

  private checkNewName(name: string, pos: SourcePos): boolean {
    if (!TEMPLATE_NAME_PATTERN.test(name)) {
      this.error(pos, `bad template name "${name}": start with a letter; use letters, digits, "_", "-" and "."`);
      return false;
    }
    const existing = this.parsed.origins.templates.get(name);
    if (existing) {
      this.error(pos, `template "${name}" exists already (created at ${existing.pos.file}:${existing.pos.line})`);
      return false;
    }
    return true;
  }

  private addTemplate(tmpl: TemplateConfig, pos: SourcePos): void {
    this.parsed.config.templates.set(tmpl.name, tmpl);
    this.parsed.origins.templates.set(tmpl.name, { pos });
  }

  private sourcesOf(tmpl: TemplateConfig): TemplateSources {
    let s = this.sources.get(tmpl);
    if (!s) {
      s = {};
      this.sources.set(tmpl, s);
    }
    return s;
  }

  /** Resolve bind-time copies: unchanged hosts share their template, others get their own. */
  private finishBindings(): void {
    const { config, origins } = this.parsed;
    for (const b of this.bindings) {
      const current = config.templates.get(b.template);
      let templateName = b.template;
      if (b.modified || !current || !sameTemplateContent(current, b.snapshot)) {
        templateName = b.address;
        config.templates.set(b.address, b.snapshot);
        origins.templates.set(b.address, { pos: b.origin });
      }
      config.hosts.push({ address: b.address, template: templateName, origin: `${b.origin.file}:${b.origin.line}` });
      origins.hosts.push({ address: b.addressAt, template: b.templateAt });
    }
    for (const [name, tmpl] of config.templates) {
      const s = this.sources.get(tmpl);
      if (s?.personality) origins.personality.set(name, s.personality);
      if (s?.ethernet) origins.ethernet.set(name, s.ethernet);
    }
  }
}

/** Parses the Honeyd-syntax file at `file` (and what it includes); problems go to `issues`. */
export function parseHoneydConfig(file: string, issues: IssueList, readText: ReadText = (f) => fs.readFileSync(f, 'utf8')): ParsedConfig {
  return new HoneydParser(file, issues, readText).run(file);
}

function integerOf(text: string, min: number, max: number): number | undefined {
  if (!/^\d+$/.test(text)) return undefined;
  const n = Number(text);
  return n >= min && n <= max ? n : undefined;
}

/** Honeyd actions decoyd cannot run yet, named so the user knows what was refused. */
function unsupportedAction(tokens: HoneydToken[]): string | undefined {
  if (tokens.length === 0) return undefined;
  const first = tokens[0];
  if (first.quoted) return `script commands ("${first.text}") are not supported by decoyd yet`;
  if (first.text === 'tarpit') return '"tarpit" is not supported by decoyd yet';
  if (first.text === 'proxy') return '"proxy" is not supported by decoyd yet';
  if (first.text === 'internal') return '"internal" (Python) services are not supported by decoyd yet';
  if (first.text.startsWith('$') || first.text.includes('/')) return `script commands ("${first.text}") are not supported by decoyd yet`;
  return undefined;
}
