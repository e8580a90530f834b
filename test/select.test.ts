import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { loadProject, type Project } from '../src/project/loader.js';
import { ConfigError } from '../src/project/problems.js';
import { selectModels, selectSyncs, type Selection } from '../src/project/select.js';
import { tempProject } from './support/cli.js';
import { tidelineInProcess } from './support/in-process.js';

// raw_people → people → buyers ─┐
// raw_orders → orders ──────────┴→ buyer_orders (sql: reads buyers and orders)
// raw_orders → refunds
// syncs: people_crm (people → crm), buyers_crm (buyers → crm), buyers_ads (buyers → ads), orders_ads (buyer_orders → ads)
const FILES = {
  'tideline.yml': 'name: shop\n',
  'data/people.csv': 'id,email\n1,a@x.org\n',
  'data/orders.csv': 'id,customer_id,amount\n1,1,10\n',
  'models/m.yml': `sources:
  - { name: raw_people, file: data/people.csv }
  - { name: raw_orders, file: data/orders.csv, tags: [shop] }
models:
  - { name: people, kind: staging, from: raw_people, tags: [nightly] }
  - { name: buyers, kind: staging, from: people, tags: [nightly] }
  - { name: orders, kind: staging, from: raw_orders }
  - { name: refunds, kind: staging, from: raw_orders, tags: [finance] }
  - name: buyer_orders
    kind: sql
    sql: "SELECT b.id, o.amount FROM {{ ref('buyers') }} b JOIN {{ ref('orders') }} o ON o.customer_id = b.id"
    columns: { id: string, amount: integer }
`,
  'syncs/s.yml': `destinations:
  - { name: crm, type: webhook, url: 'http://127.0.0.1:9/crm' }
  - { name: ads, type: webhook, url: 'http://127.0.0.1:9/ads' }
syncs:
  - { name: people_crm, model: people, destination: crm, object: contacts, mode: mirror, key: { from: id, field: id }, tags: [crm] }
  - { name: buyers_crm, model: buyers, destination: crm, object: contacts, mode: mirror, key: { from: id, field: id }, tags: [crm, nightly] }
  - { name: buyers_ads, model: buyers, destination: ads, object: contacts, mode: mirror, key: { from: id, field: id } }
  - { name: orders_ads, model: buyer_orders, destination: ads, object: orders, mode: mirror, key: { from: id, field: id } }
`,
};

let project: Project;
beforeAll(async () => {
  project = await loadProject({ projectDir: tempProject(FILES) });
});

const models = (selection: Selection | string[]) => selectModels(project, selection);
const syncs = (selection: Selection | string[]) => selectSyncs(project, selection).map((s) => s.name);
const problems = (fn: () => unknown): string[] => {
  try {
    fn();
  } catch (error) {
    if (error instanceof ConfigError) return error.problems.map((p) => p.message);
    throw error;
  }
  throw new Error('no ConfigError');
};

describe('selection of models (run, compile)', () => {
  it('keeps build order, with every model when nothing is selected', () => {
    expect(models([])).toEqual(project.order);
    expect(models(['buyer_orders', 'people'])).toEqual(project.order.filter((m) => m === 'people' || m === 'buyer_orders'));
  });

  it('+name adds ancestors, name+ descendants, N limits generations', () => {
    expect(new Set(models(['+buyer_orders']))).toEqual(new Set(['people', 'buyers', 'orders', 'buyer_orders']));
    expect(new Set(models(['1+buyer_orders']))).toEqual(new Set(['buyers', 'orders', 'buyer_orders']));
    expect(new Set(models(['people+']))).toEqual(new Set(['people', 'buyers', 'buyer_orders']));
    expect(new Set(models(['people+1']))).toEqual(new Set(['people', 'buyers']));
  });

  it('@name adds its descendants and everything they read', () => {
    // people+ is people, buyers, buyer_orders; buyer_orders also reads orders, which @ brings in (not refunds).
    expect(new Set(models(['@people']))).toEqual(new Set(['people', 'buyers', 'orders', 'buyer_orders']));
  });

  it('selects by tag, kind, source and wildcard; commas intersect, spaces unite', () => {
    expect(models(['tag:nightly'])).toEqual(['people', 'buyers']);
    expect(models(['kind:sql'])).toEqual(['buyer_orders']);
    expect(new Set(models(['source:raw_orders+']))).toEqual(new Set(['orders', 'refunds', 'buyer_orders']));
    expect(new Set(models(['tag:shop+']))).toEqual(new Set(['orders', 'refunds', 'buyer_orders']));
    expect(new Set(models(['buy*']))).toEqual(new Set(['buyers', 'buyer_orders']));
    expect(models(['tag:nightly,+buyer_orders'])).toEqual(models(['tag:nightly']));
    expect(new Set(models(['source:raw_orders+,kind:staging']))).toEqual(new Set(['orders', 'refunds']));
    expect(new Set(models(['people refunds']))).toEqual(new Set(['people', 'refunds']));
  });

  it('a comma-joined selector that selects nothing says a comma now means both, and gives the spaced form', () => {
    expect(problems(() => models(['people,refunds']))).toEqual([
      '--select: "people,refunds" selects no model (a comma selects what matches every part, as in dbt: separate selectors with a space to select what matches any: people refunds)',
    ]);
  });

  it('--exclude removes its selection, alone or after --select', () => {
    expect(new Set(models({ exclude: ['people+'] }))).toEqual(new Set(['orders', 'refunds']));
    expect(new Set(models({ select: ['+buyer_orders'], exclude: ['orders', 'tag:nightly'] }))).toEqual(new Set(['buyer_orders']));
    expect(models({ select: ['people'], exclude: ['people'] })).toEqual([]);
  });

  it('+sync selects the models a sync reads (as dbt selects what an exposure needs)', () => {
    expect(new Set(models(['+orders_ads']))).toEqual(new Set(['people', 'buyers', 'orders', 'buyer_orders']));
  });

  it('reports every unknown name at once, with the closest one', () => {
    expect(problems(() => models({ select: ['peple', 'tag:nigthly'], exclude: ['model:refund'] }))).toEqual([
      '--select: no model or sync matches "peple" (did you mean "people"?)',
      '--select: no node with tag matches "tag:nigthly" (did you mean "nightly"?)',
      '--exclude: no model matches "model:refund" (did you mean "refunds"?)',
    ]);
    expect(problems(() => models(['path:models/x']))).toEqual(['--select: "path:models/x": unknown selector method "path:" (model:, sync:, source:, tag:, kind:, destination:)']);
    expect(problems(() => models(['@people+']))).toEqual(['--select: "@people+": @ already adds the descendants; it does not combine with +']);
    expect(problems(() => models(['+']))).toEqual(['--select: "+": nothing to select']);
    expect(problems(() => models(['buyers_ads']))).toEqual(['--select: "buyers_ads" selects no model (it names a sync: `+buyers_ads` selects the models it reads)']);
  });
});

