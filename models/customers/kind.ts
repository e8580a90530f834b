import type { Dialect, LogicalType } from '../../src/dialects/dialect.js';
import { Sql, indentSql, joinSql, sql } from '../../src/dialects/sql.js';
import type { FieldPath } from '../../src/project/problems.js';
import { didYouMean } from '../../src/project/suggest.js';
import { defineModelKind, type AnalyseContext, type ColumnRef, type PlanContext, type InputRef, type ModelSummary, type OutputColumn, type SummaryContext } from '../model-kind.js';
import { periodStart, scoreSql, scoringProblems, segmentsOf, segmentSql } from '../rfm/scoring.js';
import { segmentMapProblems } from '../rfm/segments.js';
import { analyseOrders, analyseRules, columnType, customerIdType, keptOrdersSql, keptSql, ORDER_COLUMNS, ordersInputs, rulesColumns } from './orders.js';
import { analyseAsOf, asOfSql } from '../../src/expressions/as-of.js';
import { CONSENT_CHANNELS, customersSchema, type CustomersSpec, type LifecycleSpec } from './schema.js';

const NUMERIC: readonly (LogicalType | undefined)[] = ['integer', 'float', 'decimal'];

/** Output columns in order, those depending on optional inputs only when configured. */
function outputs(spec: CustomersSpec, idColumn: OutputColumn): OutputColumn[] {
  const out: OutputColumn[] = [
    idColumn,
    { name: 'first_order_date', type: 'date' },
    { name: 'last_order_date', type: 'date' },
    { name: 'order_count', type: 'integer' },
    { name: 'revenue', type: 'decimal' },
  ];
  if (spec.orders.cost !== undefined) out.push({ name: 'margin', type: 'decimal' });
  out.push({ name: 'average_basket', type: 'float' }, { name: 'days_since_last_order', type: 'integer' }, { name: 'average_days_between_orders', type: 'float' });
  if (spec.orders.channel !== undefined) out.push({ name: 'favourite_channel', type: 'string' });
  if (spec.orders.store !== undefined) out.push({ name: 'favourite_store', type: 'string' });
  if (spec.lines?.category !== undefined) out.push({ name: 'favourite_category', type: 'string' });
  if (spec.lines?.quantity !== undefined) out.push({ name: 'item_count', type: 'float' });
  for (const channel of Object.keys(spec.consent?.channels ?? {})) out.push({ name: `consent_${channel}`, type: 'boolean' });
  out.push({ name: 'lifecycle_stage', type: 'string' });
  for (const [name, field] of Object.entries(spec.fields)) out.push({ name, type: typeof field === 'object' ? field.type : undefined });
  if (spec.rfm) {
    out.push(
      { name: 'rfm_recency_days', type: 'integer' },
      { name: 'rfm_frequency', type: 'integer' },
      { name: 'rfm_monetary', type: 'decimal' },
      { name: 'r_score', type: 'integer' },
      { name: 'f_score', type: 'integer' },
      { name: 'm_score', type: 'integer' },
      { name: 'rfm_cell', type: 'integer' },
      { name: 'rfm_segment', type: 'string' },
    );
  }
  return out;
}

/** Lifecycle thresholds must describe stages that follow each other without gap or overlap. */
function lifecycleProblems(lifecycle: LifecycleSpec): { at: FieldPath; message: string }[] {
  const problems: { at: FieldPath; message: string }[] = [];
  const active = lifecycle.active.last_order_within_days;
  const atRisk = lifecycle.at_risk.last_order_within_days;
  const inactive = lifecycle.inactive.last_order_after_days;
  const fresh = lifecycle.new.first_order_within_days;
  if (!(active < atRisk)) problems.push({ at: ['lifecycle', 'at_risk', 'last_order_within_days'], message: `at_risk must reach further back than active: ${atRisk} days is not more than active's ${active}` });
  if (inactive !== atRisk)
    problems.push({ at: ['lifecycle', 'inactive', 'last_order_after_days'], message: `inactive must start where at_risk ends (${atRisk} days), not at ${inactive}: otherwise some customers would be in two stages or none` });
  if (fresh > active) problems.push({ at: ['lifecycle', 'new', 'first_order_within_days'], message: `a new customer's window (${fresh} days) cannot be longer than active's (${active} days)` });
  return problems;
}

