import { z } from 'zod';
import { CHANNELS, type Channel } from './channels.js';
import type { OutputColumn } from '../../models/model-kind.js';
import type { Dialect } from '../dialects/dialect.js';
import { checkComparison, columnConditionSchema } from '../expressions/conditions.js';
import { durationSchema } from '../expressions/durations.js';
import { objectName } from './names.js';
import type { FieldPath, Problems } from './problems.js';
import { didYouMean } from './suggest.js';
import type { YamlFile } from './yaml-file.js';

/**
 * Project-wide contact policies, written once in tideline.yml and applied everywhere a customer is messaged:
 *  - `suppressions:` who must not be contacted on some channels right now (complained in the last 14 days, hard
 *    bounced, unsubscribed, legally opted out), each a filter over a source or model holding customer keys;
 *  - `preferences:` the preference centre, consent per channel and per topic;
 *  - `consent:` consent by purpose (GDPR: marketing e-mail, SMS, ads personalisation, measurement), each sync needing
 *    the purposes of its channel or its own `purposes:`.
 * Audiences (status `suppressed`, or `no_consent` for a preference) and syncs (before the diff) apply the first two;
 * syncs apply consent too (op `no_consent`). See src/expressions/policies.ts for the SQL and README "Suppressions",
 * "Preferences" and "Consent by purpose" for the rules.
 */

export const suppressionSchema = z.strictObject({
  name: objectName.describe('Name of the rule, shown by `tideline plan` and `audience preview`.'),
  description: z.string().optional().describe('Free text for readers.'),
  from: z.string().min(1).describe('A source or model with a row per suppressed contact (or per event making one: a ticket, a bounce).'),
  key: z.string().min(1).describe("Its column holding the customer key, matched (as text) to each sync's contact column and to the audiences' key."),
  where: z.array(columnConditionSchema).optional().describe('Only rows meeting every condition suppress: `[{column: type, equals: complaint}]`.'),
  within: z
    .strictObject({
      last: durationSchema.describe('How far back from the as-of date: `14 days`.'),
      time: z.string().min(1).describe('The date or timestamp column dating each row.'),
    })
    .optional()
    .describe("Only rows dated in the last N units up to the as-of date (the project's `vars.as_of` when set, else today). Left out: every row suppresses, for good."),
  channels: z
    .array(z.enum(CHANNELS))
    .min(1)
    .optional()
    .describe(
      'Channels the rule applies to; default every channel but `crm` (e-mail, SMS, phone, ads, push, mail): a complaint must not delete the contact from the CRM the service team works in. A sync or audience on one of them leaves the contact out.',
    ),
});
export type Suppression = z.infer<typeof suppressionSchema>;

export const preferencesSchema = z.strictObject({
  from: z.string().min(1).describe('A source or model of preference changes: one row per customer, channel, topic and change.'),
  customer: z.string().min(1).describe('Its column holding the customer key.'),
  channel: z.string().min(1).describe('Its column holding the channel, as Tideline names it (email, sms, ads, phone, crm, push, mail).'),
  topic: z.string().min(1).describe('Its column holding the topic; NULL for the whole channel ("unsubscribe from all e-mails").'),
  granted: z.string().min(1).describe('Its boolean column: TRUE opted in, FALSE opted out.'),
  at: z.string().min(1).describe('Its date or timestamp column: the latest row per customer, channel and topic wins (an opt-out wins a tie).'),
  topics: z.array(objectName).min(1).describe('The topics audiences and syncs may name with `topic:` (e.g. promotions, newsletter, product_news).'),
  default: z
    .enum(['granted', 'denied'])
    .default('denied')
    .describe('A topic for a customer with no row for it nor for its whole channel: `denied` (default: no recorded consent, no message) or `granted`.'),
});
export type Preferences = z.infer<typeof preferencesSchema>;

