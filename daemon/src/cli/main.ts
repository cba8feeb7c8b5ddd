import { parseArgs } from 'node:util';
import { formatIssue } from '../config/errors';
import { ConfigError, loadConfigWithData, type LoadedConfig } from '../config/load';
import { describeConfig } from '../config/describe';
import type { DecoydConfig } from '../config/types';
import { Daemon, assemble, dhcpInterfaceProblems, interfaceExists } from '../daemon';
import { createLogger, PinoEventSink } from '../events/pino-sink';
import { PcapLink } from '../link/pcap-link';
import { openPersonalitySource } from '../personality/source';
import { dropPrivileges } from './privileges';
import { personalitiesCommand } from './personalities';
import { servicesCommand } from './services';

const USAGE = `usage:
  decoyd run --config FILE [--interface IF] [--user NAME] [--strict-personalities]
                                                            run in the foreground, JSON log lines on stdout
  decoyd check [--strict-personalities] FILE                validate a config and print the resolved hosts
      --strict-personalities: a Honeyd personality name that nmap-os-db lacks is an error
                              (without it, the closest entry is used and the mapping printed)
  decoyd audit --static FILE [--json]                       lint a config for contradictions a scanner would see (exit 3 on a high one)
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
function readConfig(file: string, strictPersonalities: boolean): DecoydConfig {
  let loaded: LoadedConfig;
  try {
    loaded = loadConfigWithData(file, { strictPersonalities });
  } catch (err) {
    if (err instanceof ConfigError) fail(err.message);
    throw err;
  }
  for (const w of loaded.warnings) process.stderr.write(`decoyd: warning: ${formatIssue(w)}\n`);
  const blocking = loaded.warnings.filter((w) => w.blocksRun);
  if (blocking.length > 0) {
    fail(`refusing to run: ${blocking.length} feature${blocking.length === 1 ? '' : 's'} of this configuration would run wrongly without support decoyd lacks yet:\n${blocking.map(formatIssue).join('\n')}`);
  }
  return loaded.config;
}

function run(argv: string[]): void {
  const { values } = parseArgs({
    args: argv,
    options: {
      config: { type: 'string', short: 'c' },
      interface: { type: 'string', short: 'i' },
      user: { type: 'string', short: 'u' },
      'strict-personalities': { type: 'boolean' },
    },
  });
  if (values.config === undefined) throw new UsageError('run needs --config FILE');
  const cfg = readConfig(values.config, values['strict-personalities'] === true);
  const ifName = values.interface ?? cfg.interface;
  if (ifName === undefined) fail('no interface: give --interface IF or `interface:` in the config');
  if (!interfaceExists(ifName)) fail(`no such network interface: ${ifName}`);
  const dhcpProblems = dhcpInterfaceProblems(cfg, ifName);
  if (dhcpProblems.length > 0) fail(dhcpProblems.join('\n'));

  const { logger, flush } = createLogger(cfg.log.level);
  const events = new PinoEventSink(logger);
  const personalities = openPersonalitySource(cfg, (msg) => events.emit({ kind: 'daemon.error', time: Date.now(), message: msg }));

  const started = Date.now();
  let link: PcapLink | null = null;
  let warmed: Promise<void> = Promise.resolve();
  const parts = assemble(cfg, personalities, events, (f, n) => link?.send(f, n), () => {
    void warmed.then(() => {
      events.emit({
        kind: 'daemon.start', time: Date.now(),
        message: `decoyd on ${ifName}: ${parts.table.size} hosts bound, ${cfg.claims.length} claim ranges, ${cfg.dhcp.length} DHCP clients, ready in ${Date.now() - started} ms`,
      });
    });
  });
  try {
    link = new PcapLink(ifName, { networks: parts.captureNetworks, dhcpClientMacs: parts.dhcpClientMacs });
  } catch (err) {
    const why = err instanceof Error ? err.message : String(err);
    fail(`cannot capture on ${ifName}: ${why}${process.getuid?.() !== 0 ? ' (run as root, or grant CAP_NET_RAW and CAP_NET_ADMIN)' : ''}`, 1);
  }
  if (values.user !== undefined) {
    try {
      dropPrivileges(values.user);
    } catch (err) {
      link.close();
      fail(err instanceof Error ? err.message : String(err), 1);
    }
  }
  const daemon = new Daemon(parts, link);
  daemon.start();
  warmed = daemon.warmUp(WARM_UP_BUDGET_MS);

  let stopping = false;
  const stop = (signal: string): void => {
    if (stopping) return;
    stopping = true;
    daemon.stop();
    events.emit({ kind: 'daemon.stop', time: Date.now(), message: `stopped by ${signal}` });
    flush();
    process.exit(0);
  };
  process.on('SIGINT', () => stop('SIGINT'));
  process.on('SIGTERM', () => stop('SIGTERM'));
}

function check(argv: string[]): void {
  const { values, positionals } = parseArgs({ args: argv, allowPositionals: true, options: { 'strict-personalities': { type: 'boolean' } } });
  const file = positionals[0];
  if (file === undefined || positionals.length > 1) throw new UsageError('check needs one FILE');
  try {
    const loaded = loadConfigWithData(file, { strictPersonalities: values['strict-personalities'] === true });
    process.stdout.write(describeConfig(loaded.config, loaded));
  } catch (err) {
    if (err instanceof ConfigError) fail(err.message);
    throw err;
  }
}

async function main(argv: string[]): Promise<void> {
  const [command, ...rest] = argv;
  switch (command) {
    case 'run': return run(rest);
    case 'check': return check(rest);
    case 'lab': {
      const { runDemoLabCommand } = await import('./lab-command');
      return runDemoLabCommand(rest);
    }
    case 'personalities': return personalitiesCommand(rest);
    case 'services': return servicesCommand(rest);
    case 'audit': {
      const { auditCommand } = await import('./audit-command');
      try {
        process.exitCode = auditCommand(rest, (text) => process.stdout.write(text));
      } catch (err) {
        if (err instanceof ConfigError) fail(err.message);
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
