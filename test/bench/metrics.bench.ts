import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runModels } from '../../src/pipeline/runner.js';
import { sql, Sql } from '../../src/dialects/sql.js';
import { createLogger } from '../../src/log/logger.js';
import { analyseProject } from '../../src/project/analyse.js';
import { loadProject } from '../../src/project/loader.js';
import type { Project } from '../../src/project/loader.js';
import type { Analysis } from '../../src/project/analyse.js';
import { timedConnection } from './statement-timer.js';
import type { Connection } from '../../src/warehouses/connection.js';
import { openTarget } from '../../src/warehouses/registry.js';
import { tempProject } from '../support/cli.js';
import { choice, option, report, round, timed, type CurveSpec } from './harness.js';
import { BENCH_WAREHOUSES, benchPostgres, type BenchWarehouse } from './warehouse.js';

/**
 * `npm run bench -- metrics [--orders N] [--customers M] [--repeat R] [--warehouse duckdb|postgres]`: N orders of M
 * customers generated in the warehouse (default 10,000,000 of N / 10; DuckDB, or a throwaway database of the local
 * PostgreSQL as the tests find it); Tideline's compiled customers model with its RFM block, timed against one
 * hand-written SQL statement computing the same columns, alternately in the same run (best of R). Both results are
 * compared row for row, so the baseline cannot win by computing less. Goal: ratio ≤ 1.0.
 * `--sizes 1e6,1e7,5e7` runs it once per number of orders (customers N / 10) and prints the curve. `--phases` times each
 * statement of one build instead (see phases).
 */
export const curve: CurveSpec = {
  option: 'orders',
  seconds: (results) => results.find((r) => r.metric === 'customers_rfm_build_seconds')?.value ?? NaN,
  baselineSeconds: (results) => results.find((r) => r.metric === 'customers_rfm_build_seconds')?.baseline,
};

const ORDERS_COLUMNS = `orders:
      from: orders
      customer_id: customer_id
      order_id: order_id
      ordered_at: order_date
      amount: amount
      channel: channel
      store: store_id
      exclude:
        - { column: status, equals: cancelled }`;

const MODELS = `models:
  - name: bench_customers
    kind: customers
    ${ORDERS_COLUMNS}
    as_of: '2024-12-31'
    lifecycle:
      new: { first_order_within_days: 30 }
      active: { last_order_within_days: 90 }
      at_risk: { last_order_within_days: 365 }
      inactive: { last_order_after_days: 365 }
    rfm:
      period: { months: 12 }
`;

/** The kept orders and the per-customer totals both baselines start with; `tie` is each warehouse's md5 tie-break. */
const ordersAndTotals = (tie: string) => `WITH o AS (
  SELECT customer_id, order_id, order_date, amount, channel, store_id
  FROM bench_raw.orders
  WHERE customer_id IS NOT NULL AND order_date <= DATE '2024-12-31' AND coalesce(status <> 'cancelled', TRUE)
),
c AS (
  SELECT customer_id, min(order_date) AS first_order_date, max(order_date) AS last_order_date, count(order_id) AS order_count,
    sum(amount) AS revenue,
    max(order_date) FILTER (WHERE order_date > DATE '2023-12-31') AS rfm_last,
    count(order_id) FILTER (WHERE order_date > DATE '2023-12-31') AS rfm_frequency,
    sum(amount) FILTER (WHERE order_date > DATE '2023-12-31') AS rfm_monetary,
    ${tie} AS tie
  FROM o GROUP BY customer_id
),`;

/** The columns both baselines end with: RFM values, scores and segment (the same SQL on DuckDB and PostgreSQL). */
const SCORES_AND_SEGMENT = `  CASE WHEN rfm_frequency > 0 THEN rfm_recency END AS rfm_recency_days,
  CASE WHEN rfm_frequency > 0 THEN rfm_frequency END AS rfm_frequency,
  CASE WHEN rfm_frequency > 0 THEN rfm_monetary END AS rfm_monetary,
  r AS r_score, f AS f_score, m AS m_score, r * 100 + f * 10 + m AS rfm_cell,
  CASE WHEN r = 5 AND f >= 4 THEN 'Champions' WHEN r IN (3, 4) AND f >= 4 THEN 'Loyal Customers'
       WHEN r >= 4 AND f IN (2, 3) THEN 'Potential Loyalists' WHEN r = 5 AND f = 1 THEN 'New Customers'
       WHEN r = 4 AND f = 1 THEN 'Promising' WHEN r = 3 AND f = 3 THEN 'Need Attention'
       WHEN r = 3 AND f <= 2 THEN 'About to Sleep' WHEN r <= 2 AND f IN (3, 4) THEN 'At Risk'
       WHEN r <= 2 AND f = 5 THEN 'Can''t Lose Them' WHEN r = 2 AND f <= 2 THEN 'Hibernating'
       WHEN r = 1 AND f <= 2 THEN 'Lost' END AS rfm_segment
FROM s`;

