/**
 * Honeyd front end: reads Honeyd's configuration language into a DecoydConfig, the way
 * Honeyd 1.6d's own lexer and grammar (lex.l, parse.y) read it: a token stream (honeyd-lexer.ts)
 * and a recursive-descent parser over it. Newlines are whitespace, so statements may share a
 * line and quoted commands may span lines.
 *
 * Every Honeyd directive is read into the config model:
 *   create NAME | create default | create template | dynamic NAME | clone NEW T | delete T [PROTO port N]
 *   set T personality "NAME"|random | set T default tcp|udp|icmp action ACTION | set T ethernet "MAC or vendor"
 *   set T uptime N | set T droprate in|syn PERCENT | set T maxfds N | set T uid N [gid M]
 *   set T spoof from IP [to IP] | set T spoof to IP
 *   add T tcp|udp|icmp port N ACTION | add T subsystem "cmd" [shared] [restart]
 *   add T use T2 if CONDITION | add T otherwise use T2      CONDITION: source os = "name" |
 *        source ip = IP[/N] | time between H:MMam|pm - H:MMam|pm | tcp | udp | icmp | otherwise
 *   bind IP T | bind CONDITION IP T | bind IP to IF | dhcp T on IF [ethernet "MAC or vendor"]
 *   annotate "NAME" [no] finscan | annotate "NAME" fragment drop|old|new
 *   route entry IP [network NET] | route IP link NET | route IP unreach NET
 *   route IP add net NET GW [latency N ms] [loss P] [bandwidth N [Kbps|Mbps]] [drop between N ms - N ms]
 *   route IP add net NET tunnel SRC DST | broadcast T srcport N dstport N time N ACTION
 *   include FILE | option PLUGIN KEY VALUE | list ... | debug ...  | # comments
 *   ACTION: [tarpit] open | [tarpit] "command" | [tarpit] WORD (a command, as Honeyd) |
 *           [tarpit] proxy HOST:PORT (either side may be $ipsrc, $dport, ...) | [tarpit] internal "module" |
 *           closed | reset | filtered | block
 * Where Honeyd 1.5c and 1.6d differ, 1.6d is followed and a warning names the line: `closed` and
 * `filtered` are keywords (1.5c ran programs of those names), an ICMP `closed`/`reset` drops
 * (1.5c answered), and a repeated port keeps its first definition (1.5c rejected the file).
 * Features the daemon does not run yet are parsed and warned about (runtime-support.ts).
 * `dhcp` (stack/dhcp/) and `route` (stack/routing/) run; unlike Honeyd, a dhcp MAC is optional (chosen to fit the OS).
 * `bind`, `clone`, `dhcp` and dynamic rules copy the template as it is at that moment, as
 * Honeyd does; `set`/`add` on a bound address change only that host. A host whose copy differs
 * from its template's final state gets its own template, named by its address.
 *
 * decoyd extensions (not in Honeyd; option and banner handling in honeyd-extensions.ts):
 *   claim CIDR [TEMPLATE]          answer for unused addresses in CIDR (Honeyd left this to
 *                                  arpd's command line); TEMPLATE defaults to `default`.
 *                                  A `default` template alone claims nothing.
 *   add T tcp port N open banner "text"   send text on connect (escapes: \r \n \t \\ \xHH)
 *   add T tcp|udp port N open echo        echo every byte back
 *   add T tcp|udp port N open service NAME product "P" [version "V"] [info|hostname|os|devicetype "…"] [tls]
 *                                  an nmap -sV identity (config/honeyd-identity.ts)
 *   add T tcp|udp port N open emulate ssh|telnet|http|ftp|smtp|pop3|imap|dns|snmp product "P" [version "V"] [hostname "…"] [tls]
 *                                  the SSH / Telnet emulator with its defaults (config/honeyd-emulate.ts)
 *   option decoyd KEY VALUE        interface, osdb (first replaces the default, later ones
 *                                  add), mac_prefixes, log_level, and any key of Limits or
 *                                  ClaimSettings, e.g. `option decoyd maxConnections 1000`;
 *                                  `detect on|off` and `detect.KEY VALUE` for the scan detector.
 * Also unlike Honeyd: `include` is relative to the including file (Honeyd: its working
 * directory); errors name file, line and column, and parsing resumes at the next statement.
 */

import fs from 'node:fs';
import path from 'node:path';
import type { IssueList, SourcePos } from './errors';
import { KEYWORDS, KEYWORDS_NEW_IN_16D, describeToken, lexHoneyd, type HoneydToken } from './honeyd-lexer';
import {
  DEFAULT_TEMPLATE_NAME,
  checkIpv4,
  copyTemplate,
  sameTemplateContent,
  emptyConfig,
  emptyOrigins,
  newTemplate,
  parseCidrStrict,
  type Located,
  type ParsedConfig,
} from './model';
import { applyDecoydOption, unescapeBanner } from './honeyd-extensions';
import { honeydIdentity } from './honeyd-identity';
import { honeydEmulated } from './honeyd-emulate';
import { noteFeature } from './runtime-support';
import type { TopologyRoute } from './topology';
import {
  type DynamicCondition,
  type PersonalityAnnotation,
  type PortAction,
  type Proto,
  type ServiceSpec,
  type TemplateConfig,
} from './types';

export type ReadText = (file: string) => string;

/** Include nesting bound (Honeyd's MAX_INCLUDE_DEPTH is 10). */
const MAX_INCLUDE_DEPTH = 16;
const MAX_UPTIME_SECONDS = 0xffffffff;

/** Words that begin a statement: where parsing resumes after a syntax error. */
const STATEMENT_WORDS = new Set([
  'create', 'dynamic', 'clone', 'delete', 'add', 'set', 'bind', 'dhcp', 'annotate', 'route', 'option',
  'include', 'list', 'debug', 'broadcast', 'claim',
]);
/** Fields of decoyd's `service …` extension (honeyd-identity.ts). */
const IDENTITY_FIELDS = new Set(['product', 'version', 'info', 'hostname', 'os', 'devicetype']);
const CONDITION_WORDS = new Set(['source', 'time', 'tcp', 'udp', 'icmp', 'otherwise']);
const STATEMENT_LIST = 'create, dynamic, clone, delete, set, add, bind, dhcp, annotate, route, include, option or claim';

/** A syntax error: Honeyd stops at the first; decoyd reports it and resumes at the next statement. */
class SyntaxFail extends Error {
  constructor(
    readonly token: HoneydToken,
    readonly expected: string,
  ) {
    super(expected);
  }
}

interface PendingCopy {
  /** `bind`: the address; `dhcp`: its index. */
  address: string;
  template: string;
  /** The template as it was at `bind`, changed by `set IP`/`add IP`. */
  snapshot: TemplateConfig;
  modified: boolean;
  origin: SourcePos;
}

interface TemplateSources {
  personality?: Located;
  ethernet?: Located;
}

interface ParsedAction {
  action: PortAction;
  service?: ServiceSpec;
  /** The token that decided the action (for messages). */
  token: HoneydToken;
}

