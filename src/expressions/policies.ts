import type { Channel } from '../project/channels.js';
import type { Dialect, LogicalType } from '../dialects/dialect.js';
import { joinSql, sql, type Sql } from '../dialects/sql.js';
import { suppressionsOn, type Consent, type Policies, type Preferences, type Suppression } from '../project/policies.js';
import { compileComparison } from './conditions.js';

/**
 * The SQL of the project's contact policies (src/project/policies.ts): sets of customer keys, as CTEs, that a
 * contact is checked against. Audiences (models/audiences/suppressed.ts) and the sync planner (src/sync/
 * suppressions.ts) use the same sets, so a customer suppressed in an audience is suppressed in every other sync too.
 *
 * Keys are compared as text: a ticket table may hold the customer key as an integer where the customers model holds
 * it as text, and a suppression that silently matched nothing would be the worst failure here.
 */

/** Where the policies' relations are read from, their columns' types, and the as-of date. */
export interface PolicyScope {
  readonly d: Dialect;
  relation(name: string): Sql;
  typeOf(relation: string, column: string): LogicalType | undefined;
  readonly asOf: Sql;
}

/** Named CTEs and the condition telling whether a contact is left out by them. */
export interface Gates {
  readonly ctes: readonly { readonly name: string; readonly body: Sql }[];
  /** The key sets among the CTEs, each with at most one row per key (so that a LEFT JOIN on it adds no rows). */
  readonly sets: readonly KeySet[];
  /** TRUE when the contact (an expression holding its key) is left out; never NULL. For a WHERE clause. */
  blocked(contact: Sql): Sql;
}

export const NO_GATES: Gates = { ctes: [], sets: [], blocked: () => sql`FALSE` };

/** A set of keys and whether it lists who is left out (`absent`: pass when absent) or who may pass (`present`). */
export interface KeySet {
  readonly name: string;
  readonly body: Sql;
  readonly pass: 'absent' | 'present';
}

/**
 * The same test as `blocked`, over the key sets LEFT JOINed under their own names (`LEFT JOIN <name> ON <name>.k =
 * CAST(key AS text)`): where a correlated EXISTS may not stand (a SELECT list on Snowflake).
 */
export function blockedByJoins(d: Dialect, sets: readonly KeySet[]): Sql {
  const tests = sets.map((s) => sql`${d.id(s.name)}.k IS ${s.pass === 'absent' ? sql`NOT NULL` : sql`NULL`}`);
  return tests.length === 1 ? tests[0]! : sql`(${joinSql(tests, sql` OR `)})`;
}

function gates(d: Dialect, sets: readonly KeySet[], shared: readonly { name: string; body: Sql }[] = []): Gates {
  if (!sets.length) return NO_GATES;
  return {
    ctes: [...shared, ...sets.map(({ name, body }) => ({ name, body }))],
    sets,
    blocked: (contact) => {
      const key = d.cast(contact, 'string');
      const tests = sets.map((s) => {
        const found = sql`EXISTS (SELECT 1 FROM ${d.id(s.name)} AS g WHERE g.k = ${key})`;
        return s.pass === 'absent' ? found : sql`NOT ${found}`;
      });
      return tests.length === 1 ? tests[0]! : sql`(${joinSql(tests, sql` OR `)})`;
    },
  };
}

/**
 * The suppression rules on `channel`, one key set each (`<prefix>sup_<i>`, i its index in tideline.yml). Rows dated
 * after the as-of date count too: with a pinned as-of date, a complaint made since must still keep the customer out.
 */
export function suppressionGates(scope: PolicyScope, policies: Policies, channel: Channel, prefix: string): Gates {
  const { d } = scope;
  const sets = suppressionsOn(policies, channel).map((rule) => ({
    name: `${prefix}sup_${policies.suppressions.indexOf(rule)}`,
    body: suppressionKeys(scope, rule),
    pass: 'absent' as const,
  }));
  return gates(d, sets);
}

/** The keys a rule suppresses, as text, in a column `k`. */
export function suppressionKeys(scope: PolicyScope, rule: Suppression): Sql {
  const { d } = scope;
  const col = (name: string) => sql`s.${d.id(name)}`;
  const filters: Sql[] = [sql`${col(rule.key)} IS NOT NULL`];
  for (const w of rule.where ?? []) filters.push(compileComparison(d, col(w.column), w, scope.typeOf(rule.from, w.column)));
  if (rule.within) {
    const day = d.cast(col(rule.within.time), 'date');
    filters.push(sql`${day} > ${d.dateAdd(scope.asOf, d.literal(-rule.within.last.amount), rule.within.last.unit, 'date')}`);
  }
  return sql`SELECT DISTINCT ${d.cast(col(rule.key), 'string')} AS k FROM ${scope.relation(rule.from)} AS s WHERE ${joinSql(filters, sql` AND `)}`;
}

/**
 * The preference centre's verdict on `channel` and, when given, `topic`:
 *  - the latest row per customer, channel and topic wins (an opt-out wins a tie at the same instant);
 *  - a channel-wide opt-out (topic NULL) leaves the customer out of the whole channel, whatever their topics say:
 *    "unsubscribe from all" must not be undone by an older or newer topic opt-in;
 *  - for a topic, the topic's own row decides; without one, a channel-wide opt-in grants it; without either,
 *    `default` decides (denied unless the project says granted).
 * Without a topic, only the channel-wide opt-out applies: channel consent itself is the customers model's business.
 */
