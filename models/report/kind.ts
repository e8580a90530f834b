import type { Sql } from '../../src/dialects/sql.js';
import { defineModelKind, type CompanionTables, type ModelPlan, type ModelSummary, type OutputColumn, type Step } from '../model-kind.js';
import { analyseReport, reportInputs } from './analyse.js';
import { builder, ordersTable } from './build.js';
import { cohortsSelect } from './cohorts.js';
import { kpisSelect } from './kpis.js';
import { programsSelect } from './programs.js';
import { describeScorecard, readScorecard } from './read.js';
import { reportSchema, type ReportSpec } from './schema.js';
import { SCORECARD_COLUMNS, scorecardSelect } from './scorecard.js';
import { migrationSelect, segmentsSelect, SNAPSHOT_COLUMNS, snapshotsSql } from './segments.js';
import { channelThresholds, programThresholds, qualityThresholds } from './thresholds.js';
import { upliftSelect } from './uplift.js';

/**
 * The tables a report keeps beside its own (the scorecard), each `<name>_<suffix>`. Suffixes are short so that a
 * 48-character model name with `__tl_` and the suffix still fits PostgreSQL's 63 bytes.
 */
export const REPORT_SECTIONS = ['kpis', 'programs', 'uplift', 'cohorts', 'segments', 'migration'] as const;
export type ReportSection = (typeof REPORT_SECTIONS)[number];

export const report = defineModelKind<ReportSpec>({
  kind: 'report',
  summary: 'Measure what the syncs did: channel KPIs with thresholds, programs, holdout uplift with confidence intervals, cohorts, segments',
  schema: reportSchema,
  cli: () => import('./cli.js').then((m) => m.reportCommands),

  inputs: reportInputs,

  analyse(spec, context): readonly OutputColumn[] {
    analyseReport(spec, context);
    return SCORECARD_COLUMNS;
  },

  plan(spec, context): ModelPlan {
    const d = context.dialect;
    const b = builder(spec, context);
    const t = Object.fromEntries(REPORT_SECTIONS.map((s) => [s, context.companion(s)])) as Record<ReportSection, CompanionTables>;
    const steps: Step[] = [];
    const orders = ordersTable(b);
    if (orders) steps.push({ kind: 'sql', label: 'orders counted by the report', sql: orders });
    const segments = spec.segments;
    const snapshots = segments && segments.at === undefined ? context.companion('snapshots') : undefined;
    if (snapshots) {
      // This build's segments dated as of the report, plus the snapshots of other months kept for `keep`.
      steps.push({
        kind: 'carry',
        label: 'segment snapshots',
        from: snapshots.current,
        columns: SNAPSHOT_COLUMNS.map((c) => c.name),
        carried: snapshotsSql(b, snapshots, true),
        fresh: snapshotsSql(b, snapshots, false),
      });
    }
    const create = (section: ReportSection, label: string, select: Sql): Step => ({ kind: 'sql', label, sql: d.createTableAs(t[section].build, select) });
    steps.push(
      create('kpis', 'channel KPIs per campaign and period', kpisSelect(b, channelThresholds(spec), qualityThresholds(spec))),
      create('programs', 'program KPIs', programsSelect(b, programThresholds(spec))),
      create('uplift', 'holdout uplift', upliftSelect(b)),
      create('cohorts', 'cohorts by month of first purchase', cohortsSelect(b)),
      create('segments', 'revenue per segment', segmentsSelect(b, snapshots?.build)),
      create('migration', 'segment migration', migrationSelect(b, snapshots?.build)),
      { kind: 'sql', label: 'scorecard', sql: d.createTableAs(context.output, scorecardSelect(b, { kpis: t.kpis.build, programs: t.programs.build, uplift: t.uplift.build })) },
    );
    return { steps };
  },

  async summarise(_spec, context): Promise<ModelSummary> {
    const rows = await readScorecard(context.io, context.dialect, context.table);
    return describeScorecard(rows);
  },
});
