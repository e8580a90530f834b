import type { TableRef } from '../../src/dialects/dialect.js';
import { joinSql, sql, type Sql } from '../../src/dialects/sql.js';
import type { CompanionTables, PlanContext, Step } from '../model-kind.js';
import { fieldsOf } from './fields.js';
import { HOLDOUT } from './holdout.js';
import { MEMBERSHIP_COLUMNS, STATUS } from './membership.js';
import type { AudiencesSpec } from './schema.js';

/**
 * After the memberships are built: the history of every stay in an audience, the model's table with each member's
 * entry time, and the run's report.
 */

export interface BuildTables {
  readonly members: TableRef;
  readonly history: CompanionTables;
  readonly report: CompanionTables;
  readonly output: TableRef;
}

/** The build's history step, timed because the history, the model's table and the report date entries and exits by
 * the same instant, the run time: history (carried from the previous build's when there is one), then the model's
 * table, then the report. */
export function historyStep(spec: AudiencesSpec, context: PlanContext, tables: BuildTables): Step {
  const history = tables.history;
  return {
    kind: 'timed',
    label: 'history',
    body: (runAt) => [
      {
        // Open rows of members still in carry over, rows of members who left are closed, new members are opened.
        kind: 'carry',
        label: 'membership history',
        from: history.current,
        columns: ['audience', spec.key, 'audience_group', 'entered_at', 'exited_at'],
        carried: historySql(spec, context, tables, true, runAt),
        fresh: historySql(spec, context, tables, false, runAt),
      },
      { kind: 'sql', label: 'memberships with the time each member entered', sql: outputSql(spec, context, tables) },
      { kind: 'sql', label: 'sizes and moves of this run', sql: reportSql(spec, context, tables, runAt) },
    ],
  };
}

/**
 * `<name>_history`: one row per stay of a customer in an audience (entered_at, exited_at NULL while still in).
 * Members in the holdout are in the audience: they enter and leave like the others.
 */
function historySql(spec: AudiencesSpec, context: PlanContext, t: BuildTables, previous: boolean, runAt: Sql): Sql {
  const d = context.dialect;
  const key = d.id(spec.key);
  const member = sql`m.audience_status = ${d.literal(STATUS.member)}`;
  const nullTime = sql`CAST(NULL AS ${d.type('timestamp')})`;
  const entries = sql`SELECT m.audience, m.${key}, m.audience_group, ${runAt} AS entered_at, ${nullTime} AS exited_at
FROM ${d.table(t.members)} AS m
WHERE ${member}`;
  if (!previous) return d.createTableAs(t.history.build, entries);
  const prev = d.table(t.history.current);
  const stillIn = sql`EXISTS (SELECT 1 FROM ${d.table(t.members)} AS m WHERE m.audience = p.audience AND m.${key} = p.${key} AND ${member})`;
  return d.createTableAs(
    t.history.build,
    sql`SELECT p.audience, p.${key}, p.audience_group, p.entered_at, p.exited_at FROM ${prev} AS p WHERE p.exited_at IS NOT NULL
UNION ALL
SELECT p.audience, p.${key}, p.audience_group, p.entered_at, ${nullTime} FROM ${prev} AS p WHERE p.exited_at IS NULL AND ${stillIn}
UNION ALL
SELECT p.audience, p.${key}, p.audience_group, p.entered_at, ${runAt} FROM ${prev} AS p WHERE p.exited_at IS NULL AND NOT ${stillIn}
UNION ALL
${entries}
  AND NOT EXISTS (SELECT 1 FROM ${prev} AS p WHERE p.exited_at IS NULL AND p.audience = m.audience AND p.${key} = m.${key})`,
  );
}

/** The model's table: every membership row with the time its member entered the audience (NULL for non-members). */
function outputSql(spec: AudiencesSpec, context: PlanContext, t: BuildTables): Sql {
  const d = context.dialect;
  const fields = fieldsOf(spec, d, context.columnsOf)!;
  const key = fields.get(d.identifierKey(spec.key))!;
  const columns = [
    ...MEMBERSHIP_COLUMNS.filter((c) => c !== 'audience_entered_at').map((c) => sql`m.${d.id(c)}`),
    sql`h.entered_at AS ${d.id('audience_entered_at')}`,
    sql`m.${d.id(key.name)}`,
    ...[...fields.values()].filter((f) => f !== key).map((f) => sql`m.${d.id(f.name)}`),
  ];
  return d.createTableAs(
    t.output,
    sql`SELECT ${joinSql(columns)}
FROM ${d.table(t.members)} AS m
LEFT JOIN ${d.table(t.history.build)} AS h ON h.audience = m.audience AND h.${d.id(spec.key)} = m.${d.id(spec.key)} AND h.exited_at IS NULL`,
  );
}

/** `<name>_report`: per audience and run, its sizes and how many entered and left. */
function reportSql(spec: AudiencesSpec, context: PlanContext, t: BuildTables, runAt: Sql): Sql {
  const d = context.dialect;
  const count = (condition: Sql) => sql`SUM(CASE WHEN ${condition} THEN 1 ELSE 0 END)`;
  const names = joinSql(spec.audiences.map((a) => sql`SELECT ${d.literal(a.name)} AS audience, ${d.literal(a.channel)} AS channel`), sql`\n  UNION ALL `);
  const isMember = sql`audience_status = ${d.literal(STATUS.member)}`;
  return d.createTableAs(
    t.report.build,
    sql`WITH names AS (
  ${names}
),
sizes AS (
  SELECT audience,
    ${count(isMember)} AS members,
    ${count(sql`${isMember} AND audience_group = ${d.literal(HOLDOUT)}`)} AS holdout,
    ${count(sql`audience_status = ${d.literal(STATUS.noConsent)}`)} AS no_consent,
    ${count(sql`audience_status = ${d.literal(STATUS.capped)}`)} AS capped,
    ${count(sql`audience_status = ${d.literal(STATUS.suppressed)}`)} AS suppressed
  FROM ${d.table(t.members)} GROUP BY audience
),
moves AS (
  SELECT audience, ${count(sql`entered_at = ${runAt}`)} AS entered, ${count(sql`exited_at = ${runAt}`)} AS exited
  FROM ${d.table(t.history.build)} GROUP BY audience
)
SELECT n.audience, n.channel, ${runAt} AS built_at,
  COALESCE(s.members, 0) AS members, COALESCE(s.holdout, 0) AS holdout, COALESCE(s.no_consent, 0) AS no_consent,
  COALESCE(s.capped, 0) AS capped, COALESCE(s.suppressed, 0) AS suppressed, COALESCE(v.entered, 0) AS entered, COALESCE(v.exited, 0) AS exited
FROM names AS n
LEFT JOIN sizes AS s ON s.audience = n.audience
LEFT JOIN moves AS v ON v.audience = n.audience`,
  );
}
