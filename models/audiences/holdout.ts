import type { Dialect } from '../../src/dialects/dialect.js';
import { joinSql, sql, type Sql } from '../../src/dialects/sql.js';
import type { AudienceSpec, AudiencesSpec } from './schema.js';

/** Holdouts and splits: each member's group from a hash of (customer, audience, salt), the same on every run. */

export const HOLDOUT = 'holdout';
export const TREATMENT = 'treatment';

/** Hash buckets per audience: holdouts and splits are set in hundredths of a percent. */
export const BUCKETS = 10_000;

/** The hash bucket of (key, audience, salt) in [0, 10,000): stable across runs and across warehouses. */
export function bucket(d: Dialect, spec: AudiencesSpec): Sql {
  return d.hashBucket(sql`CAST(j.k AS ${d.type('string')}) || '|' || j.audience || '|' || ${d.literal(spec.salt)}`, BUCKETS);
}

/** The buckets held out of an audience: those below this number ([0, holdout) in BUCKETS). */
export function holdoutBuckets(audience: Pick<AudienceSpec, 'holdout'>): number {
  return Math.round((audience.holdout ?? 0) * (BUCKETS / 100));
}

/** holdout / split / treatment from the bucket: [0, holdout) is held out, the rest is cut by the splits' shares. */
export function groupExpression(d: Dialect, spec: AudiencesSpec): Sql {
  const cases = spec.audiences.map((a) => {
    const holdout = holdoutBuckets(a);
    const branches: Sql[] = [];
    if (holdout > 0) branches.push(sql` WHEN r.bucket < ${d.literal(holdout)} THEN ${d.literal(HOLDOUT)}`);
    let upper = holdout;
    const splits = Object.entries(a.splits ?? {});
    splits.forEach(([name, share], i) => {
      upper = i === splits.length - 1 ? BUCKETS : upper + Math.round((share * (BUCKETS - holdout)) / 100);
      branches.push(sql` WHEN r.bucket < ${d.literal(upper)} THEN ${d.literal(name)}`);
    });
    return { name: a.name, branches };
  });
  const used = cases.filter((x) => x.branches.length);
  if (used.length === 0) return d.literal(TREATMENT);
  const perAudience = joinSql(
    used.map((x) => sql`\n    WHEN ${d.literal(x.name)} THEN CASE${joinSql(x.branches, sql``)} ELSE ${d.literal(TREATMENT)} END`),
    sql``,
  );
  return sql`CASE r.audience${perAudience}\n    ELSE ${d.literal(TREATMENT)} END`;
}