/** What an analyst fluent in DuckDB would write for the same columns: one statement, QUALIFY, FILTER. */
const DUCKDB_BASELINE = `CREATE OR REPLACE TABLE metrics_bench.baseline AS
${ordersAndTotals("CAST(('0x' || substr(md5(CAST(customer_id AS VARCHAR)), 1, 8)) AS BIGINT)")}
ch AS (
  SELECT customer_id, channel FROM o WHERE channel IS NOT NULL GROUP BY customer_id, channel
  QUALIFY row_number() OVER (PARTITION BY customer_id ORDER BY count(order_id) DESC, sum(amount) DESC, channel) = 1
),
st AS (
  SELECT customer_id, store_id FROM o WHERE store_id IS NOT NULL GROUP BY customer_id, store_id
  QUALIFY row_number() OVER (PARTITION BY customer_id ORDER BY count(order_id) DESC, sum(amount) DESC, store_id) = 1
),
s AS (
  SELECT c.*, ch.channel, st.store_id, date_diff('day', last_order_date, DATE '2024-12-31') AS since_last,
    date_diff('day', rfm_last, DATE '2024-12-31') AS rfm_recency,
    CASE WHEN rfm_frequency > 0 THEN ntile(5) OVER (PARTITION BY rfm_frequency > 0 ORDER BY date_diff('day', rfm_last, DATE '2024-12-31') DESC, tie, c.customer_id) END AS r,
    CASE WHEN rfm_frequency > 0 THEN ntile(5) OVER (PARTITION BY rfm_frequency > 0 ORDER BY rfm_frequency, tie, c.customer_id) END AS f,
    CASE WHEN rfm_frequency > 0 THEN ntile(5) OVER (PARTITION BY rfm_frequency > 0 ORDER BY rfm_monetary, tie, c.customer_id) END AS m
  FROM c LEFT JOIN ch USING (customer_id) LEFT JOIN st USING (customer_id)
)
SELECT customer_id, first_order_date, last_order_date, order_count, revenue,
  CAST(revenue AS DOUBLE) / order_count AS average_basket,
  since_last AS days_since_last_order,
  CASE WHEN order_count > 1 THEN CAST(date_diff('day', first_order_date, last_order_date) AS DOUBLE) / (order_count - 1) END AS average_days_between_orders,
  channel AS favourite_channel, store_id AS favourite_store,
  CASE WHEN date_diff('day', first_order_date, DATE '2024-12-31') <= 30 THEN 'new' WHEN since_last <= 90 THEN 'active'
       WHEN since_last <= 365 THEN 'at_risk' ELSE 'inactive' END AS lifecycle_stage,
${SCORES_AND_SEGMENT}`;

/**
 * The same in PostgreSQL: DISTINCT ON for the favourites (no QUALIFY), date subtraction for day counts, and the tie
 * hash PostgreSQL can compute (md5's first 32 bits, as Tideline's dialect does).
 */
