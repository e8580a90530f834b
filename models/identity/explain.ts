import type { Dialect, TableRef } from '../../src/dialects/dialect.js';
import { Sql, joinSql, sql, unionAll } from '../../src/dialects/sql.js';
import type { HostIO } from '../model-kind.js';
import { normaliseInline } from './normalise.js';
import { resolvePlan } from './plan.js';
import { inputOptions } from './records.js';
import { percent, signedWeight } from './report.js';
import type { IdentitySpec } from './schema.js';
import type { ScoringPlan } from './scoring.js';
import { col, read, text } from './tables.js';

/**
 * `tideline identity explain`: why records were linked into one customer. It reads the model's visible tables
 * (`<name>`, `<name>_map`, `<name>_links`) and, to find a customer by e-mail, the sources themselves through the
 * same normalisation as the build — so no table of every identifier value is kept only for this.
 */
export interface ExplainContext {
  readonly dialect: Dialect;
  readonly io: Pick<HostIO, 'query'>;
  readonly spec: IdentitySpec;
  /** The golden table; the map and links are its `_map` and `_links` companions. */
  readonly table: TableRef;
  /** A relation to read a source or model from, as in a build. */
  relation(name: string): Sql;
}

export interface ExplainedRecord {
  readonly key: string;
  readonly rule: string | null;
  readonly holdsId: boolean;
  readonly previousCustomerId: string | null;
}

export interface ExplainedLink {
  readonly rule: string;
  readonly rank: number;
  readonly matchedOn: string;
  readonly from: string;
  readonly to: string;
  readonly fromCustomer: string;
  readonly toCustomer: string;
  readonly used: boolean;
}

export interface Explanation {
  readonly customerId: string;
  readonly golden: Readonly<Record<string, unknown>>;
  readonly records: readonly ExplainedRecord[];
  readonly links: readonly ExplainedLink[];
}

const companion = (table: TableRef, suffix: string): TableRef => ({ ...table, name: `${table.name}_${suffix}` });

/**
 * The customer ids `who` designates: a customer id, a `source:id` record key, or an e-mail address (any record
 * holding it, normalised like the build does).
 */
export async function findCustomers(context: ExplainContext, who: string): Promise<string[]> {
  const d = context.dialect;
  const map = companion(context.table, 'map');
  const m = (name: string) => col(d, 'm', name);
  const ids = (rows: readonly Readonly<Record<string, unknown>>[]) => [...new Set(rows.map((r) => String(read(r, 'customer_id'))))].sort();

  const direct = await context.io.query(sql`SELECT DISTINCT ${m('customer_id')} FROM ${d.table(map)} AS m WHERE ${m('customer_id')} = ${d.string(who)}`);
  if (direct.length) return ids(direct);
  const colon = who.indexOf(':');
  if (colon > 0 && !who.includes('@')) {
    const byKey = await context.io.query(
      sql`SELECT DISTINCT ${m('customer_id')} FROM ${d.table(map)} AS m WHERE ${m('source')} = ${d.string(who.slice(0, colon))} AND ${m('source_id')} = ${d.string(who.slice(colon + 1))}`,
    );
    if (byKey.length) return ids(byKey);
  }
  if (!who.includes('@')) return [];

  const plan = resolvePlan(context.spec);
  const branches: Sql[] = [];
  for (const source of plan.sources) {
    for (const input of source.inputs) {
      const identifier = input.role === 'identifier' ? plan.identifiers.get(input.field) : undefined;
      if (!identifier || identifier.type !== 'email') continue;
      const options = inputOptions(plan, identifier, input);
      const raw = input.sql !== undefined ? Sql.userExpression(input.sql) : col(d, 'src', input.column!);
      branches.push(sql`SELECT ${text(d, source.label)} AS ${d.id('source')}, ${d.cast(col(d, 'src', source.id), 'string')} AS ${d.id('source_id')}
FROM ${context.relation(source.relation)} AS src
WHERE ${normaliseInline(d, 'email', options, raw)} = ${normaliseInline(d, 'email', options, d.literal(who))}`);
    }
  }
  if (!branches.length) return [];
  const found = await context.io.query(sql`SELECT DISTINCT ${m('customer_id')}
FROM ${d.table(map)} AS m
JOIN (
${unionAll(branches)}
) AS f ON ${col(d, 'f', 'source')} = ${m('source')} AND ${col(d, 'f', 'source_id')} = ${m('source_id')}`);
  return ids(found);
}

