import { z } from 'zod';

/** `type: duckdb` — the embedded default. `path` is relative to the project root; `:memory:` for a throwaway one. */
export const duckdbTargetSchema = z.strictObject({
  type: z.literal('duckdb'),
  path: z.string().min(1).default('.tideline/warehouse.duckdb'),
  /** Schema where models are built, overriding the project's `schema`. */
  schema: z.string().min(1).optional(),
  threads: z.coerce.number().int().positive().optional(),
  memory_limit: z.string().regex(/^\d+(\.\d+)?\s*(KB|MB|GB|TB|KiB|MiB|GiB|TiB)$/i, 'a size such as 4GB').optional(),
});
export type DuckDbTarget = z.infer<typeof duckdbTargetSchema>;

export function duckdbSecrets(_target: DuckDbTarget): string[] {
  return [];
}
