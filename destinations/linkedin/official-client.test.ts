import { createHash } from 'node:crypto';
import { RestliClient } from 'linkedin-api-client';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { startLinkedInEmulator, type LinkedInEmulator } from './emulator.js';
import { CURRENT_VERSION } from './protocol.js';

/**
 * LinkedIn publishes no schema of these endpoints, but it publishes its own Rest.li client (npm `linkedin-api-client`,
 * a dev dependency): driven against the emulator, it checks that the emulator takes LinkedIn's own encoding of
 * finders, creates and batch creates (its headers, its lower-case `x-restli-method`, its URN encoding) and answers what
 * that client reads (`x-restli-id` for a created id, one `{status, error?}` per batch element).
 */
describe('the linkedin emulator, driven by LinkedIn\'s official client', () => {
  let emulator: LinkedInEmulator;
  let client: RestliClient;
  const sha = (s: string) => createHash('sha256').update(s).digest('hex');

  beforeEach(async () => {
    emulator = await startLinkedInEmulator({ openSegments: false, adAccountId: '512', readyAfterMs: 0, recordBodies: true });
    client = new RestliClient();
    // The client always targets api.linkedin.com: its requests are pointed at the emulator on 127.0.0.1.
    client.axiosInstance.interceptors.request.use((config) => ({ ...config, url: config.url?.replace('https://api.linkedin.com', emulator.endpoint) }));
  });
  afterEach(() => emulator.close());

  it('creates a segment, finds it, adds and removes users with per-element statuses', async () => {
    const common = { accessToken: emulator.accessToken, versionString: CURRENT_VERSION };
    const created = await client.create({
      ...common,
      resourcePath: '/dmpSegments',
      entity: { name: 'Prospects', account: 'urn:li:sponsoredAccount:512', type: 'USER', sourcePlatform: 'TIDELINE', accessPolicy: 'PRIVATE', destinations: [{ destination: 'LINKEDIN' }] },
    });
    expect(created.status).toBe(201);
    const id = String(created.createdEntityId);
    expect(emulator.segments.get(id)).toMatchObject({ name: 'Prospects' });

    const found = await client.finder({ ...common, resourcePath: '/dmpSegments', finderName: 'account', queryParams: { account: 'urn:li:sponsoredAccount:512' } });
    expect(found.data.elements.map((s) => String(s['id']))).toEqual([id]);

    const batch = await client.batchCreate({
      ...common,
      resourcePath: '/dmpSegments/{id}/users',
      pathKeys: { id },
      entities: [
        { action: 'ADD', userIds: [{ idType: 'SHA256_EMAIL', idValue: sha('a@example.com') }] },
        { action: 'ADD', userIds: [{ idType: 'SHA256_EMAIL', idValue: 'b@example.com' }] },
      ],
    });
    expect(batch.data.elements.map((e) => e.status)).toEqual([201, 400]);
    expect(batch.data.elements[1]!.error).toMatchObject({ message: expect.stringContaining('SHA256_EMAIL') });
    expect([...emulator.records(id).keys()]).toEqual([sha('a@example.com')]);
    expect(emulator.stats.unhashedValues).toBe(1);

    const removed = await client.batchCreate({ ...common, resourcePath: '/dmpSegments/{id}/users', pathKeys: { id }, entities: [{ action: 'REMOVE', userIds: [{ idType: 'SHA256_EMAIL', idValue: sha('a@example.com') }] }] });
    expect(removed.data.elements).toEqual([{ status: 201 }]);
    expect(emulator.records(id).size).toBe(0);
  });

  it('answers a version out of LinkedIn\'s window as LinkedIn does, whatever the client', async () => {
    await expect(client.get({ accessToken: emulator.accessToken, versionString: '202511', resourcePath: '/dmpSegments/{id}', pathKeys: { id: 1 } })).rejects.toMatchObject({
      response: { status: 426, data: { code: 'NONEXISTENT_VERSION', message: 'Requested version 20251101 is not active' } },
    });
  });
});
