import { z } from 'zod';

/**
 * `type: postgres` — either `url` (postgres://user:password@host:port/db) or the separate fields; fields left out
 * fall back to libpq's environment variables (PGHOST, PGUSER…), as psql does.
 */
export const postgresTargetSchema = z.strictObject({
  type: z.literal('postgres'),
  url: z
    .string()
    .regex(/^postgres(ql)?:\/\//, 'a postgres:// or postgresql:// URL')
    .refine(driverReads, 'not a connection URL the driver can read: the port must be a number, and the user and password must percent-encode their special characters (%40 for @, %3A for :, %2F for /, %25 for %)')
    .optional()
    .describe('Connection URL, postgres://user:password@host:port/db, instead of the separate fields.'),
  host: z.string().min(1).optional().describe('Server host (default: PGHOST).'),
  port: z.coerce.number().int().min(1).max(65535).optional().describe('Server port (default: PGPORT, else 5432).'),
  user: z.string().min(1).optional().describe('User name (default: PGUSER).'),
  password: z.string().optional().describe('Password (default: PGPASSWORD); never printed.'),
  database: z.string().min(1).optional().describe('Database name (default: PGDATABASE).'),
  ssl: z.union([z.boolean(), z.enum(['disable', 'require', 'no-verify'])]).optional(),
  schema: z.string().min(1).optional().describe("Schema where models are built, overriding the project's `schema`."),
  statement_timeout_ms: z.coerce.number().int().min(0).optional().describe('Per-statement timeout in milliseconds (0 = none).'),
});
export type PostgresTarget = z.infer<typeof postgresTargetSchema>;

/**
 * Whether the pg driver can read `url` (pg-connection-string: spaces and stray `%` encoded, then the WHATWG URL
 * parser, retried with a placeholder host when there is none), so that a malformed URL is a located configuration
 * problem rather than the driver's bare "Invalid URL" when connecting. The answer never includes the URL.
 */
function driverReads(url: string): boolean {
  const encoded = / |%[^a-f0-9]|%[a-f0-9][^a-f0-9]/i.test(url) ? encodeURI(url).replace(/%25(\d\d)/g, '%$1') : url;
  for (const candidate of [encoded, encoded.replace('@/', '@___DUMMY___/')]) {
    try {
      const parsed = new URL(candidate);
      decodeURIComponent(parsed.username);
      decodeURIComponent(parsed.password);
      return true;
    } catch {
      // Not readable this way; the placeholder host is the driver's second try.
    }
  }
  return false;
}

export function postgresSecrets(target: PostgresTarget): string[] {
  const secrets = [target.password ?? ''];
  if (target.url) {
    secrets.push(target.url);
    try {
      secrets.push(decodeURIComponent(new URL(target.url).password));
    } catch {
      // An unparsable URL is reported by the driver; the whole URL is already registered.
    }
  }
  return secrets.filter(Boolean);
}
