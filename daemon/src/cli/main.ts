import { randomUUID } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import { buildAdminApi } from '../../../admin-api/src/server';
import { DaemonControl } from '../admin-control';
import { PcapRecorder } from '../capture/pcap-recorder';
import { parseListen } from '../config/yaml';
import { ecsContext } from '../events/ecs';
import { FanoutSink } from '../events/fanout-sink';
import { LiveEventHub } from '../events/live-hub';
import { DaemonMetrics } from '../metrics';
import { NoStore } from '../store/no-store';
import { SqliteStoreQuery } from '../store/sqlite-query';
import { databaseFile, StoreWriter } from '../store/writer';
import { parseIp } from '../wire/address';
import { formatIssue } from '../config/errors';
import { ConfigError, loadConfigWithData, type LoadedConfig } from '../config/load';
import { describeConfig } from '../config/describe';
import type { DecoydConfig } from '../config/types';
import { Daemon, DEFAULT_P0F_DATABASE, assemble, compileHost, dhcpInterfaceProblems, interfaceExists, readP0fDatabase, realHostProblems } from '../daemon';
import { createLogger, PinoEventSink } from '../events/pino-sink';
import { SyslogShipper } from '../ship/syslog-shipper';
import { PostgresShipper } from '../ship/postgres-shipper';
import { PcapLink } from '../link/pcap-link';
import { openPersonalitySource } from '../personality/source';
import { dropPrivileges, lookupUser } from './privileges';
import { KeyDirectory, keepKeysIn } from '../services/keys/key-directory';
import { findSubsystemNative } from '../services/subsystem/native';
import { personalitiesCommand } from './personalities';
import { servicesCommand } from './services';

const USAGE = `usage:
  decoyd run --config FILE [--interface IF] [--user NAME] [--admin HOST:PORT] [--strict-personalities] [--proxy-allow ADDR:PORT ...]
                                                            run in the foreground, ECS JSON log lines on stdout
  decoyd events [--since 10m] [--src IP] [--kind K] [--follow] [--json] [--api URL]
  decoyd sources [--json] [--api URL]                       who probed us (reads the admin API; token from DECOYD_ADMIN_TOKEN)
  decoyd scans [--json] [--api URL]                         detected scans and tools
  decoyd db migrate --url postgres://… [--writer ROLE] [--reader ROLE] [--days-ahead 7]
                                                            create or upgrade the fleet schema on PostgreSQL (and grant roles)
  decoyd db prune --url postgres://… --older-than 30d       drop the fleet's daily partitions older than that
  decoyd api --store postgres://… [--listen HOST:PORT] [--token-file F] [--tls-cert F --tls-key F]
                                                            the admin API over the whole fleet (token from DECOYD_ADMIN_TOKEN)
  decoyd check [--strict-personalities] [--proxy-allow ADDR:PORT ...] FILE   validate a config and print the resolved hosts
      --strict-personalities: a Honeyd personality name that nmap-os-db lacks is an error
                              (without it, the closest entry is used and the mapping printed)
  decoyd audit --static FILE [--json]                       lint a config for contradictions a scanner would see (exit 3 on a high one)
  decoyd audit FILE [--json]                                run it in a throw-away lab and probe every host (nmap -O -sV,
                                                            SYN/ACK timing, ICMP timestamp/mask); root; exit 3 on a high one
  decoyd lab [--config FILE]                                build the demo lab of network namespaces and run decoyd in it
  decoyd personalities search TEXT                          list nmap-os-db fingerprints whose name or class matches
  decoyd personalities show NAME [--address IP]             the concrete values a host of that personality uses
  decoyd services search TEXT                               products nmap -sV can be shown, with probe and rule line
  decoyd services show "tcp/21 ftp ProFTPD 1.3.5" [--address IP]   the exact bytes sent per nmap probe
`;

class UsageError extends Error {}

/** How long start-up may spend building personalities before declaring itself ready. */
const WARM_UP_BUDGET_MS = 1500;

function fail(message: string, code = 2): never {
  process.stderr.write(`decoyd: ${message}\n`);
  process.exit(code);
}

