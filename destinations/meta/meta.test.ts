import { createHash } from 'node:crypto';
import { afterEach, describe, expect, it } from 'vitest';
import { audienceRoundTrip, captureLogger, expectNoPersonalData, harnessPerTest, heldRecords, startAudienceHarness } from '../../test/support/ads.js';
import { people, SyncHarness, type Person } from '../../test/support/sync-harness.js';
import { AuthError, BatchRejectedError, RateLimitedError, StopSyncError, TransientError } from '../destination.js';
import { metaError } from './adapter.js';
import { startMetaEmulator, type MetaEmulator, type MetaEmulatorOptions, type ReceivedRequest } from './emulator.js';
import { CHECK_FIELDS, DEFAULT_API_VERSION, MAX_DELETE_URL_CHARS, USERS_RESPONSE_KEYS } from './protocol.js';
import { SDK_API_VERSION, sdkAudience, sdkDefinitions } from './sdk-definitions.js';

const sha = (s: string) => createHash('sha256').update(s).digest('hex');
const AUDIENCE = '23850000000000001';
/** Meta's normalised first name of "Name 12": letters only, lower case. */
const fn = (p: Person) => sha(p.first_name!.toLowerCase().replace(/[^a-z]/g, ''));
/** What Meta should hold for these people: EXTERN_ID → hashed EMAIL and FN. */
const expected = (rows: readonly Person[]) => new Map(rows.map((p) => [String(p.id), { EXTERN_ID: String(p.id), EMAIL: sha(p.email!), FN: fn(p) }]));
/** The total of answers the emulator gave, whatever their status. */
const answered = (emulator: MetaEmulator) => [...emulator.server.answered.values()].reduce((a, b) => a + b, 0);