class Cursor {
  at = 0;
  /** Warned once per file that `closed`/`filtered` follow 1.6d. */
  warnedNewKeyword = false;
  warnedRoute = false;
  constructor(
    readonly file: string,
    readonly tokens: HoneydToken[],
  ) {}
  peek(offset = 0): HoneydToken {
    return this.tokens[Math.min(this.at + offset, this.tokens.length - 1)];
  }
  next(): HoneydToken {
    const t = this.peek();
    if (this.at < this.tokens.length - 1) this.at++;
    return t;
  }
  previous(): HoneydToken | undefined {
    return this.at > 0 ? this.tokens[this.at - 1] : undefined;
  }
}

class HoneydParser {
  private readonly parsed: ParsedConfig;
  private readonly bindings: PendingCopy[] = [];
  private readonly bindingByAddress = new Map<string, PendingCopy>();
  private readonly dhcpCopies: PendingCopy[] = [];
  private readonly sources = new WeakMap<TemplateConfig, TemplateSources>();
  private readonly includeStack: string[] = [];
  /** Honeyd's annotate edits the loaded fingerprint; `set personality` copies it. */
  private readonly annotations = new Map<string, PersonalityAnnotation>();
  private osDbReplaced = false;
  private cur!: Cursor;
  /** Templates that got `set T default tcp action` (copies inherit it). */
  private readonly tcpDefaultSet = new WeakSet<TemplateConfig>();
  /** Templates made by `create`/`clone`, for the fresh-template warning at the end. */
  private readonly created: { tmpl: TemplateConfig; pos: SourcePos }[] = [];

  constructor(
    rootFile: string,
    private readonly issues: IssueList,
    private readonly readText: ReadText,
  ) {
    this.parsed = { config: emptyConfig(rootFile), origins: emptyOrigins() };
  }

  run(rootFile: string): ParsedConfig {
    this.parseFile(rootFile, undefined);
    this.finishCopies();
    return this.parsed;
  }