const POSTGRES_BASELINE = `CREATE TABLE metrics_bench.baseline AS
${ordersAndTotals("CAST(CAST(('x' || substr(md5(CAST(customer_id AS VARCHAR)), 1, 8)) AS BIT(32)) AS BIGINT)")}
ch AS (
  SELECT DISTINCT ON (customer_id) customer_id, channel FROM o WHERE channel IS NOT NULL GROUP BY customer_id, channel
  ORDER BY customer_id, count(order_id) DESC, sum(amount) DESC, channel
),
st AS (
  SELECT DISTINCT ON (customer_id) customer_id, store_id FROM o WHERE store_id IS NOT NULL GROUP BY customer_id, store_id
  ORDER BY customer_id, count(order_id) DESC, sum(amount) DESC, store_id
),
s AS (
  SELECT c.*, ch.channel, st.store_id, DATE '2024-12-31' - last_order_date AS since_last,
    DATE '2024-12-31' - rfm_last AS rfm_recency,
    CASE WHEN rfm_frequency > 0 THEN ntile(5) OVER (PARTITION BY rfm_frequency > 0 ORDER BY DATE '2024-12-31' - rfm_last DESC, tie, c.customer_id) END AS r,
    CASE WHEN rfm_frequency > 0 THEN ntile(5) OVER (PARTITION BY rfm_frequency > 0 ORDER BY rfm_frequency, tie, c.customer_id) END AS f,
    CASE WHEN rfm_frequency > 0 THEN ntile(5) OVER (PARTITION BY rfm_frequency > 0 ORDER BY rfm_monetary, tie, c.customer_id) END AS m
  FROM c LEFT JOIN ch USING (customer_id) LEFT JOIN st USING (customer_id)
)
SELECT customer_id, first_order_date, last_order_date, order_count, revenue,
  CAST(revenue AS DOUBLE PRECISION) / order_count AS average_basket,
  since_last AS days_since_last_order,
  CASE WHEN order_count > 1 THEN CAST(last_order_date - first_order_date AS DOUBLE PRECISION) / (order_count - 1) END AS average_days_between_orders,
  channel AS favourite_channel, store_id AS favourite_store,
  CASE WHEN DATE '2024-12-31' - first_order_date <= 30 THEN 'new' WHEN since_last <= 90 THEN 'active'
       WHEN since_last <= 365 THEN 'at_risk' ELSE 'inactive' END AS lifecycle_stage,
${SCORES_AND_SEGMENT}`;

export async function main(args: readonly string[]): Promise<void> {
  const orders = option(args, 'orders', 10_000_000);
  const customers = option(args, 'customers', Math.max(1, Math.round(orders / 10)));
  const repeat = option(args, 'repeat', 3);
  const warehouse = choice(args, 'warehouse', BENCH_WAREHOUSES);
  const scratch = mkdtempSync(join(tmpdir(), 'tideline-bench-'));
  const pg = warehouse === 'postgres' ? await benchPostgres() : undefined;
  const connection = await openTarget(pg ? { type: 'postgres', url: pg.url } : { type: 'duckdb', path: join(scratch, 'warehouse.duckdb') }, { root: scratch });
  try {
    const generated = await timed(() => generate(connection, warehouse, orders, customers));
    report({ bench: 'metrics', warehouse, metric: 'generate_orders_seconds', value: round(generated.seconds, 3), unit: 's', orders, customers });

    const target = pg ? '    type: postgres\n    url: ${env:BENCH_PG_URL}\n' : '    type: duckdb\n    path: warehouse.duckdb\n';
    const root = tempProject({
      'tideline.yml': `name: bench\nschema: metrics_bench\ntargets:\n  bench:\n${target}`,
      'models/sources.yml': 'sources:\n  - name: orders\n    table: bench_raw.orders\n',
      'models/models.yml': MODELS,
    });
    const project = await loadProject({ projectDir: root, env: pg ? { BENCH_PG_URL: pg.url } : {} });
    const baselineSql = warehouse === 'postgres' ? [sql`DROP TABLE IF EXISTS metrics_bench.baseline`, Sql.trusted(POSTGRES_BASELINE)] : [Sql.trusted(DUCKDB_BASELINE)];
    const analysis = await analyseProject(project, connection);
    const logger = createLogger({ level: 'silent' });
    if (args.includes('--phases')) {
      await phases(project, connection, analysis, baselineSql, orders);
      return;
    }
    const tideline: number[] = [];
    const baseline: number[] = [];
    for (let i = 0; i < repeat; i++) {
      const built = await timed(() => runModels(project, connection, analysis, ['bench_customers'], { logger }));
      const failed = built.value.find((r) => r.status !== 'success');
      if (failed) throw new Error(`bench_customers failed: ${failed.error}`);
      tideline.push(built.seconds);
      baseline.push((await timed(async () => {
        for (const statement of baselineSql) await connection.execute(statement);
      })).seconds);
    }
    const differing = await connection.query(
      sql`SELECT (SELECT COUNT(*) FROM (SELECT * FROM metrics_bench.bench_customers EXCEPT SELECT * FROM metrics_bench.baseline) AS a) + (SELECT COUNT(*) FROM (SELECT * FROM metrics_bench.baseline EXCEPT SELECT * FROM metrics_bench.bench_customers) AS b) AS n`,
    );
    const rows = await connection.query(sql`SELECT COUNT(*) AS n FROM metrics_bench.bench_customers`);
    const value = Math.min(...tideline);
    const base = Math.min(...baseline);
    report({
      bench: 'metrics',
      warehouse,
      metric: 'customers_rfm_build_seconds',
      value: round(value, 3),
      unit: 's',
      baseline: round(base, 3),
      ratio: round(value / base, 3),
      goal: 'ratio ≤ 1.0 (issue 24; time per order flat within 20 % from 1M to 50M orders: see --sizes)',
      ok: value / base <= 1.0,
      orders,
      customers: Number(rows[0]!['n']),
      runs: repeat,
      identical_rows: Number(differing[0]!['n']) === 0,
    });
  } finally {
    await connection.close();
    await pg?.drop();
    rmSync(scratch, { recursive: true, force: true });
  }
}