describe('meta through the sync engine', () => {
  const started = harnessPerTest<MetaEmulator>();

  async function setup(rows: readonly object[], options: MetaEmulatorOptions = {}, config: Record<string, unknown> = {}, sync: Record<string, unknown> = {}, columns?: Parameters<typeof SyncHarness.start>[0]['columns']) {
    const emulator = await startMetaEmulator({ recordBodies: true, definitions: sdkDefinitions(), ...options });
    const destination = { name: 'fb', type: 'meta', endpoint: emulator.endpoint, access_token: emulator.accessToken, retries: { attempts: 4, base_ms: 10, max_ms: 100 }, ...config };
    return started(emulator, () => startAudienceHarness(destination, { object: AUDIENCE, key: { from: 'id', field: 'external_id' }, fields: { email: 'email', first_name: 'first_name' }, ...sync }, rows, columns));
  }

  const held = (emulator: MetaEmulator) => heldRecords(emulator.records(AUDIENCE));

  it(`adds members with the multi-key schema on ${DEFAULT_API_VERSION}, reruns send nothing, leavers are deleted by their hashes`, async () => {
    const { emulator, harness } = await setup(people(10));
    const capture = captureLogger();
    const next = await audienceRoundTrip(harness, capture.logger, () => held(emulator), expected, (first) => {
      expect(first).toMatchObject({ details: { requests: 1, num_received: 10, num_invalid_entries: 0 } });
    });
    expect(emulator.requests.every((r) => r.path.startsWith(`/${DEFAULT_API_VERSION}/`))).toBe(true);

    expect(capture.lines.length).toBeGreaterThan(1);
    // The token is the request's credential; it never reaches a log line.
    await expectNoPersonalData(harness, capture, emulator, next, { email: sha('person1@example.com'), first_name: sha('name') });
    expect(emulator.stats.contractViolations).toBe(0);
  });

  it('removes as the official SDK does: DELETE with the payload in the query string, never in a body, URLs bounded', async () => {
    // Five identifiers per member: 400 leavers make about 150 kB of payload, more than one URL may carry.
    const columns = [
      { name: 'id', type: 'integer' },
      { name: 'email', type: 'string' },
      { name: 'phone', type: 'string' },
      { name: 'first_name', type: 'string' },
      { name: 'last_name', type: 'string' },
      { name: 'city', type: 'string' },
    ] as const;
    const rows = Array.from({ length: 450 }, (_, i) => ({ id: i + 1, email: `m${i + 1}@example.com`, phone: `+33 6 12 ${String(10_000 + i).slice(1, 3)} ${String(10_000 + i).slice(3)}`, first_name: `Ann${String.fromCharCode(97 + (i % 26))}`, last_name: 'Lee', city: 'Lyon' }));
    // 400 of 450 members leave on purpose, far past the default max_removals.
    const sync = { fields: { email: 'email', phone: 'phone', first_name: 'first_name', last_name: 'last_name', city: 'city' }, options: { max_removals: '100%' } };
    const { emulator, harness } = await setup(rows, {}, {}, sync, columns);
    expect((await harness.sync('s')).accepted).toBe(450);
    await harness.setRows(rows.slice(0, 50));
    const removal = await harness.sync('s');
    expect(removal).toMatchObject({ status: 'success', counts: { removed: 400 } });
    expect(held(emulator).size).toBe(50);
    const deletes = emulator.requests.filter((r) => r.method === 'DELETE');
    expect(deletes.length).toBeGreaterThan(1);
    for (const d of deletes) {
      expect(Object.keys(d.query).sort()).toEqual(['access_token', 'payload']);
      expect(d.body).toEqual({});
      expect(`${emulator.endpoint}${d.path}?${new URLSearchParams(d.query).toString()}`.length).toBeLessThanOrEqual(MAX_DELETE_URL_CHARS);
    }
    expect(deletes.reduce((n, d) => n + (JSON.parse(d.query['payload']!) as { data: unknown[] }).data.length, 0)).toBe(400);
  });

  it('erases a person (tideline forget) with DELETE /{audience}/users naming them by EXTERN_ID and the hashes the snapshot kept; again, Meta answers as for any removal', async () => {
    const { emulator, harness } = await setup(people(4));
    expect((await harness.sync('s')).accepted).toBe(4);
    const erased = await harness.erase('s', ['2']);
    expect(erased.plan).toEqual({ operation: 'remove', method: expect.stringContaining('DELETE /{audience_id}/users') });
    expect(erased.outcomes).toEqual([{ key: '2', ok: true }]);
    const deletes = emulator.requests.filter((r) => r.method === 'DELETE');
    expect(deletes).toHaveLength(1);
    expect(deletes[0]!.path).toBe(`/${DEFAULT_API_VERSION}/${AUDIENCE}/users`);
    // The session of an erasure knows no mapping: the keys come from what the snapshot kept, already hashed.
    const person = people(4)[1]!;
    expect(JSON.parse(deletes[0]!.query['payload']!)).toEqual({ schema: ['EMAIL', 'FN', 'EXTERN_ID'], data: [[sha(person.email!), fn(person), '2']] });
    expect(held(emulator)).toEqual(expected(people(4).filter((p) => p.id !== 2)));
    // Someone the audience no longer holds: Meta's usual answer, counted as received; the erasure completes.
    const again = await harness.erase('s', ['2']);
    expect(again.outcomes).toEqual([{ key: '2', ok: true }]);
    expect(emulator.requests.filter((r) => r.method === 'DELETE')).toHaveLength(2);
    expect(held(emulator).size).toBe(3);
  });

  it('sends every match key Meta documents, normalised and hashed as Meta says (MADID and EXTERN_ID as they are)', async () => {
    const columns = [
      { name: 'id', type: 'string' },
      { name: 'email', type: 'string' },
      { name: 'phone', type: 'string' },
      { name: 'first_name', type: 'string' },
      { name: 'last_name', type: 'string' },
      { name: 'city', type: 'string' },
      { name: 'state', type: 'string' },
      { name: 'zip', type: 'string' },
      { name: 'country', type: 'string' },
      { name: 'dob', type: 'date' },
      { name: 'gender', type: 'string' },
      { name: 'madid', type: 'string' },
    ] as const;
    const row = { id: 'C-1', email: ' Ann.Lee@Example.COM ', phone: '+1 (415) 555-2671', first_name: 'Ann-Marie', last_name: "O'Lee", city: 'San Francisco', state: 'California', zip: '94103-1234', country: 'US', dob: '1985-03-09', gender: 'Female', madid: 'AECE52E7-03EE-455A-B3C4-E57283966239' };
    const fields = { email: 'email', phone: 'phone', first_name: 'first_name', first_initial: 'first_name', last_name: 'last_name', city: 'city', state: 'state', postal_code: 'zip', country_code: 'country', birth_year: 'dob', birth_month: 'dob', birth_day: 'dob', gender: 'gender', mobile_advertiser_id: 'madid' };
    const { emulator, harness } = await setup([row], {}, {}, { fields }, columns);
    expect((await harness.sync('s')).accepted).toBe(1);
    // Written out from Meta's hashing table, independently of the adapter.
    expect(held(emulator).get('C-1')).toEqual({
      EMAIL: sha('ann.lee@example.com'),
      PHONE: sha('14155552671'),
      FN: sha('annmarie'),
      FI: sha('a'),
      LN: sha('olee'),
      CT: sha('sanfrancisco'),
      ST: sha('ca'),
      ZIP: sha('94103'),
      COUNTRY: sha('us'),
      DOBY: sha('1985'),
      DOBM: sha('03'),
      DOBD: sha('09'),
      GEN: sha('f'),
      MADID: 'aece52e7-03ee-455a-b3c4-e57283966239',
      EXTERN_ID: 'C-1',
    });
    const sent = emulator.bodies.join('\n');
    for (const raw of ['Ann.Lee', '555-2671', 'Ann-Marie', 'San Francisco', 'California', '94103-1234', '1985-03-09', 'Female']) expect(sent).not.toContain(raw);
    expect(emulator.stats.unhashedValues).toBe(0);
  });

  it('a full resync replaces the audience in one usersreplace session, its batches in order, the last one flagged', async () => {
    const { emulator, harness } = await setup(people(10), {}, { batch_size: 4 });
    await harness.sync('s');
    emulator.server.store.object(AUDIENCE).set('stranger', { EXTERN_ID: 'stranger', EMAIL: sha('stranger@example.com') });
    const full = await harness.sync('s', { fullResync: true });
    expect(full).toMatchObject({ status: 'success', accepted: 10, requests: 3 });
    expect(full.details).toMatchObject({ requests: 3, num_received: 10, replace_session: { batches: 3, completed: true } });
    expect(emulator.stats.replacements).toBe(1);
    expect(held(emulator)).toEqual(expected(people(10)));
    const replaces = emulator.requests.filter((r) => r.path.endsWith('/usersreplace'));
    expect(replaces.map((r) => (r.body['session'] as { batch_seq: number }).batch_seq)).toEqual([1, 2, 3]);
    expect(replaces.map((r) => (r.body['session'] as { last_batch_flag: boolean }).last_batch_flag)).toEqual([false, false, true]);
  });

  it('waits out throttling (code 80004 with X-Business-Use-Case-Usage) without losing members', async () => {
    const rows = people(24);
    const { emulator, harness } = await setup(rows, { rateLimit: { requests: 4, perMs: 400 } }, { batch_size: 2 });
    const result = await harness.sync('s');
    expect(result.status).toBe('success');
    expect(emulator.stats.throttled).toBeGreaterThan(0);
    expect(result.rateLimited).toBeGreaterThan(0);
    expect(held(emulator)).toEqual(expected(rows));
    expect(emulator.stats.maxRowsSeen).toBe(2);
  });

  it('an expired API version stops the sync after exactly one request, naming the version and the fix', async () => {
    // v23.0 expired on 2026-06-09: Meta answers #2635 to every call.
    const { emulator, harness } = await setup(people(40), { today: () => '2026-12-06' }, { api_version: 'v23.0', batch_size: 2 });
    const result = await harness.sync('s');
    expect(result.status).toBe('failed');
    expect(result.error).toMatch(/code 2635.*version v23\.0 is expired.*api_version/);
    expect(answered(emulator)).toBe(1);
    expect(emulator.stats.expiredVersion).toBe(1);
    expect(result).toMatchObject({ accepted: 0, rejected: 0, splits: 0 });
    expect(await harness.engine().store.rejectedRows('s', 10)).toEqual([]);
  });

  it('a version that expires during the run stops at its first write: no per-record rejection, no halving', async () => {
    let day = '2026-11-09';
    const { emulator, harness } = await setup(people(40), { today: () => day }, { api_version: 'v24.0', batch_size: 4, concurrency: 1 });
    // The check passes on the last day of v24.0; every later request meets its expiry.
    emulator.server.observe(() => (day = '2026-11-10'));
    const result = await harness.sync('s');
    expect(result.status).toBe('failed');
    expect(result.error).toMatch(/version v24\.0 is expired/);
    expect(answered(emulator)).toBe(2);
    expect(result).toMatchObject({ accepted: 0, rejected: 0, splits: 0 });
    expect(await harness.engine().store.rejectedRows('s', 10)).toEqual([]);
    // Nothing recorded as sent: the next run, on a served version, sends everything.
    expect(await harness.engine().store.snapshotSize('s')).toBe(0);
  });

  it('a permission, terms or policy refusal stops at the first write, with the cause and the fix', async () => {
    const cases = [
      ['permissions', /code 200\).*lacks a permission.*ads_management/],
      ['terms', /code 2663\).*terms of service are not accepted.*accept them/],
      ['policy', /code 368\).*policy/],
    ] as const;
    for (const [refusal, message] of cases) {
      const { emulator, harness } = await setup(people(30), { refuseWrites: refusal }, { batch_size: 3, concurrency: 1 });
      const result = await harness.sync('s');
      expect(result.status, refusal).toBe('failed');
      expect(result.error, refusal).toMatch(message);
      expect(answered(emulator), refusal).toBe(2);
      expect(result, refusal).toMatchObject({ accepted: 0, rejected: 0, splits: 0 });
    }
  });

  it('stops on a flagged audience before sending anything, and on a bad token, with what to do', async () => {
    const flagged = await setup(people(5), { flagged: [AUDIENCE] });
    const stopped = await flagged.harness.sync('s');
    expect(stopped.status).toBe('failed');
    expect(stopped.error).toMatch(/flagged for integrity restrictions \(operation_status 471\)/);
    expect(answered(flagged.emulator)).toBe(1);
    expect(held(flagged.emulator).size).toBe(0);

    const bad = await setup(people(5), {}, { access_token: 'EAAB-wrong' });
    const denied = await bad.harness.sync('s');
    expect(denied.status).toBe('failed');
    expect(denied.error).toMatch(/code 190.*access_token/);
    expect(denied.error).not.toContain('EAAB-wrong');
  });

  it('the emulator refuses what the SDK does not define: a sync whose check reads a field the definitions lack fails', async () => {
    const definitions = sdkDefinitions();
    const without = { ...definitions, fields: new Set([...definitions.fields].filter((f) => f !== 'operation_status')) };
    const { emulator, harness } = await setup(people(3), { definitions: without });
    const result = await harness.sync('s');
    expect(result.status).toBe('failed');
    expect(result.error).toMatch(/nonexisting field \(operation_status\)/);
    expect(emulator.stats.contractViolations).toBe(1);
  });
});

