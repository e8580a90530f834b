import type { CountryCode } from 'libphonenumber-js';
import { identifier, META } from '../ads-identifiers.js';
import { ApiClient, BatchRejectedError, Outcomes, rejected, StopSyncError, type Batch, type DestinationContext, type DestinationSession, type FieldValue, type OutboundRecord, type RecordOutcome } from '../kit/index.js';
import type { MetaConfig } from './adapter.js';
import { ACTION_SOURCES, CUSTOM_DATA_FIELDS, DATASET_OBJECT, EVENTS_ERASURE, HASHED_USER_DATA, maxEventAgeDays, NUMERIC_CUSTOM_DATA, PLAIN_USER_DATA, type EventsResponse } from './protocol.js';

/** A server event as the Conversions API takes it (protocol.ts, Conversions API). */
export interface ServerEvent {
  readonly event_name: string;
  readonly event_time: number;
  readonly event_id: string;
  readonly action_source: string;
  readonly user_data: Readonly<Record<string, string | readonly string[]>>;
  readonly custom_data?: Readonly<Record<string, string | number | readonly string[]>>;
  readonly event_source_url?: string;
}

interface Pending {
  readonly index: number;
  readonly event: ServerEvent;
}

const DAY_MS = 86_400_000;

/**
 * An events sync's session: each `track` record becomes one server event posted to `/{dataset_id}/events`, its key
 * the `event_id`, its identifiers normalised and hashed before the request is built (ads-identifiers.ts, META: the
 * Conversions API's rules for em, ph, fn, ln, ct, st, zp, country and ge are those of Custom Audiences).
 *
 * Meta refuses a whole request for one invalid event, and keeps both copies of a server event sent twice. So a
 * record that cannot be valid (no identifier, an unknown action_source, past its age window by the time it is sent)
 * is settled here and never sent; a batch is one request of at most 1,000 events (`maxEventsPerBatch`), so a
 * refusal reaches the engine (BatchRejectedError), which halves it down to the bad event.
 */
export class MetaEvents implements DestinationSession {
  readonly #dataset: string;
  readonly #facts = { requests: 0, events_received: 0, refused_requests: 0 };

  constructor(
    private readonly config: MetaConfig,
    private readonly context: DestinationContext,
    private readonly client: ApiClient,
  ) {
    const id = DATASET_OBJECT.exec(context.object)?.[1];
    if (id === undefined) throw new StopSyncError(`"${context.object}" is not a Meta dataset: events syncs name \`dataset:<dataset id>\``);
    this.#dataset = id;
  }

  /**
   * Nothing to read first: reading the dataset node is a Marketing API call, refused once the version passes its
   * Marketing API expiry, while the events edge is served on the Graph API's longer schedule (protocol.ts). The first
   * request checks the token, the version and the dataset, and stops the sync on a refusal no retry can change.
   */
  async check(): Promise<void> {}

  async apply(batch: Batch): Promise<readonly RecordOutcome[]> {
    // Sent as events, an erasure would send the person's events again: Meta has no deletion of server events.
    if (batch.operation !== 'track') throw new StopSyncError(`dataset ${this.#dataset} takes events only (operation ${batch.operation}): ${EVENTS_ERASURE}`);
    const outcomes = new Outcomes(batch, 'Meta');
    const now = Date.now();
    const pending: Pending[] = [];
    batch.records.forEach((record, index) => {
      const built = this.event(record, now);
      if ('refused' in built) outcomes.settle(index, built.refused);
      else pending.push({ index, event: built.event });
    });
    // One request per batch (the engine keeps events batches to MAX_EVENTS, adapter.ts): a refusal of the request
    // (BatchRejectedError) reaches the engine, which halves the batch down to the bad event, each half its own batch,
    // so no accepted event is ever in a batch sent again.
    if (pending.length) await this.post(pending, batch.signal);
    settleSent(outcomes, pending);
    return outcomes.done();
  }