/** Loads for `run`: warnings go to stderr; a warning that blocks running ends the process. */
function readConfig(file: string, strictPersonalities: boolean, proxyAllow: string[] = []): LoadedConfig {
  let loaded: LoadedConfig;
  try {
    loaded = loadConfigWithData(file, { strictPersonalities, proxyAllow });
  } catch (err) {
    if (err instanceof ConfigError) fail(err.message);
    throw err;
  }
  for (const w of loaded.warnings) process.stderr.write(`decoyd: warning: ${formatIssue(w)}\n`);
  const blocking = loaded.warnings.filter((w) => w.blocksRun);
  if (blocking.length > 0) {
    fail(`refusing to run: ${blocking.length} feature${blocking.length === 1 ? '' : 's'} of this configuration would run wrongly without support decoyd lacks yet:\n${blocking.map(formatIssue).join('\n')}`);
  }
  return loaded;
}

/** The packet tally's counters for /api/v1/stats (none without a store). */
function tallyCounters(t: { packets: number; rows: number; buckets: number } | undefined): Record<string, number> {
  return t === undefined ? {} : { storePacketsFolded: t.packets, storePacketRows: t.rows, storeTallyBuckets: t.buckets };
}

/** A sensor id kept in the data directory, so event.id prefixes stay the same across restarts. */
function sensorId(dir: string | undefined): string | undefined {
  if (dir === undefined) return undefined;
  const file = join(dir, 'sensor-id');
  if (existsSync(file)) return readFileSync(file, 'utf8').trim();
  mkdirSync(dir, { recursive: true });
  const id = randomUUID();
  writeFileSync(file, `${id}\n`);
  return id;
}

function isLoopback(host: string): boolean {
  return host === 'localhost' || (parseIp(host) >>> 24) === 127;
}

