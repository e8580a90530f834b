import type { Channel } from '../project/channels.js';
import type { OutputColumn } from '../../models/model-kind.js';
import type { Dialect, LogicalType } from '../dialects/dialect.js';
import { sql } from '../dialects/sql.js';
import { asOfSql } from '../expressions/as-of.js';
import { bothGates, consentGates, NO_GATES, preferenceGates, suppressionGates, type Gates, type PolicyScope } from '../expressions/policies.js';
import { eventPressure, type EventPressure } from '../../models/audiences/pressure.js';
import type { MessageSource } from '../state/messages.js';
import { MESSAGES_COLUMNS, noRows, RUNS_COLUMNS, SHARED_TABLES, stateTable, type ColumnDef } from '../state/tables.js';
import { messageSource, sendsMessages } from './messages.js';
import { sourceRelation } from '../project/analyse.js';
import type { Project } from '../project/loader.js';
import { policyRelations, purposeProblem, suppressionsOn, topicProblem, type Policies } from '../project/policies.js';
import type { FieldPath, Problems } from '../project/problems.js';
import { contactColumn } from './contact.js';
import type { SyncDef } from './load.js';
import type { ColumnTypes } from './mapping.js';
import type { SyncEntry } from './schema.js';
import type { Connection } from '../warehouses/connection.js';
import { SyncFailure } from './run/failure.js';

/**
 * The project's suppressions, preferences and consent applied to one sync, before the diff (see PlanInput.gates): a
 * sync on a channel leaves out the contacts suppressed on it and those whose preferences refuse it (the whole
 * channel, or the sync's `topic:`); a sync needing consent purposes (its channel's or its own `purposes:`, with or
 * without a channel) leaves out the contacts who have not granted every one. Which syncs are concerned is known at
 * load (`policiesReach`, `consentReach`); the sets of keys are read from the warehouse when the sync plans, so a
 * complaint filed or a consent withdrawn since the last model build already counts.
 */

/** Whether the project's policies reach a sync at all: it has a channel, is not exempt, and some rule or the preferences apply there. */
export function policiesReach(policies: Policies, sync: Pick<SyncDef, 'channel' | 'suppress' | 'preferences'>): sync is typeof sync & { readonly channel: Channel } {
  if (sync.channel === undefined) return false;
  return (sync.suppress && suppressionsOn(policies, sync.channel).length > 0) || (sync.preferences && policies.preferences !== undefined);
}

/** Whether a sync needs consent purposes (SyncDef.purposes: none without a `consent:` section). */
export function consentReach(sync: Pick<SyncDef, 'purposes'>): boolean {
  return sync.purposes.length > 0;
}

/** Whether any of the project's policies applies to a sync: it then needs its contact column, and their relations. */
export function policiesApply(policies: Policies, sync: Pick<SyncDef, 'channel' | 'suppress' | 'preferences' | 'purposes'>): boolean {
  return policiesReach(policies, sync) || consentReach(sync);
}

/**
 * The relations a sync reads beyond its model, by name, in the order written: the `from` of the suppression rules on
 * its channel, of the preferences and of the consent that reach it (as syncGates applies them), and, for an events
 * sync whose events are messages, the pressure policy's delivered events (pressureOf). Lineage's upstream of a sync.
 */
export function syncPolicyInputs(project: Pick<Project, 'policies' | 'pressure'>, sync: SyncDef): string[] {
  const { policies } = project;
  const names: string[] = [];
  if (policiesReach(policies, sync)) {
    if (sync.suppress) names.push(...suppressionsOn(policies, sync.channel).map((s) => s.from));
    if (sync.preferences && policies.preferences) names.push(policies.preferences.from);
  }
  if (consentReach(sync) && policies.consent) names.push(policies.consent.from);
  if (sync.mode === 'events' && project.pressure && sendsMessages(sync)) names.push(...project.pressure.delivered.map((d) => d.from));
  return [...new Set(names)];
}

