import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { sql } from '../../src/dialects/sql.js';
import { loadProject } from '../../src/project/loader.js';
import type { Connection } from '../../src/warehouses/connection.js';
import { openTarget } from '../../src/warehouses/registry.js';
import { DEFAULT_SHOP, generateShop, GENERATOR_VERSION } from './generate.js';

/**
 * `npm run example`: generates the shop's data into its embedded DuckDB if it is not there yet, runs
 * `tideline run` on the project, and prints what happened in words a marketer reads.
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

async function summary(): Promise<void> {
  await withConnection(async (connection, schema) => {
    const d = connection.dialect;
    const count = async (schemaName: string, table: string) => {
      if (!(await connection.columns({ schema: schemaName, name: table }))) return undefined;
      const rows = await connection.query(sql`SELECT COUNT(*) AS n FROM ${d.table({ schema: schemaName, name: table })}`);
      return Number(rows[0]!['n']);
    };
    const line = (label: string, value: number | undefined) => console.log(`  ${label.padEnd(44, '.')} ${value === undefined ? 'not built' : value.toLocaleString('en').padStart(10)}`);
    console.log('\nWhat the shop holds');
    line('e-shop accounts', await count('raw', 'eshop_accounts'));
    line('loyalty cards', await count('raw', 'loyalty_cards'));
    line('newsletter sign-ups', await count('raw', 'newsletter_signups'));
    line('CRM contacts', await count('raw', 'crm_contacts'));
    line('orders (all channels)', await count('raw', 'orders'));
    line('e-mail events', await count('raw', 'email_events'));
    console.log('\nWhat Tideline built');
    line('e-shop customers, cleaned', await count(schema, 'eshop_customers'));
    line('loyalty members, one per card', await count(schema, 'loyalty_members'));
    line('newsletter subscribers, one per e-mail', await count(schema, 'newsletter_subscribers'));
    line('completed orders', await count(schema, 'completed_orders'));
  });
}

const customers = option('customers', DEFAULT_SHOP.customers);
const seed = option('seed', DEFAULT_SHOP.seed);
asOf = await ensureData(customers, seed, process.argv.includes('--regenerate'));
const status = tideline('run');
await summary();
process.exitCode = status;
