import type { Dialect } from '../../src/dialects/dialect.js';
import { indentSql, joinSql, sql, type Sql } from '../../src/dialects/sql.js';
import { HOLDOUT, TREATMENT } from './holdout.js';
import { MEMBERSHIP_COLUMNS, STATUS } from './membership.js';
import type { AudiencesSpec, Channel } from './schema.js';

/**
 * `tideline audience preview`: what an audience would hold if the model were built now, read with queries only.
 * The membership SELECT that `tideline run` stores is run as a subquery against the already built upstream models,
 * so nothing is created or replaced in the warehouse.
 */

/** An audiences model ready to be queried: its spec and its membership SELECT for the target. */
export interface AudiencesQuery {
  readonly model: string;
  readonly spec: AudiencesSpec;
  /** Every membership row, as `tideline run` would store them (see membershipSelect). */
  readonly select: Sql;
}

/** What the preview reads through: a connection's query, nothing that writes. */
export interface PreviewIO {
  query(statement: Sql): Promise<Readonly<Record<string, unknown>>[]>;
}

export interface AudienceOverlap {
  readonly model: string;
  readonly audience: string;
  /** Customers who are members of both audiences (holdouts included). */
  readonly members: number;
}

export interface AudiencePreview {
  readonly model: string;
  readonly audience: string;
  readonly channel: Channel;
  /** Customers who meet the audience's conditions, before consent and marketing pressure. */
  readonly qualified: number;
  /** Members: qualified, with consent for the channel, within the pressure cap. The holdout is included. */
  readonly size: number;
  /** Members per group: the holdout, then the named splits (or `treatment`). */
  readonly groups: readonly { readonly group: string; readonly members: number }[];
  readonly dropped: { readonly noConsent: number; readonly capped: number; readonly suppressed: number };
  /** The capped members by what capped them (a cap of the project's pressure policy, or the model's `pressure:`). */
  readonly cappedBy: readonly { readonly by: string; readonly members: number }[];
  /** Other audiences of the same model first, then those of the other audiences models, in YAML order. */
  readonly overlap: readonly AudienceOverlap[];
  /** Up to the requested number of members, ordered by customer key: their group and customer columns, unmasked. */
  readonly samples: readonly Readonly<Record<string, unknown>>[];
}

export async function previewAudience(
  io: PreviewIO,
  d: Dialect,
  own: AudiencesQuery,
  audience: string,
  others: readonly AudiencesQuery[],
  samples: number,
): Promise<AudiencePreview> {
  const spec = own.spec.audiences.find((a) => a.name === audience);
  if (!spec) throw new Error(`audience ${audience} is not in model ${own.model}`);
  // Snowflake returns the stored (upper-case) names of the quoted lower-case aliases.
  const field = (row: Readonly<Record<string, unknown>>, name: string) => row[name];
  const rows = (await io.query(countsSql(d, own, audience))).map((r) => ({
    audience: String(field(r, 'audience')),
    status: String(field(r, 'audience_status')),
    group: String(field(r, 'audience_group')),
    cappedBy: field(r, 'audience_capped_by'),
    n: Number(field(r, 'n')),
    shared: Number(field(r, 'shared')),
  }));
  type Counts = (typeof rows)[number];
  const sum = (list: readonly Counts[], pick: (r: Counts) => number) => list.reduce((s, r) => s + pick(r), 0);
  const mine = rows.filter((r) => r.audience === audience);
  const members = mine.filter((r) => r.status === STATUS.member);
  const capped = mine.filter((r) => r.status === STATUS.capped).map((r) => ({ ...r, cappedBy: typeof r.cappedBy === 'string' ? r.cappedBy : 'marketing pressure' }));

  const expected = [...((spec.holdout ?? 0) > 0 ? [HOLDOUT] : []), ...(spec.splits ? Object.keys(spec.splits) : [TREATMENT])];
  const found = members.map((r) => r.group).filter((g) => !expected.includes(g));
  const groups = [...expected, ...new Set(found)].map((group) => ({ group, members: sum(members.filter((r) => r.group === group), (r) => r.n) }));

  const overlap: AudienceOverlap[] = own.spec.audiences
    .filter((a) => a.name !== audience)
    .map((a) => ({ model: own.model, audience: a.name, members: sum(rows.filter((r) => r.audience === a.name && r.status === STATUS.member), (r) => r.shared) }));
  for (const other of others) {
    const shared = new Map((await io.query(overlapSql(d, own, audience, other))).map((r) => [String(field(r, 'audience')), Number(field(r, 'shared'))]));
    for (const a of other.spec.audiences) overlap.push({ model: other.model, audience: a.name, members: shared.get(a.name) ?? 0 });
  }

  // Sample rows keep the group (as `audience_group`) and the customer's columns; the other membership columns are
  // the same on every row.
  const membership = new Set<string>(MEMBERSHIP_COLUMNS);
  const sampled = samples > 0 ? await io.query(samplesSql(d, own, audience, samples)) : [];
  return {
    model: own.model,
    audience,
    channel: spec.channel,
    qualified: sum(mine, (r) => r.n),
    size: sum(members, (r) => r.n),
    groups,
    dropped: {
      noConsent: sum(mine.filter((r) => r.status === STATUS.noConsent), (r) => r.n),
      capped: sum(capped, (r) => r.n),
      suppressed: sum(mine.filter((r) => r.status === STATUS.suppressed), (r) => r.n),
    },
    cappedBy: [...new Set(capped.map((r) => r.cappedBy))].map((by) => ({ by, members: sum(capped.filter((r) => r.cappedBy === by), (r) => r.n) })),
    overlap,
    samples: sampled.map((row) => ({
      audience_group: field(row, 'audience_group'),
      ...Object.fromEntries(Object.entries(row).filter(([column]) => !membership.has(column))),
    })),
  };
}

