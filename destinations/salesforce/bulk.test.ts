import { afterEach, describe, expect, it } from 'vitest';
import { createLogger } from '../../src/log/logger.js';
import type { Batch, DestinationContext, RecordOutcome } from '../destination.js';
import type { Exchange } from '../emulator-kit/server.js';
import { bulkFailure, parseBulkCsv, salesforce } from './adapter.js';
import { salesforceDocumentedShapes } from './documented-shapes.js';
import { startSalesforceEmulator, type SalesforceEmulator } from './emulator.js';
import { sessionContext } from '../emulator-kit/session-context.js';

const logger = createLogger({ level: 'silent' });
const CAMPAIGN = '701000000000007';
const context = sessionContext({
  object: 'Contact',
  mode: 'upsert',
  keyField: 'External_Id__c',
  // Above bulk_threshold: the session sends Bulk API 2.0 jobs.
  planned: { added: 50, changed: 0, removed: 0 },
  fields: [
    { name: 'LastName', type: 'string' },
    { name: 'Email', type: 'string' },
    { name: 'Description', type: 'string' },
  ],
  logger,
});

function batch(records: { key: string; fields: Record<string, string> }[], operation: Batch['operation'] = 'upsert', object = 'Contact'): Batch {
  return { object, operation, keyField: 'External_Id__c', records: records.map((r) => ({ ...r, destinationId: null, idempotencyKey: `ik-${r.key}` })), signal: AbortSignal.timeout(10_000), idempotencyKey: 'k' };
}

describe('salesforce Bulk API 2.0 result CSVs', () => {
  let emulator: SalesforceEmulator;
  afterEach(() => emulator.close());
  const open = (ctx: Partial<DestinationContext> = {}) =>
    salesforce.open(salesforce.configSchema.parse({ instance_url: emulator.endpoint, access_token: emulator.token, bulk_threshold: 10, bulk_poll_seconds: 0.01 }), { ...context, ...ctx });

  it('values with commas, quotes and line breaks go through a job unchanged; a colon-holding sf__Error is kept whole, its e-mails scrubbed', async () => {
    emulator = await startSalesforceEmulator({ reject: (id) => (id === 'blocked' ? { message: 'Email: ann.lee@example.com is refused: rule R1: see Setup' } : undefined) });
    const awkward = 'Line one, with a comma\n"Quoted" line two\r\nand: a colon';
    const session = await open();
    const outcomes = await session.apply(
      batch([
        { key: 'a', fields: { LastName: 'Archer', Email: 'a@example.com', Description: awkward } },
        { key: 'no-name', fields: { LastName: '', Email: 'b@example.com', Description: 'x' } },
        { key: 'blocked', fields: { LastName: 'Blocked', Email: 'c@example.com', Description: 'y,z' } },
        { key: 'A', fields: { LastName: 'Again', Email: 'd@example.com', Description: 'same id' } },
      ]),
    );
    expect(emulator.stats.bulkJobs).toBe(1);
    expect(outcomes[0]).toEqual({ ok: true, destinationId: expect.stringMatching(/^003/) });
    // The whole error, not what precedes its second colon; the code is what precedes the first.
    expect(outcomes[1]).toEqual({ ok: false, code: 'required_field_missing', message: 'REQUIRED_FIELD_MISSING:Required fields are missing: [LastName]:LastName --', retryable: false });
    expect(outcomes[2]).toMatchObject({ ok: false, code: 'field_custom_validation_exception', retryable: false });
    const message = (outcomes[2] as { message: string }).message;
    expect(message).toMatch(/^FIELD_CUSTOM_VALIDATION_EXCEPTION:Email: .+ is refused: rule R1: see Setup:/);
    expect(message).not.toContain('ann.lee@example.com');
    // Salesforce matches external ids ignoring case: the repeat is not sent (it would fail both rows).
    expect(outcomes[3]).toMatchObject({ ok: false, code: 'duplicate_key', retryable: false });
    const held = [...emulator.records('Contact').values()];
    expect(held).toHaveLength(1);
    expect(held[0]).toMatchObject({ External_Id__c: 'a', LastName: 'Archer', Description: awkward });
  });

  it('the emulator answers result CSVs as Salesforce documents them, in the job\'s line ending', async () => {
    emulator = await startSalesforceEmulator();
    const call = async (method: string, path: string, body?: string, type = 'application/json') => {
      const response = await fetch(`${emulator.endpoint}/services/data/v62.0${path}`, { method, headers: { authorization: `Bearer ${emulator.token}`, 'content-type': type, accept: type }, body });
      return response.text();
    };
    const job = JSON.parse(await call('POST', '/jobs/ingest', JSON.stringify({ object: 'Contact', operation: 'upsert', externalIdFieldName: 'External_Id__c', lineEnding: 'CRLF' }))) as { id: string; lineEnding: string };
    expect(job.lineEnding).toBe('CRLF');
    await call('PUT', `/jobs/ingest/${job.id}/batches`, 'External_Id__c,LastName,Description\r\nx1,Xu,"a,b"\r\nx2,,c\r\n', 'text/csv');
    await call('PATCH', `/jobs/ingest/${job.id}`, JSON.stringify({ state: 'UploadComplete' }));
    const successful = await call('GET', `/jobs/ingest/${job.id}/successfulResults/`, undefined, 'text/csv');
    expect(successful).toMatch(/^"sf__Id","sf__Created",External_Id__c,LastName,Description\r\n"003\d{12}","true","x1","Xu","a,b"\r\n$/);
    const failed = await call('GET', `/jobs/ingest/${job.id}/failedResults/`, undefined, 'text/csv');
    expect(failed).toBe('"sf__Id","sf__Error",External_Id__c,LastName,Description\r\n"","REQUIRED_FIELD_MISSING:Required fields are missing: [LastName]:LastName --","x2","","c"\r\n');
    expect(parseBulkCsv(failed)).toEqual([{ sf__Id: '', sf__Error: 'REQUIRED_FIELD_MISSING:Required fields are missing: [LastName]:LastName --', External_Id__c: 'x2', LastName: '', Description: 'c' }]);
  });

  it('bulkFailure: the code before the first colon, the whole text as the message; an error without a code is bulk_error', () => {
    expect(bulkFailure('UNABLE_TO_LOCK_ROW:unable to obtain exclusive access to this record:--')).toEqual({ ok: false, code: 'unable_to_lock_row', message: 'UNABLE_TO_LOCK_ROW:unable to obtain exclusive access to this record:--', retryable: true });
    expect(bulkFailure('something odd: x@y.example')).toMatchObject({ ok: false, code: 'bulk_error', retryable: false });
    expect((bulkFailure('something odd: x@y.example') as { message: string }).message).not.toContain('x@y.example');
  });
});

