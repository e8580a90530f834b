import { createHash } from 'node:crypto';
import { afterEach, describe, expect, it } from 'vitest';
import { captureLogger, snapshotRetained } from '../../test/support/ads.js';
import { people, SyncHarness, type Person } from '../../test/support/sync-harness.js';
import type { ConfigError } from '../../src/project/problems.js';
import { AuthError, BatchRejectedError, RateLimitedError, StopSyncError, TransientError } from '../destination.js';
import { googleError } from './adapter.js';
import { startGoogleAdsEmulator, type GoogleAdsEmulator, type GoogleAdsEmulatorOptions } from './emulator.js';
import { errorBody, RETRY_INFO_TYPE } from './protocol.js';

const sha = (s: string) => createHash('sha256').update(s).digest('hex');
const LIST = 'user_lists/100';
/** The members Google should hold for these people: their normalised, hashed e-mails. */
const hashedEmails = (rows: readonly Person[]) => rows.map((p) => sha(p.email!.trim().toLowerCase())).sort();

describe('google_ads through the sync engine', () => {
  const open: { emulator?: GoogleAdsEmulator; harness?: SyncHarness }[] = [];
  afterEach(async () => {
    for (const o of open.splice(0)) {
      await o.harness?.close();
      await o.emulator?.close();
    }
  });

  async function setup(rows: readonly Person[], options: GoogleAdsEmulatorOptions = {}, config: Record<string, unknown> = {}, sync: Record<string, unknown> = {}) {
    const emulator = await startGoogleAdsEmulator({ recordBodies: true, ...options });
    const slot: (typeof open)[number] = { emulator };
    open.push(slot);
    const { accessToken, developerToken, customerId } = emulator.credentials;
    const harness = await SyncHarness.start({
      destinations: [
        {
          name: 'ads',
          type: 'google_ads',
          endpoint: emulator.endpoint,
          customer_id: `${customerId.slice(0, 3)}-${customerId.slice(3, 6)}-${customerId.slice(6)}`,
          developer_token: developerToken,
          access_token: accessToken,
          job_poll_seconds: 0.01,
          retries: { attempts: 4, base_ms: 10, max_ms: 100 },
          ...config,
        },
      ],
      syncs: [{ name: 's', model: 'people', destination: 'ads', object: LIST, mode: 'audience', key: { from: 'id', field: 'customer_id' }, fields: { email: 'email' }, ...sync }],
      rows,
    });
    slot.harness = harness;
    return { emulator, harness };
  }

  const members = (emulator: GoogleAdsEmulator, list = LIST) => [...emulator.records(list).keys()].sort();

  it('adds members in one job per run, runs it, waits for SUCCESS; reruns send nothing; leavers are removed by their hashes', async () => {
    const { emulator, harness } = await setup(people(10));
    const capture = captureLogger();
    const first = await harness.sync('s', {}, { logger: capture.logger });
    expect(first).toMatchObject({ status: 'success', accepted: 10, requests: 1 });
    expect(members(emulator)).toEqual(hashedEmails(people(10)));
    expect(first.details).toMatchObject({ offline_user_data_jobs: [{ operation: 'add', operations: 10, remove_all: false, status: 'SUCCESS' }] });

    const second = await harness.sync('s');
    expect(second.requests).toBe(0);
    expect(emulator.stats.jobsCreated).toBe(1);

    const next = [...people(7), ...people(2, 50)];
    await harness.setRows(next);
    const third = await harness.sync('s', {}, { logger: capture.logger });
    expect(third.counts).toMatchObject({ added: 2, removed: 3 });
    expect(third.status).toBe('success');
    // Adds and removes never share a job: one of each, removals run first.
    expect(third.details).toMatchObject({ offline_user_data_jobs: [{ operation: 'remove', operations: 3, status: 'SUCCESS' }, { operation: 'add', operations: 2, status: 'SUCCESS' }] });
    expect(members(emulator)).toEqual(hashedEmails(next));

    // Privacy: the snapshot keeps the hash, never the address; no request body and no log line holds a raw e-mail.
    const retained = await snapshotRetained(harness, 's');
    expect(retained.get('1')).toEqual({ email: sha('person1@example.com') });
    const raw = [...people(10), ...next].map((p) => p.email!);
    const seen = [...emulator.bodies, ...capture.lines, JSON.stringify([...retained])].join('\n');
    expect(emulator.bodies.length).toBeGreaterThan(4);
    expect(capture.lines.length).toBeGreaterThan(3);
    for (const email of raw) expect(seen).not.toContain(email);
    expect(seen).toContain(sha('person1@example.com'));
  });

  it('chunks identifiers per request, maps partial failures back by operation index, and holds refused members back', async () => {
    const bad = new Set([sha('person7@example.com'), sha('person23@example.com')]);
    const { emulator, harness } = await setup(
      people(45),
      { maxIdentifiersPerRequest: 20, reject: (user) => (user.userIdentifiers.some((i) => bad.has(i.hashedEmail ?? '')) ? 'INVALID_USER_IDENTIFIER' : undefined) },
      { identifiers_per_request: 20, batch_size: 30 },
    );
    const result = await harness.sync('s');
    expect(result).toMatchObject({ status: 'partial', accepted: 43, rejected: 2, requests: 2 });
    expect(emulator.stats.maxIdentifiersSeen).toBe(20);
    expect(emulator.stats.tooLarge).toBe(0);
    expect(members(emulator)).toEqual(hashedEmails(people(45).filter((p) => p.id !== 7 && p.id !== 23)));
    const rejected = await harness.engine().store.rejectedRows('s', 10);
    expect(rejected.map((r) => [r['record_key'], r['error_code'], r['retryable']]).sort()).toEqual([
      ['23', 'invalid_user_identifier', false],
      ['7', 'invalid_user_identifier', false],
    ]);
    expect((await harness.sync('s')).requests).toBe(0);
  });

  it('honours RESOURCE_EXHAUSTED with its retry delay and retries transient errors', async () => {
    const { emulator, harness } = await setup(people(16), { rateLimit: { requests: 4, perMs: 400 } }, { batch_size: 2 });
    emulator.server.faults.queue({ kind: 'status', status: 503 }, { kind: 'status', status: 500 });
    const result = await harness.sync('s');
    expect(result.status).toBe('success');
    expect(emulator.server.count(429)).toBeGreaterThan(0);
    expect(result.rateLimited).toBeGreaterThan(0);
    expect(members(emulator)).toEqual(hashedEmails(people(16)));
  });

  it('stops on bad credentials, and on customer data terms not accepted, with a message saying what to fix', async () => {
    const { emulator, harness } = await setup(people(5), {}, { access_token: 'ya29.wrong-token' });
    const denied = await harness.sync('s');
    expect(denied.status).toBe('failed');
    expect(denied.error).toMatch(/answered 401 OAUTH_TOKEN_INVALID \(check the destination's access_token/);
    expect(await harness.engine().store.snapshotSize('s')).toBe(0);

    const terms = await setup(people(5), { termsAccepted: false });
    const refused = await terms.harness.sync('s');
    expect(refused.status).toBe('failed');
    expect(refused.error).toMatch(/CUSTOMER_NOT_ACCEPTED_CUSTOMER_DATA_TERMS.*terms/);
    expect(refused.accepted).toBe(0);
    expect(members(terms.emulator)).toEqual([]);
    expect(emulator.stats.jobsCreated).toBe(0);

    const deniedConsent = await setup(people(5), {}, { consent: { ad_user_data: 'DENIED' } });
    expect((await deniedConsent.harness.sync('s')).error).toMatch(/CUSTOMER_NOT_ACCEPTED_CUSTOMER_DATA_TERMS/);
  });

  it('a full resync empties the list with removeAll and sends every member again, in one job', async () => {
    const { emulator, harness } = await setup(people(6));
    await harness.sync('s');
    // Someone added a member by hand in Google Ads: only a full resync brings the list back to the model.
    emulator.server.store.object(LIST).set(sha('stranger@example.com'), { hashedEmail: [sha('stranger@example.com')] });
    expect(members(emulator)).toHaveLength(7);
    const full = await harness.sync('s', { fullResync: true });
    expect(full).toMatchObject({ status: 'success', accepted: 6 });
    expect(full.details).toMatchObject({ offline_user_data_jobs: [{ operation: 'add', remove_all: true, status: 'SUCCESS' }] });
    expect(members(emulator)).toEqual(hashedEmails(people(6)));
  });

  it('does not wait past job_wait_seconds: the job is left to Google and reported as running', async () => {
    const { emulator, harness } = await setup(people(3), { pollsUntilDone: 1000 }, { job_wait_seconds: 0.2, job_poll_seconds: 0.05 });
    const started = performance.now();
    const result = await harness.sync('s');
    expect(performance.now() - started).toBeLessThan(5000);
    expect(result.status).toBe('success');
    expect(result.details).toMatchObject({ offline_user_data_jobs: [{ status: 'RUNNING' }] });
    expect(emulator.jobStatuses()).toEqual({ RUNNING: 1 });
    expect(members(emulator)).toEqual([]);
  });

  it('uploads click conversions with a value (the predicted LTV), once, by order id', async () => {
    const rows = people(5);
    const { emulator, harness } = await setup(rows, {}, {}, {
      object: 'conversion_actions/777',
      mode: 'insert',
      key: { from: 'id', field: 'order_id' },
      fields: {
        gclid: { from: 'email', transform: ['hash'] },
        conversion_date_time: { constant: '2026-05-01T10:00:00.000Z' },
        conversion_value: 'orders',
        currency_code: { constant: 'eur' },
      },
    });
    const result = await harness.sync('s');
    expect(result).toMatchObject({ status: 'success', accepted: 5, requests: 1, details: { conversions_uploaded: 5 } });
    const uploaded = emulator.records('conversion_actions/777');
    expect(uploaded.get('3')).toEqual({
      gclid: sha('person3@example.com'),
      conversionAction: `customers/${emulator.credentials.customerId}/conversionActions/777`,
      conversionDateTime: '2026-05-01 10:00:00+00:00',
      conversionValue: 3,
      currencyCode: 'EUR',
      orderId: '3',
    });
    expect((await harness.sync('s')).requests).toBe(0);
  });

  it('refuses at load time what Customer Match cannot take', async () => {
    const problems = (sync: Record<string, unknown>) =>
      setup(people(1), {}, {}, sync).then(
        () => [],
        (error: ConfigError) => error.problems.map((p) => p.message),
      );
    expect(await problems({ fields: { email: 'email', emial: 'email' } })).toEqual([expect.stringMatching(/^"emial" is not a field of Customer Match: .* \(did you mean "email"\?\)$/)]);
    expect(await problems({ key: { from: 'email', field: 'email' }, fields: { phone: 'first_name' } })).toEqual([expect.stringMatching(/^key the audience by a customer id/)]);
    expect(await problems({ fields: { first_name: 'first_name' } })).toEqual([expect.stringMatching(/all of first_name, last_name, country_code, postal_code; missing: last_name, country_code, postal_code$/)]);
    expect(await problems({ mode: 'insert' })).toEqual(['a Customer Match list takes mode audience (members added and removed)']);
  });
});

describe('google_ads emulator: the real contract', () => {
  let emulator: GoogleAdsEmulator;
  afterEach(() => emulator.close());

  const call = (path: string, body: unknown) =>
    fetch(`${emulator.endpoint}/v21/${path}`, {
      method: 'POST',
      headers: { authorization: `Bearer ${emulator.credentials.accessToken}`, 'developer-token': emulator.credentials.developerToken, 'content-type': 'application/json' },
      body: JSON.stringify(body),
    });

  it('refuses unhashed identifiers, mixed creates and removes, removeAll after the first operation, and additions after run', async () => {
    emulator = await startGoogleAdsEmulator();
    const c = emulator.credentials.customerId;
    const created = (await (await call(`customers/${c}/offlineUserDataJobs:create`, { job: { type: 'CUSTOMER_MATCH_USER_LIST', customerMatchUserListMetadata: { userList: `customers/${c}/userLists/9` } } })).json()) as { resourceName: string };
    const user = (email: string) => ({ userIdentifiers: [{ hashedEmail: email }] });
    const answer = await call(`${created.resourceName}:addOperations`, {
      enablePartialFailure: true,
      operations: [{ create: user(sha('a@x.com')) }, { create: user('a@x.com') }, { remove: user(sha('b@x.com')) }, { removeAll: true }, { create: { userIdentifiers: Array.from({ length: 21 }, (_, i) => ({ hashedEmail: sha(`${i}@x.com`) })) } }],
    });
    expect(answer.status).toBe(200);
    const body = (await answer.json()) as { partialFailureError: { details: { errors: { errorCode: Record<string, string>; location: { fieldPathElements: { index: number }[] } }[] }[] } };
    expect(body.partialFailureError.details[0]!.errors.map((e) => [e.location.fieldPathElements[0]!.index, Object.values(e.errorCode)[0]])).toEqual([
      [1, 'INVALID_SHA256_FORMAT'],
      [2, 'CONFLICTING_OPERATION'],
      [3, 'REMOVE_ALL_NOT_FIRST_OPERATION'],
      [4, 'TOO_MANY_USER_IDENTIFIERS'],
    ]);
    expect((await call(`${created.resourceName}:run`, {})).status).toBe(200);
    const late = await call(`${created.resourceName}:addOperations`, { enablePartialFailure: true, operations: [{ create: user(sha('c@x.com')) }] });
    expect(late.status).toBe(400);
    expect(JSON.stringify(await late.json())).toContain('JOB_ALREADY_STARTED');
    const unauthenticated = await fetch(`${emulator.endpoint}/v21/customers/${c}/googleAds:search`, { method: 'POST', body: '{}' });
    expect(unauthenticated.status).toBe(401);
  });

  it('errors map to the engine\'s typed failures', () => {
    const request = { method: 'POST' as const, url: 'https://googleads.googleapis.com/v21/customers/1/offlineUserDataJobs/2:addOperations' };
    const response = (status: number, body: unknown) => ({ status, headers: new Headers(), text: JSON.stringify(body) });
    const code = (category: string, name: string) => [{ errorCode: { [category]: name }, message: name }];
    const limited = googleError(request, response(429, errorBody(429, 'RESOURCE_EXHAUSTED', 'x', code('quotaError', 'RESOURCE_EXHAUSTED'), [{ '@type': RETRY_INFO_TYPE, retryDelay: '2.5s' }])));
    expect(limited).toBeInstanceOf(RateLimitedError);
    expect((limited as RateLimitedError).retryAfterMs).toBe(2500);
    expect(googleError(request, response(409, errorBody(409, 'ABORTED', 'x', code('databaseError', 'CONCURRENT_MODIFICATION'))))).toBeInstanceOf(TransientError);
    expect(googleError(request, response(500, errorBody(500, 'INTERNAL', 'x', code('internalError', 'INTERNAL_ERROR'))))).toBeInstanceOf(TransientError);
    expect(googleError(request, response(400, errorBody(400, 'INVALID_ARGUMENT', 'x', code('offlineUserDataJobError', 'CUSTOMER_NOT_ACCEPTED_CUSTOMER_DATA_TERMS'))))).toBeInstanceOf(StopSyncError);
    expect(googleError(request, response(401, errorBody(401, 'UNAUTHENTICATED', 'x', code('authenticationError', 'OAUTH_TOKEN_INVALID'))))).toBeInstanceOf(AuthError);
    expect(googleError(request, response(400, errorBody(400, 'INVALID_ARGUMENT', 'x', code('requestError', 'TOO_MANY_OPERATIONS'))))).toBeInstanceOf(BatchRejectedError);
  });
});
