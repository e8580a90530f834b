import type { Dialect } from '../../src/dialects/dialect.js';
import { Sql, indentSql, joinSql, sql } from '../../src/dialects/sql.js';
import { analyseOrders, customerIdType, keptOrdersSql, ORDER_COLUMNS, ordersInputs } from '../customers/orders.js';
import { analyseAsOf, asOfSql } from '../../src/expressions/as-of.js';
import { defineModelKind, type PlanContext, type ModelSummary, type OutputColumn, type Step, type SummaryContext } from '../model-kind.js';
import { runFit, type FitPlan } from './fit.js';
import { DAYS_PER_UNIT, ltvSchema, type LtvSpec } from './schema.js';

const HISTORICAL: readonly OutputColumn[] = [
  { name: 'first_order_date', type: 'date' },
  { name: 'last_order_date', type: 'date' },
  { name: 'order_count', type: 'integer' },
  { name: 'value_to_date', type: 'decimal' },
  { name: 'periods', type: 'integer' },
  { name: 'value_per_period', type: 'float' },
  { name: 'average_order_value', type: 'float' },
];

const PREDICTIVE: readonly OutputColumn[] = [
  { name: 'frequency', type: 'integer' },
  { name: 'recency', type: 'float' },
  { name: 'age', type: 'float' },
  { name: 'mean_value', type: 'float' },
  { name: 'p_alive', type: 'float' },
  { name: 'expected_purchases', type: 'float' },
  { name: 'expected_value', type: 'float' },
  { name: 'clv', type: 'float' },
];

export const ltv = defineModelKind<LtvSpec>({
  kind: 'ltv',
  summary: 'Customer lifetime value: historical to date, and predicted with BG/NBD + Gamma-Gamma (P(alive), expected purchases, CLV)',
  schema: ltvSchema,

  companions(spec) {
    if (!spec.predictive) return [];
    return [
      {
        suffix: 'params',
        description: 'The fitted BG/NBD and Gamma-Gamma parameters, one row per parameter, with log-likelihood and convergence',
        columns: [
          { name: 'submodel', type: 'string' },
          { name: 'parameter', type: 'string' },
          { name: 'value', type: 'float' },
          { name: 'log_likelihood', type: 'float' },
          { name: 'converged', type: 'boolean' },
          { name: 'iterations', type: 'integer' },
          { name: 'customers', type: 'integer' },
          { name: 'groups', type: 'integer' },
          { name: 'time_unit', type: 'string' },
          { name: 'calibration_end', type: 'date' },
        ],
      },
    ];
  },

  inputs(spec) {
    return [ordersInputs(spec.orders, ['orders'])];
  },

  analyse(spec, context) {
    analyseOrders(spec.orders, ['orders'], context);
    analyseAsOf(spec.as_of, ['as_of'], context);
    if (spec.predictive?.calibration_end !== undefined) analyseAsOf(spec.predictive.calibration_end, ['predictive', 'calibration_end'], context);
    if (spec.value === 'margin' && spec.orders.cost === undefined) context.problem(['value'], 'margin is amount − cost: name the cost column under `orders.cost`, or use `value: revenue`', 'missing-cost');
    const end = spec.predictive?.calibration_end;
    if (typeof end === 'string' && end !== 'today' && typeof spec.as_of === 'string' && spec.as_of !== 'today' && end > spec.as_of)
      context.problem(['predictive', 'calibration_end'], `the calibration end (${end}) cannot be after the as-of date (${spec.as_of})`, 'bad-threshold-order');
    return [customerIdType(context, spec.orders), ...HISTORICAL, ...(spec.predictive ? PREDICTIVE : [])];
  },

  plan(spec, context) {
    const d = context.dialect;
    const asOf = asOfSql(d, spec.as_of, context.vars);
    if (!spec.predictive) return { steps: [{ kind: 'sql', label: 'build', sql: d.createTableAs(context.output, historicalSelect(spec, context, asOf, undefined)) }] };

    const predictive = spec.predictive;
    const calibrationEnd = predictive.calibration_end === undefined ? asOf : asOfSql(d, predictive.calibration_end, context.vars);
    const plan: FitPlan = {
      summary: context.scratch('summary'),
      scores: context.scratch('scores'),
      params: context.companion('params').build,
      timeUnit: predictive.time_unit,
      horizonMonths: predictive.horizon_months,
      monthlyDiscount: predictive.discount_rate_monthly,
      calibrationEnd,
    };
    const steps: Step[] = [
      { kind: 'sql', label: 'summarise customers (frequency, recency, age, mean value)', sql: d.createTableAs(plan.summary, summarySelect(spec, context, calibrationEnd)) },
      {
        kind: 'host',
        label: 'fit BG/NBD and Gamma-Gamma',
        describe: [
          `Reads the distinct (frequency, recency_days, age_days) triples of ${d.table(plan.summary).text} with their counts, and the distinct`,
          `(frequency, mean_value) pairs of repeat customers; fits BG/NBD and Gamma-Gamma by maximum likelihood (time unit: ${predictive.time_unit});`,
          `writes the parameters, log-likelihoods and convergence into ${d.table(plan.params).text}, and P(alive), expected purchases over`,
          `${predictive.horizon_months} months and discounted expected purchases (monthly rate ${predictive.discount_rate_monthly}) per triple into ${d.table(plan.scores).text}.`,
        ].join('\n'),
        run: async (io) => {
          await runFit(io, plan);
        },
      },
      { kind: 'sql', label: 'build', sql: d.createTableAs(context.output, historicalSelect(spec, context, asOf, plan)) },
    ];
    return { steps };
  },

  async summarise(spec, context): Promise<ModelSummary> {
    return spec.predictive ? summariseFit(context) : summariseHistory(context);
  },
});

