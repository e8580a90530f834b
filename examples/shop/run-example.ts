import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { deliverySyncs, readDeliveries } from '../../models/report/deliveries.js';
import { formatPoints, formatValue, readReport, reportTables } from '../../models/report/read.js';
import { sql } from '../../src/dialects/sql.js';
import { loadProject } from '../../src/project/loader.js';
import { sandboxStateSchema } from '../../src/sync/sandbox.js';
import type { Connection } from '../../src/warehouses/connection.js';
import { openTarget } from '../../src/warehouses/registry.js';
import { DEFAULT_SHOP, generateShop, GENERATOR_VERSION } from './generate.js';

/**
 * `npm run example`: generates the shop's data into its embedded DuckDB if it is not there yet, runs `tideline run`,
 * `tideline plan` and `tideline sync --sandbox` on the project (the destinations are local emulators, whose state is
 * kept under target/sandbox/ so that a second run sends nothing), and prints what happened in words a marketer reads.
 * Options: --customers N (default 10,000), --seed S, --regenerate.
 */
const ROOT = import.meta.dirname;
const BIN = join(ROOT, '../../bin/tideline');

function option(name: string, fallback: number): number {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? Number(process.argv[i + 1]) : fallback;
}

async function withConnection<T>(body: (connection: Connection, schema: string) => Promise<T>): Promise<T> {
  const project = await loadProject({ projectDir: ROOT });
  const connection = await openTarget(project.target.config, { root: ROOT });
  try {
    return await body(connection, project.target.schema);
  } finally {
    await connection.close();
  }
}

/** Generates the data unless it is there; answers the day the data ends (windows such as "last 30 days" count from it). */
async function ensureData(customers: number, seed: number, regenerate: boolean): Promise<string> {
  return withConnection(async (connection) => {
    const d = connection.dialect;
    const info = (await connection.columns({ schema: 'raw', name: 'dataset_info' }))
      ? await connection.query(sql`SELECT CAST(anchor_date AS VARCHAR) AS anchor_date, seed, customers, generator_version FROM ${d.table({ schema: 'raw', name: 'dataset_info' })}`)
      : [];
    const current = info[0];
    if (!regenerate && current && current['seed'] === seed && current['customers'] === customers && current['generator_version'] === GENERATOR_VERSION) {
      console.log(`Example data already generated (${customers.toLocaleString('en')} people, seed ${seed}, data up to ${String(current['anchor_date'])}); --regenerate to start over.\n`);
      return String(current['anchor_date']);
    }
    const anchor = new Date().toISOString().slice(0, 10);
    console.log(`Generating a shop with ${customers.toLocaleString('en')} people (seed ${seed}, data up to ${anchor})…`);
    const started = performance.now();
    const summary = await generateShop(connection, { ...DEFAULT_SHOP, customers, seed, anchor });
    const rows = Object.values(summary.rows).reduce((a, b) => a + b, 0);
    console.log(`  ${rows.toLocaleString('en')} rows in ${((performance.now() - started) / 1000).toFixed(1)} s\n`);
    return anchor;
  });
}

let asOf = '';
function tideline(...args: string[]): number {
  const result = spawnSync(process.execPath, [BIN, ...args, '--project', ROOT], { stdio: 'inherit', env: { ...process.env, SHOP_AS_OF: asOf } });
  return result.status ?? 1;
}

interface SyncResultLine {
  readonly sync: string;
  readonly destination: string;
  readonly type: string;
  readonly object: string;
  readonly mode: string;
  readonly status: string;
  readonly counts: { readonly added: number; readonly changed: number; readonly removed: number };
  readonly sent: number;
  readonly accepted: number;
  readonly rejected: number;
  readonly requests: number;
}