  // ---------------------------------------------------------------- files and recovery

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
    const lexed = lexHoneyd(text);
    for (const note of lexed.notes) this.issues.warn({ file, line: note.line, col: note.col }, note.message);
    const saved = this.cur;
    this.cur = new Cursor(file, lexed.tokens);
    this.includeStack.push(real);
    while (this.cur.peek().kind !== 'eof') {
      const start = this.cur.at;
      try {
        this.statement();
      } catch (err) {
        if (!(err instanceof SyntaxFail)) throw err;
        this.reportSyntax(err);
        this.recover(start);
      }
    }
    this.includeStack.pop();
    this.cur = saved;
  }

  private reportSyntax(err: SyntaxFail): void {
    const t = err.token;
    let message = `expected ${err.expected}, got ${describeToken(t)}`;
    const before = this.cur.tokens[this.cur.tokens.indexOf(t) - 1];
    if (before && before.kind === 'string' && before.endLine > before.line) {
      message += ` (the quoted string before it runs from line ${before.line} to line ${before.endLine}: is a closing quote missing?)`;
    }
    const after = this.cur.tokens[this.cur.tokens.indexOf(t) + 1];
    if (t.kind === 'number' && after?.kind === 'punct' && after.text === ':') {
      message += ' (a MAC address must be quoted; IPv6 addresses are not Honeyd syntax, they belong to the honeyd-ipv6 fork)';
    }
    if (before?.kind === 'string' && before.line === t.line && before.endLine === t.line && t.col === before.col + before.text.length + 2) {
      message += ' (a double quote ends a Honeyd string: commands cannot contain ")';
    }
    this.issues.add(this.pos(t), message);
  }

  /** Skip to the next statement word that begins a line, after the failed statement's start. */
  private recover(start: number): void {
    const c = this.cur;
    if (c.at <= start) c.next();
    for (;;) {
      const t = c.peek();
      if (t.kind === 'eof') return;
      const prev = c.previous();
      if (t.kind === 'word' && STATEMENT_WORDS.has(t.text) && (prev === undefined || prev.endLine < t.line)) return;
      c.next();
    }
  }

  private pos(t: HoneydToken): SourcePos {
    return { file: this.cur.file, line: t.line, col: t.col };
  }

  private error(at: HoneydToken | SourcePos, message: string): void {
    this.issues.add('kind' in at ? this.pos(at) : at, message);
  }

  private warn(at: HoneydToken, message: string): void {
    this.issues.warn(this.pos(at), message);
  }

  // ---------------------------------------------------------------- token helpers

  private fail(expected: string, t: HoneydToken = this.cur.peek()): never {
    throw new SyntaxFail(t, expected);
  }

  private isWord(t: HoneydToken, word: string): boolean {
    return t.kind === 'word' && t.text === word;
  }

  private accept(word: string): HoneydToken | undefined {
    return this.isWord(this.cur.peek(), word) ? this.cur.next() : undefined;
  }

  private expect(word: string, expected = `"${word}"`): HoneydToken {
    const t = this.cur.peek();
    if (!this.isWord(t, word)) this.fail(expected);
    return this.cur.next();
  }

  private expectString(expected: string): HoneydToken {
    const t = this.cur.peek();
    if (t.kind !== 'string') this.fail(expected);
    return this.cur.next();
  }

  private expectNumber(expected: string): { value: number; token: HoneydToken } {
    const t = this.cur.peek();
    if (t.kind !== 'number') this.fail(expected);
    this.cur.next();
    return { value: Number(t.text), token: t };
  }

  /** NUMBER or FLOAT (Honeyd's `rate`). */
  private expectRate(expected: string): { value: number; token: HoneydToken } {
    const t = this.cur.peek();
    if (t.kind !== 'number' && t.kind !== 'float') this.fail(expected);
    this.cur.next();
    return { value: Number(t.text), token: t };
  }

  /** A bare word that is not a keyword (Honeyd's STRING). */
  private expectName(expected: string): HoneydToken {
    const t = this.cur.peek();
    if (t.kind !== 'word') this.fail(expected);
    if (KEYWORDS.has(t.text)) this.fail(`${expected} ("${t.text}" is a Honeyd keyword)`);
    return this.cur.next();
  }

  /** Honeyd's `ipaddr`: a dotted address, or a quoted one (Honeyd also resolves host names there). */
  private expectAddress(expected = 'an IPv4 address'): { text: string; token: HoneydToken; ok: boolean } {
    const t = this.cur.peek();
    if (t.kind !== 'ip' && t.kind !== 'string') this.fail(expected);
    this.cur.next();
    const bad = checkIpv4(t.text);
    if (bad) {
      this.error(t, t.kind === 'string' ? `"${t.text}": decoyd does not resolve host names in the configuration; write the address` : bad);
      return { text: t.text, token: t, ok: false };
    }
    return { text: t.text, token: t, ok: true };
  }

  /** Honeyd's `ipnet`: IP/N; host bits set are masked with a warning, as Honeyd does. */
  private expectNetwork(): { text: string; token: HoneydToken; ok: boolean } {
    const addr = this.expectAddress('a network like 192.0.2.0/24');
    if (!(this.cur.peek().kind === 'punct' && this.cur.peek().text === '/')) this.fail('"/" and a prefix length (a network like 192.0.2.0/24)');
    this.cur.next();
    const bits = this.expectNumber('a prefix length 0-32');
    if (!addr.ok) return { text: addr.text, token: addr.token, ok: false };
    if (bits.value > 32) {
      this.error(bits.token, `prefix length ${bits.value} is over 32`);
      return { text: addr.text, token: addr.token, ok: false };
    }
    const text = `${addr.text}/${bits.value}`;
    const cidr = parseCidrStrict(text);
    if (typeof cidr === 'string') {
      const masked = /the range is (\S+)$/.exec(cidr)?.[1];
      if (masked) {
        this.warn(addr.token, `bad network mask in ${text}: host bits set, read as ${masked} (as Honeyd does)`);
        return { text: masked, token: addr.token, ok: true };
      }
      this.error(addr.token, cidr);
      return { text, token: addr.token, ok: false };
    }
    return { text, token: addr.token, ok: true };
  }

  /** Honeyd's `template`: a name, `default`, `template`, or an address (a bound host). */
  private expectTemplateRef(): { name: string; token: HoneydToken } {
    const t = this.cur.peek();
    if (t.kind === 'word' && (!KEYWORDS.has(t.text) || t.text === 'default' || t.text === 'template')) {
      this.cur.next();
      return { name: t.text, token: t };
    }
    if (t.kind === 'ip' || t.kind === 'string') {
      const a = this.expectAddress('a template name or address');
      return { name: a.text, token: a.token };
    }
    this.fail(t.kind === 'word' ? `a template name ("${t.text}" is a Honeyd keyword)` : 'a template name or address');
  }

  private expectProto(): { proto: Proto | 'icmp'; token: HoneydToken } {
    const t = this.cur.peek();
    if (t.kind === 'word' && (t.text === 'tcp' || t.text === 'udp' || t.text === 'icmp')) {
      this.cur.next();
      return { proto: t.text, token: t };
    }
    this.fail('tcp, udp or icmp');
  }

  // ---------------------------------------------------------------- statements

  private statement(): void {
    const t = this.cur.peek();
    if (t.kind !== 'word' || !STATEMENT_WORDS.has(t.text)) this.fail(`a statement (${STATEMENT_LIST})`);
    this.cur.next();
    switch (t.text) {
      case 'create':
        return this.create(t);
      case 'dynamic':
        return this.dynamic(t);
      case 'clone':
        return this.clone(t);
      case 'delete':
        return this.deleteStatement();
      case 'set':
        return this.set();
      case 'add':
        return this.add();
      case 'bind':
        return this.bind(t);
      case 'dhcp':
        return this.dhcp(t);
      case 'annotate':
        return this.annotate(t);
      case 'route':
        return this.route(t);
      case 'include':
        return this.include(t);
      case 'option':
        return this.option(t);
      case 'list':
      case 'debug':
        return this.uiCommand(t);
      case 'broadcast':
        return this.broadcast(t);
      case 'claim':
        return this.claim(t);
    }
  }

  private create(at: HoneydToken): void {
    const t = this.cur.peek();
    if (this.isWord(t, 'default') || this.isWord(t, 'template')) this.cur.next();
    else this.expectName('a template name');
    if (!this.checkNewName(t.text, at)) return;
    const tmpl = newTemplate(t.text);
    this.sources.set(tmpl, {});
    this.addTemplate(tmpl, this.pos(at));
    this.created.push({ tmpl, pos: this.pos(at) });
  }

  private dynamic(at: HoneydToken): void {
    const t = this.expectName('a template name');
    if (!this.checkNewName(t.text, at)) return;
    const tmpl = newTemplate(t.text);
    tmpl.dynamic = true;
    tmpl.rules = [];
    this.sources.set(tmpl, {});
    this.addTemplate(tmpl, this.pos(at));
    noteFeature(this.issues, this.pos(at), 'dynamic', `template "${t.text}"`);
  }

  private clone(at: HoneydToken): void {
    const t = this.expectName('the name of the new template');
    const ref = this.expectTemplateRef();
    const source = this.target(ref.name, ref.token, false);
    if (!source || !this.checkNewName(t.text, at)) return;
    const copy = this.copy(source, t.text);
    this.addTemplate(copy, this.pos(at));
    this.created.push({ tmpl: copy, pos: this.pos(at) });
  }

  private deleteStatement(): void {
    const ref = this.expectTemplateRef();
    let port: { proto: Proto | 'icmp'; number: number; token: HoneydToken } | undefined;
    if (['tcp', 'udp', 'icmp'].includes(this.cur.peek().text) && this.cur.peek().kind === 'word') {
      const p = this.expectProto();
      this.expect('port');
      const n = this.expectNumber('a port number');
      port = { proto: p.proto, number: n.value, token: n.token };
    }
    const tmpl = this.target(ref.name, ref.token, port !== undefined);
    if (!tmpl) return;
    if (port) {
      const i = tmpl.ports.findIndex((r) => r.proto === port.proto && r.port === port.number);
      if (i < 0) return this.error(port.token, `cannot find port ${port.proto}/${port.number} in "${ref.name}"`);
      tmpl.ports.splice(i, 1);
      return;
    }
    const binding = this.bindingByAddress.get(ref.name);
    if (binding) {
      this.bindingByAddress.delete(ref.name);
      this.bindings.splice(this.bindings.indexOf(binding), 1);
      return;
    }
    this.parsed.config.templates.delete(ref.name);
    this.parsed.origins.templates.delete(ref.name);
  }

  private set(): void {
    const ref = this.expectTemplateRef();
    const key = this.cur.peek();
    const keys = 'personality, default, ethernet, uptime, droprate, maxfds, uid or spoof';
    if (key.kind !== 'word') this.fail(keys);
    switch (key.text) {
      case 'personality': {
        this.cur.next();
        const v = this.cur.peek();
        if (this.isWord(v, 'random')) {
          this.cur.next();
          const tmpl = this.target(ref.name, ref.token, true);
          if (!tmpl) return;
          delete tmpl.personality;
          tmpl.personalityRandom = true;
          this.sourcesOf(tmpl).personality = { pos: this.pos(v) };
          return;
        }
        const name = this.expectString('a quoted personality name, e.g. "Linux 4.15 - 5.6", or random');
        const tmpl = this.target(ref.name, ref.token, true);
        if (!tmpl) return;
        tmpl.personality = name.text;
        delete tmpl.personalityRandom;
        const note = this.annotations.get(name.text);
        if (note) tmpl.annotation = { ...note };
        else delete tmpl.annotation;
        this.sourcesOf(tmpl).personality = { pos: this.pos(name) };
        return;
      }
      case 'default':
        this.cur.next();
        return this.setDefault(ref);
      case 'ethernet': {
        this.cur.next();
        const v = this.expectString('a quoted MAC address or vendor name, e.g. "Dell"');
        const tmpl = this.target(ref.name, ref.token, true);
        if (!tmpl) return;
        tmpl.ethernet = v.text;
        this.sourcesOf(tmpl).ethernet = { pos: this.pos(v) };
        return;
      }
      case 'uptime': {
        this.cur.next();
        const n = this.expectNumber('a number of seconds');
        const tmpl = this.target(ref.name, ref.token, true);
        if (!tmpl) return;
        if (n.value > MAX_UPTIME_SECONDS) return this.error(n.token, `uptime must be at most ${MAX_UPTIME_SECONDS} seconds`);
        // Honeyd ignores 0 (the host then gets a random uptime), as it does an unset uptime.
        if (n.value === 0) delete tmpl.uptime;
        else tmpl.uptime = n.value;
        return;
      }
      case 'droprate': {
        this.cur.next();
        const which = this.cur.peek();
        if (!this.isWord(which, 'in') && !this.isWord(which, 'syn')) this.fail('"in" or "syn"');
        this.cur.next();
        const rate = this.expectRate('a percentage');
        const tmpl = this.target(ref.name, ref.token, true);
        if (!tmpl) return;
        if (rate.value > 100) return this.error(rate.token, `droprate ${rate.value} is over 100 percent`);
        if (which.text === 'in') tmpl.dropRateIn = rate.value;
        else {
          tmpl.dropRateSyn = rate.value;
          noteFeature(this.issues, this.pos(which), 'dropRateSyn', `template "${ref.name}"`);
        }
        return;
      }
      case 'maxfds': {
        this.cur.next();
        const n = this.expectNumber('a number of file descriptors');
        const tmpl = this.target(ref.name, ref.token, true);
        if (!tmpl) return;
        if (n.value <= 3) return this.error(n.token, `maxfds must be more than 3, got ${n.value}`);
        tmpl.maxfds = n.value;
        noteFeature(this.issues, this.pos(key), 'maxfds', `template "${ref.name}"`);
        return;
      }
      case 'uid': {
        this.cur.next();
        const uid = this.expectNumber('a user id');
        const gid = this.accept('gid') ? this.expectNumber('a group id') : undefined;
        const tmpl = this.target(ref.name, ref.token, true);
        if (!tmpl) return;
        if (uid.value === 0) return this.error(uid.token, 'bad uid 0: scripts never run as root');
        if (gid && gid.value === 0) return this.error(gid.token, 'bad gid 0: scripts never run as group root');
        tmpl.uid = uid.value;
        if (gid) tmpl.gid = gid.value;
        noteFeature(this.issues, this.pos(key), 'uid', `template "${ref.name}"`);
        return;
      }
      case 'spoof': {
        this.cur.next();
        let from: string | undefined;
        let to: string | undefined;
        if (this.accept('from')) {
          from = this.expectAddress().text;
          if (this.accept('to')) to = this.expectAddress().text;
        } else if (this.accept('to')) to = this.expectAddress().text;
        else this.fail('"from" or "to"');
        const tmpl = this.target(ref.name, ref.token, true);
        if (!tmpl) return;
        tmpl.spoof = { ...tmpl.spoof, ...(from !== undefined ? { from } : {}), ...(to !== undefined ? { to } : {}) };
        noteFeature(this.issues, this.pos(key), 'spoof', `template "${ref.name}"`);
        return;
      }
      case 'subsystem':
        return this.fail(`${keys} (subsystems are added: add TEMPLATE subsystem "command")`);
      default:
        return this.fail(keys);
    }
  }

  private setDefault(ref: { name: string; token: HoneydToken }): void {
    const proto = this.expectProto();
    this.expect('action');
    const parsed = this.action();
    const tmpl = this.target(ref.name, ref.token, true);
    if (!tmpl) return;
    if (proto.proto === 'icmp') {
      if (parsed.action === 'block') tmpl.defaults.icmp = 'block';
      else if (parsed.action === 'reset') {
        tmpl.defaults.icmp = 'block';
        this.warn(parsed.token, `icmp action "${parsed.token.text}" follows Honeyd 1.6d: ICMP is dropped (Honeyd 1.5c still answered it)`);
      } else {
        tmpl.defaults.icmp = 'open';
        if (parsed.service) this.warn(parsed.token, 'a service on the ICMP default action means nothing (as in Honeyd): ICMP is answered');
      }
      return;
    }
    this.noteService(parsed, `default ${proto.proto} action of "${ref.name}"`);
    if (proto.proto === 'tcp') this.tcpDefaultSet.add(tmpl);
    tmpl.defaults[proto.proto] = parsed.action;
    const services = { ...tmpl.defaultServices };
    if (parsed.service) services[proto.proto] = parsed.service;
    else delete services[proto.proto];
    if (services.tcp || services.udp) tmpl.defaultServices = services;
    else delete tmpl.defaultServices;
  }

  /**
   * Honeyd's `action`: [tarpit] open | [tarpit] "command" | [tarpit] WORD | [tarpit] internal "module"
   * | [tarpit] proxy TARGET | closed | reset | filtered | block; then decoyd's `banner "…"` / `echo`.
   */
  private action(): ParsedAction {
    const expected = 'an action: open, closed, filtered, block, reset, tarpit, proxy, internal or a quoted script command';
    const tarpit = this.accept('tarpit');
    const t = this.cur.peek();
    if (t.kind === 'word' && ['block', 'filtered', 'reset', 'closed'].includes(t.text)) {
      if (tarpit) this.fail('open, proxy, internal or a script command after tarpit (Honeyd: syntax error)');
      this.cur.next();
      this.noteNewKeyword(t);
      return { action: t.text === 'block' || t.text === 'filtered' ? 'block' : 'reset', token: t };
    }
    let inner: ServiceSpec | undefined;
    if (this.isWord(t, 'open')) {
      this.cur.next();
      if (!tarpit) inner = this.decoydService();
    } else if (t.kind === 'string') {
      this.cur.next();
      inner = { kind: 'script', command: t.text };
    } else if (this.isWord(t, 'internal')) {
      this.cur.next();
      inner = { kind: 'internal', module: this.expectString('a quoted Python module name').text };
    } else if (this.isWord(t, 'proxy')) {
      this.cur.next();
      inner = { kind: 'proxy', target: this.proxyTarget(), at: this.pos(t) };
    } else if (t.kind === 'word' && !KEYWORDS.has(t.text)) {
      this.cur.next();
      // A path (`scripts/web.sh`) is plainly a command; a lone word (`allow`) more likely a mistaken keyword.
      if (!t.text.includes('/')) this.warn(t, `"${t.text}" is not a Honeyd action keyword: Honeyd (1.5c and 1.6d) runs it as a program, and so does decoyd's model (a script command "${t.text}")`);
      inner = { kind: 'script', command: t.text };
    } else this.fail(expected);
    const service: ServiceSpec | undefined = tarpit ? (inner ? { kind: 'tarpit', inner } : { kind: 'tarpit' }) : inner;
    return service ? { action: 'open', service, token: tarpit ?? t } : { action: 'open', token: t };
  }

  /** decoyd's extensions after `open`: `banner "text"`, `echo` or `service NAME product "P" …`. */
  private decoydService(): ServiceSpec | undefined {
    if (this.accept('echo')) return { kind: 'echo' };
    const emulate = this.accept('emulate'); // decoyd's emulators (config/honeyd-emulate.ts)
    const service = emulate ?? this.accept('service');
    if (service) {
      // `service NAME` then FIELD "value" pairs and `tls`; honeyd-identity.ts checks the form.
      const words: { text: string; quoted: boolean }[] = [{ text: 'service', quoted: false }];
      const name = this.cur.peek();
      if (name.kind !== 'word') this.fail('a service name such as ftp or ssl/http');
      words.push({ text: this.cur.next().text, quoted: false });
      for (;;) {
        const t = this.cur.peek();
        if (this.isWord(t, 'tls')) words.push({ text: this.cur.next().text, quoted: false });
        else if (t.kind === 'word' && IDENTITY_FIELDS.has(t.text)) {
          words.push({ text: this.cur.next().text, quoted: false });
          words.push({ text: this.expectString(`a quoted ${t.text}`).text, quoted: true });
        } else break;
      }
      const identity = emulate ? honeydEmulated(words) : honeydIdentity(words);
      if (typeof identity === 'string') {
        this.error(service, identity);
        return undefined;
      }
      return identity;
    }
    if (this.accept('banner')) {
      const s = this.expectString('a quoted banner text');
      const text = unescapeBanner(s.text);
      if (typeof text === 'object') {
        this.error({ file: this.cur.file, line: s.line, col: s.col }, text.error);
        return undefined;
      }
      return { kind: 'banner', banner: text };
    }
    return undefined;
  }

  /** Honeyd's proxy targets: IP:N, host:N, $var:N, host:$var, IP:$var. */
  private proxyTarget(): string {
    const host = this.cur.peek();
    if (host.kind !== 'ip' && !(host.kind === 'word' && !KEYWORDS.has(host.text))) this.fail('a proxy target HOST:PORT, e.g. 192.0.2.1:80 or $ipsrc:23');
    this.cur.next();
    const colon = this.cur.peek();
    if (!(colon.kind === 'punct' && colon.text === ':')) this.fail('":" and a port after the proxy host');
    this.cur.next();
    const port = this.cur.peek();
    if (port.kind === 'number') {
      this.cur.next();
      if (Number(port.text) < 1 || Number(port.text) > 65535) this.error(port, `proxy port must be 1-65535, got ${port.text}`);
    } else if (port.kind === 'word' && port.text.startsWith('$')) this.cur.next();
    else this.fail('a port number or a $variable such as $dport');
    if (host.kind === 'ip') {
      const bad = checkIpv4(host.text);
      if (bad) this.error(host, bad);
    }
    return `${host.text}:${port.text}`;
  }

  private noteNewKeyword(t: HoneydToken): void {
    if (!KEYWORDS_NEW_IN_16D.has(t.text) || this.cur.warnedNewKeyword) return;
    this.cur.warnedNewKeyword = true;
    this.warn(t, `"${t.text}" is read as Honeyd 1.6d does (closed = reset, filtered = block); Honeyd 1.5c had no such keyword and ran a program named "${t.text}" (said once per file)`);
  }

  /** Warnings for a service the daemon does not run yet. */
  private noteService(parsed: ParsedAction, where: string): void {
    const s = parsed.service;
    if (!s) return;
    const pos = this.pos(parsed.token);
    if (s.kind === 'tarpit') {
      noteFeature(this.issues, pos, 'tarpit', where);
      if (s.inner) this.noteService({ ...parsed, service: s.inner }, where);
      return;
    }
    if (s.kind === 'script' || s.kind === 'proxy' || s.kind === 'internal') noteFeature(this.issues, pos, s.kind, where);
  }

  private add(): void {
    const ref = this.expectTemplateRef();
    const t = this.cur.peek();
    if (this.isWord(t, 'subsystem')) {
      this.cur.next();
      const cmd = this.expectString('a quoted subsystem command');
      const shared = this.accept('shared') !== undefined;
      const restart = this.accept('restart') !== undefined;
      const tmpl = this.target(ref.name, ref.token, true);
      if (!tmpl) return;
      (tmpl.subsystems ??= []).push({ command: cmd.text, shared, restart, origin: `${this.cur.file}:${cmd.line}` });
      noteFeature(this.issues, this.pos(t), 'subsystem', `"${cmd.text}" on "${ref.name}"`);
      return;
    }
    if (this.isWord(t, 'use') || this.isWord(t, 'otherwise')) {
      this.cur.next();
      let condition: DynamicCondition = { kind: 'default' };
      if (t.text === 'otherwise') this.expect('use');
      const use = this.expectTemplateRef();
      if (t.text === 'use') {
        this.expect('if');
        condition = this.condition();
      }
      return this.addDynamicRule(ref, use, condition, t);
    }
    if (t.kind !== 'word' || !['tcp', 'udp', 'icmp'].includes(t.text)) this.fail('tcp, udp, icmp, subsystem, use or otherwise');
    const proto = this.expectProto();
    this.expect('port');
    const port = this.expectNumber('a port number');
    const parsed = this.action();
    const tmpl = this.target(ref.name, ref.token, true);
    if (!tmpl) return;
    if (proto.proto === 'icmp') {
      this.warn(proto.token, 'ICMP has no ports: "add ... icmp port" is accepted and means nothing, as in Honeyd');
      return;
    }
    if (port.value < 1 || port.value > 65535) return this.error(port.token, `expected a port number 1-65535, got "${port.token.text}"`);
    if (parsed.service?.kind === 'banner' && proto.proto !== 'tcp') return this.error(parsed.token, 'a banner needs a tcp port');
    const where = `port ${proto.proto}/${port.value} of "${ref.name}"`;
    const first = tmpl.ports.find((p) => p.proto === proto.proto && p.port === port.value);
    if (first) {
      this.warn(port.token, `port ${proto.proto}/${port.value} of "${tmpl.name}" is defined again: Honeyd 1.6d keeps the first definition (and so does decoyd); Honeyd 1.5c rejects the file`);
      return;
    }
    this.noteService(parsed, where);
    if (parsed.service?.kind === 'identity') this.parsed.origins.services.set(`${tmpl.name}\u0000${proto.proto}/${port.value}`, { pos: this.pos(parsed.token) });
    tmpl.ports.push(parsed.service ? { proto: proto.proto, port: port.value, action: parsed.action, service: parsed.service } : { proto: proto.proto, port: port.value, action: parsed.action });
  }

  private addDynamicRule(ref: { name: string; token: HoneydToken }, use: { name: string; token: HoneydToken }, condition: DynamicCondition, at: HoneydToken): void {
    const dyn = this.target(ref.name, ref.token, true);
    const source = this.target(use.name, use.token, false);
    if (!dyn || !source) return;
    if (!dyn.dynamic) return this.error(ref.token, `cannot add rules to "${ref.name}": it is not a dynamic template (create it with: dynamic ${ref.name})`);
    const rules = (dyn.rules ??= []);
    // Honeyd clones the template into a child NAME_<n>_<T> at this point; later edits of T are not seen.
    const child = `${dyn.name}_${rules.length}_${source.name}`;
    const copy = this.copy(source, child);
    this.parsed.config.templates.set(child, copy);
    this.parsed.origins.templates.set(child, { pos: this.pos(at) });
    rules.push({ template: child, condition, origin: `${this.cur.file}:${at.line}` });
  }

  /** Honeyd's `condition`. */
  private condition(): DynamicCondition {
    const t = this.cur.peek();
    if (this.accept('source')) {
      if (this.accept('os')) {
        this.expectEqual();
        return { kind: 'os', value: this.expectString('a quoted passive-fingerprint OS name, e.g. "Windows"').text };
      }
      if (this.accept('ip')) {
        this.expectEqual();
        const a = this.expectAddress('an address or network');
        const slash = this.cur.peek();
        if (slash.kind === 'punct' && slash.text === '/') {
          this.cur.at--;
          return { kind: 'ip', value: this.expectNetwork().text };
        }
        return { kind: 'ip', value: a.text };
      }
      this.fail('"os" or "ip" after "source"');
    }
    if (this.accept('time')) {
      this.expect('between');
      const start = this.timeOfDay();
      const dash = this.cur.peek();
      if (!(dash.kind === 'punct' && dash.text === '-')) this.fail('"-" between the two times');
      this.cur.next();
      const end = this.timeOfDay();
      if (start > end) this.warn(t, 'the time range wraps past midnight: it never matches (Honeyd does not wrap either)');
      return { kind: 'time', value: { startSeconds: start, endSeconds: end } };
    }
    if (t.kind === 'word' && (t.text === 'tcp' || t.text === 'udp' || t.text === 'icmp')) {
      this.cur.next();
      return { kind: 'proto', value: t.text };
    }
    if (this.accept('otherwise')) return { kind: 'default' };
    this.fail('a condition: source os = "NAME", source ip = NET, time between T - T, tcp, udp, icmp or otherwise');
  }

  private expectEqual(): void {
    const t = this.cur.peek();
    if (!(t.kind === 'punct' && t.text === '=')) this.fail('"="');
    this.cur.next();
  }

  /** Seconds since midnight from `H:MMam|pm` or `"hh:mm:ss"`. */
  private timeOfDay(): number {
    const t = this.cur.peek();
    if (t.kind === 'string') {
      this.cur.next();
      const m = /^(\d{1,2}):(\d{2}):(\d{2})(?:\s*([AaPp][Mm]))?$/.exec(t.text.trim());
      if (!m || Number(m[1]) > 23 || Number(m[2]) > 59 || Number(m[3]) > 60) {
        this.error(t, 'bad time: use "hh:mm:ss"');
        return 0;
      }
      let hour = Number(m[1]);
      if (m[4]) hour = (hour % 12) + (m[4].toLowerCase() === 'pm' ? 12 : 0);
      return hour * 3600 + Number(m[2]) * 60 + Number(m[3]);
    }
    const h = this.expectNumber('a time like 5:00am or "05:00:00"');
    const colon = this.cur.peek();
    if (!(colon.kind === 'punct' && colon.text === ':')) this.fail('":" and minutes');
    this.cur.next();
    const m = this.expectNumber('minutes');
    const ampm = this.cur.peek();
    if (!(ampm.kind === 'word' && (ampm.text === 'am' || ampm.text === 'pm'))) this.fail('"am" or "pm" (Honeyd needs one)');
    this.cur.next();
    if (h.value < 1 || h.value > 12 || m.value > 59) {
      this.error(h.token, `bad time ${h.value}:${m.token.text}${ampm.text}`);
      return 0;
    }
    if (h.value === 12) {
      this.warn(h.token, `Honeyd reads 12:${m.token.text}${ampm.text} as ${ampm.text === 'am' ? 'noon' : '24:' + m.token.text} (hour + 12 for pm, a Honeyd bug); decoyd reads it as the clock says, ${ampm.text === 'am' ? '00' : '12'}:${m.token.text}`);
    }
    const hour = (h.value % 12) + (ampm.text === 'pm' ? 12 : 0);
    return hour * 3600 + m.value * 60;
  }

  private bind(at: HoneydToken): void {
    const first = this.cur.peek();
    if (first.kind === 'word' && CONDITION_WORDS.has(first.text)) {
      const condition = this.condition();
      const addr = this.expectAddress();
      const use = this.expectTemplateRef();
      if (!addr.ok) return;
      return this.conditionalBind(addr.text, use, condition, at);
    }
    const addr = this.expectAddress('an IPv4 address to bind (or a condition)');
    if (this.accept('to')) {
      const iface = this.expectInterface();
      if (!addr.ok) return;
      if (this.parsed.config.templates.has(addr.text) || this.bindingByAddress.has(addr.text)) {
        return this.error(addr.token, `template "${addr.text}" exists already`);
      }
      (this.parsed.config.realHosts ??= []).push({ address: addr.text, interface: iface.text, origin: `${this.cur.file}:${at.line}` });
      noteFeature(this.issues, this.pos(at), 'realHost', `${addr.text} on ${iface.text}`);
      return;
    }
    const ref = this.expectTemplateRef();
    if (!addr.ok) return;
    const address = addr.text;
    const previous = this.bindingByAddress.get(address);
    if (previous) return this.error(addr.token, `${address} is already bound (at ${previous.origin.file}:${previous.origin.line})`);
    const tmpl = this.target(ref.name, ref.token, false);
    if (!tmpl) return;
    const snapshot = this.copy(tmpl, address);
    const binding: PendingCopy = { address, template: tmpl.name, snapshot, modified: false, origin: this.pos(at) };
    this.bindings.push(binding);
    this.bindingByAddress.set(address, binding);
  }

  /** `bind CONDITION IP T`: creates or extends a dynamic template named by the address. */
  private conditionalBind(address: string, use: { name: string; token: HoneydToken }, condition: DynamicCondition, at: HoneydToken): void {
    let binding = this.bindingByAddress.get(address);
    if (binding && !binding.snapshot.dynamic) return this.error(at, `template "${address}" already specified as non-dynamic template`);
    if (!binding) {
      const tmpl = newTemplate(address);
      tmpl.dynamic = true;
      tmpl.rules = [];
      binding = { address, template: address, snapshot: tmpl, modified: true, origin: this.pos(at) };
      this.bindings.push(binding);
      this.bindingByAddress.set(address, binding);
      noteFeature(this.issues, this.pos(at), 'dynamic', `conditional bind of ${address}`);
    }
    this.addDynamicRule({ name: address, token: at }, use, condition, at);
  }

  private expectInterface(): HoneydToken {
    const t = this.cur.peek();
    if (t.kind !== 'word') this.fail('an interface name');
    return this.cur.next();
  }

  /**
   * `dhcp T on IF [ethernet "MAC or vendor"]`. Honeyd requires a MAC from the template or the
   * clause; decoyd chooses one to fit the OS when neither gives it.
   */
  private dhcp(at: HoneydToken): void {
    const ref = this.expectTemplateRef();
    this.expect('on');
    const iface = this.expectInterface();
    const ethernet = this.accept('ethernet') ? this.expectString('a quoted MAC address or vendor name') : undefined;
    if (!/^[A-Za-z0-9_.:@\-]{1,15}$/.test(iface.text)) return this.error(iface, `"${iface.text}" is not a valid interface name`);
    const tmpl = this.target(ref.name, ref.token, false);
    if (!tmpl) return;
    // Honeyd clones the template here: later edits of T do not reach this host.
    const dhcpList = this.parsed.config.dhcp;
    const index = dhcpList.length;
    const snapshot = this.copy(tmpl, `${tmpl.name}@dhcp${index}`);
    this.dhcpCopies.push({ address: String(index), template: tmpl.name, snapshot, modified: false, origin: this.pos(at) });
    dhcpList.push({
      template: tmpl.name,
      interface: iface.text,
      ...(ethernet ? { ethernet: ethernet.text } : {}),
      origin: `${this.cur.file}:${at.line}`,
    });
    this.parsed.origins.dhcp.push({ template: { pos: this.pos(ref.token) }, ...(ethernet ? { ethernet: { pos: this.pos(ethernet) } } : {}) });
    noteFeature(this.issues, this.pos(at), 'dhcp', `template "${ref.name}" on ${iface.text}`);
  }

  private annotate(at: HoneydToken): void {
    const who = this.cur.peek();
    if (!this.isWord(who, 'random') && who.kind !== 'string') this.fail('a quoted personality name or random');
    this.cur.next();
    const change: PersonalityAnnotation = {};
    if (this.accept('finscan')) change.finscan = true;
    else if (this.accept('no')) {
      this.expect('finscan');
      change.finscan = false;
    } else if (this.accept('fragment')) {
      const p = this.cur.peek();
      if (!(p.kind === 'word' && (p.text === 'drop' || p.text === 'old' || p.text === 'new'))) this.fail('drop, old or new');
      this.cur.next();
      change.fragment = p.text as 'drop' | 'old' | 'new';
    } else this.fail('finscan, no finscan or fragment');
    noteFeature(this.issues, this.pos(at), 'annotate', `"${who.text}"`);
    if (who.kind !== 'string') return;
    const already = [...this.parsed.config.templates.values(), ...this.bindings.map((b) => b.snapshot)].filter((t) => t.personality === who.text).map((t) => t.name);
    if (already.length > 0) {
      this.warn(at, `annotate comes after "set … personality" for ${already.map((n) => `"${n}"`).join(', ')}: as in Honeyd, which copies the personality there, they keep it unannotated`);
    }
    this.annotations.set(who.text, { ...this.annotations.get(who.text), ...change });
    this.parsed.origins.annotations.push({ personality: who.text, at: { pos: this.pos(who) } });
  }

  private route(at: HoneydToken): void {
    const topology = this.parsed.config.topology;
    const origin = `${this.cur.file}:${at.line}`;
    if (!this.cur.warnedRoute) {
      this.cur.warnedRoute = true;
      noteFeature(this.issues, this.pos(at), 'route', 'first route statement of this file');
    }
    if (this.accept('entry')) {
      const router = this.expectAddress('the entry router address');
      const network = this.accept('network') ? this.expectNetwork() : undefined;
      if (!router.ok || (network && !network.ok)) return;
      const mine = parseCidrStrict(network?.text ?? '0.0.0.0/0');
      const clash = topology.entries.find((e) => {
        const other = parseCidrStrict(e.network ?? '0.0.0.0/0');
        return typeof mine !== 'string' && typeof other !== 'string' && cidrsOverlapText(mine, other);
      });
      if (clash) return this.error(router.token, `entry ${router.text} overlaps the entry ${clash.router} (at ${clash.origin}): entry networks may not overlap (Honeyd: "Defining entry point failed")`);
      topology.entries.push({ router: router.text, ...(network ? { network: network.text } : {}), origin });
      return;
    }
    const router = this.expectAddress('"entry" or a router address');
    const verb = this.cur.peek();
    if (this.accept('link') || this.accept('unreach')) {
      const net = this.expectNetwork();
      if (!router.ok || !net.ok) return;
      if (verb.text === 'link') topology.links.push({ router: router.text, network: net.text, origin });
      else topology.unreach.push({ router: router.text, network: net.text, origin });
      return;
    }
    if (!this.accept('add')) this.fail('link, unreach or add net');
    this.expect('net');
    const net = this.expectNetwork();
    if (this.accept('tunnel')) {
      this.expectAddress('the tunnel source address');
      this.expectAddress('the tunnel destination address');
      noteFeature(this.issues, this.pos(at), 'tunnel', `to ${net.text}`);
      return;
    }
    const gateway = this.expectAddress('the gateway router address or "tunnel"');
    const route: TopologyRoute = { router: router.text, network: net.text, gateway: gateway.text, origin };
    if (this.accept('latency')) {
      route.latencyMs = this.expectNumber('a latency in milliseconds').value;
      this.expect('ms', '"ms" after the latency (e.g. latency 10ms)');
    }
    if (this.accept('loss')) {
      const loss = this.expectRate('a loss percentage');
      if (loss.value > 100) this.error(loss.token, `loss ${loss.value} is over 100 percent`);
      else route.lossPercent = loss.value;
    }
    let bandwidth = 0;
    if (this.accept('bandwidth')) {
      bandwidth = this.expectNumber('a bandwidth in bits per second, e.g. 10Mbps').value;
      const unit = this.cur.peek();
      if (this.isWord(unit, 'Kbps') || this.isWord(unit, 'Mbps')) {
        this.cur.next();
        bandwidth *= unit.text === 'Kbps' ? 1000 : 1000000;
      } else if (unit.kind === 'number') bandwidth *= Number(this.cur.next().text);
      route.bandwidthBps = bandwidth;
    }
    const drop = this.accept('drop');
    if (drop) {
      this.expect('between');
      const low = this.expectNumber('the lower queue delay in ms');
      this.expect('ms');
      const dash = this.cur.peek();
      if (!(dash.kind === 'punct' && dash.text === '-')) this.fail('"-" between the two delays');
      this.cur.next();
      const high = this.expectNumber('the upper queue delay in ms');
      this.expect('ms');
      if (high.value <= low.value) this.error(low.token, 'drop between: the first delay must be smaller than the second');
      else if (bandwidth === 0) this.warn(drop, '"drop between" without a bandwidth is ignored (as in Honeyd)');
      else route.dropBetweenMs = { low: low.value, high: high.value };
    }
    if (!router.ok || !net.ok || !gateway.ok) return;
    topology.routes.push(route);
  }

  private include(at: HoneydToken): void {
    const t = this.cur.peek();
    if (t.kind !== 'raw') this.fail('a file name after include');
    this.cur.next();
    const target = path.isAbsolute(t.text) ? t.text : path.join(path.dirname(this.cur.file), t.text);
    this.parseFile(target, this.pos(at));
  }

  private option(at: HoneydToken): void {
    const plugin = this.expectName('a plugin name');
    const key = this.expectName('an option name');
    const value = this.optionValue();
    if (plugin.text !== 'decoyd') {
      this.warn(at, `option for the Honeyd plugin "${plugin.text}" is ignored: decoyd has no Honeyd plugins`);
      return;
    }
    this.decoydOption(key.text, value.text, value.token);
  }

  /** NUMBER, FLOAT, a word, a quoted string, or a path written as adjacent tokens (`/usr/x`, `../a/b`). */
  private optionValue(): { text: string; token: HoneydToken } {
    const first = this.cur.peek();
    if (first.kind === 'eof' || first.kind === 'illegal') this.fail('an option value');
    this.cur.next();
    if (first.kind === 'string') return { text: first.text, token: first };
    let text = first.text;
    let last = first;
    for (;;) {
      const t = this.cur.peek();
      const adjacent = t.kind !== 'eof' && t.kind !== 'string' && t.kind !== 'illegal' && t.line === last.endLine && t.col === last.col + last.text.length;
      if (!adjacent) break;
      text += t.text;
      last = this.cur.next();
    }
    return { text, token: first };
  }

  private decoydOption(key: string, value: string, at: HoneydToken): void {
    const pos = this.pos(at);
    if (key === 'osdb' && !this.osDbReplaced) {
      // The first `option decoyd osdb` replaces the default database; later ones add.
      this.parsed.config.osDb = [];
      this.parsed.origins.osDb = [];
      this.osDbReplaced = true;
    }
    const problem = applyDecoydOption(this.parsed, key, value, pos, path.dirname(this.cur.file));
    if (problem) this.error(at, problem);
  }

  /** honeydctl's `list template|subsystem [glob]` and `debug WORD N`: print-outs, nothing to configure. */
  private uiCommand(at: HoneydToken): void {
    if (at.text === 'list') {
      if (!this.accept('template') && !this.accept('subsystem')) this.fail('template or subsystem');
      const t = this.cur.peek();
      if (t.kind === 'string' || (t.kind === 'word' && !KEYWORDS.has(t.text))) this.cur.next();
    } else {
      this.expectName('fd or trace');
      this.expectNumber('a number');
    }
    this.warn(at, `"${at.text}" is a honeydctl command: it prints state in Honeyd and configures nothing; decoyd ignores it`);
  }

  /** Honeyd 1.6d: `broadcast T srcport N dstport N time SECONDS ACTION`. */
  private broadcast(at: HoneydToken): void {
    const ref = this.expectTemplateRef();
    this.expect('srcport');
    this.expectNumber('a source port');
    this.expect('dstport');
    this.expectNumber('a destination port');
    this.expect('time');
    this.expectNumber('an interval in seconds');
    this.action();
    this.target(ref.name, ref.token, false);
    noteFeature(this.issues, this.pos(at), 'broadcast', `template "${ref.name}"`);
  }

  private claim(at: HoneydToken): void {
    const net = this.cur.peek();
    if (net.kind !== 'ip') this.fail('a CIDR range like 198.51.100.128/25');
    this.cur.next();
    const slash = this.cur.peek();
    if (!(slash.kind === 'punct' && slash.text === '/')) this.fail('"/" and a prefix length');
    this.cur.next();
    const bits = this.expectNumber('a prefix length');
    const range = `${net.text}/${bits.token.text}`;
    const t = this.cur.peek();
    let template = DEFAULT_TEMPLATE_NAME;
    let templateTok = at;
    if (t.kind === 'word' && (!KEYWORDS.has(t.text) || t.text === 'default' || t.text === 'template') && !STATEMENT_WORDS.has(t.text)) {
      template = this.cur.next().text;
      templateTok = t;
    }
    const cidr = parseCidrStrict(range);
    if (typeof cidr === 'string') return this.error(net, cidr);
    // The template is checked after parsing, like YAML's, so it may be created later.
    this.parsed.config.claims.push({ range, template, origin: `${this.cur.file}:${at.line}` });
    this.parsed.origins.claims.push({ range: { pos: this.pos(net) }, template: { pos: this.pos(templateTok) } });
  }

  // ---------------------------------------------------------------- templates

  /** A template by name, or a bound address's own copy (Honeyd lets `set`/`add` name either). */
  private target(name: string, at: HoneydToken, forChange: boolean): TemplateConfig | undefined {
    const binding = this.bindingByAddress.get(name);
    if (binding) {
      if (forChange) binding.modified = true;
      return binding.snapshot;
    }
    const tmpl = this.parsed.config.templates.get(name);
    if (!tmpl) {
      this.error(at, checkIpv4(name) === undefined ? `${name} is not bound to a template` : `unknown template "${name}"`);
      return undefined;
    }
    return tmpl;
  }

  private checkNewName(name: string, at: HoneydToken): boolean {
    const existing = this.parsed.origins.templates.get(name);
    if (existing || this.bindingByAddress.has(name)) {
      const where = existing ? ` (created at ${existing.pos.file}:${existing.pos.line})` : '';
      this.error(at, `template "${name}" exists already${where}`);
      return false;
    }
    return true;
  }

  private addTemplate(tmpl: TemplateConfig, pos: SourcePos): void {
    this.parsed.config.templates.set(tmpl.name, tmpl);
    this.parsed.origins.templates.set(tmpl.name, { pos });
  }

  /** copyTemplate, carrying what the parser knows about the source along. */
  private copy(source: TemplateConfig, name: string): TemplateConfig {
    const copy = copyTemplate(source, name);
    this.sources.set(copy, { ...this.sources.get(source) });
    if (this.tcpDefaultSet.has(source)) this.tcpDefaultSet.add(copy);
    return copy;
  }

  private sourcesOf(tmpl: TemplateConfig): TemplateSources {
    let s = this.sources.get(tmpl);
    if (!s) {
      s = {};
      this.sources.set(tmpl, s);
    }
    return s;
  }

  /** Resolve copies: unchanged hosts share their template, others get their own. */
  private finishCopies(): void {
    const { config, origins } = this.parsed;
    for (const { tmpl, pos } of this.created) {
      if (config.templates.get(tmpl.name) !== tmpl || this.tcpDefaultSet.has(tmpl)) continue;
      this.issues.warn(
        pos,
        `template "${tmpl.name}" sets no default tcp action: Honeyd's fresh template answers every unlisted TCP port as open, decoyd resets them (as in its YAML); add "set ${tmpl.name} default tcp action open" for Honeyd's behaviour`,
      );
    }
    for (const b of this.bindings) {
      const current = config.templates.get(b.template);
      let templateName = b.template;
      if (b.modified || !current || !sameTemplateContent(current, b.snapshot)) {
        templateName = b.address;
        config.templates.set(b.address, b.snapshot);
        origins.templates.set(b.address, { pos: b.origin });
      }
      config.hosts.push({ address: b.address, template: templateName, origin: `${b.origin.file}:${b.origin.line}` });
      origins.hosts.push({ address: { pos: b.origin }, template: { pos: b.origin } });
    }
    this.dhcpCopies.forEach((d, i) => {
      const current = config.templates.get(d.template);
      if (!current || !sameTemplateContent(current, d.snapshot)) {
        config.templates.set(d.snapshot.name, d.snapshot);
        origins.templates.set(d.snapshot.name, { pos: d.origin });
        config.dhcp[i].template = d.snapshot.name;
      }
    });
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

function cidrsOverlapText(a: { network: number; prefix: number }, b: { network: number; prefix: number }): boolean {
  const contains = (r: { network: number; prefix: number }, ip: number): boolean => ip >= r.network && ip < r.network + 2 ** (32 - r.prefix);
  return contains(a, b.network) || contains(b, a.network);
}
