/**
 * What went wrong talking to PostgreSQL, in the few classes an operator acts on differently
 * (pure: an error object in, a reason and a sentence out). The reason labels
 * decoyd_ship_errors_total; the sentence is the log line.
 */

export type PgFailure = 'auth' | 'unreachable' | 'schema' | 'permission' | 'timeout' | 'other';

export const PG_FAILURES: readonly PgFailure[] = ['auth', 'unreachable', 'schema', 'permission', 'timeout', 'other'];

/** Thrown by the shipper itself when the schema is missing or at another version. */
export class SchemaVersionError extends Error {}

const UNREACHABLE = new Set(['ECONNREFUSED', 'ENOENT', 'ENOTFOUND', 'EAI_AGAIN', 'EHOSTUNREACH', 'ENETUNREACH', 'ECONNRESET', 'EPIPE', '57P01', '57P02', '57P03', '08006', '08001', '08004']);

export function classifyPgError(err: unknown): { reason: PgFailure; text: string } {
  const e = err as { code?: string; message?: string } | undefined;
  const code = e?.code ?? '';
  const message = e?.message ?? String(err);
  if (err instanceof SchemaVersionError) return { reason: 'schema', text: message };
  if (code === '28P01' || code === '28000') return { reason: 'auth', text: `PostgreSQL refused the login: ${message}` };
  if (code === '42501') return { reason: 'permission', text: `the role lacks a privilege (see the README's roles): ${message}` };
  if (code === '42P01' || code === '42703' || code === '42883') return { reason: 'schema', text: `the database has no decoyd schema of this version (run decoyd db migrate): ${message}` };
  if (code === '57014' || /timeout/i.test(message)) return { reason: 'timeout', text: `PostgreSQL did not answer in time: ${message}` };
  if (UNREACHABLE.has(code) || /Connection terminated|connect|socket/i.test(message)) return { reason: 'unreachable', text: `PostgreSQL is unreachable: ${message}` };
  return { reason: 'other', text: message };
}
