import { spawn, spawnSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { BIN, peopleModels, tempProject } from './support/cli.js';
import { tidelineInProcess } from './support/in-process.js';

/**
 * The CLI on terminals that cannot take a spinner or bars: run under a pseudo-terminal by util-linux's `script`, whose
 * size and environment the test sets. A terminal reporting 0 columns once made `tideline run` spin for ever, writing
 * megabytes of cursor escapes (ora divides by the width).
 */
const hasScript = spawnSync('script', ['--version']).status === 0;
// CI (TIDELINE_REQUIRE_SCRIPT=1, set by .ci/run) must run the 0-column case: the test of record.
if (!hasScript) {
  if (process.env['TIDELINE_REQUIRE_SCRIPT'] === '1') throw new Error("TIDELINE_REQUIRE_SCRIPT=1 but util-linux's `script` is not installed");
  console.warn("\n*** SKIPPED: the pseudo-terminal tests need util-linux's `script` (apt-get install bsdutils). ***\n");
}

const CSV = 'id,email,first_name,segment\n1,alice@example.com,Alice,vip\n2,bob@example.org,Bob,vip\n3,chloe@example.net,Chloé,regular\n4,dan@example.com,Dan,regular\n';
const SYNCS = `destinations:
  - name: brevo
    type: brevo
    api_key: sandbox-key
syncs:
  - name: vip_list
    model: people
    where: [{ column: segment, equals: vip }]
    destination: brevo
    object: 'list:2'
    mode: audience
    key: { from: email, field: email }
    fields: { FIRSTNAME: first_name, SEGMENT: segment, SOURCE: { constant: newsletter } }
`;
const project = () => tempProject({ 'tideline.yml': 'name: shop\n', 'data/people.csv': CSV, 'models/people.yml': peopleModels(['first_name: first_name', 'segment: segment']), 'syncs/crm.yml': SYNCS });

const OUTPUT_LIMIT = 200_000;

/**
 * `commands` (`tideline` standing for the CLI) run by a shell in a pseudo-terminal set up by `setup` (stty, exports);
 * what the terminal received, and the exit code, or null when killed after `timeoutMs`. Output past the limit is
 * cut, and the run killed: a flood must not fill the test's memory.
 */
function underTerminal(cwd: string, setup: string, commands: string, timeoutMs = 30_000): Promise<{ code: number | null; output: Buffer; seconds: number }> {
  const started = performance.now();
  const env: NodeJS.ProcessEnv = { ...process.env, TERM: 'xterm-256color', LANG: 'en_US.UTF-8', TIDELINE_PROGRESS_DELAY_MS: '0' };
  for (const name of ['NO_COLOR', 'FORCE_COLOR', 'CI', 'LC_ALL', 'LC_CTYPE']) delete env[name];
  const tideline = `${JSON.stringify(process.execPath)} ${JSON.stringify(BIN)}`;
  const script = `${setup}; set -e; ${commands.replaceAll('tideline', tideline)}`;
  return new Promise((resolve, reject) => {
    const child = spawn('script', ['-qec', script, '/dev/null'], { cwd, env, stdio: ['ignore', 'pipe', 'pipe'], detached: true });
    const chunks: Buffer[] = [];
    let size = 0;
    const kill = () => {
      try {
        process.kill(-child.pid!, 'SIGKILL');
      } catch {
        // gone already
      }
    };
    const timer = setTimeout(kill, timeoutMs);
    const take = (chunk: Buffer) => {
      if (size > OUTPUT_LIMIT) return kill();
      chunks.push(chunk);
      size += chunk.length;
    };
    child.stdout.on('data', take);
    child.stderr.on('data', take);
    child.on('error', reject);
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ code: signal ? null : code, output: Buffer.concat(chunks), seconds: (performance.now() - started) / 1000 });
    });
  });
}

const ESC = 0x1b;
const nonAscii = (output: Buffer) => [...output].filter((byte) => byte > 0x7f).length;