/** What happened, in words a marketer reads: read back from the warehouse and target/sync_results.json. */
async function summary(): Promise<void> {
  await withConnection(async (connection, schema) => {
    const d = connection.dialect;
    const t = (name: string, s = schema) => d.table({ schema: s, name });
    const built = async (name: string) => (await connection.columns({ schema, name })) !== undefined;
    const one = async (query: ReturnType<typeof sql>) => (await connection.query(query))[0] ?? {};
    const n = (v: unknown) => Number(v ?? 0).toLocaleString('en');
    const money = (v: unknown) => `€${Number(v ?? 0).toLocaleString('en', { maximumFractionDigits: 0 })}`;
    const line = (label: string, value: string) => console.log(`  ${label.padEnd(46, '.')} ${value.padStart(12)}`);

    console.log('\n━━ One customer per person');
    if (await built('people')) {
      const records = await one(sql`SELECT COUNT(*) AS n FROM ${t('people_map')}`);
      const people = await one(sql`SELECT COUNT(DISTINCT person_id) AS n FROM ${t('identity_truth', 'raw')}`);
      const customers = await one(sql`SELECT COUNT(*) AS n FROM ${t('people')}`);
      line('records in the e-shop, tills, CRM, newsletter', n(records['n']));
      line('customers after identity resolution', n(customers['n']));
      line('real people behind them (the generator knows)', n(people['n']));
    }

    if (await built('rfm')) {
      console.log('\n━━ RFM segments (customers who ordered in the last 24 months)');
      for (const row of await connection.query(sql`SELECT segment, COUNT(*) AS n, SUM(monetary) AS revenue FROM ${t('rfm')} GROUP BY segment ORDER BY COUNT(*) DESC`))
        line(String(row['segment']), `${n(row['n'])}  ${money(row['revenue']).padStart(10)}`);
    }

    if (await built('ltv')) {
      const ltv = await one(
        sql`SELECT quantile_cont(clv, 0.5) AS p50, quantile_cont(clv, 0.9) AS p90, quantile_cont(clv, 0.99) AS p99, SUM(clv) AS total, AVG(p_alive) AS alive FROM ${t('ltv')}`,
      );
      console.log('\n━━ Predicted value over the next 12 months (BG/NBD + Gamma-Gamma)');
      line('median customer', money(ltv['p50']));
      line('top 10 % start at', money(ltv['p90']));
      line('top 1 % start at', money(ltv['p99']));
      line('all customers together', money(ltv['total']));
      line('average chance a customer is still active', `${(Number(ltv['alive']) * 100).toFixed(0)} %`);
    }

    if (await built('audiences_report')) {
      console.log('\n━━ Audiences (members; held out to measure impact; left out without consent or by pressure)');
      for (const row of await connection.query(sql`SELECT * FROM ${t('audiences_report')} ORDER BY audience`))
        line(`${String(row['audience'])} (${String(row['channel'] ?? row['audience_channel'] ?? '')})`, `${n(row['members'])}  ${n(row['holdout']).padStart(5)} ${n(row['no_consent']).padStart(6)} ${n(row['capped']).padStart(5)}`);
    }

    if (await built('marketing_report')) {
      // The report model (models/report.yml), in brief: `tideline report` prints all of it, `--html` draws it.
      const report = await readReport(connection, d, 'marketing_report', reportTables({ schema, name: 'marketing_report' }));
      const headline = report.kpis.filter((k) => k.campaign === null && k.periodStart === null);
      // The value in the usual column, its status (against the thresholds of models/report.yml) after it.
      const kpi = (label: string, k: (typeof headline)[number]) => console.log(`  ${label.padEnd(46, '.')} ${formatValue(k.value, k.unit).padStart(12)}  ${k.status === 'bad' ? '! bad' : (k.status ?? '')}`);
      console.log('\n━━ Data quality (share of the customers)');
      for (const k of headline.filter((k) => k.channel === 'quality')) kpi(k.label, k);
      console.log('\n━━ Channel KPIs over the last 6 months (the report: `tideline report --project examples/shop`)');
      for (const k of headline.filter((k) => k.channel !== 'quality')) kpi(`${k.channel} ${k.label}`, k);
      // Uplift compares each audience's treated entrants with its holdout once their window has passed.
      if (report.uplift.length === 0) line('holdout uplift (abandoned_cart, second_purchase)', 'after 14 days');
      for (const u of report.uplift) {
        line(
          `uplift ${u.audience} / ${u.treatedGroup}`,
          u.treated + u.holdout === 0 ? `${n(u.pending)} entrants, window not over` : `${formatPoints(u.conversionUplift)}${u.tooSmall ? ' (too small)' : ''}`,
        );
      }
    }
  });

  await predictedValueCheck();
  await eventDeliveries();

  const resultsFile = join(ROOT, 'target', 'sync_results.json');
  if (!existsSync(resultsFile)) return;
  const results = JSON.parse(readFileSync(resultsFile, 'utf8')) as { sandbox: boolean; results: SyncResultLine[] };
  console.log(`\n━━ What each destination received${results.sandbox ? ' (local emulators: tideline sync --sandbox)' : ''}`);
  for (const r of results.results) {
    const what =
      r.status === 'failed'
        ? 'FAILED: see the log above'
        : r.sent === 0
          ? 'nothing new to send'
          : `${r.accepted.toLocaleString('en')} accepted${r.rejected ? `, ${r.rejected.toLocaleString('en')} refused` : ''} in ${r.requests} requests`;
    console.log(`  ${`${r.sync} → ${r.destination} (${r.type}) ${r.object}`.padEnd(70)} ${what}`);
  }
  if (results.results.some((r) => r.status === 'failed')) console.log('\n  Some syncs failed: `tideline status` and the log above say why.');
  else if (results.results.every((r) => r.sent === 0)) console.log('\n  Nothing changed since the last sync, so nothing was sent again.');
  else console.log('\n  Run `npm run example` again: only what changed is sent — here, nothing.');
}