/** Problems of a sync's `purposes:` found at load: no consent section, or a purpose it does not declare. */
export function purposeProblems(entry: Pick<SyncEntry, 'purposes'>, policies: Pick<Policies, 'consent'>): { code: string; message: string; at: FieldPath }[] {
  if (entry.purposes === undefined) return [];
  if (!policies.consent) return [{ code: 'unknown-purpose', message: '`purposes:` names consent purposes, which need a `consent:` section in tideline.yml declaring them', at: ['purposes'] }];
  return entry.purposes.flatMap((purpose, i) => {
    const unknown = purposeProblem(policies, purpose);
    return unknown ? [{ code: 'unknown-purpose', message: unknown, at: ['purposes', i] }] : [];
  });
}

/** Problems of a sync's `topic:` found at load: unknown topic, no channel to ask consent for, or an exempt sync. */
export function topicProblems(entry: Pick<SyncEntry, 'topic' | 'suppress'>, channel: Channel | undefined, policies: Policies): { code: string; message: string; at: FieldPath }[] {
  if (entry.topic === undefined) return [];
  const unknown = topicProblem(policies, entry.topic);
  if (unknown) return [{ code: 'unknown-topic', message: unknown, at: ['topic'] }];
  if (channel === undefined) return [{ code: 'bad-topic', message: 'a topic is consented to on a channel, and this sync has none: give it a `channel:`', at: ['topic'] }];
  if (!entry.suppress) return [{ code: 'bad-topic', message: '`suppress: false` exempts the sync from preferences, so its `topic:` would never be checked: keep one of them', at: ['topic'] }];
  return [];
}

/**
 * A sync the policies reach must say which column holds the customer key, or they would silently reach nobody: a
 * located error when the model's columns are known and none is written or implied (see contactColumn).
 */
export function checkSyncContacts(syncs: Iterable<SyncDef>, policies: Policies, columnsOf: (model: string) => readonly OutputColumn[] | undefined, d: Dialect, problems: Problems): void {
  for (const sync of syncs) {
    if (!policiesApply(policies, sync)) continue;
    const columns = columnsOf(sync.model);
    if (!columns) continue;
    if (contactColumn(sync, new Map(columns.map((c) => [d.identifierKey(c.name), c.type])))) continue;
    const field = written(sync, 'purposes') && consentReach(sync) ? 'purposes' : written(sync, 'channel') ? 'channel' : 'model';
    const at = [...sync.origin.path, field];
    problems.error('missing-contact', missingContact(sync, policies), sync.origin.file.locate(at), at);
  }
}

/** Whether the sync's YAML item writes `field` itself (rather than inheriting its value). */
function written(sync: SyncDef, field: string): boolean {
  let node: unknown = sync.origin.file.value();
  for (const step of sync.origin.path) node = node !== null && typeof node === 'object' ? (node as Record<string | number, unknown>)[step] : undefined;
  return node !== null && typeof node === 'object' && Object.hasOwn(node, field);
}

function missingContact(sync: SyncDef, policies: Policies): string {
  const channel = sync.channel;
  if (channel === undefined || !policiesReach(policies, sync)) {
    // Consent alone: `suppress: false` would not exempt the sync, `purposes: []` would.
    return `sync "${sync.name}" needs consent to ${sync.purposes.join(', ')}, but model "${sync.model}" has no customer_id column: name the column holding the customer key with \`contact:\`, or write \`purposes: []\` if another legal basis than consent covers these records`;
  }
  const rules = sync.suppress ? suppressionsOn(policies, channel).map((s) => s.name) : [];
  const what = [rules.length ? `suppressions ${rules.join(', ')}` : '', sync.preferences && policies.preferences ? 'the preferences' : '', consentReach(sync) ? `consent to ${sync.purposes.join(', ')}` : ''].filter(Boolean).join(' and ');
  return `sync "${sync.name}" is on channel ${channel}, where ${what} apply, but model "${sync.model}" has no customer_id column: name the column holding the customer key with \`contact:\`, or set \`suppress: false\` if these records must reach everyone${consentReach(sync) ? ' (and `purposes: []` if another legal basis than consent covers them)' : ''}`;
}