/** A customer's value per kept order row: revenue, or margin. */
function valueOf(d: Dialect, spec: LtvSpec): Sql {
  const amount = d.id(ORDER_COLUMNS.amount);
  return spec.value === 'margin' ? sql`(${amount} - COALESCE(${d.id(ORDER_COLUMNS.cost)}, 0))` : amount;
}

/**
 * Per customer, from kept orders up to the calibration end, purchases counted per distinct day (as BG/NBD counts
 * them): frequency = repeat days, recency_days = first → last day, age_days = first day → calibration end, and
 * mean_value = the mean value of the repeat days (the first purchase is left out, as Gamma-Gamma expects).
 */
function summarySelect(spec: LtvSpec, context: PlanContext, calibrationEnd: Sql): Sql {
  const d = context.dialect;
  const c = (name: keyof typeof ORDER_COLUMNS) => d.id(ORDER_COLUMNS[name]);
  const [day, value, first] = [d.id('day'), d.id('value'), d.id('first_day')];
  return sql`WITH kept AS (
${indentSql(keptOrdersSql(d, context, spec.orders, calibrationEnd))}
),
days AS (
  SELECT ${c('customer')}, ${c('date')} AS ${day}, SUM(${valueOf(d, spec)}) AS ${value}
  FROM kept
  GROUP BY ${c('customer')}, ${c('date')}
),
marked AS (
  SELECT ${c('customer')}, ${day}, ${value}, MIN(${day}) OVER (PARTITION BY ${c('customer')}) AS ${first}
  FROM days
)
SELECT
  ${c('customer')} AS ${d.id('customer_id')},
  COUNT(*) - 1 AS ${d.id('frequency')},
  ${d.dateDiff('day', sql`MIN(${day})`, sql`MAX(${day})`)} AS ${d.id('recency_days')},
  ${d.dateDiff('day', sql`MIN(${day})`, calibrationEnd)} AS ${d.id('age_days')},
  CASE WHEN COUNT(*) > 1 THEN ${d.cast(sql`SUM(CASE WHEN ${day} > ${first} THEN ${value} END)`, 'float')} / (COUNT(*) - 1) END AS ${d.id('mean_value')}
FROM marked
GROUP BY ${c('customer')}`;
}

function periodsSql(d: Dialect, period: LtvSpec['period'], first: Sql, asOf: Sql): Sql {
  if (period === 'week') return sql`${d.cast(sql`FLOOR(${d.cast(d.dateDiff('day', first, asOf), 'float')} / 7)`, 'integer')} + 1`;
  return sql`${d.dateDiff(period === 'year' ? 'year' : period === 'month' ? 'month' : 'day', first, asOf)} + 1`;
}