const BUILT_IN = new Set(['customer_id', 'first_order_date', 'last_order_date', 'order_count', 'revenue', 'margin', 'average_basket', 'days_since_last_order', 'average_days_between_orders', 'favourite_channel', 'favourite_store', 'favourite_category', 'item_count', 'lifecycle_stage']);

export const customers = defineModelKind<CustomersSpec>({
  kind: 'customers',
  summary: 'One row per customer: orders, revenue, margin, favourites, consent per channel, lifecycle stage, custom aggregates',
  schema: customersSchema,

  inputs(spec): InputRef[] {
    const inputs: InputRef[] = [ordersInputs(spec.orders, ['orders'])];
    if (spec.lines) {
      const columns: ColumnRef[] = [{ name: spec.lines.order_id, at: ['lines', 'order_id'] }];
      for (const f of ['category', 'quantity'] as const) if (spec.lines[f] !== undefined) columns.push({ name: spec.lines[f]!, at: ['lines', f] });
      columns.push(...rulesColumns(spec.lines.exclude, ['lines', 'exclude']));
      inputs.push({ relation: spec.lines.from, at: ['lines', 'from'], columns });
    }
    if (spec.population) inputs.push({ relation: spec.population.from, at: ['population', 'from'], columns: [{ name: spec.population.customer_id, at: ['population', 'customer_id'] }] });
    if (spec.consent) {
      const columns = (['customer_id', 'channel', 'opted_in', 'at'] as const).map((f) => ({ name: spec.consent![f], at: ['consent', f] }));
      inputs.push({ relation: spec.consent.from, at: ['consent', 'from'], columns });
    }
    return inputs;
  },

  analyse(spec, context): readonly OutputColumn[] {
    analyseOrders(spec.orders, ['orders'], context);
    analyseAsOf(spec.as_of, ['as_of'], context);
    const idColumn = customerIdType(context, spec.orders);
    if (spec.lines) {
      const lines = spec.lines;
      const type = (column: string) => columnType(context, lines.from, column);
      if (lines.quantity !== undefined && type(lines.quantity) !== undefined && !NUMERIC.includes(type(lines.quantity)))
        context.problem(['lines', 'quantity'], `column "${lines.quantity}" is ${type(lines.quantity)}: quantity must be numeric`, 'wrong-type');
      const orderIdType = columnType(context, spec.orders.from, spec.orders.order_id);
      if (orderIdType !== undefined && type(lines.order_id) !== undefined && orderIdType !== type(lines.order_id))
        context.problem(['lines', 'order_id'], `column "${lines.order_id}" is ${type(lines.order_id)} but the orders' order id "${spec.orders.order_id}" is ${orderIdType}: cast one of them in a staging model`, 'wrong-type');
      analyseRules(lines.exclude, ['lines', 'exclude'], type, context);
    }
    if (spec.population) {
      const popType = columnType(context, spec.population.from, spec.population.customer_id);
      if (popType !== undefined && idColumn.type !== undefined && popType !== idColumn.type)
        context.problem(['population', 'customer_id'], `column "${spec.population.customer_id}" is ${popType} but the orders' customer id is ${idColumn.type}: the two must match`, 'wrong-type');
    }
    if (spec.consent) analyseConsent(spec, context);
    for (const p of lifecycleProblems(spec.lifecycle)) context.problem(p.at, p.message, 'bad-threshold-order');
    for (const [name, field] of Object.entries(spec.fields)) {
      if (BUILT_IN.has(name) || name.startsWith('consent_') || name.startsWith('rfm_') || /^[rfm]_score$/.test(name))
        context.problem(['fields', name], `"${name}" is a column the customers model computes itself; choose another name`, 'duplicate-column');
      if (typeof field === 'object' && field.over === 'lines' && !spec.lines) context.problem(['fields', name, 'over'], 'this field is computed over order lines, but the model has no `lines`', 'missing-lines');
    }
    if (spec.rfm) {
      for (const p of scoringProblems(spec.rfm)) context.problem(['rfm', ...p.at], p.message, p.code);
      if (spec.rfm.segments !== 'default') for (const p of segmentMapProblems(spec.rfm.segments, ['rfm', 'segments'])) context.problem(p.at, p.message, p.code);
    }
    return outputs(spec, idColumn);
  },

  plan(spec, context) {
    return { steps: [{ kind: 'sql', label: 'build', sql: context.dialect.createTableAs(context.output, customersSelect(spec, context)) }] };
  },

  async summarise(_spec, context): Promise<ModelSummary> {
    return countsBy(context, 'lifecycle_stage', 'lifecycle');
  },
});

