import { describe, expect, it } from 'vitest';
import { DESTINATIONS } from '../destinations/index.js';
import { standing, SUNSET_WARNING_DAYS } from '../src/sync/api-versions.js';
import { peopleModels, runCli, tempProject } from './support/cli.js';

const CSV = 'id,email\n1,alice@example.com\n2,bob@example.org\n';
const MODELS = peopleModels();

/** A project with a Meta destination (its `api_version` line given, or none), a webhook and a file destination. */
function project(metaVersion: string | undefined, extra = ''): string {
  const syncs = `destinations:
  - name: hook
    type: webhook
    url: http://127.0.0.1:1/hook
    secret: a-secret-of-24-characters
  - name: files
    type: file
    path: out
  - name: fb
    type: meta
    access_token: EAAB-not-a-real-token
${metaVersion ? `    api_version: ${metaVersion}\n` : ''}${extra}syncs:
  - name: fb_members
    model: people
    destination: fb
    object: '23850000000000001'
    mode: audience
    key: { from: customer_id, field: external_id }
    fields: { email: email }
  - name: hook_people
    model: people
    destination: hook
    object: people
    mode: upsert
    key: { from: customer_id, field: external_id }
    fields: { email: email }
`;
  return tempProject({ 'tideline.yml': 'name: shop\n', 'data/people.csv': CSV, 'models/people.yml': MODELS, 'syncs/all.yml': syncs });
}

const validate = (root: string, today?: string) => runCli(['validate', '--offline', '--log-format', 'pretty', ...(today ? ['--today', today] : [])], { cwd: root });

/** The least config of each destination type that declares its API version. */
const LEAST_CONFIG: Readonly<Record<string, object>> = {
  meta: { access_token: 'x' },
  brevo: { api_key: 'k' },
  klaviyo: { api_key: 'k' },
  mailchimp: { api_key: 'k-us1', list_id: 'l' },
  salesforce: { access_token: 'x', instance_url: 'https://example.my.salesforce.com' },
  hubspot: { token: 'x' },
  google_ads: { customer_id: '1234567890' },
  linkedin: { access_token: 'x', ad_account_id: '7' },
  tiktok: { access_token: 'x', advertiser_id: '7' },
};

describe('API versions against their sunsets', () => {
  it('standing: a warning from 90 days before the sunset, an error from the sunset day on', () => {
    const version = { version: 'v1', sunset: '2027-02-23', source: 'test' };
    expect(standing(version, '2026-11-24')).toMatchObject({ state: 'supported', daysLeft: 91 });
    expect(standing(version, '2026-11-25')).toMatchObject({ state: 'near-sunset', daysLeft: SUNSET_WARNING_DAYS });
    expect(standing(version, '2027-02-22')).toMatchObject({ state: 'near-sunset', daysLeft: 1 });
    expect(standing(version, '2027-02-23')).toMatchObject({ state: 'expired', daysLeft: 0 });
    expect(standing(version, '2030-01-01').state).toBe('expired');
    expect(standing({ ...version, sunset: undefined }, '2030-01-01')).toMatchObject({ state: 'supported', daysLeft: undefined });
  });

  it('every declared version names its source, and no default is past its sunset today', () => {
    const today = new Date().toISOString().slice(0, 10);
    const declared = DESTINATIONS.filter((d) => d.apiVersion);
    expect(declared.map((d) => d.type)).toEqual(expect.arrayContaining(Object.keys(LEAST_CONFIG)));
    for (const type of declared) {
      // The least config each type takes: its credentials and required ids, everything else by default.
      const minimal = LEAST_CONFIG[type.type];
      expect(minimal, `${type.type} declares an API version: give it its least config in LEAST_CONFIG`).toBeDefined();
      const parsed = type.configSchema.safeParse(minimal);
      expect(parsed.success, `${type.type}: ${parsed.error?.message ?? ''}`).toBe(true);
      const config: unknown = parsed.data;
      const version = type.apiVersion!(config);
      expect(version.source, type.type).toMatch(/^https:\/\//);
      expect(standing(version, today).state, `${type.type} ${version.version}`).not.toBe('expired');
    }
  });

  it('tideline validate warns within 90 days of a sunset, at the line that names the version (exit 0)', async () => {
    const root = project('v25.0');
    const result = await validate(root, '2026-12-06');
    expect(result.code, result.stderr).toBe(0);
    const warning = result.stderr.split('\n').find((l) => l.startsWith('warning: '));
    // v25.0 expires on 2027-02-23: 79 days after 2026-12-06.
    expect(warning).toMatch(/^warning: syncs\/all\.yml:12:18 {2}destinations\[2\]\.api_version {2}warning: meta API version v25\.0 is switched off on 2027-02-23, in 79 days/);
    expect(warning).toContain('developers.facebook.com');
    // Nothing to say about the destinations that declare no version (webhook, file).
    expect(result.stderr).not.toMatch(/hook|files/);
  });

  it('tideline validate fails past a sunset (exit 2), at the same place', async () => {
    const expired = await validate(project('v25.0'), '2027-02-23');
    expect(expired.code).toBe(2);
    expect(expired.stderr).toMatch(/error: syncs\/all\.yml:12:18 {2}destinations\[2\]\.api_version {2}meta API version v25\.0 was switched off on 2027-02-23/);

    // v23.0 is long gone: the same check with the real clock.
    const gone = await validate(project('v23.0'));
    expect(gone.code).toBe(2);
    expect(gone.stderr).toMatch(/meta API version v23\.0 was switched off on 2026-06-09/);

    // The default version has no announced sunset: nothing to say, whatever the day.
    const fine = await validate(project(undefined), '2031-01-01');
    expect(fine.code, fine.stderr).toBe(0);
    expect(fine.stderr).not.toMatch(/API version/);
  });

  it('klaviyo declares its revision: warned before its two-year support ends, located at the entry', async () => {
    const root = tempProject({
      'tideline.yml': 'name: shop\n',
      'data/people.csv': CSV,
      'models/people.yml': MODELS,
      'syncs/k.yml': `destinations:
  - name: kl
    type: klaviyo
    api_key: pk_not_a_real_key
syncs:
  - name: k_people
    model: people
    destination: kl
    object: profiles
    mode: upsert
    key: { from: email, field: email }
`,
    });
    // The default revision, 2026-10-15, is supported until 2028-10-15.
    const fine = await validate(root, '2028-07-01');
    expect(fine.code, fine.stderr).toBe(0);
    expect(fine.stderr).not.toMatch(/API version/);
    const near = await validate(root, '2028-08-01');
    expect(near.code, near.stderr).toBe(0);
    expect(near.stderr).toMatch(/warning: syncs\/k\.yml:2:5 {2}destinations\[0\] {2}warning: klaviyo API version 2026-10-15 is switched off on 2028-10-15, in 75 days/);
    const past = await validate(root, '2028-10-15');
    expect(past.code).toBe(2);
    const bad = await validate(root, '15/10/2027');
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/--today takes a day written YYYY-MM-DD/);
  });
});
