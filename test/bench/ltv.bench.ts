import { createWriteStream, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { once } from 'node:events';
import { conditionalExpectedPurchases, discountedExpectedPurchases, fitBgNbd, probabilityAlive, type BgNbdParams, type RfmGroup } from '../../models/ltv/bgnbd.js';
import { fitGammaGamma, type GammaGammaParams, type SpendGroup } from '../../models/ltv/gamma-gamma.js';
import { DAYS_PER_UNIT } from '../../models/ltv/schema.js';
import { gammaSample, seededRandom } from '../../models/ltv/simulate.js';
import { DIALECTS } from '../../src/dialects/registry.js';
import { sql, Sql } from '../../src/dialects/sql.js';
import { createLogger } from '../../src/log/logger.js';
import { runModels } from '../../src/pipeline/runner.js';
import { analyseProject } from '../../src/project/analyse.js';
import { loadProject } from '../../src/project/loader.js';
import type { Connection } from '../../src/warehouses/connection.js';
import { openTarget } from '../../src/warehouses/registry.js';
import { tempProject } from '../support/cli.js';
import { option, report, round, timed, type CurveSpec } from './harness.js';

/**
 * `npm run bench -- ltv [--customers N]`: N customers (default 1,000,000) drawn from BG/NBD and Gamma-Gamma with known
 * parameters (CDNOW's published fit, in weeks), their orders over two years loaded into DuckDB; an `ltv` model with
 * `predictive:` built as `tideline run` builds it (summary SQL, the fit on the grouped triples, the score lookup, the
 * final join), timed end to end (goal: ≤ 10 s for 1M customers). Beside it, measured in the same run, the same result
 * by hand: one SQL statement per customer summary, the same optimisers on the same groups, the scores appended in
 * bulk and joined. Both results are compared customer by customer (P(alive), CLV), and the fitted parameters are
 * printed beside the true ones. `--sizes 2e5,1e6,3e6` prints the curve.
 */
export const curve: CurveSpec = {
  option: 'customers',
  seconds: (results) => results.find((r) => r.metric === 'seconds')?.value ?? NaN,
  baselineSeconds: (results) => results.find((r) => r.metric === 'seconds')?.baseline,
};

/** CDNOW's published fits (Fader, Hardie & Lee 2005; Fader & Hardie 2013), weeks. */
const TRUE_BGNBD: BgNbdParams = { r: 0.243, alpha: 4.414, a: 0.793, b: 2.426 };
const TRUE_GG: GammaGammaParams = { p: 6.25, q: 3.74, v: 15.44 };
/** Customers' first orders fall in the first year; they are observed for two. */
const [ACQUISITION_DAYS, CALIBRATION_DAYS] = [365, 730];
const START = Date.UTC(2023, 0, 1);
const CALIBRATION_END = '2024-12-31';
const HORIZON_MONTHS = 12;
const MONTHLY_DISCOUNT = 0.01;
const d = DIALECTS.duckdb;

const MODELS = `models:
  - name: bench_ltv
    kind: ltv
    orders: { from: orders, customer_id: customer_id, order_id: order_id, ordered_at: order_date, amount: amount }
    as_of: '${CALIBRATION_END}'
    predictive:
      time_unit: week
      horizon_months: ${HORIZON_MONTHS}
      discount_rate_monthly: ${MONTHLY_DISCOUNT}
`;

export async function main(args: readonly string[]): Promise<void> {
  const customers = option(args, 'customers', 1_000_000);
  const scratch = mkdtempSync(join(tmpdir(), 'tideline-bench-ltv-'));
  const connection = await openTarget({ type: 'duckdb', path: join(scratch, 'warehouse.duckdb') }, { root: scratch });
  try {
    const generated = await timed(() => generate(connection, customers, join(scratch, 'orders.csv')));
    report({ bench: 'ltv', metric: 'generate_seconds', value: round(generated.seconds), unit: 's', customers, orders: generated.value });

    const root = tempProject({
      'tideline.yml': `name: bench\nschema: ltv_bench\ntargets:\n  bench:\n    type: duckdb\n    path: warehouse.duckdb\n`,
      'models/sources.yml': 'sources:\n  - name: orders\n    table: bench_raw.orders\n',
      'models/models.yml': MODELS,
    });
    const project = await loadProject({ projectDir: root, env: {} });
    const analysis = await analyseProject(project, connection);
    const logger = createLogger({ level: 'silent' });
    const built = await timed(() => runModels(project, connection, analysis, ['bench_ltv'], { logger }));
    const result = built.value[0];
    if (!result || result.status !== 'success') throw new Error(`bench_ltv failed: ${result?.error}`);
    const hand = await timed(() => byHand(connection));
    const fitted = await connection.query(sql`SELECT submodel, parameter, value, converged, iterations, groups FROM ltv_bench.bench_ltv_params`);
    const param = (submodel: string, name: string) => round(Number(fitted.find((r) => r['submodel'] === submodel && r['parameter'] === name)?.['value']), 4);
    const fit = (submodel: string) => fitted.find((r) => r['submodel'] === submodel)!;
    const [differing] = await connection.query(
      sql`SELECT COUNT(*) AS n FROM ltv_bench.bench_ltv AS t FULL JOIN ltv_hand.scored AS h ON h.customer_id = t.customer_id
WHERE h.customer_id IS NULL OR t.customer_id IS NULL OR abs(t.p_alive - h.p_alive) > 1e-9 OR abs(t.clv - h.clv) > 1e-6 * (1 + abs(h.clv))`,
    );
    const [counted] = await connection.query(sql`SELECT COUNT(*) AS n FROM ltv_bench.bench_ltv`);
    report({
      bench: 'ltv',
      metric: 'seconds',
      value: round(built.seconds, 2),
      unit: 's',
      baseline: round(hand.seconds, 2),
      goal: '≤ 10 s for 1M customers, end to end',
      ok: built.seconds <= 10 * Math.max(1, customers / 1_000_000),
      customers: Number(counted?.['n']),
      bgnbd_groups: Number(fit('bgnbd')['groups']),
      gamma_gamma_groups: Number(fit('gamma_gamma')['groups']),
      differing_customers: Number(differing?.['n']),
    });
    report({ bench: 'ltv', metric: 'fit_seconds', value: round(hand.value.fitSeconds, 2), unit: 's', customers, note: 'BG/NBD + Gamma-Gamma optimisers alone, on the grouped inputs' });
    report({
      bench: 'ltv',
      metric: 'parameters',
      value: Number(fit('bgnbd')['converged'] === true && fit('gamma_gamma')['converged'] === true),
      unit: 'converged',
      customers,
      fitted: { r: param('bgnbd', 'r'), alpha: param('bgnbd', 'alpha'), a: param('bgnbd', 'a'), b: param('bgnbd', 'b'), p: param('gamma_gamma', 'p'), q: param('gamma_gamma', 'q'), v: param('gamma_gamma', 'v') },
      true: { ...TRUE_BGNBD, ...TRUE_GG },
      iterations: { bgnbd: Number(fit('bgnbd')['iterations']), gamma_gamma: Number(fit('gamma_gamma')['iterations']) },
    });
  } finally {
    await connection.close();
    rmSync(scratch, { recursive: true, force: true });
  }
}

/**
 * Orders of `customers` people drawn from BG/NBD (purchase rate λ ~ Gamma(r, α) a week, dropout p ~ Beta(a, b) after
 * each repeat purchase) and Gamma-Gamma (each order's amount ~ Gamma(p, ν), ν ~ Gamma(q, v)), the first order on a
 * random day of the first year; written to a CSV file that DuckDB loads. Returns the number of orders.
 */
async function generate(connection: Connection, customers: number, file: string): Promise<number> {
  const random = seededRandom(24);
  const out = createWriteStream(file);
  let orders = 0;
  let chunk = 'customer_id,order_id,order_date,amount\n';
  const day = (n: number) => new Date(START + n * 86_400_000).toISOString().slice(0, 10);
  for (let c = 0; c < customers; c++) {
    const lambda = gammaSample(random, TRUE_BGNBD.r, TRUE_BGNBD.alpha);
    const g = gammaSample(random, TRUE_BGNBD.a, 1);
    const p = g / (g + gammaSample(random, TRUE_BGNBD.b, 1));
    const nu = gammaSample(random, TRUE_GG.q, TRUE_GG.v);
    const first = Math.floor(random() * ACQUISITION_DAYS);
    const T = (CALIBRATION_DAYS - first) / 7;
    const order = (at: number) => {
      chunk += `c${c},o${orders++},${day(at)},${gammaSample(random, TRUE_GG.p, nu).toFixed(2)}\n`;
    };
    order(first);
    for (let t = 0; ; ) {
      t += -Math.log(1 - random()) / lambda;
      if (t > T) break;
      order(first + Math.floor(t * 7));
      if (random() < p) break;
    }
    if (chunk.length > 1 << 20) {
      if (!out.write(chunk)) await once(out, 'drain');
      chunk = '';
    }
  }
  out.end(chunk);
  await once(out, 'finish');
  await connection.execute(sql`CREATE SCHEMA bench_raw`);
  await connection.execute(
    Sql.trusted(`CREATE TABLE bench_raw.orders AS SELECT * FROM read_csv(${d.string(file).text}, header = true, columns = {'customer_id': 'VARCHAR', 'order_id': 'VARCHAR', 'order_date': 'DATE', 'amount': 'DECIMAL(18,2)'})`),
  );
  return orders;
}

/**
 * The same predictions by hand: the per-customer summary in one statement, its triples and spend pairs read grouped
 * and in the same order (so the optimisers see the same sums), the same fits, the per-triple scores appended in bulk
 * and joined to customers with Gamma-Gamma's expected value in SQL.
 */
async function byHand(connection: Connection): Promise<{ fitSeconds: number }> {
  const run = (text: string) => connection.execute(Sql.trusted(text));
  await run('CREATE SCHEMA IF NOT EXISTS ltv_hand');
  await run(`CREATE OR REPLACE TABLE ltv_hand.summary AS
WITH days AS (
  SELECT customer_id, order_date AS day, SUM(amount) AS value FROM bench_raw.orders
  WHERE customer_id IS NOT NULL AND order_date <= DATE '${CALIBRATION_END}' GROUP BY customer_id, order_date
)
SELECT customer_id, COUNT(*) - 1 AS frequency, date_diff('day', MIN(day), MAX(day)) AS recency_days,
  date_diff('day', MIN(day), DATE '${CALIBRATION_END}') AS age_days,
  CASE WHEN COUNT(*) > 1 THEN CAST(SUM(value) - arg_min(value, day) AS DOUBLE) / (COUNT(*) - 1) END AS mean_value
FROM days GROUP BY customer_id`);
  const week = DAYS_PER_UNIT.week;
  const triples = await connection.query(Sql.trusted('SELECT frequency, recency_days, age_days, COUNT(*) AS n FROM ltv_hand.summary GROUP BY ALL ORDER BY ALL'));
  const groups: RfmGroup[] = triples.map((t) => ({ x: Number(t['frequency']), tx: Number(t['recency_days']) / week, T: Number(t['age_days']) / week, n: Number(t['n']) }));
  const pairs = await connection.query(Sql.trusted('SELECT frequency, mean_value, COUNT(*) AS n FROM ltv_hand.summary WHERE frequency > 0 AND mean_value > 0 GROUP BY ALL ORDER BY ALL'));
  const spend: SpendGroup[] = pairs.map((s) => ({ x: Number(s['frequency']), m: Number(s['mean_value']), n: Number(s['n']) }));
  const fits = await timed(async () => ({ bgnbd: fitBgNbd(groups), gg: fitGammaGamma(spend) }));
  const { bgnbd, gg } = fits.value;
  const unitsPerMonth = DAYS_PER_UNIT.month / week;
  await run('CREATE OR REPLACE TABLE ltv_hand.scores (frequency INTEGER, recency_days INTEGER, age_days INTEGER, p_alive DOUBLE, expected_purchases DOUBLE, discounted_purchases DOUBLE)');
  const rows = groups.map((g, i) => {
    const t = triples[i]!;
    return [
      Number(t['frequency']),
      Number(t['recency_days']),
      Number(t['age_days']),
      probabilityAlive(bgnbd.params, g.x, g.tx, g.T),
      conditionalExpectedPurchases(bgnbd.params, HORIZON_MONTHS * unitsPerMonth, g.x, g.tx, g.T),
      discountedExpectedPurchases(bgnbd.params, g.x, g.tx, g.T, HORIZON_MONTHS, unitsPerMonth, MONTHLY_DISCOUNT),
    ];
  });
  const columns = ['frequency', 'recency_days', 'age_days'].map((name) => ({ name, type: 'integer' as const }));
  const floats = ['p_alive', 'expected_purchases', 'discounted_purchases'].map((name) => ({ name, type: 'float' as const }));
  await connection.insertRows({ schema: 'ltv_hand', name: 'scores' }, [...columns, ...floats], [rows]);
  const { p, q, v } = gg.params;
  await run(`CREATE OR REPLACE TABLE ltv_hand.scored AS
SELECT s.customer_id, sc.p_alive, sc.expected_purchases,
  sc.discounted_purchases * CASE WHEN s.frequency > 0 AND s.mean_value > 0 THEN ${p} * (${v} + s.frequency * s.mean_value) / (${p} * s.frequency + ${q} - 1) ELSE ${p} * ${v} / (${q} - 1) END AS clv
FROM ltv_hand.summary AS s JOIN ltv_hand.scores AS sc USING (frequency, recency_days, age_days)`);
  return { fitSeconds: fits.seconds };
}
