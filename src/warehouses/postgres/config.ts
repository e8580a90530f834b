import { z } from 'zod';

/**
 * `type: postgres` — either `url` (postgres://user:password@host:port/db) or the separate fields; fields left out
 * fall back to libpq's environment variables (PGHOST, PGUSER…), as psql does.
 */
export const postgresTargetSchema = z.strictObject({
  type: z.literal('postgres'),
  url: z.string().regex(/^postgres(ql)?:\/\//, 'a postgres:// or postgresql:// URL').optional(),
  host: z.string().min(1).optional(),
  port: z.coerce.number().int().min(1).max(65535).optional(),
  user: z.string().min(1).optional(),
  password: z.string().optional(),
  database: z.string().min(1).optional(),
  ssl: z.union([z.boolean(), z.enum(['disable', 'require', 'no-verify'])]).optional(),
  /** Schema where models are built, overriding the project's `schema`. */
  schema: z.string().min(1).optional(),
  /** Per-statement timeout in milliseconds (0 = none). */
  statement_timeout_ms: z.coerce.number().int().min(0).optional(),
});
export type PostgresTarget = z.infer<typeof postgresTargetSchema>;

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
