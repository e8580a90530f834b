import { relative } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { OutputColumn } from '../model-kind.js';
import { analyseWithSources } from '../../src/project/analyse.js';
import { loadProject } from '../../src/project/loader.js';
import { ConfigError, formatProblem, type Problem } from '../../src/project/problems.js';
import { tempProject } from '../../test/support/cli.js';

const COLUMNS: Record<string, OutputColumn[]> = {
  accounts: [...['id', 'email', 'phone', 'first_name', 'last_name', 'city'].map((name): OutputColumn => ({ name, type: 'string' })), { name: 'updated_at', type: 'timestamp' }],
};

const VALID = `sources:
  - name: accounts
    table: raw.accounts
models:
  - name: people
    kind: identity
    phone_country: FR
    identifiers:
      email: email
      phone: phone
      first_name: name
      last_name: name
    sources:
      - from: accounts
        id: id
        updated_at: updated_at
        identifiers:
          email: email
          phone: phone
          first_name: first_name
          last_name: last_name
        attributes:
          city: city
    rules:
      - name: same_email
        match: [email]
      - name: similar_name
        match: [last_name]
        similar: { identifier: first_name, edit_distance: 1 }
`;

/** Problems of a project whose only model file is `yaml`, as `file:line:col  field  message` lines. */
async function problems(yaml: string, target: 'duckdb' | 'postgres' = 'duckdb'): Promise<string[]> {
  const root = tempProject({
    'tideline.yml': 'name: shop\ntarget: duckdb\ntargets:\n  duckdb: { type: duckdb, path: ":memory:" }\n  postgres: { type: postgres, url: "postgres://localhost/x" }\n',
    'models/people.yml': yaml,
  });
  try {
    const project = await loadProject({ projectDir: root, target, env: {} });
    analyseWithSources(project, new Map(Object.entries(COLUMNS)), true);
    return [];
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    return error.problems.map((p: Problem) => formatProblem({ ...p, at: p.at && { ...p.at, file: relative(root, p.at.file) } }));
  }
}

describe('identity: bad YAML is reported where it is written', () => {
  it('accepts the valid model every case below breaks', async () => {
    expect(await problems(VALID)).toEqual([]);
  });

  it('unknown identifier type, with a suggestion', async () => {
    expect(await problems(VALID.replace('      phone: phone\n      first_name', '      phone: phon\n      first_name'))).toEqual([
      'models/people.yml:10:14  models[0].identifiers.phone  expected one of "email", "phone", "name", "postcode", "date", "code", "address", "text", got "phon" (did you mean "phone"?)',
    ]);
  });

  it('unknown column of the source', async () => {
    expect(await problems(VALID.replace('          email: email', '          email: emial'))).toEqual([
      'models/people.yml:18:18  models[0].sources[0].identifiers.email  unknown column "emial" in source "accounts" (did you mean "email"?)',
    ]);
  });

  it('a source column mapped to an identifier that is not declared', async () => {
    expect(await problems(VALID.replace('          phone: phone', '          mobile: phone'))).toEqual([
      'models/people.yml:19:11  models[0].sources[0].identifiers.mobile  unknown identifier "mobile"; declared under `identifiers`: email, phone, first_name, last_name',
    ]);
  });

  it('a rule on an undeclared identifier, and one on an attribute', async () => {
    const yaml = VALID.replace('match: [email]', 'match: [emails]').replace('match: [last_name]', 'match: [city]');
    expect(await problems(yaml)).toEqual([
      'models/people.yml:26:17  models[0].rules[0].match[0]  rule "same_email" uses identifier "emails", which is not declared under `identifiers` (did you mean "email"?)',
      'models/people.yml:28:17  models[0].rules[1].match[0]  rule "similar_name" uses identifier "city", which is not declared under `identifiers` ("city" is an attribute: attributes are kept, not matched)',
    ]);
  });

  it('an identifier no source provides', async () => {
    const yaml = VALID.replace('      last_name: name\n', '      last_name: name\n      birth_date: date\n').replace('match: [last_name]', 'match: [birth_date]');
    expect(await problems(yaml)).toEqual([
      'models/people.yml:29:17  models[0].rules[1].match[0]  rule "similar_name" uses identifier "birth_date", which no source provides: map a column to it under a source\'s `identifiers`',
    ]);
  });

  it('Jaro-Winkler where the warehouse has none, and two thresholds at once', async () => {
    const jw = VALID.replace('edit_distance: 1', 'jaro_winkler: 0.9');
    expect(await problems(jw)).toEqual([]);
    expect(await problems(jw, 'postgres')).toEqual([
      'models/people.yml:29:58  models[0].rules[1].similar.jaro_winkler  postgres has no Jaro-Winkler function; use `edit_distance` (maximum number of edits) on this warehouse',
    ]);
    expect(await problems(VALID.replace('edit_distance: 1', 'edit_distance: 1, jaro_winkler: 0.9'))).toEqual([
      'models/people.yml:29:18  models[0].rules[1].similar  give exactly one of `jaro_winkler` (minimum similarity) or `edit_distance` (maximum distance)',
    ]);
  });

  it('phones without a default country, or with an unknown one', async () => {
    expect(await problems(VALID.replace('    phone_country: FR\n', ''))).toEqual([
      'models/people.yml:18:18  models[0].sources[0].identifiers.phone  phone numbers need a default country for national numbers: set `phone_country` on the model (e.g. FR), or `country` here',
    ]);
    expect(await problems(VALID.replace('phone_country: FR', 'phone_country: FX'))).toEqual([
      'models/people.yml:7:20  models[0].phone_country  no phone numbering data for country "FX" (did you mean "FI"?); known: AE, AT, AU, BE, BR, CA, CH, CN, CZ, DE, DK, ES, FI, FR, GB, GR, HK, IE, IL, IN, IT, JP, LU, MA, MX, NL, NO, NZ, PL, PT, RO, SE, SG, TR, US, ZA',
    ]);
  });

  it('duplicate rule names, a golden field from nowhere, a recency column that is not a time', async () => {
    const yaml = VALID.replace('name: similar_name', 'name: same_email')
      .replace('        updated_at: updated_at', '        updated_at: city')
      .replace('    rules:', '    golden:\n      email: most_recent\n      town: { from: cty, rule: longest }\n    rules:');
    expect(await problems(yaml)).toEqual([
      'models/people.yml:16:21  models[0].sources[0].updated_at  column "city" is string; `updated_at` needs a date or timestamp column (cast it in a staging model)',
      'models/people.yml:26:21  models[0].golden.town.from  unknown identifier or attribute "cty" (did you mean "city"?)',
      'models/people.yml:30:15  models[0].rules[1].name  rules[0] is already named "same_email"; rule names must be distinct',
    ]);
  });
});
