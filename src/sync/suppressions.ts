import type { Channel } from '../project/channels.js';
import type { OutputColumn } from '../../models/model-kind.js';
import type { LogicalType } from '../dialects/dialect.js';
import { sql } from '../dialects/sql.js';
import { asOfSql } from '../expressions/as-of.js';
import { bothGates, preferenceGates, suppressionGates, type Gates, type PolicyScope } from '../expressions/policies.js';
import { sourceRelation } from '../project/analyse.js';
import type { Project } from '../project/loader.js';
import { policyRelations, suppressionsOn, type Policies } from '../project/policies.js';
import type { Connection } from '../warehouses/connection.js';
import { SyncFailure } from './run/failure.js';

/**
 * The project's suppressions and preferences applied to one sync, before the diff (see PlanInput.gates): a sync on
 * a channel leaves out the contacts suppressed on it and those whose preferences refuse it (the whole channel, or
 * the sync's `topic:`). Whether a sync is concerned is decided at load (`SyncPolicy`); the sets of keys are read
 * from the warehouse when the sync plans, so a complaint filed since the last model build already counts.
 */

/** What a sync's policy needs to know about it, decided when the project is loaded. */
export interface SyncPolicy {
  readonly channel: Channel;
  /** The model column holding the customer key. */
  readonly contact: string;
  readonly topic: string | undefined;
}

/** Whether the project's policies reach a sync on `channel` at all (some rule on the channel, or preferences). */
export function policiesReach(policies: Policies, channel: Channel | undefined, topic: string | undefined): boolean {
  if (channel === undefined) return false;
  return suppressionsOn(policies, channel).length > 0 || policies.preferences !== undefined || topic !== undefined;
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
    if (!columns) throw new SyncFailure(`the suppressions or preferences of tideline.yml read "${name}", which has no table in target "${project.target.name}" yet: build it with \`tideline run --select ${name}\``);
    types.set(name, columns);
  }
  const typeOf = (name: string, column: string): LogicalType | undefined => types.get(name)?.find((c) => d.identifierKey(c.name) === d.identifierKey(column))?.type;
  const vars = project.vars;
  return { d, relation, typeOf, asOf: asOfSql(d, vars['as_of'] !== undefined ? { var: 'as_of' } : 'today', vars) };
}

/** The gates of a sync concerned by the policies. */
export function syncGates(scope: PolicyScope, policies: Policies, policy: SyncPolicy): Gates {
  return bothGates(suppressionGates(scope, policies, policy.channel, 'tl_'), preferenceGates(scope, policies.preferences, policy.channel, policy.topic, 'tl_'));
}