describe('salesforce documented shapes', () => {
  let emulator: SalesforceEmulator;
  afterEach(() => emulator.close());

  /** Every exchange of a Bulk upsert, a Collections upsert, a describe, an audience add and remove, and a delete. */
  async function recorded(): Promise<readonly Exchange[]> {
    emulator = await startSalesforceEmulator({ campaigns: [CAMPAIGN] });
    const exchanges = emulator.server.recordExchanges();
    const config = salesforce.configSchema.parse({ instance_url: emulator.endpoint, access_token: emulator.token, bulk_threshold: 10, bulk_poll_seconds: 0.01 });
    const bulk = await salesforce.open(config, context);
    await bulk.check();
    await bulk.apply(batch([{ key: 'a', fields: { LastName: 'Archer', Email: 'a@example.com', Description: 'x, "y"' } }, { key: 'b', fields: { LastName: '', Email: 'b@example.com', Description: '' } }]));
    const collections = await salesforce.open(config, { ...context, planned: { added: 1, changed: 0, removed: 0 } });
    await collections.apply(batch([{ key: 'c', fields: { LastName: 'Cole' } }]));
    await collections.apply(batch([{ key: 'c', fields: {} }], 'delete'));
    await salesforce.remoteFields!(config, 'Contact', { logger, signal: AbortSignal.timeout(5000) });
    emulator.insert('Contact', { LastName: 'Member', External_Id__c: 'm' });
    const audience = await salesforce.open(config, { ...context, object: `campaign:${CAMPAIGN}`, mode: 'audience', fields: [], planned: { added: 1, changed: 0, removed: 0 } });
    await audience.check();
    const added = await audience.apply(batch([{ key: 'm', fields: {} }], 'add', `campaign:${CAMPAIGN}`));
    expect(added).toMatchObject([{ ok: true }]);
    await audience.apply({ ...batch([{ key: 'm', fields: {} }], 'remove', `campaign:${CAMPAIGN}`) });
    return exchanges();
  }

  it('every request and answer of a real run conforms; a misspelt allOrNone and a result CSV without sf__Error are reported', async () => {
    const schema = salesforceDocumentedShapes();
    const exchanges = await recorded();
    const paths = new Set(exchanges.map((e) => `${e.method} ${e.path.replace(/^\/services\/data\/v62\.0/, '').replace(/\/(750|003|00v|701)\w+/g, '/{id}')}`));
    expect([...paths].sort()).toEqual(
      [
        'DELETE /composite/sobjects',
        'GET /jobs/ingest/{id}',
        'GET /jobs/ingest/{id}/failedResults/',
        'GET /jobs/ingest/{id}/successfulResults/',
        'GET /limits',
        'GET /query',
        'GET /sobjects/Campaign/{id}',
        'GET /sobjects/Contact/describe',
        'PATCH /composite/sobjects/Contact/External_Id__c',
        'PATCH /jobs/ingest/{id}',
        'POST /composite/sobjects',
        'POST /jobs/ingest',
        'PUT /jobs/ingest/{id}/batches',
      ].sort(),
    );
    const problems = async (list: readonly Exchange[]) => (await Promise.all(list.map((e) => schema.check(e)))).flat();
    expect(await problems(exchanges)).toEqual([]);

    const upsert = exchanges.find((e) => e.method === 'PATCH' && e.path.includes('/composite/sobjects/'))!;
    const { allOrNone, ...rest } = upsert.request as { allOrNone: boolean };
    expect(await schema.check({ ...upsert, request: { ...rest, allOrNon: allOrNone } })).toEqual([expect.stringMatching(/^request: no documented property "allOrNon" — sObject Collections upsert \(https:\/\/developer\.salesforce\.com\//)]);

    const failed = exchanges.find((e) => e.path.endsWith('/failedResults/'))!;
    expect(failed.response).toMatch(/^"sf__Id","sf__Error",/);
    const withoutError = String(failed.response).replace('"sf__Error"', '"sf__Message"');
    expect((await schema.check({ ...failed, response: withoutError })).join('; ')).toMatch(/column 2 of the failedResults header is "sf__Message", documented "sf__Error"/);
    const lostColumn = String(failed.response).replace(',Description', ',Descr');
    expect((await schema.check({ ...failed, response: lostColumn })).join('; ')).toMatch(/should repeat the uploaded columns/);
    const successful = exchanges.find((e) => e.path.endsWith('/successfulResults/'))!;
    expect((await schema.check({ ...successful, headers: { ...successful.headers, accept: 'application/json' } })).join('; ')).toMatch(/must accept it/);
    expect(await schema.check({ ...upsert, method: 'PUT' })).toEqual([expect.stringMatching(/no documented Salesforce operation is PUT/)]);
  });

  it('the token endpoint: both grants as documented; a parameter no grant takes is reported', async () => {
    emulator = await startSalesforceEmulator({ sandbox: true });
    const exchanges = emulator.server.recordExchanges();
    for (const kind of ['jwt_bearer', 'refresh_token'] as const) {
      const config = salesforce.configSchema.parse({ ...emulator.sandboxCredentials(kind) });
      await (await salesforce.open(config, { ...context, planned: { added: 1, changed: 0, removed: 0 } })).check();
    }
    const schema = salesforceDocumentedShapes();
    const tokens = exchanges().filter((e) => e.path === '/services/oauth2/token');
    expect(tokens.map((e) => e.status)).toEqual([200, 200]);
    expect((await Promise.all(exchanges().map((e) => schema.check(e)))).flat()).toEqual([]);
    const form = `${String(tokens[1]!.request)}&password=hunter2`;
    expect(await schema.check({ ...tokens[1]!, request: form })).toEqual([expect.stringMatching(/the refresh_token grant has no parameter "password"/)]);
    expect((await schema.check({ ...tokens[0]!, response: { ...(tokens[0]!.response as object), expires_in: 7200 } })).join('; ')).toMatch(/no documented property "expires_in"/);
  });
});
