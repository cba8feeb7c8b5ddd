/**
 * How Honeyd turns a script action into a process (honeyd.c:honeyd_varexpand, command.c:
 * cmd_fork/cmd_environment): `$ipsrc $ipdst $date $sport $dport` replaced as plain text, in that
 * order; then split on single spaces (empty fields skipped, tabs are no separators), at most 31
 * arguments, run with execvp: no shell, no quoting.
 */
import type { Endpoint } from '../service';

/** Honeyd's argv bound (`char *argv[32]`, NULL-terminated). */
export const MAX_SCRIPT_ARGS = 31;
/** Honeyd copies the command into a 512-byte buffer before expanding it. */
export const MAX_COMMAND_BYTES = 511;

/** Honeyd's `$date` (log.c:honeyd_logdate): local date, YYYY-MM-DD. */
export function honeydDate(now: Date): string {
  return `${now.getFullYear()}-${String(now.getMonth() + 1).padStart(2, '0')}-${String(now.getDate()).padStart(2, '0')}`;
}

export function expandCommand(command: string, remote: Endpoint, local: Endpoint, now: Date): string {
  return command
    .split('$ipsrc').join(remote.address)
    .split('$ipdst').join(local.address)
    .split('$date').join(honeydDate(now))
    .split('$sport').join(String(remote.port))
    .split('$dport').join(String(local.port));
}

/** argv as Honeyd's strsep(" ") loop makes it. */
export function splitCommand(expanded: string): string[] {
  const bytes = Buffer.from(expanded, 'utf8');
  const text = bytes.length > MAX_COMMAND_BYTES ? bytes.subarray(0, MAX_COMMAND_BYTES).toString('utf8') : expanded;
  const argv: string[] = [];
  for (const field of text.split(' ')) {
    if (field === '' || field.includes('\0')) continue;
    argv.push(field);
    if (argv.length === MAX_SCRIPT_ARGS) break;
  }
  return argv;
}

export interface ScriptEnvInput {
  remote: Endpoint;
  local: Endpoint;
  personality?: string;
  templateName: string;
  interfaceName?: string;
  /** The passive OS guess of the peer (p0f's name), when one was made: Honeyd's HONEYD_REMOTE_OS. */
  remoteOs?: string;
}

/**
 * Honeyd's variables (both versions, plus 1.6d's HONEYD_INTERFACE and HONEYD_TEMPLATE_NAME). Honeyd
 * also passed its whole inherited environment; decoyd passes only PATH, LANG, LC_ALL and TZ of its
 * own, so no secret of the daemon's (an API token) reaches a script.
 */
export function scriptEnvironment(input: ScriptEnvInput, inherited: NodeJS.ProcessEnv = process.env): string[] {
  const env: string[] = [`PATH=${inherited.PATH ?? '/usr/local/bin:/usr/bin:/bin'}`];
  for (const key of ['LANG', 'LC_ALL', 'TZ']) {
    const v = inherited[key];
    if (v !== undefined && v !== '') env.push(`${key}=${v}`);
  }
  env.push(
    `HONEYD_IP_SRC=${input.remote.address}`,
    `HONEYD_IP_DST=${input.local.address}`,
    `HONEYD_SRC_PORT=${input.remote.port}`,
    `HONEYD_DST_PORT=${input.local.port}`,
    `HONEYD_TEMPLATE_NAME=${input.templateName}`,
  );
  if (input.personality !== undefined && input.personality !== '') env.push(`HONEYD_PERSONALITY=${input.personality}`);
  if (input.interfaceName !== undefined) env.push(`HONEYD_INTERFACE=${input.interfaceName}`);
  if (input.remoteOs !== undefined && input.remoteOs !== '') env.push(`HONEYD_REMOTE_OS=${input.remoteOs}`);
  return env.filter((e) => !e.includes('\0'));
}