  async finish(): Promise<Readonly<Record<string, unknown>>> {
    if (this.config.test_event_code) this.context.logger.warn('events were sent with test_event_code: Meta shows them in Test Events and still keeps them; remove it for production');
    return { ...this.#facts };
  }

  async close(): Promise<void> {}

  /** `POST /{dataset_id}/events` with `data` (and `test_event_code`), the token in the query string. */
  private async post(events: readonly Pending[], signal: AbortSignal): Promise<void> {
    const body = { data: events.map((p) => p.event), ...(this.config.test_event_code ? { test_event_code: this.config.test_event_code } : {}) };
    this.#facts.requests++;
    try {
      const answer = await this.client.json<Partial<EventsResponse>>('POST', `/${this.#dataset}/events`, { query: { access_token: this.config.access_token }, body, signal });
      const received = Number(answer?.events_received ?? 0);
      this.#facts.events_received += received;
      if (received !== events.length) this.context.logger.warn({ sent: events.length, received }, `Meta received ${received} of ${events.length} events of a request`);
    } catch (error) {
      if (error instanceof BatchRejectedError) this.#facts.refused_requests++;
      throw error;
    }
  }

  /** The server event of a record, or why it cannot be sent (Meta would refuse the whole request for it). */
  private event(record: OutboundRecord, now: number): { event: ServerEvent } | { refused: RecordOutcome } {
    const event = record.event;
    if (!event) return { refused: rejected('no_event', 'the record has no event name and time (events syncs give them)') };
    const time = Date.parse(event.time);
    if (Number.isNaN(time)) return { refused: rejected('invalid_event_time', 'the event time is not a timestamp') };
    const source = text(record.fields['action_source'])?.toLowerCase();
    if (source === undefined || !(ACTION_SOURCES as readonly string[]).includes(source)) {
      return { refused: rejected('invalid_action_source', `action_source must be one of ${ACTION_SOURCES.join(', ')}`) };
    }
    const days = maxEventAgeDays(source);
    if (now - time > days * DAY_MS) return { refused: rejected('too_old', `Meta takes ${source} events up to ${days} days old`) };

    const options = { defaultCountry: this.config.default_phone_country as CountryCode | undefined };
    const userData: Record<string, string | readonly string[]> = {};
    for (const [key, field] of Object.entries(HASHED_USER_DATA)) {
      const hashed = identifier(META[field], record.fields[field], options);
      if (hashed !== null) userData[key] = [hashed];
    }
    for (const key of PLAIN_USER_DATA) {
      const value = text(record.fields[key]);
      // external_id is a list in the SDK's UserData; the browser's own values (ip, agent, cookies) are single.
      if (value !== undefined) userData[key] = key === 'external_id' ? [value] : value;
    }
    if (!Object.keys(userData).some((k) => k !== 'client_user_agent')) return { refused: rejected('no_identifiers', 'no usable customer identifier after normalisation') };
    const url = text(record.fields['event_source_url']);
    if (source === 'website' && (url === undefined || userData['client_user_agent'] === undefined)) {
      return { refused: rejected('missing_website_fields', 'Meta requires event_source_url and client_user_agent for website events') };
    }

    const customData: Record<string, string | number | readonly string[]> = {};
    for (const field of CUSTOM_DATA_FIELDS) {
      const value = text(record.fields[field]);
      if (value === undefined) continue;
      if (NUMERIC_CUSTOM_DATA.has(field)) {
        const n = Number(value);
        if (!Number.isFinite(n)) return { refused: rejected('invalid_value', `${field} must be a number`) };
        customData[field] = n;
      } else if (field === 'currency') {
        if (!/^[A-Za-z]{3}$/.test(value)) return { refused: rejected('invalid_currency', 'currency must be an ISO 4217 code such as EUR') };
        customData[field] = value.toUpperCase();
      } else if (field === 'content_ids') {
        customData[field] = value.split(',').map((id) => id.trim()).filter(Boolean);
      } else customData[field] = value;
    }
    return {
      event: {
        event_name: event.name,
        event_time: Math.floor(time / 1000),
        event_id: record.key,
        action_source: source,
        user_data: userData,
        ...(Object.keys(customData).length ? { custom_data: customData } : {}),
        ...(url !== undefined ? { event_source_url: url } : {}),
      },
    };
  }
}

function settleSent(outcomes: Outcomes, events: readonly Pending[]): void {
  for (const p of events) outcomes.settle(p.index, { ok: true });
}

/** A mapped value as trimmed text; undefined for null and empty text. */
function text(value: FieldValue | undefined): string | undefined {
  if (value === null || value === undefined) return undefined;
  const s = String(value).trim();
  return s === '' ? undefined : s;
}