function analyseConsent(spec: CustomersSpec, context: AnalyseContext): void {
  const consent = spec.consent!;
  const type = (column: string) => columnType(context, consent.from, column);
  for (const channel of Object.keys(consent.channels))
    if (!(CONSENT_CHANNELS as readonly string[]).includes(channel))
      context.problem(['consent', 'channels', channel], `unknown channel "${channel}"${didYouMean(channel, [...CONSENT_CHANNELS])}; channels: ${CONSENT_CHANNELS.join(', ')}`, 'unknown-channel');
  if ((consent.opt_in === undefined) !== (consent.opt_out === undefined))
    context.problem(['consent', consent.opt_in === undefined ? 'opt_out' : 'opt_in'], 'give both `opt_in` and `opt_out` values (other values are ignored), or neither for a boolean column', 'incomplete-consent');
  const optedType = type(consent.opted_in);
  if (consent.opt_in === undefined && optedType !== undefined && optedType !== 'boolean')
    context.problem(['consent', 'opted_in'], `column "${consent.opted_in}" is ${optedType}: without \`opt_in\`/\`opt_out\` values it must be boolean`, 'wrong-type');
  const atType = type(consent.at);
  if (atType !== undefined && atType !== 'date' && atType !== 'timestamp') context.problem(['consent', 'at'], `column "${consent.at}" is ${atType}: it must be a date or timestamp`, 'wrong-type');
  const idType = type(consent.customer_id);
  const ordersId = columnType(context, spec.orders.from, spec.orders.customer_id);
  if (idType !== undefined && ordersId !== undefined && idType !== ordersId)
    context.problem(['consent', 'customer_id'], `column "${consent.customer_id}" is ${idType} but the orders' customer id is ${ordersId}: the two must match`, 'wrong-type');
}

/**
 * Each customer's favourite value: most kept orders, then the largest amount, then the value's text order. Filtered
 * to the favourite inside the CTE, so the final join meets one row per customer, not one per (customer, value).
 */
function favouriteSql(d: Dialect, from: Sql, value: Sql, orders: Sql, amount: Sql): Sql {
  const customer = d.id(ORDER_COLUMNS.customer);
  const [v, rank] = [d.id('value'), d.id('rank')];
  return sql`SELECT ${customer}, ${v}
FROM (
  SELECT ${customer}, ${value} AS ${v},
    ROW_NUMBER() OVER (PARTITION BY ${customer} ORDER BY ${orders} DESC, ${amount} DESC, ${value} ASC) AS ${rank}
  FROM ${from}
  WHERE ${value} IS NOT NULL
  GROUP BY ${customer}, ${value}
) AS ranked
WHERE ${rank} = 1`;
}

