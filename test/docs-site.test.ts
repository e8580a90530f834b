import { cpSync, existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium, type BrowserContext, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sql } from '../src/dialects/sql.js';
import { destinationId } from '../src/docs/lineage.js';
import type { Manifest, RunResults } from '../src/docs/manifest.js';
import { renderSite } from '../src/docs/site.js';
import { loadProject, owningModel, type Project } from '../src/project/loader.js';
import type { SyncDef } from '../src/sync/load.js';
import { openTarget } from '../src/warehouses/registry.js';
import { tempProject } from './support/cli.js';
import { tidelineInProcess } from './support/in-process.js';

/**
 * `tideline docs`: the site generated for the example shop and for a small project, opened from file:// in
 * headless Chromium. The lineage graph drawn in the page is compared with the dependency graph of the loaded project
 * (its models' inputs and its syncs), computed here without the manifest; the last run's figures with the
 * warehouse's own counts.
 */

const ROOT = join(import.meta.dirname, '..');
const EXECUTABLE = '/usr/bin/chromium';
const available = existsSync(EXECUTABLE);
const required = process.env['TIDELINE_REQUIRE_CHROMIUM'] === '1';
if (!available && !required) console.warn(`[tideline tests] WARNING: ${EXECUTABLE} not found — the docs site browser tests are SKIPPED (TIDELINE_REQUIRE_CHROMIUM=1 makes this a failure)`);

const PEOPLE = 'id,email,orders\n1,ada@example.org,3\n2,bob@example.net,0\n3,cy@example.com,7\n4,dee@example.com,1\n';
const HOSTILE = 'Everyone, cleaned. <script>window.__pwned = 1</script><img src=x onerror="window.__pwned = 2"> & "more"';
const SMALL_MODELS = `sources:
  - name: raw_people
    file: data/people.csv
    description: People as the shop exports them
models:
  - name: people
    kind: staging
    from: raw_people
    description: '${HOSTILE.replace(/'/g, "''")}'
    tags: [core]
    columns:
      customer_id: { from: id, type: string }
      email: { from: email, clean: [trim, lower] }
      orders: { from: orders, type: integer }
  - name: buyers
    kind: sql
    description: People with at least one order
    sql: SELECT customer_id, email FROM {{ ref('people') }} WHERE orders > 0
    columns: { customer_id: string, email: string }
`;
const SMALL_SYNCS = `destinations:
  - { name: exports, type: file, path: exports, format: csv }
syncs:
  - name: buyers_file
    model: buyers
    destination: exports
    object: buyers
    mode: upsert
    key: { from: customer_id, field: customer_id }
    fields: { email: email }
`;

/**
 * What a sync reads beyond its model, from the project's policies as the sync engine applies them (computed here
 * from the definitions, not by Tideline's own helper): the suppression rules on its channel (every channel but crm
 * when a rule names none) unless `suppress: false`, the preferences when they apply to it, the consent when it needs
 * purposes, and the delivered messages of the pressure policy for an events sync whose events are messages.
 */
function policyInputs(project: Project, sync: SyncDef): string[] {
  const { policies, pressure } = project;
  const inputs: string[] = [];
  if (sync.channel !== undefined && sync.suppress) {
    for (const rule of policies.suppressions) if (rule.channels === undefined ? sync.channel !== 'crm' : rule.channels.includes(sync.channel)) inputs.push(rule.from);
  }
  if (sync.channel !== undefined && sync.preferences && policies.preferences) inputs.push(policies.preferences.from);
  if (sync.purposes.length && policies.consent) inputs.push(policies.consent.from);
  const messaging = sync.messages && sync.messageType !== undefined && ['email', 'sms', 'phone', 'push', 'mail'].includes(sync.channel ?? '');
  if (sync.mode === 'events' && pressure && messaging) inputs.push(...pressure.delivered.map((d) => d.from));
  return inputs;
}

/**
 * The project's graph from its definitions: each model's inputs (a companion table standing for its model), each
 * sync's model, the relations its contact policies read, and its destination object.
 */
