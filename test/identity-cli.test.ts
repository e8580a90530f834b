import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { runCli, tempProject } from './support/cli.js';

const ESHOP = `id,email,phone,first_name,last_name,updated_at
1,alice@example.com,06 12 34 56 78,Alice,Martin,2024-01-01 10:00:00
2,bob@example.com,,Bob,Stone,2024-01-02 10:00:00
3,test@test.com,01 40 00 00 00,Test,Test,2024-01-03 10:00:00
`;
const CRM = `contact,mail,tel,first,last,changed
C1, ALICE@example.com ,+33 6 12 34 56 78,Alice,Martin,2024-02-01 10:00:00
C2,,0612345678,A.,Martin,2024-03-01 10:00:00
C3,test@test.com,,Other,Person,2024-03-01 10:00:00
`;
const SOURCES = `sources:
  - name: eshop
    file: data/eshop.csv
    types: { phone: string }
  - name: crm
    file: data/crm.csv
    types: { tel: string }
`;
const MODEL = `models:
  - name: people
    kind: identity
    phone_country: FR
    identifiers:
      email: { type: email, junk: [test@test.com] }
      phone: phone
      first_name: name
      last_name: name
    sources:
      - from: eshop
        id: id
        updated_at: updated_at
        identifiers: { email: email, phone: phone, first_name: first_name, last_name: last_name }
      - from: crm
        id: contact
        updated_at: changed
        identifiers: { email: mail, phone: tel, first_name: first, last_name: last }
    rules:
      - name: same_email
        match: [email]
      - name: same_phone
        match: [phone]
`;

function project(model = MODEL): string {
  return tempProject({ 'tideline.yml': 'name: shop\n', 'data/eshop.csv': ESHOP, 'data/crm.csv': CRM, 'models/sources.yml': SOURCES, 'models/people.yml': model });
}

describe('tideline with an identity model', () => {
  it('run prints the report without personal data; identity explain shows who was linked, how and why', async () => {
    const root = project();
    const run = await runCli(['run', '--log-format', 'pretty'], { cwd: root });
    expect(run.code, run.stderr).toBe(0);
    expect(run.stderr).toContain('people: 6 records (crm 3, eshop 3) became 4 customers; 2 records were merged into another.');
    expect(run.stderr).toContain('Linked by rule: same_email 2 records, same_phone 1 records.');
    expect(run.stderr).toContain('Junk values dropped: email t***@test.com (2 records).');
    const results = readFileSync(join(root, 'target/tideline_run_results.json'), 'utf8');
    expect(JSON.parse(results).results[0].summary).toMatchObject({ customers: 4, records_linked: { same_email: 2, same_phone: 1 }, rounds: { components: 1 } });
    const dbtResults = readFileSync(join(root, 'target/run_results.json'), 'utf8');
    for (const output of [run.stderr, run.stdout, results, dbtResults]) for (const pii of ['test@test.com', 'alice@example.com', '+33612345678']) expect(output).not.toContain(pii);

    const explain = await runCli(['identity', 'explain', 'Alice@Example.com'], { cwd: root });
    expect(explain.code, explain.stderr).toBe(0);
    expect(explain.stdout).toMatch(/^Customer [0-9a-f]{16} \(model people\): 3 records from crm, eshop\n/);
    expect(explain.stdout).toMatch(/eshop:1 +holds the customer id/);
    expect(explain.stdout).toContain('  eshop:1\n  └─ same_email [alice@example.com] → crm:C1\n     └─ same_phone [+33612345678] → crm:C2\n');

    const missing = await runCli(['identity', 'explain', 'nobody@example.com', '--log-format', 'pretty'], { cwd: root });
    expect(missing.code).toBe(1);
    expect(missing.stderr).toContain('no customer of people matches n***@example.com');
    expect(missing.stderr).not.toContain('nobody@');
  });

  it('a broken identity file exits 2, naming file:line:col, the field and what was expected', async () => {
    const broken = MODEL.replace('      phone: phone\n', '      phone: phon\n').replace('match: [phone]', 'match: [mobile]');
    const result = await runCli(['validate', '--log-format', 'pretty'], { cwd: project(broken) });
    expect(result.code).toBe(2);
    expect(result.stderr.split('\n').filter((l) => l.startsWith('error: '))).toEqual([
      'error: models/people.yml:7:14  models[0].identifiers.phone  expected one of "email", "phone", "name", "postcode", "date", "code", "address", "text", got "phon" (did you mean "phone"?)',
    ]);
    // Once the schema is right, the model's own checks run: a rule on an identifier nobody declared.
    const second = await runCli(['validate', '--log-format', 'pretty'], { cwd: project(MODEL.replace('match: [phone]', 'match: [mobile]')) });
    expect(second.code).toBe(2);
    expect(second.stderr.split('\n').filter((l) => l.startsWith('error: '))).toEqual([
      'error: models/people.yml:23:17  models[0].rules[1].match[0]  rule "same_phone" uses identifier "mobile", which is not declared under `identifiers`',
    ]);
  });
});
