import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, renameSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';

const HERE = import.meta.dirname;

describe('Airflow DAG', () => {
  it('parses with python3 and chains validate (no retries) → run → sync (retried), all on exit codes', () => {
    // Airflow is not installed here: a stand-in for the two modules the DAG imports records what it builds.
    const stubs = mkdtempSync(join(tmpdir(), 'airflow-stub-'));
    mkdirSync(join(stubs, 'airflow/operators'), { recursive: true });
    writeFileSync(
      join(stubs, 'airflow/__init__.py'),
      `TASKS = []
class DAG:
    def __init__(self, dag_id, default_args=None, **kwargs):
        self.dag_id, self.default_args, self.kwargs = dag_id, default_args or {}, kwargs
        DAG.current = self
    def __enter__(self): return self
    def __exit__(self, *a): return False
`,
    );
    writeFileSync(join(stubs, 'airflow/operators/__init__.py'), '');
    writeFileSync(
      join(stubs, 'airflow/operators/bash.py'),
      `import airflow
class BashOperator:
    def __init__(self, task_id, bash_command, **kwargs):
        self.task_id, self.bash_command, self.kwargs, self.downstream = task_id, bash_command, kwargs, []
        self.retries = kwargs.get('retries', airflow.DAG.current.default_args.get('retries', 0))
        airflow.TASKS.append(self)
    def __rshift__(self, other):
        self.downstream.append(other.task_id)
        return other
`,
    );
    type Dag = { dag: string; schedule: string; tasks: { id: string; command: string; retries: number; downstream: string[] }[] };
    const dagWith = (env: Record<string, string>): Dag => {
      const { TIDELINE_BIN: _bin, ...inherited } = process.env;
      const out = execFileSync(
        'python3',
        [
          '-c',
          `import json, runpy, airflow
runpy.run_path(${JSON.stringify(join(HERE, 'airflow/tideline_dag.py'))})
print(json.dumps({"dag": airflow.DAG.current.dag_id, "schedule": airflow.DAG.current.kwargs.get("schedule"),
  "tasks": [{"id": t.task_id, "command": t.bash_command, "retries": t.retries, "downstream": t.downstream} for t in airflow.TASKS]}))`,
        ],
        { env: { ...inherited, PYTHONPATH: stubs, TIDELINE_PROJECT: '/srv/shop', ...env }, encoding: 'utf8' },
      );
      return JSON.parse(out) as Dag;
    };
    const dag = dagWith({ TIDELINE_BIN: 'tideline' });
    expect(dag.dag).toBe('tideline_nightly');
    expect(dag.schedule).toBe('0 3 * * *');
    expect(dag.tasks).toEqual([
      { id: 'validate', command: 'tideline --project /srv/shop --log-format json validate', retries: 0, downstream: ['run'] },
      { id: 'run', command: 'tideline --project /srv/shop --log-format json run', retries: 2, downstream: ['sync'] },
      { id: 'sync', command: 'tideline --project /srv/shop --log-format json sync', retries: 2, downstream: [] },
    ]);
    // By default, the tideline installed in the project folder (`npm ci` there), never one npx would fetch.
    expect(dagWith({}).tasks.map((t) => t.command)).toEqual(
      ['validate', 'run', 'sync'].map((command) => `/srv/shop/node_modules/.bin/tideline --project /srv/shop --log-format json ${command}`),
    );
  });
});

describe('GitHub Actions workflow', () => {
  it('is valid YAML: validate on pull requests, run and sync on schedule, credentials only from secrets', () => {
    const text = readFileSync(join(HERE, 'github-actions/tideline.yml'), 'utf8');
    const workflow = parse(text) as {
      on: { pull_request: unknown; schedule: { cron: string }[] };
      env: Record<string, string>;
      jobs: Record<string, { if: string; steps: { run?: string }[] }>;
    };
    expect(workflow.on.pull_request).toBeDefined();
    expect(workflow.on.schedule[0]!.cron).toMatch(/^\S+ \S+ \S+ \S+ \S+$/);
    const runs = (job: string) => workflow.jobs[job]!.steps.map((s) => s.run).filter(Boolean);
    expect(workflow.jobs['validate']!.if).toContain("== 'pull_request'");
    // `npm ci` installs the tideline the repository's package.json pins; `npx --no` runs it and never fetches one.
    expect(runs('validate')).toEqual(['npm ci', 'npx --no tideline validate --log-format json']);
    expect(workflow.jobs['sync']!.if).toContain("!= 'pull_request'");
    expect(runs('sync')).toEqual(['npm ci', 'npx --no tideline run --log-format json', 'npx --no tideline sync --log-format json']);
    for (const value of Object.values(workflow.env)) expect(value).toMatch(/^\$\{\{ secrets\.[A-Z_]+ \}\}$/);
  });
});