export function preferenceGates(scope: PolicyScope, prefs: Preferences | undefined, channel: Channel, topic: string | undefined, prefix: string): Gates {
  if (!prefs) return NO_GATES;
  const { d } = scope;
  const latestName = `${prefix}pref_latest`;
  const latest = d.id(latestName);
  const c = (name: string) => sql`p.${d.id(name)}`;
  const optedIn = sql`CASE WHEN ${c(prefs.granted)} THEN 1 ELSE 0 END`;
  const body = sql`SELECT k, ch, tp, g FROM (
  SELECT ${d.cast(c(prefs.customer), 'string')} AS k, ${d.cast(c(prefs.channel), 'string')} AS ch, ${d.cast(c(prefs.topic), 'string')} AS tp, ${c(prefs.granted)} AS g,
    ROW_NUMBER() OVER (PARTITION BY ${c(prefs.customer)}, ${c(prefs.channel)}, ${c(prefs.topic)} ORDER BY ${c(prefs.at)} DESC, ${optedIn} ASC) AS rn
  FROM ${scope.relation(prefs.from)} AS p
  WHERE ${c(prefs.customer)} IS NOT NULL AND ${c(prefs.channel)} IS NOT NULL AND ${c(prefs.granted)} IS NOT NULL AND ${c(prefs.at)} IS NOT NULL
) AS x WHERE rn = 1`;
  const ch = d.string(channel);
  // Set names carry the channel and topic (both plain identifiers: an enum and an objectName), so that audiences of
  // several channels and topics can hold them all in one query, the latest rows shared.
  const sets: KeySet[] = [{ name: `${prefix}pref_${channel}_out`, body: sql`SELECT k FROM ${latest} WHERE ch = ${ch} AND tp IS NULL AND NOT g`, pass: 'absent' }];
  if (topic !== undefined) {
    const tp = d.string(topic);
    sets.push(
      prefs.default === 'granted'
        ? { name: `${prefix}pref_${channel}_${topic}_out`, body: sql`SELECT k FROM ${latest} WHERE ch = ${ch} AND tp = ${tp} AND NOT g`, pass: 'absent' }
        : {
            name: `${prefix}pref_${channel}_${topic}_in`,
            body: sql`SELECT k FROM ${latest} WHERE ch = ${ch} AND (tp = ${tp} OR tp IS NULL)
GROUP BY k
HAVING MAX(CASE WHEN tp = ${tp} AND g THEN 1 ELSE 0 END) = 1 OR (MAX(CASE WHEN tp = ${tp} THEN 1 ELSE 0 END) = 0 AND MAX(CASE WHEN tp IS NULL AND g THEN 1 ELSE 0 END) = 1)`,
            pass: 'present',
          },
    );
  }
  return gates(d, sets, [{ name: latestName, body }]);
}

/**
 * Consent by purpose for the `purposes` a sync needs (none: no gate):
 *  - the latest row per customer and purpose wins (a withdrawal wins a tie at the same instant: when two systems
 *    disagree about the same instant, the person's refusal is the one we can defend);
 *  - a customer passes only with every purpose granted; a purpose with no row for them is refused unless the
 *    project's `default` is `granted`.
 * One key set (`<prefix>consent_in` or `_out`), at most one row per key, over the latest rows (`<prefix>consent_latest`).
 */
export function consentGates(scope: PolicyScope, consent: Consent | undefined, purposes: readonly string[], prefix: string): Gates {
  if (!consent || !purposes.length) return NO_GATES;
  const { d } = scope;
  const latestName = `${prefix}consent_latest`;
  const latest = d.id(latestName);
  const c = (name: string) => sql`p.${d.id(name)}`;
  const given = sql`CASE WHEN ${c(consent.granted)} THEN 1 ELSE 0 END`;
  const body = sql`SELECT k, pu, g FROM (
  SELECT ${d.cast(c(consent.customer), 'string')} AS k, ${d.cast(c(consent.purpose), 'string')} AS pu, ${c(consent.granted)} AS g,
    ROW_NUMBER() OVER (PARTITION BY ${c(consent.customer)}, ${c(consent.purpose)} ORDER BY ${c(consent.at)} DESC, ${given} ASC) AS rn
  FROM ${scope.relation(consent.from)} AS p
  WHERE ${c(consent.customer)} IS NOT NULL AND ${c(consent.purpose)} IS NOT NULL AND ${c(consent.granted)} IS NOT NULL AND ${c(consent.at)} IS NOT NULL
) AS x WHERE rn = 1`;
  const needed = [...new Set(purposes)];
  const names = joinSql(needed.map((p) => d.string(p)));
  // Latest rows are one per key and purpose, so a customer holding a grant for each needed purpose has exactly as
  // many granted rows among them as there are purposes.
  const set: KeySet =
    consent.default === 'granted'
      ? { name: `${prefix}consent_out`, body: sql`SELECT DISTINCT k FROM ${latest} WHERE pu IN (${names}) AND NOT g`, pass: 'absent' }
      : { name: `${prefix}consent_in`, body: sql`SELECT k FROM ${latest} WHERE pu IN (${names}) AND g
GROUP BY k
HAVING COUNT(*) = ${d.literal(needed.length)}`, pass: 'present' };
  return gates(d, [set], [{ name: latestName, body }]);
}

/** Both gates at once, for a sync: CTEs of each, blocked when either blocks. */
export function bothGates(a: Gates, b: Gates): Gates {
  if (!a.ctes.length) return b;
  if (!b.ctes.length) return a;
  return { ctes: [...a.ctes, ...b.ctes], sets: [...a.sets, ...b.sets], blocked: (contact) => sql`(${a.blocked(contact)} OR ${b.blocked(contact)})` };
}