describe('meta emulator: checked against Meta, not against us', () => {
  const started: MetaEmulator[] = [];
  const start = async (options: MetaEmulatorOptions) => {
    const emulator = await startMetaEmulator(options);
    started.push(emulator);
    return emulator;
  };
  afterEach(async () => {
    for (const emulator of started.splice(0)) await emulator.close();
  });

  it("the SDK's definitions: the node's fields and the users edges come from the SDK itself", () => {
    const definitions = sdkDefinitions();
    expect(definitions.source).toMatch(/^facebook-nodejs-business-sdk \d+\.\d+\.\d+/);
    for (const field of CHECK_FIELDS) expect(definitions.fields).toContain(field);
    for (const edge of ['POST users', 'DELETE users', 'POST usersreplace']) expect(definitions.edges).toContain(edge);
    expect(definitions.edges).not.toContain('PUT users');
    expect(definitions.edges).not.toContain('DELETE usersreplace');
  });

  it('answers as the SDK expects when the SDK itself adds, removes and replaces through its own transport', async () => {
    // The SDK on npm speaks its own version; the emulator's day is one when Meta still served it.
    const emulator = await start({ recordBodies: true, definitions: sdkDefinitions(), today: () => '2026-11-01' });
    const audience = sdkAudience(emulator.endpoint, emulator.accessToken, AUDIENCE);
    const payload = (ids: string[]) => ({ schema: ['EMAIL', 'EXTERN_ID'], data: ids.map((id) => [sha(`${id}@example.com`), id]) });
    await audience.createUser([], { payload: payload(['1', '2', '3']) });
    expect([...emulator.records(AUDIENCE).keys()].sort()).toEqual(['1', '2', '3']);
    await audience.deleteUsers({ payload: payload(['2']) });
    expect([...emulator.records(AUDIENCE).keys()].sort()).toEqual(['1', '3']);
    const session = { session_id: 42, batch_seq: 1, last_batch_flag: true, estimated_num_total: 1 };
    const replaced = (await audience.createUsersReplace([], { payload: payload(['9']), session })) as { _data?: Record<string, unknown> };
    expect([...emulator.records(AUDIENCE).keys()]).toEqual(['9']);
    expect(emulator.stats.contractViolations).toBe(0);
    expect(emulator.requests.map((r) => `${r.method} ${r.path}`)).toEqual([
      `POST /${SDK_API_VERSION}/${AUDIENCE}/users`,
      `DELETE /${SDK_API_VERSION}/${AUDIENCE}/users`,
      `POST /${SDK_API_VERSION}/${AUDIENCE}/usersreplace`,
    ]);
    // The answer holds only the documented return fields.
    for (const key of Object.keys(replaced._data ?? {})) if (key !== 'id') expect(USERS_RESPONSE_KEYS).toContain(key);
  });

  it("the adapter's requests have the SDK's shape: same methods, edges, and parameters in the same places", async () => {
    const emulator = await start({ recordBodies: true, definitions: sdkDefinitions(), today: () => '2026-11-01' });
    const audience = sdkAudience(emulator.endpoint, emulator.accessToken, AUDIENCE);
    const payload = { schema: ['EMAIL', 'EXTERN_ID'], data: [[sha('a@example.com'), '1']] };
    await audience.createUser([], { payload });
    await audience.deleteUsers({ payload });
    await audience.createUsersReplace([], { payload, session: { session_id: 7, batch_seq: 1, last_batch_flag: true, estimated_num_total: 1 } });
    const sdkRequests = [...emulator.requests];

    // The same three operations through the adapter and the engine.
    const ourEmulator = await start({ recordBodies: true, definitions: sdkDefinitions() });
    const harness = await SyncHarness.start({
      destinations: [{ name: 'fb', type: 'meta', endpoint: ourEmulator.endpoint, access_token: ourEmulator.accessToken }],
      syncs: [{ name: 's', model: 'people', destination: 'fb', object: AUDIENCE, mode: 'audience', key: { from: 'id', field: 'external_id' }, fields: { email: 'email' } }],
      rows: people(2),
    });
    try {
      await harness.sync('s');
      await harness.setRows(people(1));
      await harness.sync('s');
      await harness.sync('s', { fullResync: true });
    } finally {
      await harness.close();
    }
    const ours = ourEmulator.requests.filter((r) => r.path.includes('/users'));
    const shape = (r: ReceivedRequest) => ({
      call: `${r.method} ${r.path.replace(/^\/v\d+\.\d+\//, '/')}`,
      query: Object.keys(r.query).sort(),
      body: Object.keys(r.body).sort(),
    });
    const theirs = new Map(sdkRequests.map((r) => [shape(r).call, shape(r)]));
    expect(ours.map((r) => shape(r).call)).toEqual([`POST /${AUDIENCE}/users`, `DELETE /${AUDIENCE}/users`, `POST /${AUDIENCE}/usersreplace`]);
    for (const request of ours) {
      const mine = shape(request);
      const sdk = theirs.get(mine.call)!;
      // Every parameter we send, the SDK sends in the same place (it also sends the node's `id`).
      for (const key of mine.query) expect(sdk.query, `${mine.call} query ${key}`).toContain(key);
      for (const key of mine.body) expect(sdk.body, `${mine.call} body ${key}`).toContain(key);
      expect(mine.query.includes('payload') || mine.body.includes('payload'), mine.call).toBe(true);
      expect(sdk.query.includes('payload')).toBe(mine.query.includes('payload'));
    }
  });

  it('refuses expired versions with Meta’s #2635, unknown parameters, fields and edges with code 100', async () => {
    const emulator = await start({ definitions: sdkDefinitions(), today: () => '2026-12-06' });
    const get = (path: string) => fetch(`${emulator.endpoint}${path}${path.includes('?') ? '&' : '?'}access_token=${emulator.accessToken}`);
    const expired = await get(`/v24.0/${AUDIENCE}?fields=id`);
    expect(expired.status).toBe(400);
    expect(await expired.json()).toMatchObject({ error: { code: 2635, type: 'OAuthException', message: expect.stringMatching(/^\(#2635\) You are calling a deprecated version of the Ads API/) } });
    const v25 = await get(`/v25.0/${AUDIENCE}?fields=id,operation_status`);
    expect(v25.status).toBe(200);
    expect(Object.keys((await v25.json()) as object).sort()).toEqual(['id', 'operation_status']);

    const wrongField = await get(`/${DEFAULT_API_VERSION}/${AUDIENCE}?fields=id,member_count`);
    expect(await wrongField.json()).toMatchObject({ error: { code: 100, message: '(#100) Tried accessing nonexisting field (member_count) on node type (CustomAudience)' } });
    const post = (edge: string, body: Record<string, unknown>, method = 'POST') =>
      fetch(`${emulator.endpoint}/${DEFAULT_API_VERSION}/${AUDIENCE}/${edge}?access_token=${emulator.accessToken}`, { method, headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
    const payload = { schema: ['EMAIL'], data: [[sha('a@example.com')]] };
    expect((await (await post('users', { payload, schema: ['EMAIL'] })).json()) as object).toMatchObject({ error: { code: 100, message: expect.stringMatching(/schema is not a parameter/) } });
    expect((await (await post('users', { payload: { ...payload, hashed: true } })).json()) as object).toMatchObject({ error: { code: 100, message: expect.stringMatching(/payload\.hashed is not a payload key/) } });
    expect((await post('members', { payload })).status).toBe(400);
    expect((await post('users', { payload }, 'PUT')).status).toBe(400);
    // A DELETE's parameters travel in its query string: a payload in a body is not read.
    const deleteWithBody = await post('users', { payload }, 'DELETE');
    expect(await deleteWithBody.json()).toMatchObject({ error: { code: 100, message: expect.stringMatching(/payload is required/) } });
    expect(emulator.stats.contractViolations).toBe(5);
    const ok = await post('users', { payload });
    expect(ok.status).toBe(200);
    expect(Object.keys((await ok.json()) as object).sort()).toEqual([...USERS_RESPONSE_KEYS].sort());
  });

  it('counts rows that are not hashed as invalid entries and never adds them; refuses oversized payloads', async () => {
    const emulator = await start({ maxRows: 3 });
    const post = (data: string[][]) =>
      fetch(`${emulator.endpoint}/${DEFAULT_API_VERSION}/${AUDIENCE}/users?access_token=${emulator.accessToken}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ payload: { schema: ['EMAIL', 'EXTERN_ID'], data } }) });
    const answer = await post([[sha('a@x.com'), '1'], ['b@x.com', '2'], [sha('C@X.COM').toUpperCase(), '3']]);
    expect(answer.status).toBe(200);
    expect(await answer.json()).toMatchObject({ num_received: 3, num_invalid_entries: 2 });
    expect([...emulator.records(AUDIENCE).keys()]).toEqual(['1']);
    expect(emulator.stats.unhashedValues).toBe(2);
    expect((await post([['', '1'], ['', '2'], ['', '3'], ['', '4']])).status).toBe(400);
  });

  it("errors map to the engine's typed failures; stop answers never become batch rejections", () => {
    const request = { method: 'POST' as const, url: `https://graph.facebook.com/${DEFAULT_API_VERSION}/${AUDIENCE}/users` };
    const response = (status: number, error: Record<string, unknown>, headers: Record<string, string> = {}) => ({ status, headers: new Headers(headers), text: JSON.stringify({ error: { message: 'm', type: 'OAuthException', fbtrace_id: 'x', ...error } }) });
    for (const code of [4, 17, 613, 80004]) {
      const usage = JSON.stringify({ act_1: [{ type: 'custom_audience', call_count: 100, total_cputime: 1, total_time: 1, estimated_time_to_regain_access: 2 }] });
      const error = metaError(request, response(400, { code }, { 'x-business-use-case-usage': usage }));
      expect(error, String(code)).toBeInstanceOf(RateLimitedError);
      expect((error as RateLimitedError).retryAfterMs).toBe(120_000);
    }
    const stops: [number, number | undefined, number, RegExp][] = [
      [400, undefined, 2635, /version v27\.0 is expired/],
      [400, 1713230, 100, /flagged/],
      [400, 33, 100, /does not exist or this token cannot reach it/],
      [400, undefined, 2663, /terms of service/],
      [400, undefined, 2655, /terms of service/],
      [400, undefined, 368, /policy/],
      [400, undefined, 3, /not allowed to call this method/],
      [400, undefined, 2650, /failed to update the custom audience/],
    ];
    for (const [status, subcode, code, message] of stops) {
      const error = metaError(request, response(status, { code, ...(subcode ? { error_subcode: subcode } : {}) }));
      expect(error, `${code}/${subcode}`).toBeInstanceOf(StopSyncError);
      expect(error.message, `${code}/${subcode}`).toMatch(message);
    }
    for (const code of [190, 102, 10, 200, 294]) expect(metaError(request, response(400, { code })), String(code)).toBeInstanceOf(AuthError);
    expect(metaError(request, response(403, { code: 200 }))).toBeInstanceOf(AuthError);
    expect(metaError(request, response(500, { code: 2 }))).toBeInstanceOf(TransientError);
    // A plain invalid-parameter answer about the content stays a batch rejection (the engine isolates the record).
    expect(metaError(request, response(400, { code: 100 }))).toBeInstanceOf(BatchRejectedError);
  });
});