export async function explainCustomer(context: ExplainContext, customerId: string): Promise<Explanation | undefined> {
  const d = context.dialect;
  const id = d.string(customerId);
  const golden = await context.io.query(sql`SELECT * FROM ${d.table(context.table)} WHERE ${d.id('customer_id')} = ${id}`);
  if (!golden.length) return undefined;
  const records = await context.io.query(
    sql`SELECT ${joinSql(['source', 'source_id', 'rule', 'holds_id', 'previous_customer_id'].map((c) => d.id(c)))}
FROM ${d.table(companion(context.table, 'map'))}
WHERE ${d.id('customer_id')} = ${id}
ORDER BY ${d.id('source')}, ${d.id('source_id')}`,
  );
  const links = await context.io.query(
    sql`SELECT ${joinSql(['rule', 'rank', 'matched_on', 'source', 'source_id', 'linked_source', 'linked_source_id', 'customer_id', 'linked_customer_id', 'used'].map((c) => d.id(c)))}
FROM ${d.table(companion(context.table, 'links'))}
WHERE ${d.id('customer_id')} = ${id} OR ${d.id('linked_customer_id')} = ${id}
ORDER BY ${d.id('rank')}, ${d.id('source')}, ${d.id('source_id')}, ${d.id('linked_source')}, ${d.id('linked_source_id')}`,
  );
  const key = (row: Readonly<Record<string, unknown>>, source: string, sourceId: string) => `${String(read(row, source))}:${String(read(row, sourceId))}`;
  const row = golden[0]!;
  return {
    customerId,
    golden: Object.fromEntries(Object.keys(row).map((k) => [k.toLowerCase(), row[k]])),
    records: records.map((r) => ({
      key: key(r, 'source', 'source_id'),
      rule: read(r, 'rule') === null ? null : String(read(r, 'rule')),
      holdsId: read(r, 'holds_id') === true,
      previousCustomerId: read(r, 'previous_customer_id') === null ? null : String(read(r, 'previous_customer_id')),
    })),
    links: links.map((r) => ({
      rule: String(read(r, 'rule')),
      rank: Number(read(r, 'rank')),
      matchedOn: String(read(r, 'matched_on')),
      from: key(r, 'source', 'source_id'),
      to: key(r, 'linked_source', 'linked_source_id'),
      fromCustomer: String(read(r, 'customer_id')),
      toCustomer: String(read(r, 'linked_customer_id')),
      used: read(r, 'used') === true,
    })),
  };
}

/** At most this many records are drawn in the path; a larger customer is summarised. */
const MAX_TREE = 200;

/**
 * The explanation as text: the golden record, the records, then the path that links each record to the one holding
 * the id — a breadth-first tree over the links used, strongest rules first, so every line reads "this record joined
 * through that rule on that value" — and finally the links that were found but not used.
 */