export function customersSelect(spec: CustomersSpec, context: PlanContext): Sql {
  const d = context.dialect;
  const c = (name: keyof typeof ORDER_COLUMNS) => d.id(ORDER_COLUMNS[name]);
  const asOf = asOfSql(d, spec.as_of, context.vars);
  const orderFields = Object.entries(spec.fields).filter(([, f]) => typeof f === 'string' || f.over === 'orders');
  const lineFields = Object.entries(spec.fields).filter(([, f]) => typeof f === 'object' && f.over === 'lines');
  const fieldSql = (field: CustomersSpec['fields'][string]) => {
    const expr = Sql.userExpression(typeof field === 'string' ? field : field.sql);
    return typeof field === 'object' && field.type ? d.cast(expr, field.type) : expr;
  };
  const distinctOrders = (expr: Sql) => (spec.orders.grain === 'line' ? sql`COUNT(DISTINCT ${expr})` : sql`COUNT(${expr})`);
  const id = d.id('customer_id');
  // CTE names are our own fixed text, referred to by name in the queries below.
  const ctes: [Sql, Sql][] = [[sql`kept`, keptOrdersSql(d, context, spec.orders, asOf, { withSource: orderFields.length > 0 })]];

  const since = spec.rfm ? periodStart(d, spec.rfm, asOf) : undefined;
  const inPeriod = (expr: Sql) => (since ? sql`CASE WHEN ${c('date')} > ${since} THEN ${expr} END` : expr);
  const totals: Sql[] = [
    sql`${c('customer')} AS ${id}`,
    sql`MIN(${c('date')}) AS ${d.id('first_order_date')}`,
    sql`MAX(${c('date')}) AS ${d.id('last_order_date')}`,
    sql`${distinctOrders(c('order'))} AS ${d.id('order_count')}`,
    sql`SUM(${c('amount')}) AS ${d.id('revenue')}`,
  ];
  if (spec.orders.cost !== undefined) totals.push(sql`SUM(${c('amount')}) - SUM(${c('cost')}) AS ${d.id('margin')}`);
  for (const [name, field] of orderFields) totals.push(sql`${fieldSql(field)} AS ${d.id(name)}`);
  if (spec.rfm) {
    totals.push(
      sql`MAX(${inPeriod(c('date'))}) AS ${d.id('__tl_rfm_last')}`,
      sql`${distinctOrders(inPeriod(c('order')))} AS ${d.id('__tl_rfm_frequency')}`,
      spec.rfm.monetary === 'average'
        ? sql`CAST(SUM(${inPeriod(c('amount'))}) / NULLIF(${distinctOrders(inPeriod(c('order')))}, 0) AS ${d.type('decimal')}) AS ${d.id('__tl_rfm_monetary')}`
        : sql`SUM(${inPeriod(c('amount'))}) AS ${d.id('__tl_rfm_monetary')}`,
      sql`${d.hashToUint32(d.cast(c('customer'), 'string'))} AS ${d.id('__tl_tie')}`,
    );
  }
  ctes.push([sql`totals`, sql`SELECT\n${indentSql(joinSql(totals, sql`,\n`))}\nFROM kept\nGROUP BY ${c('customer')}`]);

  // Table aliases of the final SELECT: totals, everyone, the favourites, line totals, consent.
  const [t, e, ch, st, cat, lt, cs] = [d.id('t'), d.id('e'), d.id('ch'), d.id('st'), d.id('cat'), d.id('lt'), d.id('cs')];
  let from = sql`totals AS ${t}`;
  let idExpr = sql`${t}.${id}`;
  if (spec.population) {
    const p = d.id('p');
    const pid = sql`${p}.${d.id(spec.population.customer_id)}`;
    ctes.push([sql`everyone`, sql`SELECT DISTINCT ${id} FROM (\n  SELECT ${pid} AS ${id} FROM ${context.relation(spec.population.from)} AS ${p} WHERE ${pid} IS NOT NULL\n  UNION ALL\n  SELECT ${id} FROM totals\n) AS ids`]);
    from = sql`everyone AS ${e}\nLEFT JOIN totals AS ${t} ON ${t}.${id} = ${e}.${id}`;
    idExpr = sql`${e}.${id}`;
  }

  // Joined on the row's id, which is the population's when there is one (prospects have consent but no totals).
  const joins: Sql[] = [];
  const favourite = (cte: Sql, alias: Sql) => joins.push(sql`LEFT JOIN ${cte} AS ${alias} ON ${alias}.${c('customer')} = ${idExpr}`);
  if (spec.orders.channel !== undefined) {
    ctes.push([sql`channels`, favouriteSql(d, sql`kept`, c('channel'), distinctOrders(c('order')), sql`SUM(${c('amount')})`)]);
    favourite(sql`channels`, ch);
  }
  if (spec.orders.store !== undefined) {
    ctes.push([sql`stores`, favouriteSql(d, sql`kept`, c('store'), distinctOrders(c('order')), sql`SUM(${c('amount')})`)]);
    favourite(sql`stores`, st);
  }
  if (spec.lines) {
    const lines = spec.lines;
    const [l, k] = [d.id('l'), d.id('k')];
    const typeOf = (column: string) => columnType({ dialect: d, columnsOf: context.columnsOf }, lines.from, column);
    const keptOrders = spec.orders.grain === 'line' ? sql`SELECT DISTINCT ${c('customer')}, ${c('order')} FROM kept` : sql`SELECT ${c('customer')}, ${c('order')} FROM kept`;
    ctes.push([
      sql`kept_lines`,
      sql`SELECT ${k}.${c('customer')}, ${k}.${c('order')}, ${l}.*\nFROM ${context.relation(lines.from)} AS ${l}\nJOIN (${keptOrders}) AS ${k} ON ${k}.${c('order')} = ${l}.${d.id(lines.order_id)}\nWHERE ${keptSql(d, l, lines.exclude, typeOf)}`,
    ]);
    const lineTotals: Sql[] = [c('customer')];
    if (lines.quantity !== undefined) lineTotals.push(sql`SUM(${d.cast(d.id(lines.quantity), 'float')}) AS ${d.id('item_count')}`);
    for (const [name, field] of lineFields) lineTotals.push(sql`${fieldSql(field)} AS ${d.id(name)}`);
    if (lineTotals.length > 1) {
      ctes.push([sql`line_totals`, sql`SELECT ${joinSql(lineTotals)}\nFROM kept_lines\nGROUP BY ${c('customer')}`]);
      joins.push(sql`LEFT JOIN line_totals AS ${lt} ON ${lt}.${c('customer')} = ${idExpr}`);
    }
    if (lines.category !== undefined) {
      const amount = lines.quantity !== undefined ? sql`SUM(${d.cast(d.id(lines.quantity), 'float')})` : sql`COUNT(*)`;
      ctes.push([sql`categories`, favouriteSql(d, sql`kept_lines`, d.cast(d.id(lines.category), 'string'), sql`COUNT(DISTINCT ${c('order')})`, amount)]);
      favourite(sql`categories`, cat);
    }
  }
  if (spec.consent) {
    ctes.push(...consentCtes(d, spec, context));
    joins.push(sql`LEFT JOIN consent AS ${cs} ON ${cs}.${c('customer')} = ${idExpr}`);
  }

  const col = (name: string) => sql`${t}.${d.id(name)}`;
  const orderCount = sql`COALESCE(${col('order_count')}, 0)`;
  const daysSinceLast = d.dateDiff('day', col('last_order_date'), asOf);
  const columns: Sql[] = [
    sql`${idExpr} AS ${id}`,
    sql`${col('first_order_date')} AS ${d.id('first_order_date')}`,
    sql`${col('last_order_date')} AS ${d.id('last_order_date')}`,
    sql`${orderCount} AS ${d.id('order_count')}`,
    sql`COALESCE(${col('revenue')}, 0) AS ${d.id('revenue')}`,
  ];
  if (spec.orders.cost !== undefined) columns.push(sql`COALESCE(${col('margin')}, 0) AS ${d.id('margin')}`);
  columns.push(
    sql`CASE WHEN ${col('order_count')} > 0 THEN ${d.cast(col('revenue'), 'float')} / ${col('order_count')} END AS ${d.id('average_basket')}`,
    sql`${daysSinceLast} AS ${d.id('days_since_last_order')}`,
    sql`CASE WHEN ${col('order_count')} > 1 THEN ${d.cast(d.dateDiff('day', col('first_order_date'), col('last_order_date')), 'float')} / (${col('order_count')} - 1) END AS ${d.id('average_days_between_orders')}`,
  );
  if (spec.orders.channel !== undefined) columns.push(sql`${ch}.${d.id('value')} AS ${d.id('favourite_channel')}`);
  if (spec.orders.store !== undefined) columns.push(sql`${st}.${d.id('value')} AS ${d.id('favourite_store')}`);
  if (spec.lines?.category !== undefined) columns.push(sql`${cat}.${d.id('value')} AS ${d.id('favourite_category')}`);
  if (spec.lines?.quantity !== undefined) columns.push(sql`COALESCE(${lt}.${d.id('item_count')}, 0) AS ${d.id('item_count')}`);
  for (const channel of Object.keys(spec.consent?.channels ?? {})) columns.push(sql`${cs}.${d.id(`consent_${channel}`)} AS ${d.id(`consent_${channel}`)}`);
  columns.push(sql`${lifecycleSql(d, spec.lifecycle, orderCount, d.dateDiff('day', col('first_order_date'), asOf), daysSinceLast)} AS ${d.id('lifecycle_stage')}`);
  for (const [name] of orderFields) columns.push(col(name));
  for (const [name] of lineFields) columns.push(sql`${lt}.${d.id(name)}`);

  const body = (cols: readonly Sql[]) => sql`SELECT\n${indentSql(joinSql(cols, sql`,\n`))}\nFROM ${from}${joins.length ? sql`\n${joinSql(joins, sql`\n`)}` : Sql.empty}`;
  const withClause = sql`WITH ${joinSql(
    ctes.map(([name, query]) => sql`${name} AS (\n${indentSql(query)}\n)`),
    sql`,\n`,
  )}`;
  if (!spec.rfm) return sql`${withClause}\n${body(columns)}`;

  const rated = sql`COALESCE(${col('__tl_rfm_frequency')}, 0) > 0`;
  const recency = d.dateDiff('day', col('__tl_rfm_last'), asOf);
  const scores = scoreSql(d, spec.rfm, { recency, frequency: col('__tl_rfm_frequency'), monetary: col('__tl_rfm_monetary'), customer: idExpr, tie: col('__tl_tie'), rated });
  const rfmColumns = [
    sql`CASE WHEN ${rated} THEN ${recency} END AS ${d.id('rfm_recency_days')}`,
    sql`CASE WHEN ${rated} THEN ${col('__tl_rfm_frequency')} END AS ${d.id('rfm_frequency')}`,
    sql`CASE WHEN ${rated} THEN ${col('__tl_rfm_monetary')} END AS ${d.id('rfm_monetary')}`,
    sql`${scores.r} AS ${d.id('r_score')}`,
    sql`${scores.f} AS ${d.id('f_score')}`,
    sql`${scores.m} AS ${d.id('m_score')}`,
  ];
  const [r, f, m] = [d.id('r_score'), d.id('f_score'), d.id('m_score')];
  const names = outputs(spec, { name: 'customer_id', type: undefined })
    .map((o) => o.name)
    .filter((n) => n !== 'rfm_cell' && n !== 'rfm_segment');
  return sql`${withClause},
scored AS (
${indentSql(body([...columns, ...rfmColumns]))}
)
SELECT ${joinSql(names.map((n) => d.id(n)))},
  ${r} * 100 + ${f} * 10 + ${m} AS ${d.id('rfm_cell')},
  ${segmentSql(d, segmentsOf(spec.rfm), r, f)} AS ${d.id('rfm_segment')}
FROM scored`;
}

