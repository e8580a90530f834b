import { execFile } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, realpathSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

/**
 * What a user gets from `npm pack`: the tarball installed with npm into an empty folder outside the repository, its
 * `tideline` bin run from there. Installs offline from npm's cache (which `npm ci` filled): the folder gets a lock
 * file holding the repository's locked runtime dependencies (the entries not marked dev), which is what lets npm
 * install without asking the registry; dev dependencies (tsx, esbuild, the vendors' SDKs) are never installed.
 */
const ROOT = join(import.meta.dirname, '..');
const run = promisify(execFile);

/** The environment of a user's shell: none of the test run's TIDELINE_* settings, nor the npm script's npm_* ones. */
const userEnv = (): NodeJS.ProcessEnv => {
  const env: NodeJS.ProcessEnv = { ...process.env, NO_COLOR: '1', FORCE_COLOR: '0' };
  for (const name of Object.keys(env)) if (name.startsWith('TIDELINE_') || name.startsWith('npm_')) delete env[name];
  return env;
};

interface LockEntry {
  dev?: boolean;
  link?: boolean;
}

/** A lock file for a folder that depends on the tarball only: the repository's locked entries minus the dev ones. */
function lockFor(tarball: string): unknown {
  const lock = JSON.parse(readFileSync(join(ROOT, 'package-lock.json'), 'utf8')) as { packages: Record<string, LockEntry> };
  const manifest = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as Record<string, unknown>;
  const packages: Record<string, unknown> = {
    '': { name: 'shop', dependencies: { tideline: `file:${tarball}` } },
    'node_modules/tideline': {
      version: manifest['version'],
      resolved: `file:${tarball}`,
      dependencies: manifest['dependencies'],
      bin: manifest['bin'],
      engines: manifest['engines'],
    },
  };
  for (const [path, entry] of Object.entries(lock.packages)) if (path.startsWith('node_modules/') && !entry.dev && !entry.link) packages[path] = entry;
  return { name: 'shop', lockfileVersion: 3, requires: true, packages };
}

const SYNCS = `destinations:
  - name: hubspot
    type: hubspot
    token: \${env:HUBSPOT_TOKEN:-sandbox-token}
  - name: klaviyo
    type: klaviyo
    api_key: \${env:KLAVIYO_API_KEY:-sandbox-key}
  - name: crm_hook
    type: webhook
    url: \${env:HOOK_URL:-https://hooks.example.com/tideline}
    secret: \${env:HOOK_SECRET:-a-sandbox-secret-of-24-characters}
syncs:
  - name: hubspot_contacts
    model: customers
    destination: hubspot
    object: contacts
    mode: upsert
    key: { from: email, field: email }
    fields:
      firstname: first_name
  - name: klaviyo_profiles
    model: customers
    destination: klaviyo
    object: profiles
    mode: upsert
    key: { from: customer_id, field: external_id }
    fields:
      email: email
      first_name: first_name
  - name: hook_contacts
    model: customers
    destination: crm_hook
    object: contacts
    mode: upsert
    key: { from: customer_id, field: external_id }
    fields:
      email: email
`;

