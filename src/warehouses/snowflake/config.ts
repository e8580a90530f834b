import { z } from 'zod';

/**
 * `type: snowflake`. Key-pair authentication (`private_key_path`, optional passphrase) is preferred; `password` works
 * for accounts that still allow it.
 */
export const snowflakeTargetSchema = z.strictObject({
  type: z.literal('snowflake'),
  account: z.string().min(1).describe('Account identifier, e.g. `myorg-myaccount`.'),
  user: z.string().min(1).describe('User name.'),
  password: z.string().min(1).optional().describe('Password, for accounts that still allow it; never printed.'),
  private_key_path: z.string().min(1).optional().describe('Private key file (PEM) for key-pair authentication.'),
  private_key_passphrase: z.string().min(1).optional().describe('Passphrase of an encrypted private key; never printed.'),
  warehouse: z.string().min(1).describe('Virtual warehouse that runs the queries.'),
  database: z.string().min(1).describe('Database holding the model and state schemas.'),
  role: z.string().min(1).optional().describe("Role to use (default: the user's default role)."),
  schema: z.string().min(1).optional().describe("Schema where models are built, overriding the project's `schema`."),
  access_url: z.url().optional().describe('Full URL of the Snowflake endpoint, when it is not the one derived from `account`: PrivateLink, a proxy, a local test server (`http://127.0.0.1:port`).'),
});
export type SnowflakeTarget = z.infer<typeof snowflakeTargetSchema>;

export function snowflakeSecrets(target: SnowflakeTarget): string[] {
  return [target.password, target.private_key_passphrase].filter((s): s is string => Boolean(s));
}