function projectEdges(project: Project): { nodes: string[]; edges: string[] } {
  const p = project.name;
  const source = (name: string) => `source.${p}.${p}.${name}`;
  const model = (name: string) => `model.${p}.${name}`;
  const sync = (name: string) => `exposure.${p}.${name}`;
  const nodes = new Set<string>([...project.sources.keys()].map(source));
  const edges = new Set<string>();
  for (const m of project.models.values()) {
    nodes.add(model(m.name));
    for (const input of m.inputs) edges.add(`${project.sources.has(input.relation) ? source(input.relation) : model(owningModel(project, input.relation)!)} -> ${model(m.name)}`);
  }
  for (const s of project.syncs.values()) {
    const object = destinationId(s.destination.name, s.object);
    nodes.add(sync(s.name)).add(object);
    edges.add(`${model(s.model)} -> ${sync(s.name)}`).add(`${sync(s.name)} -> ${object}`);
    for (const input of policyInputs(project, s)) edges.add(`${project.sources.has(input) ? source(input) : model(owningModel(project, input)!)} -> ${sync(s.name)}`);
  }
  return { nodes: [...nodes].sort(), edges: [...edges].sort() };
}

/** What the page draws: the ids of the graph's nodes and the ends of its edges. */
async function drawnGraph(page: Page): Promise<{ nodes: string[]; edges: string[] }> {
  return (await page.evaluate(`({
    nodes: [...document.querySelectorAll('#lineage g.node')].map((g) => g.getAttribute('data-id')).sort(),
    edges: [...document.querySelectorAll('#lineage path.edge')].map((e) => e.getAttribute('data-from') + ' -> ' + e.getAttribute('data-to')).sort(),
  })`)) as { nodes: string[]; edges: string[] };
}

/** Runs in the page (plain JavaScript): the ids of the graph's nodes with a class, sorted. */
const graphNodesWith = (page: Page, className: string) =>
  page.evaluate(`[...document.querySelectorAll('#lineage g.node.${className}')].map((g) => g.getAttribute('data-id')).sort()`) as Promise<string[]>;

/** Runs in the page: the cells of the body rows of the visible page's table of this class, trimmed. */
async function cells(page: Page, table: string): Promise<string[][]> {
  const selector = JSON.stringify(`section.page:not([hidden]) table.${table} tbody tr`);
  return (await page.evaluate(`[...document.querySelectorAll(${selector})].map((tr) => [...tr.querySelectorAll('td')].map((td) => td.textContent.trim()))`)) as string[][];
}

/** Runs in the page: the terms and definitions of the visible page's list of this class. */
async function definitions(page: Page, list: string): Promise<Record<string, string>> {
  const selector = JSON.stringify(`section.page:not([hidden]) dl.${list} dt`);
  return (await page.evaluate(`Object.fromEntries([...document.querySelectorAll(${selector})].map((dt) => [dt.textContent, dt.nextElementSibling.textContent.trim()]))`)) as Record<string, string>;
}

/** Clicks what `selector` names and waits until the page of `id` is the one shown. */
async function click(page: Page, selector: string, id: string): Promise<void> {
  await page.locator(selector).first().click();
  await page.locator(`section.page[data-id="${id}"]:not([hidden])`).waitFor();
}

/** The text of the page shown (one section is visible at a time). */
const visiblePage = (page: Page) => page.locator('section.page:not([hidden])');

