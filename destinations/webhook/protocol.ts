import { createHmac, timingSafeEqual } from 'node:crypto';
import type { FieldValue, Operation, OutboundEvent } from '../destination.js';

/**
 * The webhook protocol, shared by the adapter and its emulator (and documented in destinations/webhook/README.md).
 *
 * Each batch is one `POST` of a JSON body {@link WebhookBody}, signed when the destination has a `secret`:
 * `X-Tideline-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256 of "<t>.<body>" with the secret>`.
 *
 * Delivery is at-least-once: a batch whose answer was lost (timeout, reset, 5xx) is sent again, and so are the
 * records in flight when a run died. Every record carries an `idempotency_key` naming this change of this record —
 * the same on every re-send, in any batch, by any run; a new one for any later change. A receiver that remembers the
 * keys of the records it took, and answers a known key with success without applying it again, sees each change
 * exactly once. The `Idempotency-Key` header names the batch (derived from its records' keys): enough to ignore a
 * replay of the same batch, but a later run may group re-sent records differently, so de-duplicate per record.
 *
 * The receiver answers 2xx when it took every record; or 200/207 with {@link WebhookResults} to accept some and
 * reject others; 400/413/422 when it refuses the batch as a whole (Tideline splits it to find the bad record);
 * 401/403 for bad credentials; 429 with Retry-After to slow down; 5xx or no answer for a transient failure. An
 * `track` batch (an events sync) carries one event per record, `event: { name, time }`, its key the event's id: a
 * receiver that keeps every event it is sent should drop an id it holds, as exactly-once needs. An
 * `insert` of a key the receiver holds is refused with code {@link ALREADY_EXISTS}: Tideline counts it as delivered
 * when it may have sent that record before (a lost answer, a run that died), and as a rejection otherwise.
 *
 * FORGET: `tideline forget` sends a batch with `operation: "forget"` for each sync that sent a person: one record per
 * key to erase, `fields` empty (the webhook retains nothing), the object and key_field as the sync's. The receiver
 * erases everything it holds under that key in that object (not only the fields Tideline sent) and answers as for
 * any batch. A key it does not hold (never received, already erased) must be answered ok: erasure is idempotent, and a
 * re-run after a crash sends the same records again, with the same idempotency keys.
 */
export interface WebhookBody {
  readonly sync: string;
  readonly object: string;
  /** `check` (no records) verifies the URL and credentials before a run sends anything. */
  readonly operation: Operation | 'check';
  readonly key_field: string;
  readonly records: readonly WebhookRecord[];
}

export interface WebhookRecord {
  readonly key: string;
  readonly fields: Readonly<Record<string, FieldValue>>;
  /** A `track` record's event (events syncs): its name and when it happened (ISO-8601 UTC); its key is the event's id. */
  readonly event?: OutboundEvent;
  /** This change of this record: the same whenever it is sent again (see above). */
  readonly idempotency_key: string;
}

/** The result code of an `insert` refused because the receiver already holds the key. */
export const ALREADY_EXISTS = 'already_exists';

export interface WebhookResults {
  readonly results: readonly {
    readonly key: string;
    readonly ok: boolean;
    readonly id?: string;
    readonly code?: string;
    readonly message?: string;
    readonly retryable?: boolean;
  }[];
}

/** Statuses by which a receiver refuses a batch for its content (400/413/422 above): the engine splits it to find the bad record. */
export const BATCH_REFUSALS: readonly number[] = [400, 413, 422];

export const SIGNATURE_HEADER = 'x-tideline-signature';
export const IDEMPOTENCY_HEADER = 'idempotency-key';
/** A signature older than this is refused, so a captured request cannot be replayed later. */
export const SIGNATURE_TOLERANCE_SECONDS = 300;

export function sign(secret: string, body: string, unixSeconds: number): string {
  const digest = createHmac('sha256', secret).update(`${unixSeconds}.${body}`).digest('hex');
  return `t=${unixSeconds},v1=${digest}`;
}

/** Checks a signature header against the body; returns why it is refused, or undefined when valid. */
export function verifySignature(secret: string, body: string, header: string | undefined, nowSeconds = Math.floor(Date.now() / 1000)): string | undefined {
  if (!header) return 'missing signature';
  const parts = Object.fromEntries(header.split(',').map((p) => p.split('=', 2) as [string, string]));
  const t = Number(parts['t']);
  if (!Number.isInteger(t) || !parts['v1']) return 'malformed signature';
  if (Math.abs(nowSeconds - t) > SIGNATURE_TOLERANCE_SECONDS) return 'signature too old';
  const expected = Buffer.from(sign(secret, body, t).split('v1=')[1]!, 'hex');
  const given = Buffer.from(parts['v1'], 'hex');
  return expected.length === given.length && timingSafeEqual(expected, given) ? undefined : 'signature mismatch';
}