export const consentSchema = z.strictObject({
  from: z.string().min(1).describe('A source or model of consent changes: one row per customer, purpose and change (a consent given or withdrawn).'),
  customer: z.string().min(1).describe('Its column holding the customer key.'),
  purpose: z.string().min(1).describe('Its column holding the purpose, one of `purposes` as written there (e.g. ads_personalisation).'),
  granted: z.string().min(1).describe('Its boolean column: TRUE consent given, FALSE withdrawn (or refused).'),
  at: z.string().min(1).describe('Its date or timestamp column: the latest row per customer and purpose wins (a withdrawal wins a tie).'),
  purposes: z
    .array(objectName)
    .min(1)
    .describe('The purposes consent is recorded for, which `channels` and a sync\'s `purposes:` may name (e.g. marketing_email, sms, ads_personalisation, measurement).'),
  default: z
    .enum(['granted', 'denied'])
    .default('denied')
    .describe('A purpose for a customer with no row for it: `denied` (default: no recorded consent, no processing) or `granted` (only where another legal basis than consent covers the purpose).'),
  channels: z
    .partialRecord(z.enum(CHANNELS), z.array(objectName))
    .default({})
    .describe(
      'The purposes a sync on each channel needs unless it names its own `purposes:`, e.g. `{ email: [marketing_email], sms: [sms], ads: [ads_personalisation] }`. A channel left out needs none.',
    ),
});
export type Consent = z.infer<typeof consentSchema>;

/** The policies of a project, with where they are written (tideline.yml) for problems found later. */
export interface Policies {
  readonly suppressions: readonly Suppression[];
  readonly preferences: Preferences | undefined;
  readonly consent?: Consent | undefined;
  readonly file: YamlFile | undefined;
}

export const NO_POLICIES: Policies = { suppressions: [], preferences: undefined, consent: undefined, file: undefined };

/** The relations the policies read, with where each is named (for ordering builds after them and for problems). */
export function policyRelations(policies: Policies): { relation: string; at: FieldPath }[] {
  return [
    ...policies.suppressions.map((s, i) => ({ relation: s.from, at: ['suppressions', i, 'from'] })),
    ...(policies.preferences ? [{ relation: policies.preferences.from, at: ['preferences', 'from'] }] : []),
    ...(policies.consent ? [{ relation: policies.consent.from, at: ['consent', 'from'] }] : []),
  ];
}

/** Suppression rules applying to a channel. */
export function suppressionsOn(policies: Policies, channel: Channel): Suppression[] {
  return policies.suppressions.filter((s) => (s.channels === undefined ? channel !== 'crm' : s.channels.includes(channel)));
}

/** Reports names given twice and relations that exist nowhere; `known` holds every source, model and companion name. */
export function checkPolicyReferences(policies: Policies, known: ReadonlySet<string>, invalid: ReadonlySet<string>, problems: Problems): void {
  const file = policies.file;
  if (!file) return;
  const seen = new Set<string>();
  for (const [i, rule] of policies.suppressions.entries()) {
    if (seen.has(rule.name.toLowerCase())) problems.error('duplicate-name', `suppression "${rule.name}" is already defined above`, file.locate(['suppressions', i, 'name']), ['suppressions', i, 'name']);
    seen.add(rule.name.toLowerCase());
  }
  for (const [channel, purposes] of Object.entries(policies.consent?.channels ?? {})) {
    for (const [i, purpose] of purposes.entries()) {
      const unknown = purposeProblem(policies, purpose);
      if (unknown) problems.error('unknown-purpose', unknown, file.locate(['consent', 'channels', channel, i]), ['consent', 'channels', channel, i]);
    }
  }
  for (const { relation, at } of policyRelations(policies)) {
    if (known.has(relation) || invalid.has(relation)) continue;
    problems.error('unknown-reference', `unknown source or model "${relation}"${didYouMean(relation, [...known])}`, file.locate(at), at);
  }
}

