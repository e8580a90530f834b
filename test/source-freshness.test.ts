import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Ajv } from 'ajv';
import { beforeAll, describe, expect, it } from 'vitest';
import { tempProject } from './support/cli.js';
import { tidelineInProcess } from './support/in-process.js';

/**
 * `tideline source freshness` on embedded DuckDB, in process: one source per status, each a CSV file whose
 * `loaded_at` is written relative to now (fresh: 1 hour ago; getting stale: 30 hours; stale: 6 days; a column of
 * words, which no age can be told from), all with `warn_after: 1 day, error_after: 2 days`, and one without
 * `freshness`, which is never checked.
 */
const HOUR = 3_600_000;
const NOW = Date.now();
const at = (hoursAgo: number) => new Date(NOW - hoursAgo * HOUR).toISOString();
const csv = (loadedAt: readonly string[]) => `id,email,loaded_at\n${loadedAt.map((t, i) => `${i + 1},p${i + 1}@example.org,${t}`).join('\n')}\n`;
const FRESHNESS = '{ loaded_at: loaded_at, warn_after: 1 day, error_after: 2 days }';

let root: string;
const freshness = (...args: string[]) => tidelineInProcess(['--project', root, '--log-format', 'json', 'source', 'freshness', ...args]);
const messages = (stderr: string) =>
  stderr
    .trim()
    .split('\n')
    .filter(Boolean)
    .map((line) => (JSON.parse(line) as { msg: string }).msg);

beforeAll(() => {
  root = tempProject({
    'tideline.yml': 'name: shop\n',
    'data/orders.csv': csv([at(3), at(1)]),
    'data/carts.csv': csv([at(30), at(40)]),
    'data/tickets.csv': csv([at(6 * 24), at(7 * 24)]),
    'data/visits.csv': 'id,email,loaded_at\n1,a@example.org,yesterday\n',
    'data/stores.csv': 'id,email,loaded_at\n1,s@example.org,2020-01-01T00:00:00Z\n',
    'models/m.yml': `sources:
  - { name: orders, file: data/orders.csv, tags: [shop], freshness: ${FRESHNESS} }
  - { name: carts, file: data/carts.csv, tags: [shop], freshness: ${FRESHNESS} }
  - { name: tickets, file: data/tickets.csv, freshness: ${FRESHNESS} }
  - { name: visits, file: data/visits.csv, freshness: ${FRESHNESS} }
  - { name: stores, file: data/stores.csv }
models:
  - { name: order_lines, kind: staging, from: orders }
  - { name: support, kind: staging, from: tickets }
`,
  });
});