export function renderExplanation(e: Explanation, model: string): string {
  const lines: string[] = [];
  const sources = String(e.golden['sources'] ?? '');
  lines.push(`Customer ${e.customerId} (model ${model}): ${e.records.length} record${e.records.length === 1 ? '' : 's'} from ${sources}`);
  const skip = new Set(['customer_id', 'records', 'sources', 'source_ids']);
  const fields = Object.entries(e.golden).filter(([k]) => !skip.has(k));
  const width = Math.max(0, ...fields.map(([k]) => k.length));
  for (const [k, v] of fields) lines.push(`  ${k.padEnd(width)}  ${v instanceof Date ? v.toISOString() : v === null ? '—' : String(v)}`);

  lines.push('', 'Records:');
  const keyWidth = Math.max(0, ...e.records.map((r) => r.key.length));
  for (const r of e.records) {
    const notes = [r.holdsId ? 'holds the customer id' : r.rule ? `linked by ${r.rule}` : 'no link'];
    if (r.previousCustomerId && r.previousCustomerId !== e.customerId) notes.push(`was customer ${r.previousCustomerId}`);
    lines.push(`  ${r.key.padEnd(keyWidth)}  ${notes.join('; ')}`);
  }

  const used = e.links.filter((l) => l.used && l.fromCustomer === e.customerId && l.toCustomer === e.customerId);
  const root = e.records.find((r) => r.holdsId)?.key ?? e.records[0]?.key;
  if (root && used.length) {
    lines.push('', `How they are linked (from ${root}, strongest rules first):`, `  ${root}`);
    const adjacent = new Map<string, ExplainedLink[]>();
    for (const link of used) {
      for (const end of [link.from, link.to]) adjacent.set(end, [...(adjacent.get(end) ?? []), link]);
    }
    for (const list of adjacent.values()) list.sort((a, b) => a.rank - b.rank);
    // Breadth-first: each record is attached to the first record that reached it, by its strongest link.
    const children = new Map<string, { link: ExplainedLink; child: string }[]>();
    const seen = new Set([root]);
    const queue = [root];
    while (queue.length) {
      const node = queue.shift()!;
      for (const link of adjacent.get(node) ?? []) {
        const other = link.from === node ? link.to : link.from;
        if (seen.has(other)) continue;
        seen.add(other);
        children.set(node, [...(children.get(node) ?? []), { link, child: other }]);
        queue.push(other);
      }
    }
    let drawn = 0;
    const draw = (node: string, prefix: string): void => {
      const list = children.get(node) ?? [];
      list.forEach(({ link, child }, i) => {
        if (drawn >= MAX_TREE) return;
        drawn++;
        const last = i === list.length - 1;
        lines.push(`  ${prefix}${last ? '└─' : '├─'} ${link.rule} [${link.matchedOn}] → ${child}`);
        draw(child, `${prefix}${last ? '   ' : '│  '}`);
      });
    };
    draw(root, '');
    if (seen.size - 1 > drawn) lines.push(`  … and ${seen.size - 1 - drawn} more records`);
  }

  const unused = e.links.filter((l) => !l.used || l.fromCustomer !== l.toCustomer);
  if (unused.length) {
    lines.push('', 'Links found but not used (set aside by a cap on distinct values per customer):');
    for (const l of unused) {
      const other = l.fromCustomer === e.customerId ? l.toCustomer : l.fromCustomer;
      lines.push(`  ${l.rule} [${l.matchedOn}]: ${l.from} ↔ ${l.to}${other !== e.customerId ? ` (now customer ${other})` : ''}`);
    }
  }
  return lines.join('\n') + '\n';
}

/** The identifier types whose values designate one person (`tideline forget` looks customers up by them). */
const PERSONAL_TYPES = ['email', 'phone', 'code'] as const;
type PersonalType = (typeof PERSONAL_TYPES)[number];

/** Each source's inputs of the identifiers of `types`, with how a value of theirs is normalised and read. */
function personalInputs(context: ExplainContext, types: readonly PersonalType[]) {
  const d = context.dialect;
  const plan = resolvePlan(context.spec);
  const found: { source: (typeof plan.sources)[number]; type: PersonalType; raw: Sql; options: ReturnType<typeof inputOptions> }[] = [];
  for (const source of plan.sources) {
    for (const input of source.inputs) {
      const identifier = input.role === 'identifier' ? plan.identifiers.get(input.field) : undefined;
      const type = identifier && (types as readonly string[]).includes(identifier.type) ? (identifier.type as PersonalType) : undefined;
      if (!identifier || !type) continue;
      found.push({ source, type, raw: input.sql !== undefined ? Sql.userExpression(input.sql) : col(d, 'src', input.column!), options: inputOptions(plan, identifier, input) });
    }
  }
  return found;
}

