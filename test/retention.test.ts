import { afterEach, describe, expect, it } from 'vitest';
import { startWebhookEmulator } from '../destinations/webhook/emulator.js';
import { contractEvents, EVENT_COLUMNS } from '../destinations/emulator-kit/contract.js';
import { sql } from '../src/dialects/sql.js';
import { applyRetention } from '../src/privacy/retention.js';
import { watermarkName } from '../src/state/store.js';
import { engines, type Engine } from './support/engines.js';
import { SyncHarness } from './support/sync-harness.js';

/**
 * `privacy.retention`: what the state keeps of people, for how long — rejected rows and messages aged out, never a
 * message a pressure cap still counts, never an event a later run may read again.
 */
const DAY = 86_400_000;

describe.each(engines())('privacy.retention ($name)', (engine: Engine) => {
  const open: { close(): Promise<void> }[] = [];
  afterEach(async () => {
    for (const o of open.splice(0).reverse()) await o.close();
  });

  it('deletes rejected rows and messages past their retention, keeps what a cap or a re-read needs', async () => {
    const emulator = await startWebhookEmulator();
    open.push(emulator);
    const now = new Date();
    const harness = await SyncHarness.start({
      destinations: [{ name: 'hook', type: 'webhook', url: `${emulator.endpoint}/hook`, secret: emulator.secret }],
      syncs: [
        {
          name: 'ev',
          model: 'people',
          destination: 'hook',
          object: 'events',
          mode: 'events',
          key: { from: 'event_id', field: 'event_id' },
          event: { time: 'event_time', name: { from: 'event_name' }, lookback: '1 day', backfill: 'all' },
          fields: { value: 'value' },
        },
      ],
      // Events a year and a half old, and recent ones.
      rows: [...contractEvents(3, { now, endMinutesAgo: 540 * 24 * 60, minutesApart: 60 }), ...contractEvents(3, { start: 4, now, endMinutesAgo: 30 })],
      columns: EVENT_COLUMNS,
      config: {
        privacy: { retention: { rejected: '30 days', messages: '30 days', event_snapshots: '400 days' } },
        pressure: { caps: [{ channels: 'all', max: 4, per: '90 days' }] },
      },
      ...(engine.target.type === 'postgres' ? { engine } : {}),
    });
    open.push(harness);
    expect((await harness.sync('ev')).accepted).toBe(6);
    const store = harness.engine().store;
    const d = store.dialect;
    const at = (days: number) => d.timestampLiteral(new Date(now.getTime() - days * DAY));
    const rejected = d.table(store.table('rejected'));
    const messages = d.table(store.table('messages'));
    await harness.connection.execute(
      sql`INSERT INTO ${rejected} (sync_name, record_key, error_code, retryable, attempts, first_rejected_at, last_rejected_at) VALUES ('ev', 'old', 'x', FALSE, 1, ${at(60)}, ${at(45)}), ('ev', 'new', 'x', FALSE, 1, ${at(60)}, ${at(10)})`,
    );
    await harness.connection.execute(
      sql`INSERT INTO ${messages} (sync_name, record_key, contact_key, channel, message_type, run_id, sent_at) VALUES ('s', 'a', 'c1', 'email', 'x', 'r', ${at(200)}), ('s', 'b', 'c1', 'email', 'x', 'r', ${at(60)}), ('s', 'c', 'c2', 'email', 'x', 'r', ${at(5)})`,
    );
    const count = async (table: ReturnType<typeof d.table>) => Number((await harness.connection.query(sql`SELECT COUNT(*) AS n FROM ${table}`))[0]!['n']);
    const snapshot = d.table(store.snapshot('ev'));

    // With a high-water mark: the events older than 400 days (and than any re-read) go; the recent ones stay.
    const result = await applyRetention(store, harness.project, harness.logger, now);
    expect(result).toMatchObject({ rejected: 1, messages: 1, eventSnapshots: 3 });
    expect(await count(rejected)).toBe(1);
    // Messages of the last 90 days stay whatever `messages: 30 days` says: the pressure cap counts them.
    expect(await count(messages)).toBe(2);
    expect(await count(snapshot)).toBe(3);
    // The next run does not send the aged events again: its window starts at the mark minus the look-back.
    expect((await harness.sync('ev')).requests).toBe(0);

    // Without a mark (a first run that died), the next run reads all history: nothing of the sync is aged.
    await harness.sync('ev', { fullResync: true });
    await harness.connection.execute(sql`DELETE FROM ${d.table(store.table('meta'))} WHERE name = ${d.string(watermarkName('ev'))}`);
    expect((await applyRetention(store, harness.project, harness.logger, now)).eventSnapshots).toBe(0);
    expect(await count(snapshot)).toBe(6);
  }, 60_000);
});
