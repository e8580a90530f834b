import { z } from 'zod';

/**
 * `type: snowflake`. Key-pair authentication (`private_key_path`, optional passphrase) is preferred; `password` works
 * for accounts that still allow it.
 */
export const snowflakeTargetSchema = z.strictObject({
  type: z.literal('snowflake'),
  account: z.string().min(1),
  user: z.string().min(1),
  password: z.string().min(1).optional(),
  private_key_path: z.string().min(1).optional(),
  private_key_passphrase: z.string().min(1).optional(),
  warehouse: z.string().min(1),
  database: z.string().min(1),
  role: z.string().min(1).optional(),
  /** Schema where models are built, overriding the project's `schema`. */
  schema: z.string().min(1).optional(),
  /**
   * Full URL of the Snowflake endpoint, when it is not the one derived from `account`: PrivateLink, a proxy, a local
   * test server (`http://127.0.0.1:port`).
   */
  access_url: z.url().optional(),
});
export type SnowflakeTarget = z.infer<typeof snowflakeTargetSchema>;

export function snowflakeSecrets(target: SnowflakeTarget): string[] {
  return [target.password, target.private_key_passphrase].filter((s): s is string => Boolean(s));
}