describe.runIf(available || required)('tideline docs in headless Chromium', () => {
  let context: BrowserContext;
  let problems: string[];
  let small: string;
  const out = mkdtempSync(join(tmpdir(), 'tideline-docs-'));

  async function open(file: string, fragment = ''): Promise<Page> {
    const page = await context.newPage();
    page.on('console', (message) => {
      if (message.type() === 'error' || message.type() === 'warning') problems.push(`${message.type()}: ${message.text()}`);
    });
    page.on('pageerror', (error) => problems.push(`page error: ${error.message}`));
    page.on('request', (request) => {
      if (!request.url().startsWith('file:')) problems.push(`request: ${request.url()}`);
    });
    await page.goto(`file://${file}${fragment}`);
    await page.waitForFunction('window.__tidelineDocs === true');
    return page;
  }

  beforeAll(async () => {
    if (!available) throw new Error(`TIDELINE_REQUIRE_CHROMIUM=1 but ${EXECUTABLE} is missing: install Debian's chromium`);
    context = await chromium.launchPersistentContext(join(out, 'profile'), {
      executablePath: EXECUTABLE,
      headless: true,
      viewport: { width: 1280, height: 900 },
      args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
    });
    small = tempProject({ 'tideline.yml': 'name: docs\n', 'data/people.csv': PEOPLE, 'models/m.yml': SMALL_MODELS, 'syncs/s.yml': SMALL_SYNCS });
  });
  afterAll(async () => context?.close());

  it('draws the example shop\'s lineage — every source, model, sync and destination object, every dependency — with no warehouse', async () => {
    problems = [];
    const site = join(out, 'shop');
    const generated = await tidelineInProcess(['--project', join(ROOT, 'examples/shop'), '--log-format', 'json', 'docs', 'generate', '--offline', '--out', site]);
    expect(generated.code, generated.stderr).toBe(0);
    const page = await open(join(site, 'index.html'));
    const project = await loadProject({ projectDir: join(ROOT, 'examples/shop') });
    const expected = projectEdges(project);
    expect(expected.nodes.filter((n) => n.startsWith('exposure.'))).toHaveLength(project.syncs.size);
    expect(await drawnGraph(page)).toEqual(expected);
    // Each node is a link to its page, and the page lists what the node reads.
    await click(page, '#lineage g.node[data-id="model.shop.customers"]', 'model.shop.customers');
    await expect.poll(() => page.evaluate('decodeURIComponent(location.hash)')).toBe('#model.shop.customers');
    const reads = await visiblePage(page).locator('ul.reads a').allTextContents();
    expect(reads.sort()).toEqual(project.models.get('customers')!.inputs.map((i) => owningModel(project, i.relation) ?? i.relation).filter((v, i, a) => a.indexOf(v) === i).sort());
    // The graph lights the node's ancestors and descendants only.
    const lit = await graphNodesWith(page, 'lit');
    expect(lit).toContain('model.shop.customer_profile');
    expect(lit).toContain('source.shop.shop.orders');
    expect(lit).not.toContain('source.shop.shop.web_events');
    // An audience sync: its page and its node's second line name the audience it sends.
    const audienceSync = [...project.syncs.values()].find((s) => s.audience !== undefined)!;
    const syncId = `exposure.shop.${audienceSync.name}`;
    await click(page, `#nav a[data-id="${syncId}"]`, syncId);
    expect(await definitions(page, 'details')).toMatchObject({ mode: 'audience', audience: audienceSync.audience!.name });
    expect(await page.locator(`#lineage g.node[data-id="${syncId}"] text.detail`).textContent()).toBe(`sync · audience · ${audienceSync.audience!.name}`);
    // A destination object is named by its destination and object.
    const objectId = destinationId(audienceSync.destination.name, audienceSync.object);
    expect(await page.locator(`#nav a[data-id="${objectId}"]`).textContent()).toBe(`${audienceSync.destination.name} · ${audienceSync.object}`);
    expect(problems).toEqual([]);
  });

  it('draws the structure before the first load: `docs` without --offline warns once of the missing tables and exits 0', async () => {
    problems = [];
    // The example shop's definitions, without any warehouse or target a local `npm run example` left there.
    const root = tempProject({});
    cpSync(join(ROOT, 'examples/shop'), root, { recursive: true, filter: (path) => !/[/\\](\.tideline|target)$/.test(path) });
    const generated = await tidelineInProcess(['--project', root, '--log-format', 'json', 'docs']);
    expect(generated.code, generated.stderr).toBe(0);
    const lines = generated.stderr.trim().split('\n').map((line) => JSON.parse(line) as { level: string; msg: string; missing?: string[] });
    const warnings = lines.filter((l) => l.level === 'warn' || l.level === 'error');
    expect(warnings).toHaveLength(1);
    const project = await loadProject({ projectDir: root });
    const tables = [...project.sources.values()].filter((s) => s.table).map((s) => [s.table!.catalog, s.table!.schema, s.table!.name].filter(Boolean).join('.'));
    expect(warnings[0]!.missing!.sort()).toEqual(tables.sort());
    expect(warnings[0]!.msg).toContain('--offline');
    const page = await open(join(root, 'target/docs/index.html'));
    expect(await drawnGraph(page)).toEqual(projectEdges(project));
    expect(problems).toEqual([]);
  });

  it('shows a model\'s description as text, its columns, search, and the last run\'s figures after `tideline run` and `tideline sync`', async () => {
    problems = [];
    const before = await tidelineInProcess(['--project', small, '--log-format', 'json', 'docs', '--offline']);
    expect(before.code, before.stderr).toBe(0);
    expect(JSON.parse(before.stderr.trim().split('\n').at(-1)!).msg).toContain(`open file://${join(small, 'target/docs/index.html')}`);
    let page = await open(join(small, 'target/docs/index.html'));
    expect(await visiblePage(page).textContent()).toContain('No run results in target/');

    expect((await tidelineInProcess(['--project', small, '--log-format', 'json', 'run'])).code).toBe(0);
    expect((await tidelineInProcess(['--project', small, '--log-format', 'json', 'sync'])).code).toBe(0);
    const after = await tidelineInProcess(['--project', small, '--log-format', 'json', 'docs']);
    expect(after.code, after.stderr).toBe(0);
    const html = readFileSync(join(small, 'target/docs/index.html'), 'utf8');
    // Structure and figures only: no value of a row.
    for (const value of ['ada@example.org', 'bob@example.net', 'cy@example.com', 'dee@example.com']) expect(html).not.toContain(value);

    // The warehouse's own answer: rows and columns of the tables built.
    const connection = await openTarget({ type: 'duckdb', path: '.tideline/warehouse.duckdb' }, { root: small, readOnly: true });
    let counts: Record<string, number>;
    let peopleColumns: string[];
    try {
      const [row] = await connection.query(sql`SELECT (SELECT COUNT(*) FROM tideline.people) AS people, (SELECT COUNT(*) FROM tideline.buyers) AS buyers`);
      counts = { people: Number(row!['people']), buyers: Number(row!['buyers']) };
      peopleColumns = (await connection.columns({ schema: 'tideline', name: 'people' }))!.map((c) => c.name);
    } finally {
      await connection.close();
    }
    expect(counts).toEqual({ people: 4, buyers: 3 });

    await page.close();
    page = await open(join(small, 'target/docs/index.html'));
    expect(await drawnGraph(page)).toEqual(projectEdges(await loadProject({ projectDir: small })));
    // Overview: a row per model with its last run.
    const rows = await cells(page, 'models');
    expect(rows.map((r) => [r[0], r[2], r[3]])).toEqual([['buyers', 'success', String(counts.buyers)], ['people', 'success', String(counts.people)]]);

    // Clicking a model in the graph shows its page: the description as text, its columns, its last run.
    await click(page, '#lineage g.node[data-id="model.docs.people"]', 'model.docs.people');
    const shown = visiblePage(page);
    expect(await shown.locator('h2').textContent()).toContain('people');
    expect(await shown.locator('.description').textContent()).toBe(HOSTILE);
    expect(await page.evaluate('typeof window.__pwned')).toBe('undefined');
    expect(await page.locator('img').count()).toBe(0);
    expect((await cells(page, 'columns')).map((row) => row[0])).toEqual(peopleColumns);
    expect(await definitions(page, 'last-run')).toMatchObject({ status: 'success', rows: String(counts.people) });

    // The sync's page: what it sent, and the destination object it writes to.
    await click(page, '#lineage g.node[data-id="exposure.docs.buyers_file"]', 'exposure.docs.buyers_file');
    expect(await definitions(page, 'last-run')).toMatchObject({ status: 'success', changes: `added ${counts.buyers}`, records: `${counts.buyers} sent, ${counts.buyers} accepted, 0 rejected` });
    expect(await visiblePage(page).locator('ul.read-by a').allTextContents()).toEqual(['exports · buyers']);

    // Search filters the list and fades the graph's other nodes.
    await page.locator('#search').fill('buyers');
    const listed = await page.locator('#nav li:not([hidden]) a').allTextContents();
    expect(listed.map((t) => t.trim()).sort()).toEqual(['buyers', 'buyers_file', 'exports · buyers']);
    const missed = await graphNodesWith(page, 'miss');
    expect(missed).toEqual(['model.docs.people', 'source.docs.docs.raw_people']);
    await page.locator('#search').fill('email');
    expect((await page.locator('#nav li:not([hidden]) a').allTextContents()).map((t) => t.trim()).sort()).toEqual(['buyers', 'people', 'raw_people']);
    expect(await page.locator('#matches').textContent()).toBe('3 matches');
    // The graph's matches are the list's (a column name matches its node), and a group with no match is hidden.
    expect(await graphNodesWith(page, 'miss')).toEqual(['destination.exports.buyers', 'exposure.docs.buyers_file']);
    expect(await page.locator('#nav .group:not([hidden]) h3').allTextContents()).toEqual(['Sources 1', 'Models 2']);

    expect(problems).toEqual([]);
    await page.screenshot({ path: join(out, 'small.png'), fullPage: true });
  });

  it('renders whatever nodes dbt\'s manifest shape holds: tests on the node they test, a source\'s meta', async () => {
    problems = [];
    // The small project's manifest, with a data test and a source naming a dbt model added as dbt writes them.
    const manifest = JSON.parse(readFileSync(join(small, 'target/manifest.json'), 'utf8')) as { nodes: Record<string, unknown>; sources: Record<string, Record<string, unknown>> };
    const testId = 'test.docs.not_null_people_email.5f1a';
    manifest.nodes[testId] = {
      unique_id: testId,
      resource_type: 'test',
      name: 'not_null_people_email',
      description: '',
      attached_node: 'model.docs.people',
      column_name: 'email',
      test_metadata: { name: 'not_null', kwargs: { column_name: 'email', model: "{{ get_where_subquery(ref('people')) }}" }, namespace: null },
      depends_on: { nodes: ['model.docs.people'], macros: [] },
      config: { enabled: true, severity: 'ERROR' },
      tags: [],
    };
    manifest.sources['source.docs.docs.raw_people']!['meta'] = { owner: 'data team', tideline: { dbt: { model: 'stg_orders', manifest: '../dbt/target/manifest.json' } } };
    const runResults: RunResults = { metadata: { generated_at: '2026-12-07T10:00:00Z' }, results: [{ unique_id: testId, status: 'fail', failures: 2, execution_time: 0.1, message: 'Got 2 results, configured to fail if != 0' }] };
    const file = join(out, 'fixture.html');
    writeFileSync(file, renderSite({ manifest: manifest as unknown as Manifest, runResults }));

    const page = await open(file, `#${encodeURIComponent('model.docs.people')}`);
    const tests = await cells(page, 'tests');
    expect(tests).toEqual([['not_null_people_email', 'email', 'not_null', 'fail', '2']]);
    expect((await cells(page, 'columns')).find((row) => row[0] === 'email')?.[3]).toBe('not_null');
    // Tests hang off their node's page, not in the lineage graph.
    expect(await page.locator(`#lineage g.node[data-id="${testId}"]`).count()).toBe(0);
    await click(page, 'section.page:not([hidden]) a:text("not_null_people_email")', testId);
    expect(await definitions(page, 'details')).toMatchObject({ 'tested node': 'people', column: 'email', test: 'not_null', arguments: '{"column_name":"email"}' });
    expect(await definitions(page, 'last-run')).toMatchObject({ status: 'fail', failures: '2', message: 'Got 2 results, configured to fail if != 0' });

    await click(page, '#nav a[data-id="source.docs.docs.raw_people"]', 'source.docs.docs.raw_people');
    const meta = JSON.parse((await visiblePage(page).locator('pre.meta').textContent())!) as unknown;
    expect(meta).toEqual({ owner: 'data team', tideline: { dbt: { model: 'stg_orders', manifest: '../dbt/target/manifest.json' } } });
    // What the details show already is not repeated: a model's kind.
    await click(page, '#nav a[data-id="model.docs.people"]', 'model.docs.people');
    expect(await visiblePage(page).locator('pre.meta').count()).toBe(0);
    expect(problems).toEqual([]);
  });

  it('escapes every field of the artifacts: names, ids, tags, columns, meta, tests, run and sync messages, destinations', async () => {
    problems = [];
    // Each field a payload that would open elements, close the ones around it or start a comment, with its own marker.
    const markers: string[] = [];
    const H = (field: string) => {
      markers.push(`F${field}F`);
      return `F${field}F"'><script>window.__pwned = 1</script><img src=x onerror="window.__pwned = 2"></title></svg></textarea></code><!--`;
    };
    const source = H('sourceid');
    const model = H('modelid');
    const exposure = H('exposureid');
    const test = H('testid');
    const syncName = H('syncname');
    const manifest = {
      metadata: { project_name: H('project'), generated_at: H('generated'), adapter_type: H('adapter') },
      sources: {
        [source]: { unique_id: source, resource_type: 'source', name: H('sourcename'), description: H('sourcedesc'), tags: [H('sourcetag')], identifier: H('identifier'), loaded_at_field: H('loadedat'), columns: { [H('columnkey')]: { data_type: H('columntype'), description: H('columndesc') }, named: { name: H('columnname') } }, meta: { [H('metakey')]: H('metavalue'), tideline: { [H('tlkey')]: H('tlvalue') } } },
      },
      nodes: {
        [model]: { unique_id: model, resource_type: 'model', name: H('modelname'), description: H('modeldesc'), tags: [H('modeltag')], depends_on: { nodes: [source] }, relation_name: H('relation'), original_file_path: H('file'), meta: { tideline: { kind: H('kind') } }, columns: { c: { name: H('modelcolumn'), data_type: H('modeltype') } } },
        [test]: { unique_id: test, resource_type: 'test', name: H('testname'), attached_node: model, column_name: H('modelcolumn'), depends_on: { nodes: [model] }, config: { severity: H('severity') }, test_metadata: { name: H('testtype'), kwargs: { expression: H('expression'), values: [H('value')], to: H('to'), field: H('field'), model: 'm' } } },
        [H('otherid')]: { resource_type: H('othertype'), name: H('othername'), depends_on: { nodes: [model] } },
      },
      exposures: {
        [exposure]: { unique_id: exposure, resource_type: 'exposure', name: syncName, description: H('syncdesc'), tags: [H('synctag')], depends_on: { nodes: [model] }, meta: { tideline: { destination: H('destination'), destination_type: H('desttype'), object: H('object'), mode: H('mode'), audience: H('audience') } } },
      },
    } as unknown as Manifest;
    const runResults = {
      metadata: { generated_at: H('rungenerated') },
      args: { which: H('which'), target: H('runtarget') },
      results: [
        { unique_id: model, status: H('modelstatus'), message: H('modelmessage'), execution_time: 1, adapter_response: { rows_affected: 3 } },
        { unique_id: test, status: H('teststatus'), message: H('testmessage'), failures: 1 },
      ],
    } as unknown as RunResults;
    const syncResults = { finished_at: H('finished'), target: H('synctarget'), results: [{ sync: syncName, status: H('syncstatus'), error: H('syncerror'), counts: { [H('op')]: 1 } }] };
    const file = join(out, 'hostile.html');
    const html = renderSite({ manifest, runResults, syncResults });
    writeFileSync(file, html);
    const page = await open(file);
    const pages = await page.evaluate('[...document.querySelectorAll("section.page")].map((s) => s.getAttribute("data-id"))') as string[];
    const seen: string[] = [];
    for (const id of pages) {
      await page.evaluate(`location.hash = ${JSON.stringify(`#${encodeURIComponent(id)}`)}`);
      await page.locator(`section.page:not([hidden])`).first().waitFor();
      expect(await page.evaluate('document.querySelector("section.page:not([hidden])").getAttribute("data-id")')).toBe(id);
      seen.push(id);
    }
    expect(seen).toContain(exposure);
    // Nothing ran or appeared but the page's own: its two scripts, no image, no handler, no comment.
    expect(await page.evaluate('typeof window.__pwned')).toBe('undefined');
    expect(await page.evaluate('document.querySelectorAll("script").length')).toBe(2);
    expect(await page.evaluate('document.querySelectorAll("img, textarea, [onerror]").length')).toBe(0);
    expect(await page.evaluate('(() => { const w = document.createTreeWalker(document, NodeFilter.SHOW_COMMENT); return w.nextNode() === null; })()')).toBe(true);
    // Every field is shown, as text (a field in the page's text or, for ids, in its attributes).
    const text = (await page.evaluate('(() => { const b = document.body.cloneNode(true); b.querySelectorAll("script").forEach((s) => s.remove()); return document.title + b.textContent; })()')) as string;
    const attributes = (await page.evaluate('[...document.querySelectorAll("[data-id]")].map((e) => e.getAttribute("data-id")).join(" ")')) as string;
    const missing = [...new Set(markers)].filter((m) => !text.includes(m) && !attributes.includes(m));
    expect(missing).toEqual([]);
    // A description is the payload, whole, as text.
    await page.evaluate(`location.hash = ${JSON.stringify(`#${encodeURIComponent(model)}`)}`);
    expect(await visiblePage(page).locator('.description').textContent()).toBe(H('modeldesc'));
    expect(problems).toEqual([]);
  });

  it('shows a source read from a dbt model with the model\'s description, column descriptions and dbt node', async () => {
    problems = [];
    const root = tempProject({
      'tideline.yml': 'name: crm\ndbt:\n  manifest: analytics/target/manifest.json\n',
      'analytics/target/manifest.json': readFileSync(join(ROOT, 'test/fixtures/dbt-project/target/manifest.json'), 'utf8'),
      'models/m.yml': 'sources:\n  - { name: dbt_customers, dbt: customers }\nmodels:\n  - { name: contacts, kind: staging, from: dbt_customers }\n',
    });
    const generated = await tidelineInProcess(['--project', root, '--log-format', 'json', 'docs', '--offline']);
    expect(generated.code, generated.stderr).toBe(0);
    const page = await open(join(root, 'target/docs/index.html'), `#${encodeURIComponent('source.crm.crm.dbt_customers')}`);
    expect(await visiblePage(page).locator('.description').textContent()).toBe('One row per customer, with their completed orders counted.');
    expect((await cells(page, 'columns')).map((row) => [row[0], row[2]])).toEqual([
      ['customer_id', "The shop's customer id."],
      ['email', 'E-mail address, lower-cased.'],
      ['order_count', 'Completed orders.'],
    ]);
    const meta = JSON.parse((await visiblePage(page).locator('pre.meta').textContent())!) as { tideline: { dbt: Record<string, unknown> } };
    expect(meta.tideline.dbt).toMatchObject({ unique_id: 'model.jaffle.customers', manifest: 'analytics/target/manifest.json' });
    expect(await drawnGraph(page)).toEqual({ nodes: ['model.crm.contacts', 'source.crm.crm.dbt_customers'], edges: ['source.crm.crm.dbt_customers -> model.crm.contacts'] });
    expect(problems).toEqual([]);
  });
});
