import { joinSql, sql, type Sql } from '../../src/dialects/sql.js';
import { blockedByJoins, preferenceGates, suppressionGates, type Gates, type PolicyScope } from '../../src/expressions/policies.js';
import type { PlanContext } from '../model-kind.js';
import type { AudienceSpec } from './schema.js';

/**
 * The project's suppressions and preferences in the membership SELECT: a qualifying customer suppressed on the
 * audience's channel gets status `suppressed`, one whose preferences refuse the channel (or the audience's `topic`)
 * gets `no_consent`; neither takes a place under marketing pressure, and neither is synced. Audiences that do not
 * message anyone are exempt: see `exempt`.
 */

export interface AudiencePolicies {
  /** CTEs every audience's tests read, each once. */
  readonly ctes: readonly { readonly name: string; readonly body: Sql }[];
  /** LEFT JOINs of every key set on the customer key `key`, each once, for the tests below. */
  joins(key: Sql): Sql;
  /** TRUE when the customer is suppressed for this audience; undefined when nobody can be. */
  suppressed(audience: AudienceSpec): Sql | undefined;
  /** TRUE when the customer's preferences refuse this audience's channel or topic; undefined when they cannot. */
  refused(audience: AudienceSpec): Sql | undefined;
}

/**
 * An audience that contacts nobody is never suppressed nor filtered by preferences: a complainer must stay in an
 * ads exclusion list, or the ads would target them.
 */
export function exempt(audience: AudienceSpec): { readonly suppressions: boolean; readonly preferences: boolean } {
  const exclusion = audience.purpose === 'exclusion';
  return { suppressions: exclusion, preferences: exclusion || !audience.require_consent };
}

export function audiencePolicies(audiences: readonly AudienceSpec[], context: PlanContext, asOf: Sql): AudiencePolicies {
  const d = context.dialect;
  const { policies } = context;
  const scope: PolicyScope = {
    d,
    relation: (name) => context.relation(name),
    typeOf: (relation, column) => context.columnsOf(relation)?.find((c) => d.identifierKey(c.name) === d.identifierKey(column))?.type,
    asOf,
  };
  const ctes = new Map<string, Sql>();
  const sets = new Set<string>();
  const gatesOf = new Map<AudienceSpec, { suppressions: Gates | undefined; preferences: Gates | undefined }>();
  for (const audience of audiences) {
    const free = exempt(audience);
    const suppressions = free.suppressions ? undefined : suppressionGates(scope, policies, audience.channel, 'tl_');
    const preferences = free.preferences ? undefined : preferenceGates(scope, policies.preferences, audience.channel, audience.topic, 'tl_');
    for (const gates of [suppressions, preferences]) {
      for (const cte of gates?.ctes ?? []) if (!ctes.has(cte.name)) ctes.set(cte.name, cte.body);
      for (const set of gates?.sets ?? []) sets.add(set.name);
    }
    const some = (gates: Gates | undefined) => (gates?.ctes.length ? gates : undefined);
    gatesOf.set(audience, { suppressions: some(suppressions), preferences: some(preferences) });
  }
  const test = (gates: Gates | undefined) => (gates ? blockedByJoins(d, gates.sets) : undefined);
  return {
    ctes: [...ctes].map(([name, body]) => ({ name, body })),
    // Joins rather than correlated EXISTS: the tests stand in a SELECT list, where Snowflake refuses those.
    joins: (key) => joinSql([...sets].map((name) => sql`\n  LEFT JOIN ${d.id(name)} ON ${d.id(name)}.k = ${d.cast(key, 'string')}`), sql``),
    suppressed: (audience) => test(gatesOf.get(audience)?.suppressions),
    refused: (audience) => test(gatesOf.get(audience)?.preferences),
  };
}
