import { afterEach, describe, expect, it } from 'vitest';
import type { Fault } from '../destinations/emulator-kit/faults.js';
import { startWebhookEmulator, type WebhookEmulator } from '../destinations/webhook/emulator.js';
import { contractSync, expected, people, SyncHarness } from './support/sync-harness.js';

/**
 * Fault injection: a fifth of the webhook emulator's answers fail — 429 with Retry-After, 500, a hang past the
 * client's timeout before the request took effect, or after it took effect (the dangerous case for inserts: only
 * the Idempotency-Key keeps a retry from creating the record twice). After one run the emulator must hold exactly
 * the model: nothing lost, nothing created twice.
 */
const FAULTS: readonly Fault[] = [
  { kind: 'status', status: 429, retryAfterMs: 1000 },
  { kind: 'status', status: 500 },
  { kind: 'hang', ms: 1500, processed: false },
  { kind: 'hang', ms: 1500, processed: true },
];

describe('fault injection on the webhook emulator', () => {
  const open: { close(): Promise<void> }[] = [];
  const seen = new Map<string, number>();
  afterEach(async () => {
    for (const o of open.splice(0).reverse()) await o.close();
  });

  for (const [mode, seed] of [
    ['upsert', 11],
    ['insert', 12],
    ['insert', 13],
  ] as const) {
    it(`${mode} mode, seed ${seed}: the emulator ends equal to the model, 0 lost, 0 duplicated`, async () => {
      const rows = people(1500);
      const emulator: WebhookEmulator = await startWebhookEmulator({ faults: { rate: 0.2, faults: FAULTS, seed } });
      open.push(emulator);
      const harness = await SyncHarness.start({
        rows,
        destinations: [
          {
            name: 'hook',
            type: 'webhook',
            url: `${emulator.endpoint}/hook`,
            secret: emulator.secret,
            batch_size: 25,
            concurrency: 4,
            timeout_seconds: 0.3,
            retries: { attempts: 12, base_ms: 10, max_ms: 200 },
          },
        ],
        syncs: [contractSync('s', 'hook', 'contacts', mode)],
      });
      open.push(harness);

      const result = await harness.sync('s');
      const injected = Object.fromEntries(emulator.server.faults.injected);
      const answered = emulator.server.requests;
      const faults = [...emulator.server.faults.injected.values()].reduce((a, b) => a + b, 0);
      console.info(
        `[fault injection] ${mode} seed ${seed}: ${answered} requests, ${faults} faults (${Math.round((100 * faults) / answered)} %) ${JSON.stringify(injected)}; ` +
          `${result.retries} retries, ${result.rateLimited} rate-limited, ${emulator.stats.replays} records answered from the idempotency memory; ${result.seconds} s`,
      );

      expect(result.status, result.error ?? '').toBe('success');
      expect(result.accepted).toBe(rows.length);
      // About a fifth of the answers failed (a seeded draw over a few dozen requests).
      expect(faults / answered).toBeGreaterThan(0.1);
      expect(faults / answered).toBeLessThan(0.35);
      for (const [kind, n] of Object.entries(injected)) seen.set(kind, (seen.get(kind) ?? 0) + n);
      // 0 lost, 0 extra: exactly the model.
      expect(emulator.records('contacts')).toEqual(expected(rows));
      // 0 duplicated: no key was created twice, and no record was refused as existing.
      expect(emulator.server.store.duplicates()).toEqual({});
      expect(await harness.engine().store.rejectedRows('s', 5)).toEqual([]);
      // And the snapshot knows every record.
      expect(await harness.engine().store.snapshotSize('s')).toBe(rows.length);
    });
  }

  it('the runs above met every kind of fault', () => {
    for (const kind of ['status-429', 'status-500', 'hang-before', 'hang-after']) expect(seen.get(kind) ?? 0, kind).toBeGreaterThan(0);
  });
});