/**
 * The customer ids holding a phone number or a code (a loyalty card), normalised as the build normalises each source's
 * input (its country for phones): `tideline forget --phone`. E-mails, customer ids and `source:id` go through
 * findCustomers.
 */
export async function findCustomersBy(context: ExplainContext, type: 'phone' | 'code', value: string): Promise<string[]> {
  const d = context.dialect;
  const branches = personalInputs(context, [type]).map(
    (i) => sql`SELECT ${text(d, i.source.label)} AS ${d.id('source')}, ${d.cast(col(d, 'src', i.source.id), 'string')} AS ${d.id('source_id')}
FROM ${context.relation(i.source.relation)} AS src
WHERE ${normaliseInline(d, type, i.options, i.raw)} = ${normaliseInline(d, type, i.options, d.literal(value))}`,
  );
  if (!branches.length) return [];
  const m = (name: string) => col(d, 'm', name);
  const rows = await context.io.query(sql`SELECT DISTINCT ${m('customer_id')}
FROM ${d.table(companion(context.table, 'map'))} AS m
JOIN (
${unionAll(branches)}
) AS f ON ${col(d, 'f', 'source')} = ${m('source')} AND ${col(d, 'f', 'source_id')} = ${m('source_id')}`);
  return [...new Set(rows.map((r) => String(read(r, 'customer_id'))))].sort();
}

/**
 * Every value that identifies these customers, as rows (`kind`, `v`): their ids (and the ids they held before a
 * merge), their records as `source:id`, and the normalised e-mails, phones and codes of every record of theirs in
 * every source — except a value some other customer's record holds too (a shop's phone typed at the till, a shared
 * family address, a junk value): it does not designate them, and forgetting it would forget the others. `tideline
 * forget` hashes them in the warehouse: the values themselves never leave it.
 */
export function personValues(context: ExplainContext, customerIds: readonly string[]): Sql {
  const d = context.dialect;
  const map = d.table(companion(context.table, 'map'));
  const ids = joinSql(customerIds.map((id) => d.string(id)));
  const m = (name: string) => col(d, 'm', name);
  const row = (kind: string, value: Sql) => sql`SELECT ${text(d, kind)} AS ${d.id('kind')}, ${d.cast(value, 'string')} AS ${d.id('v')}`;
  // The normalised identifier values of every record, with its customer.
  const held = unionAll(
    personalInputs(context, PERSONAL_TYPES).map(
      (i) => sql`SELECT ${text(d, i.type)} AS ${d.id('kind')}, ${d.cast(normaliseInline(d, i.type, i.options, i.raw), 'string')} AS ${d.id('v')}, ${m('customer_id')} AS ${d.id('customer_id')}
FROM ${context.relation(i.source.relation)} AS src
JOIN ${map} AS m ON ${m('source')} = ${text(d, i.source.label)} AND ${m('source_id')} = ${d.cast(col(d, 'src', i.source.id), 'string')}`,
    ),
  );
  const theirs = (alias: string) => sql`${col(d, alias, 'customer_id')} IN (${ids})`;
  const branches = [
    sql`${row('customer', m('customer_id'))} FROM ${map} AS m WHERE ${m('customer_id')} IN (${ids})`,
    sql`${row('customer', m('previous_customer_id'))} FROM ${map} AS m WHERE ${m('customer_id')} IN (${ids}) AND ${m('previous_customer_id')} IS NOT NULL`,
    sql`${row('record', sql`${d.cast(m('source'), 'string')} || ':' || ${d.cast(m('source_id'), 'string')}`)} FROM ${map} AS m WHERE ${m('customer_id')} IN (${ids})`,
    ...(personalInputs(context, PERSONAL_TYPES).length
      ? [
          sql`SELECT h.${d.id('kind')}, h.${d.id('v')} FROM (
${held}
) AS h
WHERE ${theirs('h')} AND h.${d.id('v')} IS NOT NULL
  AND NOT EXISTS (SELECT 1 FROM (
${held}
) AS o WHERE o.${d.id('kind')} = h.${d.id('kind')} AND o.${d.id('v')} = h.${d.id('v')} AND NOT ${theirs('o')})`,
        ]
      : []),
  ];
  return unionAll(branches);
}

