/**
 * A throw-away PostgreSQL cluster for tests: Debian's PostgreSQL 15 binaries, initdb in a temp
 * dir owned by the unprivileged `postgres` user, listening only on a unix socket in its own
 * directory (no TCP, so nothing collides with other tests or a system cluster). Logins need a
 * password (scram-sha-256), so a wrong one is refused as on a real server. Stopped by pg_ctl,
 * which signals the postmaster's own PID.
 */
import { execFileSync } from 'node:child_process';
import { chmodSync, chownSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir, userInfo } from 'node:os';
import { join } from 'node:path';

export const PG_BIN = '/usr/lib/postgresql/15/bin';
export const SUPERUSER = 'decoyd_admin';
export const SUPERUSER_PASSWORD = 'admin-pw-2f1b7c';

export interface PgCluster {
  dir: string;
  socketDir: string;
  port: number;
  /** A URL for `user` to `db` over the socket. */
  url(user: string, password: string, db?: string): string;
  /** Runs SQL as the superuser with psql; returns its stdout (tuples only, unaligned). */
  psql(sql: string, db?: string, timeoutMs?: number): string;
  start(): void;
  stop(): void;
  destroy(): void;
}

function asPostgres(cmd: string, args: string[], env: Record<string, string> = {}, timeoutMs = 60_000): string {
  const asRoot = userInfo().uid === 0;
  const full = asRoot ? ['-u', 'postgres', '--', 'env', ...Object.entries(env).map(([k, v]) => `${k}=${v}`), cmd, ...args] : args;
  return execFileSync(asRoot ? 'runuser' : cmd, full, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, ...env }, timeout: timeoutMs, maxBuffer: 256 << 20 });
}

/** `settings` are postgresql.conf lines after the defaults below (a later line wins), e.g. the bench's WAL sizing. */
export function createPgCluster(prefix = 'decoyd-pg-', settings: readonly string[] = []): PgCluster {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  chmodSync(dir, 0o755);
  const socketDir = join(dir, 'sock');
  const data = join(dir, 'data');
  mkdirSync(socketDir);
  const pwfile = join(dir, 'pw');
  writeFileSync(pwfile, `${SUPERUSER_PASSWORD}\n`);
  if (userInfo().uid === 0) {
    const uid = Number(execFileSync('id', ['-u', 'postgres'], { encoding: 'utf8' }).trim());
    const gid = Number(execFileSync('id', ['-g', 'postgres'], { encoding: 'utf8' }).trim());
    for (const p of [dir, socketDir, pwfile]) chownSync(p, uid, gid);
  }
  // The port only names the socket file inside our own directory.
  const port = 20000 + (process.pid % 20000);
  asPostgres(join(PG_BIN, 'initdb'), ['-D', data, '-U', SUPERUSER, `--pwfile=${pwfile}`, '--auth=scram-sha-256', '-E', 'UTF8', '--no-sync', '--no-instructions']);
  writeFileSync(join(data, 'postgresql.auto.conf'), [
    "listen_addresses = ''", `unix_socket_directories = '${socketDir}'`, `port = ${port}`, 'fsync = off', 'synchronous_commit = on',
    'shared_buffers = 128MB', 'max_connections = 50', "log_min_messages = warning", 'full_page_writes = off',
    ...settings,
  ].join('\n') + '\n');
  const cluster: PgCluster = {
    dir, socketDir, port,
    url: (user, password, db = 'decoyd') => `postgresql://${encodeURIComponent(user)}:${encodeURIComponent(password)}@localhost:${port}/${db}?host=${encodeURIComponent(socketDir)}`,
    psql: (sql, db = 'decoyd', timeoutMs = 60_000) => asPostgres(join(PG_BIN, 'psql'), ['-X', '-v', 'ON_ERROR_STOP=1', '-qAt', '-h', socketDir, '-p', String(port), '-U', SUPERUSER, '-d', db, '-c', sql], { PGPASSWORD: SUPERUSER_PASSWORD }, timeoutMs),
    start: () => { asPostgres(join(PG_BIN, 'pg_ctl'), ['-D', data, '-l', join(dir, 'log'), '-w', '-t', '60', 'start']); },
    stop: () => { asPostgres(join(PG_BIN, 'pg_ctl'), ['-D', data, '-m', 'fast', '-w', '-t', '60', 'stop']); },
    destroy: () => {
      try {
        const pid = Number(readFileSync(join(data, 'postmaster.pid'), 'utf8').split('\n')[0]);
        if (pid > 0) cluster.stop();
      } catch {
        // not running
      }
      rmSync(dir, { recursive: true, force: true });
    },
  };
  cluster.start();
  cluster.psql('CREATE DATABASE decoyd', 'postgres');
  return cluster;
}
