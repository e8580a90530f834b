import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { peopleModels, runCli, tempProject } from './support/cli.js';

const CSV = 'id,email,first_name,segment\n1,alice@example.com,Alice,a\n2,bob@example.org,Bob,a\n3,chloe@example.net,Chloé,b\n4,dan@example.com,Dan,b\n';
const MODELS = peopleModels(['first_name: first_name', 'segment: segment']);
/** An audience sync of one segment to one Brevo list. */
const listSync = (name: string, segment: string, list: number) => `  - name: ${name}
    model: people
    where: [{ column: segment, equals: ${segment} }]
    destination: brevo
    object: 'list:${list}'
    mode: audience
    key: { from: email, field: email }
    fields: { FIRSTNAME: first_name }
`;
const SYNCS = `destinations:
  - name: brevo
    type: brevo
    api_key: sandbox-key
syncs:
${listSync('list_a', 'a', 2)}${listSync('list_b', 'b', 3)}`;

/** The members of each list the Brevo emulator saved at the end of a sandbox session, by list. */
function savedLists(root: string): Record<string, number> {
  const saved = JSON.parse(readFileSync(join(root, 'target', 'sandbox', 'brevo', 'emulator-state.json'), 'utf8')) as { state: { objects: Record<string, Record<string, unknown>> } };
  return Object.fromEntries(Object.entries(saved.state.objects).filter(([o]) => o.startsWith('list:')).map(([o, members]) => [o, Object.keys(members).length]));
}

describe('sync --sandbox --full-resync --select one sync', () => {
  it("sends that sync's records again and leaves the other syncs' lists in the emulator as their state says", async () => {
    const root = tempProject({ 'tideline.yml': 'name: shop\n', 'data/people.csv': CSV, 'models/people.yml': MODELS, 'syncs/crm.yml': SYNCS });
    expect((await runCli(['run'], { cwd: root })).code).toBe(0);
    const first = await runCli(['sync', '--sandbox', '--log-format', 'json'], { cwd: root });
    expect(first.code, first.stderr).toBe(0);
    expect(savedLists(root)).toEqual({ 'list:2': 2, 'list:3': 2 });
    const resync = await runCli(['sync', '--sandbox', '--full-resync', '--select', 'list_a', '--log-format', 'json'], { cwd: root });
    expect(resync.code, resync.stderr).toBe(0);
    const results = JSON.parse(readFileSync(join(root, 'target', 'sync_results.json'), 'utf8')) as { results: { sync: string; sent: number }[] };
    expect(results.results).toMatchObject([{ sync: 'list_a', sent: 2 }]);
    // list_b's members are still in the emulator: its state (nothing to send) is true.
    expect(savedLists(root)).toEqual({ 'list:2': 2, 'list:3': 2 });
    const after = await runCli(['sync', '--sandbox', '--select', 'list_b', '--log-format', 'json'], { cwd: root });
    expect(after.code, after.stderr).toBe(0);
    const next = JSON.parse(readFileSync(join(root, 'target', 'sync_results.json'), 'utf8')) as { results: { sync: string; sent: number; requests: number }[] };
    expect(next.results).toMatchObject([{ sync: 'list_b', sent: 0, requests: 0 }]);
    expect(savedLists(root)).toEqual({ 'list:2': 2, 'list:3': 2 });
  }, 120_000);
});