// ---- probabilistic links: the waterfall of a pair -----------------------------------------------------------------

/** One scored pair of `<name>_pairs`: how each comparison weighed in. */
export interface PairWaterfall {
  /** The two records as `source:id`, in the order `<name>_pairs` holds them. */
  readonly from: string;
  readonly to: string;
  readonly decision: 'link' | 'review';
  readonly prior: number;
  readonly comparisons: readonly { readonly identifier: string; readonly level: string; readonly weight: number }[];
  readonly weight: number;
  readonly probability: number;
}

/** `source:id` split at its first colon, or undefined when it is not one. */
export function recordKey(key: string): { source: string; id: string } | undefined {
  const colon = key.indexOf(':');
  return colon > 0 && colon < key.length - 1 ? { source: key.slice(0, colon), id: key.slice(colon + 1) } : undefined;
}

/** At most this many pairs are looked up in one query. */
const PAIR_BATCH = 100;

/**
 * The rows of `<name>_pairs` for these record pairs (`source:id` each), whichever order the table holds them in,
 * keyed by `pairKey`. A pair absent from the result was not a candidate, or scored below the review band.
 */
export async function readPairs(context: ExplainContext, scoring: ScoringPlan, pairs: readonly (readonly [string, string])[]): Promise<Map<string, PairWaterfall>> {
  const d = context.dialect;
  const found = new Map<string, PairWaterfall>();
  const side = (key: string, source: string, id: string) => {
    const k = recordKey(key);
    return k ? sql`${d.id(source)} = ${d.string(k.source)} AND ${d.id(id)} = ${d.string(k.id)}` : sql`1 = 0`;
  };
  const wanted = pairs.filter(([a, b]) => recordKey(a) && recordKey(b));
  for (let i = 0; i < wanted.length; i += PAIR_BATCH) {
    const conditions = wanted.slice(i, i + PAIR_BATCH).flatMap(([a, b]) => [
      sql`(${side(a, 'source', 'source_id')} AND ${side(b, 'linked_source', 'linked_source_id')})`,
      sql`(${side(b, 'source', 'source_id')} AND ${side(a, 'linked_source', 'linked_source_id')})`,
    ]);
    const rows = await context.io.query(sql`SELECT * FROM ${d.table(companion(context.table, 'pairs'))}\nWHERE ${joinSql(conditions, sql`\n   OR `)}`);
    for (const row of rows) {
      const pair: PairWaterfall = {
        from: `${String(read(row, 'source'))}:${String(read(row, 'source_id'))}`,
        to: `${String(read(row, 'linked_source'))}:${String(read(row, 'linked_source_id'))}`,
        decision: read(row, 'decision') === 'link' ? 'link' : 'review',
        prior: Number(read(row, 'prior_weight')),
        comparisons: scoring.comparisons.map((c) => ({
          identifier: c.identifier,
          level: String(read(row, `${c.identifier}_level`) ?? 'null'),
          weight: Number(read(row, `${c.identifier}_weight`) ?? 0),
        })),
        weight: Number(read(row, 'match_weight')),
        probability: Number(read(row, 'match_probability')),
      };
      found.set(pairKey(pair.from, pair.to), pair);
    }
  }
  return found;
}

/** The same key for a pair in either order. */
export function pairKey(a: string, b: string): string {
  return a < b ? `${a}\u0000${b}` : `${b}\u0000${a}`;
}

/**
 * A pair's waterfall as lines (indented by `indent`): the prior's weight, each comparison's level and weight, the
 * total weight and the probability it gives. Weights are log2 odds, signed, one decimal; levels, never values.
 */