function historicalSelect(spec: LtvSpec, context: PlanContext, asOf: Sql, fit: FitPlan | undefined): Sql {
  const d = context.dialect;
  const c = (name: keyof typeof ORDER_COLUMNS) => d.id(ORDER_COLUMNS[name]);
  const id = d.id('customer_id');
  const h = d.id('h');
  const col = (name: string) => sql`${h}.${d.id(name)}`;
  const count = spec.orders.grain === 'line' ? sql`COUNT(DISTINCT ${c('order')})` : sql`COUNT(${c('order')})`;
  const ctes = [
    sql`kept AS (\n${indentSql(keptOrdersSql(d, context, spec.orders, asOf))}\n)`,
    sql`history AS (
  SELECT ${c('customer')} AS ${id}, MIN(${c('date')}) AS ${d.id('first_order_date')}, MAX(${c('date')}) AS ${d.id('last_order_date')},
    ${count} AS ${d.id('order_count')}, SUM(${valueOf(d, spec)}) AS ${d.id('value_to_date')}
  FROM kept
  GROUP BY ${c('customer')}
)`,
  ];
  const periods = periodsSql(d, spec.period, col('first_order_date'), asOf);
  const columns: Sql[] = [
    sql`${col('customer_id')} AS ${id}`,
    col('first_order_date'),
    col('last_order_date'),
    col('order_count'),
    col('value_to_date'),
    sql`${periods} AS ${d.id('periods')}`,
    sql`${d.cast(col('value_to_date'), 'float')} / (${periods}) AS ${d.id('value_per_period')}`,
    sql`${d.cast(col('value_to_date'), 'float')} / ${col('order_count')} AS ${d.id('average_order_value')}`,
  ];
  let from = sql`history AS ${h}`;
  if (fit) {
    const days = d.literal(DAYS_PER_UNIT[fit.timeUnit]);
    const [s, sc, pr] = [d.id('s'), d.id('sc'), d.id('pr')];
    const param = (name: string) => sql`MAX(CASE WHEN ${d.id('submodel')} = ${d.string('gamma_gamma')} AND ${d.id('parameter')} = ${d.string(name)} THEN ${d.id('value')} END) AS ${d.id(name)}`;
    ctes.push(sql`gg AS (\n  SELECT ${joinSql(['p', 'q', 'v'].map(param))}\n  FROM ${d.table(fit.params)}\n)`);
    const [p, q, v] = ['p', 'q', 'v'].map((n) => sql`${pr}.${d.id(n)}`) as [Sql, Sql, Sql];
    const x = sql`${s}.${d.id('frequency')}`;
    const m = sql`${s}.${d.id('mean_value')}`;
    // Gamma-Gamma's expected value per purchase; customers without a repeat purchase of positive value get the
    // population mean p·v/(q−1).
    const expectedValue = sql`CASE WHEN ${s}.${id} IS NULL THEN NULL WHEN ${x} > 0 AND ${m} > 0 THEN ${p} * (${v} + ${x} * ${m}) / (${p} * ${x} + ${q} - 1) ELSE ${p} * ${v} / (${q} - 1) END`;
    columns.push(
      x,
      sql`${d.cast(sql`${s}.${d.id('recency_days')}`, 'float')} / ${days} AS ${d.id('recency')}`,
      sql`${d.cast(sql`${s}.${d.id('age_days')}`, 'float')} / ${days} AS ${d.id('age')}`,
      m,
      sql`${sc}.${d.id('p_alive')}`,
      sql`${sc}.${d.id('expected_purchases')}`,
      sql`${expectedValue} AS ${d.id('expected_value')}`,
      sql`${sc}.${d.id('discounted_purchases')} * (${expectedValue}) AS ${d.id('clv')}`,
    );
    const on = joinSql(
      ['frequency', 'recency_days', 'age_days'].map((n) => sql`${sc}.${d.id(n)} = ${s}.${d.id(n)}`),
      sql` AND `,
    );
    from = sql`history AS ${h}
LEFT JOIN ${d.table(fit.summary)} AS ${s} ON ${s}.${id} = ${h}.${id}
LEFT JOIN ${d.table(fit.scores)} AS ${sc} ON ${on}
CROSS JOIN gg AS ${pr}`;
  }
  return sql`WITH ${joinSql(ctes, sql`,\n`)}
SELECT
${indentSql(joinSql(columns, sql`,\n`))}
FROM ${from}`;
}

async function summariseFit(context: SummaryContext): Promise<ModelSummary> {
  const d = context.dialect;
  const rows = await context.io.query(sql`SELECT * FROM ${d.table(context.companion('params'))} ORDER BY ${d.id('submodel')}, ${d.id('parameter')}`);
  const data: Record<string, Record<string, unknown>> = {};
  for (const row of rows) {
    const submodel = String(row['submodel']);
    data[submodel] ??= {
      log_likelihood: row['log_likelihood'],
      converged: row['converged'],
      iterations: row['iterations'],
      customers: row['customers'],
      groups: row['groups'],
      time_unit: row['time_unit'],
      calibration_end: row['calibration_end'],
    };
    data[submodel]![String(row['parameter'])] = row['value'];
  }
  const fmt = (v: unknown) => (typeof v === 'number' ? v.toPrecision(4) : String(v));
  const describe = (name: string, submodel: string, params: readonly string[]) => {
    const fit = data[submodel];
    if (!fit) return `${context.name}: ${name} parameters missing`;
    return `${context.name}: ${name} ${params.map((p) => `${p}=${fmt(fit[p])}`).join(', ')}; log-likelihood ${fmt(fit['log_likelihood'])}; ${
      fit['converged'] ? 'converged' : 'DID NOT CONVERGE'
    } after ${String(fit['iterations'])} iterations on ${String(fit['customers'])} customers (${String(fit['groups'])} groups, time unit ${String(fit['time_unit'])})`;
  };
  return { lines: [describe('BG/NBD', 'bgnbd', ['r', 'alpha', 'a', 'b']), describe('Gamma-Gamma', 'gamma_gamma', ['p', 'q', 'v'])], data };
}

async function summariseHistory(context: SummaryContext): Promise<ModelSummary> {
  const d = context.dialect;
  const rows = await context.io.query(sql`SELECT COUNT(*) AS ${d.id('customers')}, SUM(${d.id('value_to_date')}) AS ${d.id('total')} FROM ${d.table(context.table)}`);
  const customers = Number(rows[0]?.['customers'] ?? 0);
  const total = Number(rows[0]?.['total'] ?? 0);
  return { lines: [`${context.name}: ${customers} customers, ${total.toFixed(2)} of value to date`], data: { customers, value_to_date: total } };
}