describe('selection of syncs (plan, sync): the same grammar', () => {
  it('selects syncs by name, tag, destination and model', () => {
    expect(syncs([])).toEqual(['people_crm', 'buyers_crm', 'buyers_ads', 'orders_ads']);
    expect(syncs(['buyers_ads'])).toEqual(['buyers_ads']);
    expect(syncs(['tag:crm'])).toEqual(['people_crm', 'buyers_crm']);
    expect(syncs(['destination:ads'])).toEqual(['buyers_ads', 'orders_ads']);
    expect(syncs(['model:buyers'])).toEqual(['buyers_crm', 'buyers_ads']);
    expect(syncs(['sync:*_crm'])).toEqual(['people_crm', 'buyers_crm']);
  });

  it('reaches syncs through the models: name+, @name, source:NAME+', () => {
    expect(syncs(['buyers+'])).toEqual(['buyers_crm', 'buyers_ads', 'orders_ads']);
    expect(syncs(['orders+'])).toEqual(['orders_ads']);
    expect(syncs(['source:raw_people+'])).toEqual(['people_crm', 'buyers_crm', 'buyers_ads', 'orders_ads']);
    // tag:nightly is people, buyers and buyers_crm; their descendants' syncs are every sync but none of refunds.
    expect(syncs(['tag:nightly+'])).toEqual(['people_crm', 'buyers_crm', 'buyers_ads', 'orders_ads']);
    expect(syncs(['tag:nightly'])).toEqual(['buyers_crm']);
  });

  it('intersects and excludes', () => {
    expect(syncs(['destination:ads,buyers+'])).toEqual(['buyers_ads', 'orders_ads']);
    expect(syncs({ select: ['buyers+'], exclude: ['destination:crm'] })).toEqual(['buyers_ads', 'orders_ads']);
    expect(syncs({ exclude: ['model:buyers', 'orders_ads'] })).toEqual(['people_crm']);
  });

  it('a model name alone selects no sync, and says how to', () => {
    expect(problems(() => syncs(['buyers']))).toEqual([
      '--select: "buyers" selects no sync (it names a model: `model:buyers` selects the syncs that read it, `buyers+` those of its descendants too)',
    ]);
    expect(problems(() => syncs(['destination:adz']))).toEqual(['--select: no node with destination matches "destination:adz" (did you mean "ads"?)']);
  });
});

describe('--select and --exclude on the command line', () => {
  it('run builds the selection less the exclusion; plan and sync take the same grammar', async () => {
    const root = tempProject(FILES);
    const run = await tidelineInProcess(['--project', root, '--log-format', 'json', 'run', '--select', 'source:raw_orders+', '--exclude', 'kind:sql']);
    expect(run.code).toBe(0);
    const results = JSON.parse(readFileSync(join(root, 'target', 'tideline_run_results.json'), 'utf8')) as { results: { model: string }[] };
    expect(results.results.map((r) => r.model).sort()).toEqual(['orders', 'refunds']);

    expect((await tidelineInProcess(['--project', root, '--log-format', 'json', 'run'])).code).toBe(0);
    const plan = await tidelineInProcess(['--project', root, '--log-format', 'json', 'plan', '--json', '--select', 'buyers+', '--exclude', 'destination:crm']);
    expect(plan.code).toBe(0);
    expect(plan.stdout.trim().split('\n').map((line) => (JSON.parse(line) as { sync: string }).sync)).toEqual(['buyers_ads', 'orders_ads']);

    const wrong = await tidelineInProcess(['--project', root, '--log-format', 'json', 'sync', '--dry-run', '--select', 'buyers']);
    expect(wrong.code).toBe(2);
    expect(wrong.stderr).toContain('`model:buyers` selects the syncs that read it');
  });
});
