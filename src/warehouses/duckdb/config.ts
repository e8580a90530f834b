import { z } from 'zod';

/** `type: duckdb` — the embedded default. `path` is relative to the project root; `:memory:` for a throwaway one. */
export const duckdbTargetSchema = z.strictObject({
  type: z.literal('duckdb'),
  path: z.string().min(1).default('.tideline/warehouse.duckdb').describe('The database file, relative to the project root; `:memory:` for a throwaway database.'),
  schema: z.string().min(1).optional().describe("Schema where models are built, overriding the project's `schema`."),
  threads: z.coerce.number().int().positive().optional().describe("DuckDB's `threads` setting: worker threads for queries."),
  memory_limit: z.string().regex(/^\d+(\.\d+)?\s*(KB|MB|GB|TB|KiB|MiB|GiB|TiB)$/i, 'a size such as 4GB').optional().describe("DuckDB's `memory_limit` setting, e.g. `4GB`."),
});
export type DuckDbTarget = z.infer<typeof duckdbTargetSchema>;

export function duckdbSecrets(_target: DuckDbTarget): string[] {
  return [];
}