describe.skipIf(!hasScript).concurrent('the CLI under a pseudo-terminal', () => {
  it('finishes on a terminal of 0 columns, with bounded output and no progress drawn', async () => {
    const root = project();
    const result = await underTerminal(root, 'stty cols 0 rows 0', 'tideline run && tideline sync --sandbox');
    expect(result.code, result.output.toString().slice(0, 2000)).toBe(0);
    expect(result.output.length).toBeLessThan(OUTPUT_LIMIT);
    const text = result.output.toString();
    expect(text).toContain('1 built, 0 failed, 0 skipped');
    expect(text).toContain('1 sync: 1 succeeded');
    // No cursor movement nor line clearing: only colours.
    expect(text).not.toMatch(/\x1b\[\d*[GKAB]|\x1b\[\?25[lh]/);
  });

  it('writes plain text on a dumb terminal: no escapes at all', async () => {
    const root = project();
    const result = await underTerminal(root, 'stty cols 80 rows 24; export TERM=dumb', 'tideline run && tideline sync --sandbox');
    expect(result.code, result.output.toString().slice(0, 2000)).toBe(0);
    expect(result.output.includes(ESC)).toBe(false);
    expect(result.output.toString()).toContain('1 sync: 1 succeeded');
  });

  it('draws ASCII progress where the locale is not UTF-8, and Tideline\'s arrows in ASCII', async () => {
    const root = project();
    const result = await underTerminal(root, 'stty cols 80 rows 24; export LANG=C', 'tideline run && tideline sync --sandbox');
    expect(result.code, result.output.toString().slice(0, 2000)).toBe(0);
    const text = result.output.toString();
    // The spinner and the bars were drawn (cursor escapes), in ASCII only.
    expect(text).toMatch(/\x1b\[\?25l/);
    expect(text).toMatch(/vip_list \[[=-]+\] \d+\/2 records/);
    expect(text).toContain('sandbox: brevo -> http://');
    expect(nonAscii(result.output)).toBe(0);
  });

  it('draws Unicode progress on a UTF-8 terminal, never glued to a log line', async () => {
    const root = project();
    const result = await underTerminal(root, 'stty cols 80 rows 24', 'tideline run && tideline sync --sandbox');
    expect(result.code).toBe(0);
    const text = result.output.toString();
    expect(text).toContain('sandbox: brevo → http://');
    // Each log line starts on a clean line: whatever a spinner or bar drew before it on its line is erased first.
    const logLines = text.split('\n').filter((l) => /\[\d\d:\d\d:\d\d\]/.test(l));
    expect(logLines.length).toBeGreaterThanOrEqual(4);
    for (const line of logLines) {
      const before = line.slice(0, line.search(/\[\d\d:\d\d:\d\d\]/));
      const afterLastErase = before.slice(before.search(/\x1b\[[012]?K(?!.*\x1b\[[012]?K)/) + 1);
      expect(afterLastErase.replace(/\x1b\[[0-9;?]*[A-Za-z]|\[[012]?K/g, '').replace(/\r/g, ''), JSON.stringify(line)).toBe('');
    }
    // A rate once known, an ETA only then: never cli-progress's NULL or INF.
    expect(text).toMatch(/vip_list \[[█░]+\] \d+\/2 records \| (-|\d+)\/s( \| ETA \d+s)?\x1b/);
    expect(text).not.toMatch(/NULL|\bINF\b|NaN/);
  });
});

describe('plan --sandbox, masking, and no command', () => {
  it('plan --sandbox reads the sandbox state; samples mask personal data only', async () => {
    const root = project();
    const cli = (...args: string[]) => tidelineInProcess([...args, '--project', root, '--log-format', 'json']);
    expect((await cli('run')).code).toBe(0);
    const before = await cli('plan', '--sandbox', '--json');
    expect(before.code, before.stderr).toBe(0);
    const planned = JSON.parse(before.stdout) as { counts: Record<string, number>; samples: { added: Record<string, unknown>[] } };
    expect(planned.counts['added']).toBe(2);
    // The key and the first name are personal; the segment and the constant are not.
    expect(planned.samples.added).toEqual([
      { email: 'a****@e******.com', FIRSTNAME: 'A****', SEGMENT: 'vip', SOURCE: 'newsletter' },
      { email: 'b**@e******.org', FIRSTNAME: 'B**', SEGMENT: 'vip', SOURCE: 'newsletter' },
    ]);
    const sync = await cli('sync', '--sandbox');
    expect(sync.code, sync.stderr).toBe(0);
    const after = JSON.parse((await cli('plan', '--sandbox', '--json')).stdout) as { counts: Record<string, number> };
    expect(after.counts).toMatchObject({ added: 0, changed: 0, removed: 0 });
    // The real destinations' state is another: nothing was sent there.
    const real = JSON.parse((await cli('plan', '--json')).stdout) as { counts: Record<string, number> };
    expect(real.counts['added']).toBe(2);
  });

  it('with no command, prints the help on stderr and exits 2', async () => {
    const result = await tidelineInProcess([]);
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(/^Usage: tideline \[options\] \[command\]/);
    expect(result.stderr).toMatch(/^ {2}run \[options\]/m);
    expect(result.stdout).toBe('');
    expect((await tidelineInProcess(['--help'])).code).toBe(0);
  });
});