function lifecycleSql(d: Dialect, lifecycle: LifecycleSpec, orderCount: Sql, daysSinceFirst: Sql, daysSinceLast: Sql): Sql {
  const label = (stage: keyof LifecycleSpec, fallback: string) => d.string(lifecycle[stage].label ?? fallback);
  return sql`CASE
  WHEN ${orderCount} = 0 THEN ${label('prospect', 'prospect')}
  WHEN ${daysSinceFirst} <= ${d.literal(lifecycle.new.first_order_within_days)} THEN ${label('new', 'new')}
  WHEN ${daysSinceLast} <= ${d.literal(lifecycle.active.last_order_within_days)} THEN ${label('active', 'active')}
  WHEN ${daysSinceLast} <= ${d.literal(lifecycle.at_risk.last_order_within_days)} THEN ${label('at_risk', 'at_risk')}
  WHEN ${daysSinceLast} > ${d.literal(lifecycle.inactive.last_order_after_days)} THEN ${label('inactive', 'inactive')}
END`;
}

/** Latest event per customer and channel (an opt-out wins a tie), pivoted to one boolean column per channel. */
function consentCtes(d: Dialect, spec: CustomersSpec, context: PlanContext): [Sql, Sql][] {
  const consent = spec.consent!;
  const e = d.id('ev');
  const col = (name: string) => sql`${e}.${d.id(name)}`;
  const customer = d.id(ORDER_COLUMNS.customer);
  const opted =
    consent.opt_in !== undefined && consent.opt_out !== undefined
      ? sql`CASE WHEN ${col(consent.opted_in)} IN (${joinSql(consent.opt_in.map((v) => d.literal(v)))}) THEN TRUE WHEN ${col(consent.opted_in)} IN (${joinSql(consent.opt_out.map((v) => d.literal(v)))}) THEN FALSE END`
      : col(consent.opted_in);
  const channels = Object.entries(consent.channels);
  const channelKey = sql`CASE ${joinSql(
    channels.map(([name, value]) => sql`WHEN ${col(consent.channel)} = ${d.literal(value)} THEN ${d.string(name)}`),
    sql` `,
  )} END`;
  const key = d.id('channel_key');
  const optedIn = d.id('opted_in');
  const latest = sql`SELECT ${customer}, ${key}, ${optedIn}
FROM (
  SELECT ${col(consent.customer_id)} AS ${customer}, ${channelKey} AS ${key}, ${opted} AS ${optedIn},
    ROW_NUMBER() OVER (PARTITION BY ${col(consent.customer_id)}, ${channelKey} ORDER BY ${col(consent.at)} DESC, CASE WHEN ${opted} THEN 1 ELSE 0 END ASC) AS ${d.id('rank')}
  FROM ${context.relation(consent.from)} AS ${e}
  WHERE ${col(consent.customer_id)} IS NOT NULL AND ${col(consent.at)} IS NOT NULL AND ${channelKey} IS NOT NULL AND ${opted} IS NOT NULL
) AS ranked
WHERE ${d.id('rank')} = 1`;
  const pivot = channels.map(([name]) => sql`MAX(CASE WHEN ${key} = ${d.string(name)} THEN CASE WHEN ${optedIn} THEN 1 ELSE 0 END END) = 1 AS ${d.id(`consent_${name}`)}`);
  return [
    [sql`consent_latest`, latest],
    [sql`consent`, sql`SELECT ${customer},\n${indentSql(joinSql(pivot, sql`,\n`))}\nFROM consent_latest\nGROUP BY ${customer}`],
  ];
}

/** Row counts per value of a column, largest first: what `tideline run` prints after building. */
export async function countsBy(context: SummaryContext, column: string, what: string): Promise<ModelSummary> {
  const d = context.dialect;
  const rows = await context.io.query(
    sql`SELECT ${d.id(column)} AS ${d.id('value')}, COUNT(*) AS ${d.id('n')} FROM ${d.table(context.table)} GROUP BY ${d.id(column)} ORDER BY COUNT(*) DESC, ${d.id(column)}`,
  );
  const counts = Object.fromEntries(rows.map((r) => [String(r['value'] ?? 'none'), Number(r['n'])]));
  const text = Object.entries(counts)
    .map(([k, n]) => `${k} ${n}`)
    .join(', ');
  return { lines: [`${context.name}: ${what}: ${text || 'no rows'}`], data: { [what]: counts } };
}