/**
 * `--phases`: one build of the model (after a first one, so that the swap replaces a table as every later run does)
 * with every warehouse statement timed (statement-timer.ts), one JSON line per kind of statement, beside the baseline
 * statement timed once: where Tideline's time goes that the hand-written SQL does not spend.
 */
async function phases(project: Project, connection: Connection, analysis: Analysis, baselineSql: readonly Sql[], orders: number): Promise<void> {
  const logger = createLogger({ level: 'silent' });
  await runModels(project, connection, analysis, ['bench_customers'], { logger });
  const { connection: timedOne, times } = timedConnection(connection, { splitAtomic: connection.dialect.name === 'duckdb' });
  const built = await timed(() => runModels(project, timedOne, analysis, ['bench_customers'], { logger }));
  const sorted = [...times.values()].sort((a, b) => b.seconds - a.seconds);
  for (const t of sorted) report({ bench: 'metrics', metric: 'statement_seconds', value: round(t.seconds, 3), unit: 's', statement: t.statement, calls: t.calls, orders });
  const inWarehouse = sorted.reduce((sum, t) => sum + t.seconds, 0);
  const base = await timed(async () => {
    for (const statement of baselineSql) await connection.execute(statement);
  });
  report({ bench: 'metrics', metric: 'build_phases_seconds', value: round(built.seconds, 3), unit: 's', in_warehouse: round(inWarehouse, 3), rest: round(built.seconds - inWarehouse, 3), baseline: round(base.seconds, 3), orders });
}

/**
 * Orders spread over 2022–2024, 2 % cancelled, four channels and fifty stores, generated by the warehouse itself
 * (DuckDB's hash; PostgreSQL's hashint8, so the two warehouses hold different orders of the same shape).
 */
async function generate(connection: Connection, warehouse: BenchWarehouse, orders: number, customers: number): Promise<void> {
  await connection.execute(sql`CREATE SCHEMA IF NOT EXISTS bench_raw`);
  if (warehouse === 'postgres') {
    const h = (expression: string) => `(hashint8(${expression})::numeric + 9223372036854775808)`;
    await connection.execute(
      Sql.trusted(`CREATE TABLE bench_raw.orders AS
SELECT i AS order_id,
  CAST(${h('i')} % ${customers} AS BIGINT) AS customer_id,
  DATE '2022-01-01' + CAST(${h('i * 7 + 1')} % 1096 AS INTEGER) AS order_date,
  CAST((${h('i * 13 + 2')} % 20000) / 100.0 AS DECIMAL(18,2)) AS amount,
  (ARRAY['web', 'store', 'app', 'phone'])[1 + CAST(${h('i * 17 + 3')} % 4 AS INTEGER)] AS channel,
  'S' || CAST(${h('i * 19 + 4')} % 50 AS VARCHAR) AS store_id,
  CASE WHEN ${h('i * 23 + 5')} % 50 = 0 THEN 'cancelled' ELSE 'paid' END AS status
FROM generate_series(0, ${orders - 1}) AS t(i)`),
    );
    await connection.execute(sql`ANALYZE bench_raw.orders`);
    return;
  }
  await connection.execute(
    Sql.trusted(`CREATE OR REPLACE TABLE bench_raw.orders AS
SELECT i AS order_id,
  CAST(hash(i) % ${customers} AS BIGINT) AS customer_id,
  DATE '2022-01-01' + CAST(hash(i * 7 + 1) % 1096 AS INTEGER) AS order_date,
  CAST((hash(i * 13 + 2) % 20000) / 100.0 AS DECIMAL(18,2)) AS amount,
  ['web', 'store', 'app', 'phone'][1 + CAST(hash(i * 17 + 3) % 4 AS INTEGER)] AS channel,
  'S' || CAST(hash(i * 19 + 4) % 50 AS VARCHAR) AS store_id,
  CASE WHEN hash(i * 23 + 5) % 50 = 0 THEN 'cancelled' ELSE 'paid' END AS status
FROM range(${orders}) AS t(i)`),
  );
}