async function run(argv: string[]): Promise<void> {
  const { values } = parseArgs({
    args: argv,
    options: {
      config: { type: 'string', short: 'c' },
      interface: { type: 'string', short: 'i' },
      user: { type: 'string', short: 'u' },
      admin: { type: 'string' },
      'strict-personalities': { type: 'boolean' },
      'proxy-allow': { type: 'string', multiple: true },
    },
  });
  if (values.config === undefined) throw new UsageError('run needs --config FILE');
  const loaded = readConfig(values.config, values['strict-personalities'] === true, values['proxy-allow'] ?? []);
  const cfg = loaded.config;
  const ifName = values.interface ?? cfg.interface;
  if (ifName === undefined) fail('no interface: give --interface IF or `interface:` in the config');
  if (!interfaceExists(ifName)) fail(`no such network interface: ${ifName}`);
  const dhcpProblems = dhcpInterfaceProblems(cfg, ifName);
  if (dhcpProblems.length > 0) fail(dhcpProblems.join('\n'));
  const realProblems = realHostProblems(cfg, ifName);
  if (realProblems.length > 0) fail(realProblems.join('\n'));

  // The admin API: refuse to listen beyond loopback without a token.
  const adminText = values.admin ?? cfg.admin?.listen;
  const admin = adminText === undefined ? undefined : parseListen(adminText);
  if (adminText !== undefined && admin === undefined) fail(`--admin: expected HOST:PORT with an IPv4 host, got "${adminText}"`);
  let token = process.env.DECOYD_ADMIN_TOKEN;
  if (token === undefined && cfg.admin?.tokenFile !== undefined) {
    try {
      token = readFileSync(cfg.admin.tokenFile, 'utf8').trim();
    } catch (err) {
      fail(`admin.token_file: ${err instanceof Error ? err.message : String(err)}`);
    }
  }
  if (token !== undefined && token.length < 16) fail('the admin token must be at least 16 characters');
  if (admin !== undefined && !isLoopback(admin.host) && token === undefined) {
    fail(`refusing to serve the admin API on ${admin.host}:${admin.port} without a token: set DECOYD_ADMIN_TOKEN or admin.token_file, or listen on 127.0.0.1`);
  }
  // With admin.tls_cert/tls_key the API speaks HTTPS only; unreadable files stop the start rather than fall back to HTTP.
  let adminTls: { cert: Buffer; key: Buffer } | undefined;
  if (cfg.admin?.tls !== undefined) {
    try {
      adminTls = { cert: readFileSync(cfg.admin.tls.certFile), key: readFileSync(cfg.admin.tls.keyFile) };
    } catch (err) {
      fail(`admin TLS: ${err instanceof Error ? err.message : String(err)}`);
    }
  }
  const adminScheme = adminTls === undefined ? 'http' : 'https';

  const started = Date.now();
  const ecs = ecsContext({ ...cfg.sensor, id: cfg.sensor?.id ?? sensorId(cfg.store?.path) }, started);
  const { logger, flush, dropped: logDropped } = createLogger(cfg.log.level);
  const events = new FanoutSink([new PinoEventSink(logger, ecs)]);
  const report = (message: string): void => events.emit({ kind: 'daemon.error', time: Date.now(), message });
  let store: StoreWriter | undefined;
  if (cfg.store !== undefined) {
    try {
      store = await StoreWriter.open(cfg.store, ecs, report, started);
    } catch (err) {
      fail(`store ${cfg.store.path}: ${err instanceof Error ? err.message : String(err)}`, 1);
    }
    events.add(store);
    store.beforeFlush = () => events.drainCounts();
  }
  const shippers: (SyslogShipper | PostgresShipper)[] = [];
  for (const settings of cfg.ship ?? []) {
    try {
      if (settings.kind === 'postgres') {
        // Reads the store as its outbox (the config requires store:), so it takes nothing from the fan-out.
        shippers.push(new PostgresShipper(settings, databaseFile((cfg.store as { path: string }).path), ecs, report));
        continue;
      }
      const shipper = new SyslogShipper(settings, ecs, report);
      shippers.push(shipper);
      events.add(shipper);
    } catch (err) {
      fail(`ship ${settings.name}: ${err instanceof Error ? err.message : String(err)}`, 1);
    }
  }
  let recorder: PcapRecorder | undefined;
  if (cfg.capture !== undefined) {
    try {
      mkdirSync(cfg.capture.dir, { recursive: true });
    } catch (err) {
      fail(`capture.dir ${cfg.capture.dir}: ${err instanceof Error ? err.message : String(err)}`, 1);
    }
    recorder = new PcapRecorder(cfg.capture, report);
  }
  const capture = recorder;
  const live = new LiveEventHub(ecs);
  events.add(live);
  const personalities = openPersonalitySource(cfg, report);

  let link: PcapLink | null = null;
  let framesOut = 0;
  let warmed: Promise<number> = Promise.resolve(0);
  let loopDelay: ReturnType<typeof monitorEventLoopDelay> | undefined;
  const parts = assemble(cfg, personalities, events, (f, n) => {
    framesOut++;
    link?.send(f, n);
    if (capture !== undefined) capture.record(f, n, Date.now());
  }, () => {
    void warmed.then((built) => {
      loopDelay?.reset(); // measure from ready on, not the start-up work
      const cold = parts.staticHosts.length - built;
      events.emit({
        kind: 'daemon.start', time: Date.now(),
        message: `decoyd on ${ifName}: ${parts.table.size} hosts bound, ${cfg.claims.length} claim ranges, ${cfg.dhcp.length} DHCP clients, ready in ${Date.now() - started} ms`
          + `${cold > 0 ? ` (${cold} personalities left to build on first use)` : ''}${admin === undefined ? '' : `, admin API on ${adminScheme}://${admin.host}:${admin.port}`}`,
      });
    });
  }, { interfaceName: ifName });
  const engine = parts.engine;
  // The detector also reads service sessions (service.probe, service.request) for version scans.
  if (parts.detector !== null) events.add(parts.detector);
  // How long the frame path could have waited behind other work (API, store posting, GC).
  loopDelay = monitorEventLoopDelay({ resolution: 10 });
  loopDelay.enable();
  const delay = loopDelay;
  const detector = parts.detector;
  const metrics = new DaemonMetrics({
    loopDelayMaxMs: () => delay.max / 1e6,
    frames: () => ({ in: engine.counters.frames, own: engine.counters.ownFrames, dropped: engine.counters.dropped, notForUs: engine.counters.notForUs, out: framesOut }),
    connections: () => ({ open: engine.tcp.connectionCount, ...engine.tcp.counters, opened: engine.tcp.counters.connectionsOpened, evicted: engine.tcp.counters.connectionsEvicted }),
    hosts: () => parts.table.size,
    events: () => events.lastSequence,
    logDropped,
    store: store === undefined ? undefined : () => (store as StoreWriter).stats(),
    capture: capture === undefined ? undefined : () => ({ frames: capture.frames, dropped: capture.dropped }),
    shippers: shippers.length === 0 ? undefined : () => shippers.map((s) => s.stats()),
    detector: detector === null ? undefined : () => detector.stats(),
  });
  events.observe(metrics);
  let api: Awaited<ReturnType<typeof buildAdminApi>> | undefined;
  let query: SqliteStoreQuery | undefined;
  if (admin !== undefined) {
    query = cfg.store === undefined ? undefined : new SqliteStoreQuery(cfg.store.path);
    const control = new DaemonControl(cfg, parts, loaded.osDbNames, (ip, template) => compileHost(parts, ip, template), () => ({
      frames: engine.counters.frames, framesForDecoys: engine.counters.ownFrames, framesDropped: engine.counters.dropped, framesOut,
      hosts: parts.table.size, connections: engine.tcp.connectionCount, events: events.lastSequence, logLinesDropped: logDropped(),
      eventLoopDelayMaxMs: Math.round(delay.max / 1e4) / 100, eventLoopDelayP99Ms: Math.round(delay.percentile(99) / 1e4) / 100,
      ...(capture === undefined ? {} : { captureFrames: capture.frames, captureDropped: capture.dropped }),
      ...(store === undefined ? {} : Object.fromEntries(Object.entries(store.stats()).map(([k, v]) => [`store${k[0]?.toUpperCase()}${k.slice(1)}`, v]))),
      ...tallyCounters(events.tallyStats),
    }));
    // Built and listening before capture starts: its start-up work (schema compilation) must not
    // compete with the personality warm-up that the first scan after start depends on.
    try {
      api = await buildAdminApi({ store: query ?? new NoStore(), token, tls: adminTls, control, live, metrics, log: report, pcap: capture === undefined ? undefined : { extract: (src) => capture.extract(src) } });
      await api.listen({ host: admin.host, port: admin.port });
    } catch (err) {
      fail(`admin API on ${admin.host}:${admin.port}: ${err instanceof Error ? err.message : String(err)}`, 1);
    }
  }
  try {
    link = new PcapLink(ifName, { networks: parts.captureNetworks, dhcpClientMacs: parts.dhcpClientMacs, realHostSources: parts.realHostSources });
  } catch (err) {
    const why = err instanceof Error ? err.message : String(err);
    fail(`cannot capture on ${ifName}: ${why}${process.getuid?.() !== 0 ? ' (run as root, or grant CAP_NET_RAW and CAP_NET_ADMIN)' : ''}`, 1);
  }
  if (values.user !== undefined && parts.subsystems !== null) {
    link.close();
    fail(`--user ${values.user}: subsystems need root to start their programs in a network namespace of their own as the templates' users, now and at every restart (Honeyd keeps root for this too); run without --user`);
  }
  // SSH host keys and certificate keys survive restarts in the data directory (services/keys/),
  // made writable for the user the daemon becomes.
  if (cfg.store !== undefined) {
    try {
      keepKeysIn(new KeyDirectory(join(cfg.store.path, 'keys'), values.user === undefined ? undefined : lookupUser(values.user) ?? undefined, cfg.limits.maxStoredKeys), report);
    } catch (err) {
      report(`key directory: ${err instanceof Error ? err.message : String(err)}; host keys are new at every start`);
    }
  }
  // Honeyd scripts: the broker that switches users starts while we are still root (services/actions/).
  parts.actions?.prepare();
  if (values.user !== undefined) {
    try {
      dropPrivileges(values.user);
    } catch (err) {
      link.close();
      fail(err instanceof Error ? err.message : String(err), 1);
    }
  }

  const daemon = new Daemon(parts, link, capture === undefined ? undefined : (f, n, t) => capture.record(f, n, t));
  daemon.start();
  warmed = daemon.warmUp(WARM_UP_BUDGET_MS);

  let stopping = false;
  const stop = async (signal: string): Promise<void> => {
    if (stopping) return;
    stopping = true;
    daemon.stop();
    await daemon.stopped;
    const held = loopDelay === undefined ? '' : `; the daemon thread was held up ${Math.round(loopDelay.max / 1e6)} ms at most since ready`;
    events.emit({ kind: 'daemon.stop', time: Date.now(), message: `stopped by ${signal}${held}` });
    try {
      await api?.close();
      query?.close();
      await Promise.all(shippers.map((s) => s.close()));
      await store?.close();
      await capture?.close();
    } catch (err) {
      process.stderr.write(`decoyd: while stopping: ${err instanceof Error ? err.message : String(err)}\n`);
    }
    flush();
    process.exit(0);
  };
  process.on('SIGINT', () => void stop('SIGINT'));
  process.on('SIGTERM', () => void stop('SIGTERM'));
}