/**
 * Memberships of the model as a subquery named `alias`. Aliases here are fixed words of this file (sql`q`), written
 * unquoted as in the rest of its queries (`q.`, `m.`).
 */
function memberships(query: AudiencesQuery, alias: Sql): Sql {
  return sql`(\n${indentSql(query.select, 4)}\n  ) AS ${alias}`;
}

function isMember(d: Dialect, a: Sql, audience?: string): Sql {
  const status = sql`${a}.${d.id('audience_status')} = ${d.string(STATUS.member)}`;
  return audience === undefined ? status : sql`${a}.${d.id('audience')} = ${d.string(audience)} AND ${status}`;
}

/**
 * Per audience, status and group of the model: how many rows, and how many of them are members of `audience` too.
 * One pass over the memberships gives the preview's sizes and its overlap within the model.
 */
function countsSql(d: Dialect, own: AudiencesQuery, audience: string): Sql {
  const key = d.id(own.spec.key);
  const columns = ['audience', 'audience_status', 'audience_group', 'audience_capped_by'].map((c) => sql`m.${d.id(c)}`);
  return sql`WITH m AS (
  SELECT * FROM ${memberships(own, sql`q`)}
),
t AS (
  SELECT DISTINCT m.${key} AS k FROM m WHERE ${isMember(d, sql`m`, audience)}
)
SELECT ${joinSql(columns)}, COUNT(*) AS ${d.id('n')}, COUNT(t.k) AS ${d.id('shared')}
FROM m LEFT JOIN t ON t.k = m.${key}
GROUP BY ${joinSql(columns)}`;
}

/** Members of each audience of `other` who are members of `audience` too; keys compared as text across models. */
function overlapSql(d: Dialect, own: AudiencesQuery, audience: string, other: AudiencesQuery): Sql {
  const text = (alias: Sql, key: string) => d.cast(sql`${alias}.${d.id(key)}`, 'string');
  return sql`WITH t AS (
  SELECT DISTINCT ${text(sql`q`, own.spec.key)} AS k FROM ${memberships(own, sql`q`)}
  WHERE ${isMember(d, sql`q`, audience)}
),
o AS (
  SELECT * FROM ${memberships(other, sql`p`)}
)
SELECT o.${d.id('audience')} AS ${d.id('audience')}, COUNT(*) AS ${d.id('shared')}
FROM o JOIN t ON t.k = ${text(sql`o`, other.spec.key)}
WHERE ${isMember(d, sql`o`)}
GROUP BY o.${d.id('audience')}`;
}

function samplesSql(d: Dialect, own: AudiencesQuery, audience: string, limit: number): Sql {
  return sql`SELECT * FROM ${memberships(own, sql`q`)}
WHERE ${isMember(d, sql`q`, audience)}
ORDER BY q.${d.id(own.spec.key)}
LIMIT ${d.literal(Math.floor(limit))}`;
}
