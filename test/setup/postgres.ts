import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { dirname, join } from 'node:path';
import pg from 'pg';
import type { TestProject } from 'vitest/node';

/**
 * `npm test` needs a real PostgreSQL and no manual set-up. In order:
 *  1. TIDELINE_TEST_PG_URL, if set, points at a server to use (its user must be allowed to create databases);
 *  2. otherwise the local Debian cluster: installed with apt if absent (as root), started with pg_ctlcluster if
 *     down, and a password role `tideline_test` created through the postgres superuser's socket (peer auth), its
 *     password kept in ~/.cache/tideline/test-pg-password so that concurrent runs agree on it.
 * A database named tideline_test_<random> is created for this run and dropped after it. Tests reach it through
 * `inject('pgUrl')`. If no server can be had, tests needing one are skipped with a loud warning — unless
 * TIDELINE_REQUIRE_PG=1 (set by .ci/run), in which case the run fails.
 */
declare module 'vitest' {
  export interface ProvidedContext {
    pgUrl: string | null;
  }
}

const ROLE = 'tideline_test';

function sh(command: string, args: string[], options: { asPostgres?: boolean; input?: string } = {}): string {
  const [cmd, argv] = options.asPostgres ? ['su', ['postgres', '-c', [command, ...args].map(quote).join(' ')]] : [command, args];
  return execFileSync(cmd, argv, { encoding: 'utf8', stdio: ['pipe', 'pipe', 'pipe'], input: options.input }).trim();
}

function quote(arg: string): string {
  return `'${arg.replaceAll("'", "'\\''")}'`;
}

function localCluster(): { version: string; port: number; status: string } | undefined {
  if (!existsSync('/usr/bin/pg_lsclusters')) return undefined;
  const line = sh('pg_lsclusters', ['--no-header']).split('\n').find((l) => l.trim());
  if (!line) return undefined;
  const [version, , port, status] = line.trim().split(/\s+/);
  return { version: version!, port: Number(port), status: status! };
}

function installPostgres(): void {
  if (process.getuid?.() !== 0 || !existsSync('/usr/bin/apt-get')) return;
  console.warn('[tideline tests] PostgreSQL is not installed: installing it with apt-get (one time)…');
  sh('apt-get', ['update', '-qq']);
  sh('apt-get', ['install', '-y', '-qq', 'postgresql']);
}

/**
 * The test role's password, generated once per machine and kept in a private file, so that several test runs at the
 * same time (two terminals, several engineers) share it instead of resetting it under each other. Created with the
 * exclusive flag: when two runs start together, one writes it and the other reads it.
 */
function testPassword(): { password: string; created: boolean } {
  const file = join(homedir(), '.cache', 'tideline', 'test-pg-password');
  mkdirSync(dirname(file), { recursive: true, mode: 0o700 });
  try {
    const password = randomBytes(12).toString('hex');
    writeFileSync(file, password, { flag: 'wx', mode: 0o600 });
    return { password, created: true };
  } catch {
    return { password: readFileSync(file, 'utf8').trim(), created: false };
  }
}

async function canLogIn(url: string): Promise<boolean> {
  const client = new pg.Client({ connectionString: url });
  try {
    await client.connect();
    return true;
  } catch {
    return false;
  } finally {
    await client.end().catch(() => undefined);
  }
}

async function adminUrlFromLocalCluster(): Promise<string | undefined> {
  let cluster = localCluster();
  if (!cluster) {
    installPostgres();
    cluster = localCluster();
  }
  if (!cluster) return undefined;
  if (cluster.status !== 'online') sh('pg_ctlcluster', [cluster.version, 'main', 'start']);
  const { password, created } = testPassword();
  const url = `postgres://${ROLE}:${password}@127.0.0.1:${cluster.port}/postgres`;
  if (!created && (await canLogIn(url))) return url;
  const sql = `DO $$ BEGIN
  IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = '${ROLE}') THEN CREATE ROLE ${ROLE} LOGIN CREATEDB; END IF;
END $$;
ALTER ROLE ${ROLE} WITH LOGIN CREATEDB PASSWORD '${password}';`;
  sh('psql', ['-v', 'ON_ERROR_STOP=1', '-q', '-p', String(cluster.port), '-c', sql], { asPostgres: true });
  return url;
}

/**
 * The admin URL of a PostgreSQL server to use: TIDELINE_TEST_PG_URL, or the local cluster (installed, started and given
 * the test role as described above); undefined, with the reason, when there is none. Benchmarks use it too.
 */
export async function adminPgUrl(): Promise<{ url?: string; failure: string }> {
  const fromEnv = process.env['TIDELINE_TEST_PG_URL'];
  if (fromEnv) return { url: fromEnv, failure: '' };
  try {
    const url = await adminUrlFromLocalCluster();
    return url ? { url, failure: '' } : { failure: '' };
  } catch (error) {
    return { failure: error instanceof Error ? error.message : String(error) };
  }
}

/** A throwaway database named `<prefix>_<random>` with the contrib extensions Tideline uses; `drop` removes it. */
export async function scratchDatabase(adminUrl: string, prefix: string): Promise<{ url: string; drop(): Promise<void> }> {
  const database = `${prefix}_${randomBytes(4).toString('hex')}`;
  const admin = new pg.Client({ connectionString: adminUrl });
  await admin.connect();
  await admin.query(`CREATE DATABASE ${database}`);
  // Accent folding and edit distance come from contrib extensions; create them once, as the database owner.
  const url = new URL(adminUrl);
  url.pathname = `/${database}`;
  const owner = new pg.Client({ connectionString: url.toString() });
  await owner.connect();
  for (const extension of ['unaccent', 'fuzzystrmatch']) {
    await owner.query(`CREATE EXTENSION IF NOT EXISTS ${extension}`).catch((error: Error) => console.warn(`[tideline tests] cannot create extension ${extension}: ${error.message}`));
  }
  await owner.end();
  return {
    url: url.toString(),
    drop: async () => {
      // FORCE cannot end a backend of another role (an autovacuum worker after a large write, say: SQLSTATE 42501):
      // try again while it finishes, then leave the database with a warning rather than fail a run that succeeded.
      try {
        for (let attempt = 1; ; attempt++) {
          try {
            await admin.query(`DROP DATABASE IF EXISTS ${database} WITH (FORCE)`);
            return;
          } catch (error) {
            if ((error as { code?: string }).code !== '42501') throw error;
            if (attempt === 20) {
              console.warn(`[tideline tests] could not drop ${database}: another role's backend is still connected; drop it by hand`);
              return;
            }
            await new Promise((resolve) => setTimeout(resolve, 500));
          }
        }
      } finally {
        await admin.end();
      }
    },
  };
}

export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const { url: adminUrl, failure } = await adminPgUrl();
  if (!adminUrl) {
    const message = `no PostgreSQL server available for tests${failure ? `: ${failure}` : ''}. Install PostgreSQL (apt-get install postgresql) or set TIDELINE_TEST_PG_URL.`;
    if (process.env['TIDELINE_REQUIRE_PG'] === '1') throw new Error(message);
    console.warn(`\n[tideline tests] WARNING: ${message} PostgreSQL tests are SKIPPED.\n`);
    project.provide('pgUrl', null);
    return async () => undefined;
  }
  const database = await scratchDatabase(adminUrl, 'tideline_test');
  project.provide('pgUrl', database.url);
  return database.drop;
}