export function renderWaterfall(pair: PairWaterfall, indent = '    '): string[] {
  const rows: [string, string, string][] = [
    ['prior', '', signedWeight(pair.prior)],
    ...pair.comparisons.map((c): [string, string, string] => [c.identifier, c.level, signedWeight(c.weight)]),
  ];
  const total = signedWeight(pair.weight);
  const nameWidth = Math.max(5, ...rows.map((r) => r[0].length));
  const levelWidth = Math.max(0, ...rows.map((r) => r[1].length));
  const weightWidth = Math.max(total.length, ...rows.map((r) => r[2].length));
  const line = (name: string, level: string, weight: string) => `${indent}${name.padEnd(nameWidth)}  ${level.padEnd(levelWidth)}  ${weight.padStart(weightWidth)}`;
  return [
    ...rows.map(([name, level, weight]) => line(name, level, weight)),
    `${indent}${'─'.repeat(nameWidth + levelWidth + weightWidth + 4)}`,
    `${line('total', '', total)}  → match probability ${percent(pair.probability)}`,
  ];
}

/**
 * The waterfall of every probabilistic link of an explained customer, read from `<name>_pairs`: printed after the
 * explanation, which stays as it is for the rules' links.
 */
export async function explainProbabilisticLinks(context: ExplainContext, scoring: ScoringPlan, e: Explanation): Promise<PairWaterfall[]> {
  const links = e.links.filter((l) => l.rule === scoring.rule);
  if (!links.length) return [];
  const found = await readPairs(context, scoring, links.map((l) => [l.from, l.to] as const));
  return links.flatMap((l) => found.get(pairKey(l.from, l.to)) ?? []);
}

export function renderProbabilisticLinks(pairs: readonly PairWaterfall[], model: string): string {
  if (!pairs.length) return '';
  const lines = ['', `Probabilistic links (from ${model}_pairs; weights in log2 odds):`];
  for (const pair of pairs) lines.push(`  ${pair.from} ↔ ${pair.to}`, ...renderWaterfall(pair));
  return lines.join('\n') + '\n';
}

/** `tideline identity explain <a> --with <b>`: what became of one pair of records. */
export function renderPair(
  a: string,
  b: string,
  pair: PairWaterfall | undefined,
  scoring: ScoringPlan,
  model: string,
  customers: { readonly a: string | undefined; readonly b: string | undefined },
): string {
  const lines: string[] = [];
  if (!pair) {
    lines.push(
      `Pair ${a} ↔ ${b} (model ${model}): not in ${model}_pairs.`,
      `  It was not a candidate pair (no blocking rule put the two records together), or it scored below the review band (match probability under ${percent(scoring.review)}).`,
    );
  } else if (pair.decision === 'link') {
    lines.push(`Pair ${pair.from} ↔ ${pair.to} (model ${model}): linked — match probability ${percent(pair.probability)}, at or above the threshold ${percent(scoring.threshold)}.`);
  } else {
    lines.push(
      `Pair ${pair.from} ↔ ${pair.to} (model ${model}): in the review band — match probability ${percent(pair.probability)}, from ${percent(scoring.review)} up to the threshold ${percent(scoring.threshold)}; not linked by its score.`,
    );
  }
  if (customers.a && customers.b)
    lines.push(customers.a === customers.b ? `  Both records belong to customer ${customers.a}.` : `  ${a} belongs to customer ${customers.a}, ${b} to customer ${customers.b}.`);
  if (pair) lines.push(...renderWaterfall(pair, '  '));
  return lines.join('\n') + '\n';
}

/** The customer a `source:id` record belongs to, or undefined when the map has no such record. */
export async function customerOfRecord(context: ExplainContext, key: string): Promise<string | undefined> {
  const k = recordKey(key);
  if (!k) return undefined;
  const d = context.dialect;
  const rows = await context.io.query(
    sql`SELECT ${d.id('customer_id')} FROM ${d.table(companion(context.table, 'map'))} WHERE ${d.id('source')} = ${d.string(k.source)} AND ${d.id('source_id')} = ${d.string(k.id)}`,
  );
  const value = rows[0] ? read(rows[0], 'customer_id') : undefined;
  return value === undefined || value === null ? undefined : String(value);
}