describe('the npm package (npm pack, installed in an empty folder)', () => {
  const dir = realpathSync(mkdtempSync(join(tmpdir(), 'tideline-package-')));
  const project = join(dir, 'shop');
  const bin = join(project, 'node_modules', '.bin', 'tideline');
  let files: string[] = [];
  let withSkippedScripts: string[] = [];
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  beforeAll(async () => {
    // Nothing around the folder that Node could resolve a package from, npm take for a project, or git for a repository.
    for (let up = dirname(dir); ; up = dirname(up)) {
      for (const name of ['node_modules', 'package.json', '.git']) expect(existsSync(join(up, name)), join(up, name)).toBe(false);
      if (up === dirname(up)) break;
    }
    // `prepack` and `prepare` build the bundle from the sources as they are.
    const packed = await run('npm', ['pack', '--pack-destination', dir, '--json'], { cwd: ROOT, env: userEnv(), maxBuffer: 16 << 20 });
    const [pack] = JSON.parse(packed.stdout) as { filename: string; files: { path: string }[] }[];
    files = pack!.files.map((f) => f.path);
    mkdirSync(project);
    writeFileSync(join(project, 'package.json'), `${JSON.stringify({ name: 'shop', private: true }, null, 2)}\n`);
    writeFileSync(join(project, 'package-lock.json'), JSON.stringify(lockFor(`../${pack!.filename}`), null, 2));
    try {
      const installed = await run('npm', ['install', '--offline', '--no-audit', '--no-fund', `../${pack!.filename}`], { cwd: project, env: userEnv(), maxBuffer: 16 << 20 });
      // npm lists the packages whose install scripts it skipped (all of them, until the user approves each).
      withSkippedScripts = [...installed.stderr.matchAll(/install-scripts\s+(@?[^@\s]+)@\S+ \((\w+):/g)].map(([, name, script]) => `${name} ${script}`);
    } catch (error) {
      const { stderr } = error as { stderr?: string };
      throw new Error(`npm install of the tarball failed (ENOTCACHED: npm's cache lacks a runtime dependency; run npm ci first):\n${stderr ?? String(error)}`);
    }
  }, 240_000);

  it('holds the built CLI, what init copies and the scheduling examples; no TypeScript, no tests', () => {
    for (const path of ['bin/tideline', 'src/cli/.tideline.mjs', 'src/cli/templates/init/tideline.yml', 'src/cli/templates/init/gitignore', 'examples/cron/tideline-nightly.sh', 'examples/airflow/tideline_dag.py', 'examples/github-actions/tideline.yml']) {
      expect(files).toContain(path);
    }
    expect(files.filter((path) => /\.ts$|(^|\/)test\/|\.test\./.test(path))).toEqual([]);
    expect(files.length).toBeLessThan(40);
    // No runtime dependency needs an install script (npm would skip it); tideline's own `prepare`, which builds the
    // bundle in a git checkout, does nothing in an installed package: build-cli.mjs finds no sources there.
    expect(withSkippedScripts.filter((entry) => entry !== 'tideline prepare')).toEqual([]);
    for (const dev of ['tsx', 'esbuild', 'typescript', 'vitest', '@faker-js/faker', '@hubspot/api-client', 'protobufjs', 'snowflake-sdk']) {
      expect(existsSync(join(project, 'node_modules', dev)), `${dev} installed`).toBe(false);
    }
    const installed = JSON.parse(readFileSync(join(project, 'package.json'), 'utf8')) as { dependencies: Record<string, string> };
    expect(installed.dependencies['tideline']).toMatch(/^file:\.\.\/tideline-[\d.]+\.tgz$/);
  });

  it('its tideline bin runs init, run, sync --sandbox and docs in the folder that installed it', async () => {
    const version = await run(bin, ['--version'], { cwd: dir, env: userEnv() });
    expect(version.stdout.trim()).toBe((JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { version: string }).version);

    // As the README has it: the project is the folder that installed tideline, and `npx --no` runs that tideline.
    const init = await run('npx', ['--no', 'tideline', 'init', '.', '--log-format', 'json'], { cwd: project, env: userEnv() });
    expect(init.stderr).toContain('created a Tideline project');
    expect(readFileSync(join(project, '.gitignore'), 'utf8')).toContain('node_modules/');
    writeFileSync(join(project, 'syncs', 'crm.yml'), SYNCS);

    const built = await run(bin, ['run', '--log-format', 'json'], { cwd: project, env: userEnv() });
    expect(built.stderr).toContain('"msg":"1 built, 0 failed, 0 skipped"');
    const runResults = JSON.parse(readFileSync(join(project, 'target', 'tideline_run_results.json'), 'utf8')) as { results: { model: string; status: string; rows: number }[] };
    expect(runResults.results).toMatchObject([{ model: 'customers', status: 'success', rows: 3 }]);

    const synced = await run(bin, ['sync', '--sandbox', '--log-format', 'json'], { cwd: project, env: userEnv() });
    expect(synced.stderr).toContain('3 syncs: 3 succeeded, 0 with rejections, 0 failed, 0 skipped');
    const syncResults = JSON.parse(readFileSync(join(project, 'target', 'sync_results.json'), 'utf8')) as { sandbox: boolean; results: { sync: string; status: string; accepted: number }[] };
    expect(syncResults.sandbox).toBe(true);
    expect(syncResults.results.map(({ sync, status, accepted }) => ({ sync, status, accepted }))).toEqual([
      { sync: 'hubspot_contacts', status: 'success', accepted: 3 },
      { sync: 'klaviyo_profiles', status: 'success', accepted: 3 },
      { sync: 'hook_contacts', status: 'success', accepted: 3 },
    ]);

    // The docs site's layout library (a runtime dependency) resolves from the installed package.
    const docs = await run(bin, ['docs', '--log-format', 'json'], { cwd: project, env: userEnv() });
    expect(docs.stderr).toContain('target/docs/index.html');
    const site = readFileSync(join(project, 'target', 'docs', 'index.html'), 'utf8');
    for (const id of ['model.shop.customers', 'exposure.shop.hook_contacts', 'destination.crm_hook.contacts']) expect(site).toContain(`data-id="${id}"`);
  }, 120_000);

  it('leaves out the Snowflake driver, an optional peer dependency, and says how to add it when a target needs it', async () => {
    expect(existsSync(join(project, 'node_modules', 'snowflake-sdk'))).toBe(false);
    const file = join(project, 'tideline.yml');
    writeFileSync(
      file,
      `${readFileSync(file, 'utf8')}
targets:
  dev: { type: duckdb }
  sf: { type: snowflake, account: myorg-myaccount, user: TIDELINE, password: not-a-password, warehouse: WH, database: DB }
target: dev
`,
    );
    // Snowflake reads no local files: the source is a table there.
    writeFileSync(join(project, 'models', 'sources.yml'), 'sources:\n  - name: raw_customers\n    table: raw.customers\n');
    const failed = await run(bin, ['run', '--target', 'sf', '--log-format', 'json'], { cwd: project, env: userEnv() }).then(
      () => expect.fail('run on Snowflake without snowflake-sdk succeeded'),
      (error: { code: number; stderr: string }) => error,
    );
    expect(failed.code, failed.stderr).toBe(1);
    expect(failed.stderr).toContain('the snowflake target needs the snowflake-sdk package, which is not installed');
    expect(failed.stderr).toContain('npm install --save-dev snowflake-sdk');
    expect(failed.stderr).not.toContain('not-a-password');
  });
});