/**
 * The predicted-value conversions, checked end to end: what the Google emulator saved at the end of the sandbox
 * session (target/sandbox/google_ads/) against the customers the sync selects in the warehouse. A difference sets a
 * failing exit code.
 */
async function predictedValueCheck(): Promise<void> {
  const saved = join(ROOT, 'target', 'sandbox', 'google_ads', 'emulator-state.json');
  if (!existsSync(saved)) return;
  const state = JSON.parse(readFileSync(saved, 'utf8')) as { state?: { objects?: Record<string, Record<string, { conversionValue?: number; currency?: string }>> } };
  const held = Object.values(state.state?.objects?.['conversion_actions/601'] ?? {});
  const expected = await withConnection(async (connection, schema) => {
    const d = connection.dialect;
    const [row] = await connection.query(
      // The complainers of the last 14 days are suppressed on ads too (tideline.yml `suppressions:`), written out here.
      // Google drops conversions older than 90 days when it receives them (so does its emulator): those of the last 89
      // days before today are kept.
      sql`SELECT COUNT(*) AS n, SUM(ROUND(predicted_clv, 2)) AS total FROM ${d.table({ schema, name: 'customer_profile' })}
          WHERE consent_ads AND predicted_clv IS NOT NULL AND last_order_date IS NOT NULL AND email IS NOT NULL
            AND last_order_date >= ${d.dateAdd(d.cast(d.literal(new Date().toISOString().slice(0, 10)), 'date'), d.literal(-89), 'day', 'date')}
            AND customer_id NOT IN (SELECT customer_id FROM ${d.table({ schema, name: 'ticket_facts' })}
                                    WHERE type = 'complaint' AND CAST(created_at AS DATE) > ${d.dateAdd(d.cast(d.literal(asOf), 'date'), d.literal(-14), 'day', 'date')})`,
    );
    return { n: Number(row?.['n'] ?? 0), total: Number(row?.['total'] ?? 0) };
  });
  const total = held.reduce((sum, c) => sum + (c.conversionValue ?? 0), 0);
  const line = (label: string, value: string) => console.log(`  ${label.padEnd(46, '.')} ${value.padStart(12)}`);
  console.log('\n━━ Predicted value sent to Google Ads as conversion value (Data Manager API, in the sandbox)');
  line('ads consent, not suppressed, last 90 days', expected.n.toLocaleString('en'));
  line('conversions the Google emulator holds', held.length.toLocaleString('en'));
  line('their value', `€${total.toLocaleString('en', { maximumFractionDigits: 0 })}`);
  const same = held.length === expected.n && Math.abs(total - expected.total) < 0.01 * Math.max(1, held.length) && held.every((c) => c.currency === 'EUR');
  if (!same) {
    console.log('  MISMATCH: the emulator does not hold one conversion per eligible customer with its predicted value');
    process.exitCode = 1;
  }
}

/**
 * What the event syncs (syncs/events.yml) delivered over every sandbox run, as `tideline report --sandbox` counts it
 * from the sandbox state's sync_runs: a second run adds runs, not events.
 */
async function eventDeliveries(): Promise<void> {
  const project = await loadProject({ projectDir: ROOT, env: { ...process.env, SHOP_AS_OF: asOf } });
  const syncs = deliverySyncs({ modes: ['events'] }, [...project.syncs.values()].map((s) => ({ name: s.name, mode: s.mode })));
  if (syncs.length === 0) return;
  const connection = await openTarget(project.target.config, { root: ROOT });
  try {
    const rows = await readDeliveries(connection, project.target.dialect, sandboxStateSchema(project), syncs);
    console.log('\n━━ Events delivered per event sync, over every sandbox run (`tideline report --sandbox`)');
    for (const r of rows) {
      const tooOld = r.tooOld ? `, ${r.tooOld.toLocaleString('en')} too old` : '';
      console.log(`  ${`${r.sync} (${r.runs} run${r.runs === 1 ? '' : 's'})`.padEnd(46, '.')} ${`${r.accepted.toLocaleString('en')} accepted`.padStart(14)}${r.rejected ? `, ${r.rejected.toLocaleString('en')} refused` : ''}${tooOld}`);
    }
  } finally {
    await connection.close();
  }
}

const customers = option('customers', DEFAULT_SHOP.customers);
const seed = option('seed', DEFAULT_SHOP.seed);
asOf = await ensureData(customers, seed, process.argv.includes('--regenerate'));
// Build every model, show what each sync would send, then send it to local emulators of the destinations.
const status = tideline('run') || tideline('plan') || tideline('sync', '--sandbox');
await summary();
process.exitCode = status || process.exitCode;