/** Checks the columns the policies read, where the relations' columns are known (skipped offline). */
export function analysePolicies(policies: Policies, columnsOf: (relation: string) => readonly OutputColumn[] | undefined, d: Dialect, problems: Problems): void {
  const file = policies.file;
  if (!file) return;
  const report = (at: FieldPath, message: string, code: string) => problems.error(code, message, file.locate(at), at);
  const columnOf = (relation: string, name: string, at: FieldPath): OutputColumn | undefined => {
    const columns = columnsOf(relation);
    if (!columns) return undefined;
    const found = columns.find((c) => d.identifierKey(c.name) === d.identifierKey(name));
    if (!found) report(at, `unknown column "${name}" in "${relation}"${didYouMean(name, columns.map((c) => c.name))}`, 'unknown-column');
    return found;
  };
  const dated = (relation: string, name: string, at: FieldPath) => {
    const column = columnOf(relation, name, at);
    if (column?.type !== undefined && column.type !== 'date' && column.type !== 'timestamp') report(at, `"${name}" must be a date or timestamp column; it is ${column.type}`, 'wrong-type');
  };
  for (const [i, rule] of policies.suppressions.entries()) {
    const at = (...rest: FieldPath) => ['suppressions', i, ...rest];
    columnOf(rule.from, rule.key, at('key'));
    for (const [j, condition] of (rule.where ?? []).entries()) {
      const column = columnOf(rule.from, condition.column, at('where', j, 'column'));
      if (column) checkComparison(condition, condition.column, column.type, at('where', j), report);
    }
    if (rule.within) dated(rule.from, rule.within.time, at('within', 'time'));
  }
  const p = policies.preferences;
  if (p) {
    for (const field of ['customer', 'channel', 'topic'] as const) columnOf(p.from, p[field], ['preferences', field]);
    const granted = columnOf(p.from, p.granted, ['preferences', 'granted']);
    if (granted?.type !== undefined && granted.type !== 'boolean') report(['preferences', 'granted'], `"${p.granted}" must be a boolean column (TRUE opted in); it is ${granted.type}`, 'wrong-type');
    dated(p.from, p.at, ['preferences', 'at']);
  }
  const c = policies.consent;
  if (c) {
    for (const field of ['customer', 'purpose'] as const) columnOf(c.from, c[field], ['consent', field]);
    const granted = columnOf(c.from, c.granted, ['consent', 'granted']);
    if (granted?.type !== undefined && granted.type !== 'boolean') report(['consent', 'granted'], `"${c.granted}" must be a boolean column (TRUE consent given); it is ${granted.type}`, 'wrong-type');
    dated(c.from, c.at, ['consent', 'at']);
  }
}

/** Checks a `topic:` (of an audience or a sync) against the declared topics; returns the problem, if any. */
export function topicProblem(policies: Policies, topic: string): string | undefined {
  const topics = policies.preferences?.topics;
  if (!topics) return `\`topic: ${topic}\` needs a \`preferences:\` section in tideline.yml declaring its topics`;
  if (!topics.includes(topic)) return `unknown topic "${topic}"${didYouMean(topic, topics)}; topics: ${topics.join(', ')}`;
  return undefined;
}

/** Checks a purpose (of a sync, or of `consent.channels`) against the declared purposes; returns the problem, if any. */
export function purposeProblem(policies: Pick<Policies, 'consent'>, purpose: string): string | undefined {
  const purposes = policies.consent?.purposes;
  if (!purposes) return `purpose "${purpose}" needs a \`consent:\` section in tideline.yml declaring its purposes`;
  if (!purposes.includes(purpose)) return `unknown purpose "${purpose}"${didYouMean(purpose, purposes)}; purposes: ${purposes.join(', ')}`;
  return undefined;
}

/**
 * The purposes a sync needs consent for: its own `purposes:` when written (`[]`: none, a deliberate decision), else
 * those `consent.channels` maps its channel to; none without a `consent:` section.
 */
export function purposesOf(policies: Pick<Policies, 'consent'>, written: readonly string[] | undefined, channel: Channel | undefined): readonly string[] {
  if (!policies.consent) return [];
  return written ?? (channel ? (policies.consent.channels[channel] ?? []) : []);
}