describe('cron script', () => {
  const script = join(HERE, 'cron/tideline-nightly.sh');

  /** A stand-in for the tideline binary: records its arguments, sleeps if asked, exits with the code asked. */
  function fakeTideline(dir: string): string {
    const bin = join(dir, 'fake-tideline');
    writeFileSync(
      bin,
      `#!/usr/bin/env bash
echo "$*" >> "${dir}/calls"
command="\${@: -1}"
echo '{"level":"info","msg":"fake '"$command"'"}'
[ -n "\${FAKE_SLEEP:-}" ] && sleep "$FAKE_SLEEP"
code_var="FAKE_EXIT_$command"; exit "\${!code_var:-0}"
`,
      { mode: 0o755 },
    );
    return bin;
  }

  function setUp() {
    const dir = mkdtempSync(join(tmpdir(), 'tideline-cron-'));
    const project = join(dir, 'shop');
    mkdirSync(project);
    return { dir, project, env: { ...process.env, TIDELINE_PROJECT: project, TIDELINE_BIN: fakeTideline(dir) } };
  }

  it("runs the tideline installed in the project folder when TIDELINE_BIN is not set", () => {
    const { dir, project, env } = setUp();
    mkdirSync(join(project, 'node_modules', '.bin'), { recursive: true });
    renameSync(env.TIDELINE_BIN, join(project, 'node_modules', '.bin', 'tideline'));
    const { TIDELINE_BIN: _bin, ...withoutBin } = env;
    const result = spawnSync('bash', [script], { env: withoutBin, encoding: 'utf8' });
    expect(result.status, result.stderr).toBe(0);
    expect(readFileSync(join(dir, 'calls'), 'utf8').trim().split('\n')).toEqual([
      `--project ${project} --log-format json run`,
      `--project ${project} --log-format json sync`,
    ]);
  });

  it('runs then syncs, logging both into one file per day, and removes logs older than the retention', () => {
    const { dir, project, env } = setUp();
    const logs = join(project, 'logs');
    mkdirSync(logs);
    const old = join(logs, 'tideline-2020-01-01.log');
    writeFileSync(old, 'old');
    utimesSync(old, new Date('2020-01-02'), new Date('2020-01-02'));
    const result = spawnSync('bash', [script], { env: { ...env, TIDELINE_KEEP_DAYS: '14' }, encoding: 'utf8' });
    expect(result.status).toBe(0);
    expect(readFileSync(join(dir, 'calls'), 'utf8').trim().split('\n')).toEqual([
      `--project ${project} --log-format json run`,
      `--project ${project} --log-format json sync`,
    ]);
    const files = readdirSync(logs);
    expect(files).toEqual([`tideline-${new Date().toISOString().slice(0, 10)}.log`]);
    const log = readFileSync(join(logs, files[0]!), 'utf8');
    expect(log).toContain('"msg":"fake run"');
    expect(log).toContain('"msg":"fake sync"');
    expect(log).toContain('"exit":0');
    expect(existsSync(old)).toBe(false);
  });

  it("passes on tideline's exit code and does not sync after a failed run", () => {
    const { dir, env } = setUp();
    const result = spawnSync('bash', [script], { env: { ...env, FAKE_EXIT_run: '1' }, encoding: 'utf8' });
    expect(result.status).toBe(1);
    expect(readFileSync(join(dir, 'calls'), 'utf8').trim().split('\n')).toHaveLength(1);
    const config = spawnSync('bash', [script], { env: { ...env, FAKE_EXIT_run: '0', FAKE_EXIT_sync: '2' }, encoding: 'utf8' });
    expect(config.status).toBe(2);
  });

  it('refuses to start while another run holds the lock', async () => {
    const { env } = setUp();
    const first = spawn('bash', [script], { env: { ...env, FAKE_SLEEP: '3' } });
    await new Promise((resolve) => setTimeout(resolve, 700));
    const second = spawnSync('bash', [script], { env, encoding: 'utf8' });
    expect(second.status).toBe(75);
    expect(second.stderr).toMatch(/another run holds .*cron\.lock; not starting/);
    const code = await new Promise((resolve) => first.on('close', resolve));
    expect(code).toBe(0);
  });
});