function check(argv: string[]): void {
  const { values, positionals } = parseArgs({ args: argv, allowPositionals: true, options: { 'strict-personalities': { type: 'boolean' }, 'proxy-allow': { type: 'string', multiple: true } } });
  const file = positionals[0];
  if (file === undefined || positionals.length > 1) throw new UsageError('check needs one FILE');
  try {
    const loaded = loadConfigWithData(file, { strictPersonalities: values['strict-personalities'] === true, proxyAllow: values['proxy-allow'] ?? [] });
    const usesOs = [...loaded.config.templates.values()].some((t) => (t.rules ?? []).some((r) => r.condition.kind === 'os'));
    const p0f = usesOs ? readP0fDatabase(loaded.config.p0fDatabase ?? DEFAULT_P0F_DATABASE) : undefined;
    const usesSubsystems = [...loaded.config.templates.values()].some((t) => (t.subsystems ?? []).length > 0);
    const native = usesSubsystems ? findSubsystemNative() : undefined;
    process.stdout.write(describeConfig(loaded.config, {
      ...loaded, p0fLabels: typeof p0f === 'object' ? p0f.labels : p0f, subsystemProblem: typeof native === 'string' ? native : undefined,
    }));
  } catch (err) {
    if (err instanceof ConfigError) fail(err.message);
    throw err;
  }
}