describe('tideline source freshness', () => {
  it('prints a table of each source with freshness, exits 1 past an error_after, and names the stale source', async () => {
    const result = await freshness();
    expect(result.code, result.stderr).toBe(1);
    const rows = result.stdout.trimEnd().split('\n');
    expect(rows[0]).toMatch(/^\| source +\| table +\| loaded_at +\| max loaded_at +\| age +\| warn_after +\| error_after +\| status +\|$/);
    const cells = rows.slice(2).map((line) => line.split('|').slice(1, -1).map((cell) => cell.trim()));
    expect(cells.map((c) => [c[0], c[1], c[4], c[5], c[6], c[7]])).toEqual([
      ['orders', 'data/orders.csv', '60 minutes', '1 day', '2 days', 'PASS'],
      ['carts', 'data/carts.csv', '30 hours', '1 day', '2 days', 'WARN'],
      ['tickets', 'data/tickets.csv', '6 days', '1 day', '2 days', 'ERROR'],
      ['visits', 'data/visits.csv', '', '1 day', '2 days', 'RUNTIME ERROR'],
    ]);
    expect(cells[0]![3]).toBe(`${at(1).slice(0, 16).replace('T', ' ')} UTC`);
    const logged = messages(result.stderr);
    expect(logged).toContain(`source tickets (data/tickets.csv) is stale: loaded_at max ${at(6 * 24).slice(0, 16).replace('T', ' ')} UTC, 6 days ago, error_after 2 days`);
    expect(logged.some((m) => /^source carts \(data\/carts.csv\) is getting stale: .*30 hours ago, warn_after 1 day$/.test(m))).toBe(true);
    expect(logged).toContain('source visits (data/visits.csv): loaded_at is not a timestamp or a date, so its freshness cannot be told');
    expect(logged.at(-1)).toBe('4 sources: 1 pass, 1 warn, 2 error');
    // Only ages are read: no value of any row is printed.
    expect(result.stdout + result.stderr).not.toMatch(/@example\.org/);
  });

  it('writes target/sources.json in the shape of dbt sources v3, which dbt readers parse', async () => {
    await freshness();
    const artifact = JSON.parse(readFileSync(join(root, 'target/sources.json'), 'utf8')) as Record<string, unknown> & { results: Record<string, unknown>[] };
    const validate = new Ajv({ strict: false }).compile(SOURCES_V3);
    expect(validate(artifact), JSON.stringify(validate.errors)).toBe(true);
    expect((artifact['metadata'] as Record<string, unknown>)['dbt_schema_version']).toBe('https://schemas.getdbt.com/dbt/sources/v3.json');
    const byId = new Map(artifact.results.map((r) => [r['unique_id'], r]));
    expect([...byId.keys()]).toEqual(['source.shop.shop.orders', 'source.shop.shop.carts', 'source.shop.shop.tickets', 'source.shop.shop.visits']);
    const tickets = byId.get('source.shop.shop.tickets')!;
    expect(tickets['status']).toBe('error');
    expect(tickets['criteria']).toEqual({ warn_after: { count: 1, period: 'day' }, error_after: { count: 2, period: 'day' }, filter: null });
    expect(Math.abs((tickets['max_loaded_at_time_ago_in_s'] as number) - 6 * 24 * 3600)).toBeLessThan(120);
    expect(Date.parse(tickets['max_loaded_at'] as string)).toBeCloseTo(Date.parse(at(6 * 24)), -5);
    expect(byId.get('source.shop.shop.orders')!['status']).toBe('pass');
    expect(byId.get('source.shop.shop.carts')!['status']).toBe('warn');
    expect(byId.get('source.shop.shop.visits')).toEqual({ unique_id: 'source.shop.shop.visits', status: 'runtime error', error: 'source visits (data/visits.csv): loaded_at is not a timestamp or a date, so its freshness cannot be told' });
  });

  it('--select and --exclude take the selection grammar: names, source:, tag:, +model', async () => {
    const fresh = await freshness('--select', 'orders');
    expect(fresh.code, fresh.stderr).toBe(0);
    expect(fresh.stdout).toContain('| orders ');
    expect(fresh.stdout).not.toContain('| carts ');

    const tagged = await freshness('--select', 'tag:shop', '--json');
    expect(tagged.code).toBe(0);
    const lines = tagged.stdout.trim().split('\n').map((line) => JSON.parse(line) as Record<string, unknown>);
    expect(lines.map((l) => [l['source'], l['status']])).toEqual([
      ['orders', 'pass'],
      ['carts', 'warn'],
    ]);
    expect(lines[0]).toMatchObject({ table: 'data/orders.csv', loaded_at: 'loaded_at', warn_after: '1 day', error_after: '2 days', message: null });
    expect(Math.abs((lines[0]!['age_seconds'] as number) - 3600)).toBeLessThan(120);

    const upstream = await freshness('--select', '+support');
    expect(upstream.code).toBe(1);
    expect(upstream.stdout).toContain('| tickets ');
    expect(upstream.stdout.trimEnd().split('\n')).toHaveLength(3);

    const excluded = await freshness('--exclude', 'tickets', 'source:visits');
    expect(excluded.code).toBe(0);
    expect(messages(excluded.stderr).at(-1)).toBe('2 sources: 1 pass, 1 warn, 0 error');

    const none = await freshness('--select', 'stores');
    expect(none.code).toBe(0);
    expect(messages(none.stderr)).toEqual(['no selected source declares `freshness`: nothing to check']);

    const unknown = await freshness('--select', 'ordres');
    expect(unknown.code).toBe(2);
    expect(messages(unknown.stderr)).toContain('--select: no source, model or sync matches "ordres" (did you mean "orders"?)');
  });

  it('--output writes the results where asked', async () => {
    const out = join(root, 'elsewhere.json');
    expect((await freshness('--select', 'orders', '--output', out)).code).toBe(0);
    expect((JSON.parse(readFileSync(out, 'utf8')) as { results: unknown[] }).results).toHaveLength(1);
  });
});

/**
 * The fields dbt documents for sources.json v3 (docs.getdbt.com, reference/artifacts/sources-json), written down
 * here as a JSON Schema: required keys, statuses and periods as enums, no key beyond them.
 */
const TIME = {
  type: 'object',
  additionalProperties: false,
  properties: { count: { type: ['integer', 'null'] }, period: { enum: ['minute', 'hour', 'day', null] } },
};
const SOURCES_V3 = {
  type: 'object',
  additionalProperties: false,
  required: ['metadata', 'results', 'elapsed_time'],
  properties: {
    metadata: {
      type: 'object',
      additionalProperties: false,
      properties: {
        dbt_schema_version: { type: 'string' },
        dbt_version: { type: 'string' },
        generated_at: { type: 'string' },
        invocation_id: { type: ['string', 'null'] },
        env: { type: 'object', additionalProperties: { type: 'string' } },
      },
    },
    elapsed_time: { type: 'number' },
    results: {
      type: 'array',
      items: {
        anyOf: [
          {
            type: 'object',
            additionalProperties: false,
            required: ['unique_id', 'error', 'status'],
            properties: { unique_id: { type: 'string' }, error: { type: ['string', 'integer', 'null'] }, status: { const: 'runtime error' } },
          },
          {
            type: 'object',
            additionalProperties: false,
            required: ['unique_id', 'max_loaded_at', 'snapshotted_at', 'max_loaded_at_time_ago_in_s', 'status', 'criteria', 'adapter_response', 'timing', 'thread_id', 'execution_time'],
            properties: {
              unique_id: { type: 'string' },
              max_loaded_at: { type: 'string' },
              snapshotted_at: { type: 'string' },
              max_loaded_at_time_ago_in_s: { type: 'number' },
              status: { enum: ['pass', 'warn', 'error', 'runtime error'] },
              criteria: { type: 'object', additionalProperties: false, properties: { warn_after: { anyOf: [TIME, { type: 'null' }] }, error_after: { anyOf: [TIME, { type: 'null' }] }, filter: { type: ['string', 'null'] } } },
              adapter_response: { type: 'object' },
              timing: {
                type: 'array',
                items: { type: 'object', additionalProperties: false, required: ['name'], properties: { name: { type: 'string' }, started_at: { type: ['string', 'null'] }, completed_at: { type: ['string', 'null'] } } },
              },
              thread_id: { type: 'string' },
              execution_time: { type: 'number' },
            },
          },
        ],
      },
    },
  },
};
