import { beforeAll, describe, expect, it } from 'vitest';
import { table } from '../src/cli/show.js';
import { tempProject } from './support/cli.js';
import { tidelineInProcess } from './support/in-process.js';

const PEOPLE = `id,email,first_name,orders,note
1,ada@example.org,Ada,3,"two
lines"
2,bob@example.net,Bob,0,plain
3,cy@example.com,Cy,7,plain
`;

let root: string;
const show = (...args: string[]) => tidelineInProcess(['--project', root, '--log-format', 'json', 'show', ...args]);

beforeAll(() => {
  root = tempProject({
    'tideline.yml': 'name: shop\n',
    'data/people.csv': PEOPLE,
    'models/m.yml': `sources:
  - { name: raw_people, file: data/people.csv }
models:
  - { name: people, kind: staging, from: raw_people }
`,
  });
});

describe('tideline show', () => {
  it('says how to build a model that is not built, and shows a source as it is read', async () => {
    const unbuilt = await show('people');
    expect(unbuilt.code).toBe(1);
    expect(unbuilt.stderr).toContain('people is not built in target');
    expect(unbuilt.stderr).toContain('tideline run --select +people');

    const source = await show('raw_people', '--json');
    expect(source.code).toBe(0);
    const rows = source.stdout.trim().split('\n').map((line) => JSON.parse(line) as Record<string, unknown>);
    expect(rows).toHaveLength(3);
    expect(rows[0]).toMatchObject({ email: 'a**@e******.org', orders: 3 });
    expect(source.stdout).not.toContain('ada@example.org');
  });

  it('prints a masked table of a built model, --limit rows', async () => {
    expect((await tidelineInProcess(['--project', root, '--log-format', 'json', 'run'])).code).toBe(0);
    const shown = await show('people', '--limit', '2');
    expect(shown.code).toBe(0);
    const lines = shown.stdout.trimEnd().split('\n');
    expect(lines[0]).toMatch(/^\| id +\| email +\| first_name +\| orders +\| note +\|$/);
    expect(lines[1]).toMatch(/^\|-+\|-+\|/);
    expect(lines).toHaveLength(5);
    expect(lines[4]).toBe('2 rows of model people (--limit 2); personal data masked (--show-pii to show)');
    for (const secret of ['ada@example.org', 'bob@example.net', 'Ada', 'Bob']) expect(shown.stdout).not.toContain(secret);
    expect(shown.stdout).toContain('a**@e******.org');
  });

  it('--show-pii prints values whole; --json one object per row', async () => {
    const full = await show('people', '--show-pii', '--json', '--limit', '50');
    expect(full.code).toBe(0);
    const rows = full.stdout.trim().split('\n').map((line) => JSON.parse(line) as Record<string, unknown>);
    expect(rows.map((r) => r['email']).sort()).toEqual(['ada@example.org', 'bob@example.net', 'cy@example.com']);
    expect(rows.find((r) => r['email'] === 'ada@example.org')).toMatchObject({ first_name: 'Ada', orders: 3, note: 'two\nlines' });

    const text = await show('people', '--show-pii');
    expect(text.stdout).toContain('two\\nlines');
    expect(text.stdout).toContain('3 rows of model people\n');
  });

  it('rejects an unknown name (with the closest) and a bad --limit as usage errors', async () => {
    const unknown = await show('peeple');
    expect(unknown.code).toBe(2);
    const messages = unknown.stderr.trim().split('\n').map((line) => (JSON.parse(line) as { msg: string }).msg);
    expect(messages).toContain('tideline show: no model or source "peeple" (did you mean "people"?)');
    expect((await show('people', '--limit', 'ten')).code).toBe(2);
  });

  it('draws a table of cut, escaped cells', () => {
    expect(table(['a', 'long'], [{ a: null, long: 'x'.repeat(50) }, { a: 'é\u001b[31m', long: 1 }])).toBe(
      ['| a           | long                                     |', '|-------------|------------------------------------------|', `|             | ${'x'.repeat(39)}… |`, '| é\\u001b[31m | 1                                        |', ''].join('\n'),
    );
  });
});
