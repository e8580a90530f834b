import { ApiClient, AudienceApi, type InlineResponse200 } from 'tiktok-business-api-sdk-official';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { startTikTokEmulator, type TikTokEmulator } from './emulator.js';

/**
 * TikTok's official SDK (npm `tiktok-business-api-sdk-official`, generated from TikTok's spec; a dev dependency) models
 * the audience read endpoints and the response envelope, not `/segment/*`. Driven against the emulator, it checks
 * that the emulator takes TikTok's own encoding of the audience reads the adapter makes (the `Access-Token` header,
 * list parameters repeated) and answers in the envelope the SDK parses, errors included.
 */
describe('the tiktok emulator, driven by TikTok\'s official SDK', () => {
  let emulator: TikTokEmulator;
  let audiences: AudienceApi;
  beforeEach(async () => {
    emulator = await startTikTokEmulator({ openAudiences: true });
    const client = new ApiClient();
    client.basePath = emulator.endpoint;
    audiences = new AudienceApi(client);
  });
  afterEach(() => emulator.close());

  const call = (run: (done: (error: unknown, data: InlineResponse200 | undefined) => void) => void) =>
    new Promise<InlineResponse200>((resolve, reject) => run((error, data) => (error ? reject(error as Error) : resolve(data!))));

  it('reads an audience and the audience list in the envelope the SDK parses', async () => {
    // The SDK takes `code: 0` as success (and drops code and message); any other code is its error.
    const got = await call((done) => audiences.dmpCustomAudienceGet(emulator.advertiserId, ['1800000001'], emulator.accessToken, {}, done));
    expect(got).toMatchObject({ data: { list: [{ audience_id: '1800000001' }] } });
    expect(got.request_id).toMatch(/^[0-9a-f]+$/);
    const listed = await call((done) => audiences.dmpCustomAudienceList(emulator.advertiserId, emulator.accessToken, { page: 1, page_size: 10 }, done));
    expect(listed).toMatchObject({ data: { list: [{ audience_id: '1800000001' }], page_info: { page: 1, total_number: 1 } } });
  });

  it('answers a bad token and a foreign advertiser with TikTok\'s codes, as HTTP 200 envelopes', async () => {
    await expect(call((done) => audiences.dmpCustomAudienceGet(emulator.advertiserId, ['1'], 'nope', {}, done))).rejects.toThrow(/code: 40105$/);
    await expect(call((done) => audiences.dmpCustomAudienceGet('123', ['1'], emulator.accessToken, {}, done))).rejects.toThrow(/code: 40001$/);
  });
});