async function main(argv: string[]): Promise<void> {
  const [command, ...rest] = argv;
  switch (command) {
    case 'run': return run(rest);
    case 'events': case 'sources': case 'scans': {
      const { apiCommand } = await import('./api-client');
      return apiCommand(command, rest);
    }
    case 'db': case 'api': {
      const { dbCommand, fleetApiCommand, FleetUsageError } = await import('./fleet-command');
      const say = (line: string): void => { process.stdout.write(`decoyd ${command}: ${line}\n`); };
      try {
        return await (command === 'db' ? dbCommand(rest, say) : fleetApiCommand(rest, say));
      } catch (err) {
        if (err instanceof FleetUsageError) throw new UsageError(err.message);
        fail(err instanceof Error ? err.message : String(err), 1);
      }
    }
    case 'check': return check(rest);
    case 'lab': {
      const { runDemoLabCommand } = await import('./lab-command');
      return runDemoLabCommand(rest);
    }
    case 'personalities': return personalitiesCommand(rest);
    case 'services': return servicesCommand(rest);
    case 'audit': {
      const { auditCommand, AuditRunError } = await import('./audit-command');
      try {
        process.exitCode = await auditCommand(rest, (text) => process.stdout.write(text), (line) => process.stderr.write(`decoyd audit: ${line}\n`));
      } catch (err) {
        if (err instanceof ConfigError) fail(err.message);
        if (err instanceof AuditRunError) fail(err.message, 1);
        throw new UsageError(err instanceof Error ? err.message : String(err));
      }
      return;
    }
    case undefined: case 'help': case '--help': case '-h':
      process.stdout.write(USAGE);
      return;
    default:
      throw new UsageError(`unknown command: ${command}`);
  }
}

main(process.argv.slice(2)).catch((err: unknown) => {
  if (err instanceof UsageError) {
    process.stderr.write(`decoyd: ${err.message}\n${USAGE}`);
    process.exit(2);
  }
  if (err instanceof Error && (err as NodeJS.ErrnoException).code === 'ERR_PARSE_ARGS_UNKNOWN_OPTION') fail(err.message);
  process.stderr.write(`decoyd: ${err instanceof Error ? err.stack ?? err.message : String(err)}\n`);
  process.exit(1);
});