/** The policies' relations as the sync sees them: sources in place, models in the target's schema, with their column types. */
export async function policyScope(connection: Connection, project: Project): Promise<PolicyScope> {
  const d = connection.dialect;
  const types = new Map<string, readonly OutputColumn[]>();
  const relation = (name: string) => {
    const source = project.sources.get(name);
    return source ? sourceRelation(project, source) : d.table({ schema: project.target.schema, name });
  };
  for (const { relation: name } of policyRelations(project.policies)) {
    if (types.has(name)) continue;
    const source = project.sources.get(name);
    const columns = source?.table
      ? await connection.columns(source.table)
      : source
        ? await connection.columnsOfQuery(sql`SELECT * FROM ${relation(name)}`)
        : await connection.columns({ schema: project.target.schema, name });
    if (!columns) throw new SyncFailure(`the suppressions, preferences or consent of tideline.yml read "${name}", which has no table in target "${project.target.name}" yet: build it with \`tideline run --select ${name}\``);
    types.set(name, columns);
  }
  const typeOf = (name: string, column: string): LogicalType | undefined => types.get(name)?.find((c) => d.identifierKey(c.name) === d.identifierKey(column))?.type;
  const vars = project.vars;
  return { d, relation, typeOf, asOf: asOfSql(d, vars['as_of'] !== undefined ? { var: 'as_of' } : 'today', vars) };
}

/**
 * The gates of a sync and its contact column, or undefined when no policy reaches it: the suppressions and
 * preferences (policiesReach), and, for an events sync whose events start messages, the pressure caps on its
 * channel (`pressure`, which the planner applies event by event: see eventPressure). Messages are read from
 * `stateSchema`'s sync_messages (the sandbox's own state in a sandbox run).
 */
export async function syncGates(connection: Connection, project: Project, sync: SyncDef, types: ColumnTypes, stateSchema = project.target.stateSchema): Promise<SyncPolicies | undefined> {
  const { policies } = project;
  const reach = policiesReach(policies, sync);
  const consent = consentReach(sync);
  const source = sync.mode === 'events' && project.pressure ? messageSource(sync, types) : undefined;
  if (!reach && !consent && !source) return undefined;
  const contact = contactColumn(sync, types);
  if (!contact) throw new SyncFailure(missingContact(sync, policies));
  const scope = await policyScope(connection, project);
  const gates = reach ? gatesOf(scope, policies, sync) : NO_GATES;
  const pressure = source ? await pressureOf(connection, project, scope, source, stateSchema) : undefined;
  return { contact, gates, ...(consent ? { consent: consentGates(scope, policies.consent, sync.purposes, 'tl_') } : {}), ...(pressure ? { pressure } : {}) };
}

/**
 * What the planner applies to a sync's rows: the model column of the contact key, the gates of suppressions and
 * preferences (op `suppressed`), those of consent (op `no_consent`), and an events sync's caps.
 */
export interface SyncPolicies {
  readonly contact: string;
  readonly gates: Gates;
  readonly consent?: Gates;
  readonly pressure?: EventPressure;
}

/** The room an events sync's messages have under the caps on its channel (see eventPressure). */
async function pressureOf(connection: Connection, project: Project, scope: PolicyScope, source: MessageSource, stateSchema: string): Promise<EventPressure | undefined> {
  const d = connection.dialect;
  const policy = project.pressure!;
  const state = async (name: string, columns: readonly ColumnDef[]) => {
    const table = stateTable(stateSchema, name);
    return (await connection.columns(table)) ? d.table(table) : noRows(d, columns);
  };
  const delivered = new Map<string, readonly OutputColumn[] | undefined>();
  for (const { from } of policy.delivered) {
    const found = project.sources.get(from);
    delivered.set(from, found?.table ? await connection.columns(found.table) : await connection.columns({ schema: project.target.schema, name: from }));
  }
  const relations = { sent: await state(SHARED_TABLES.messages, MESSAGES_COLUMNS), runs: await state(SHARED_TABLES.runs, RUNS_COLUMNS), relation: scope.relation, columnsOf: (name: string) => delivered.get(name) };
  return eventPressure(d, scope.asOf, policy, relations, source.channel as Channel, source.type);
}

/** The CTEs and test of a sync the policies reach (see policiesReach): suppressions on its channel, then preferences. */
export function gatesOf(scope: PolicyScope, policies: Policies, sync: SyncDef & { readonly channel: Channel }): Gates {
  return bothGates(
    sync.suppress ? suppressionGates(scope, policies, sync.channel, 'tl_') : NO_GATES,
    sync.preferences ? preferenceGates(scope, policies.preferences, sync.channel, sync.topic, 'tl_') : NO_GATES,
  );
}
