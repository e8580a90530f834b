import { z } from 'zod';
import { ApiClient, BatchRejectedError, bearer, defineDestination, noOutcome, parseJson, stopSync, SYNC_MODES, TransientError, type Batch, type DestinationSession, type RecordOutcome } from '../kit/index.js';
import { startWebhookEmulator, WebhookEmulator } from './emulator.js';
import { ALREADY_EXISTS, BATCH_REFUSALS, IDEMPOTENCY_HEADER, SIGNATURE_HEADER, sign, type WebhookBody, type WebhookResults } from './protocol.js';

export const webhookConfigSchema = z.strictObject({
  /** Where batches are POSTed. */
  url: z.url({ protocol: /^https?$/, error: 'an http(s) URL' }),
  /** HMAC-SHA256 key for the X-Tideline-Signature header (recommended; from an environment variable). */
  secret: z.string().min(16, 'at least 16 characters').optional(),
  /** Sent as `Authorization: Bearer <token>` when set. */
  token: z.string().min(1).optional(),
  /** Records per request. */
  batch_size: z.number().int().min(1).max(10_000).default(100),
  /** Largest request body, in bytes. */
  max_batch_bytes: z.number().int().min(1024).default(5_000_000),
  /** Extra headers on every request (not secret: use `token` for credentials). */
  headers: z.record(z.string().regex(/^[A-Za-z0-9-]+$/, 'a header name'), z.string()).default({}),
});
export type WebhookConfig = z.infer<typeof webhookConfigSchema>;

/** JSON batches to any URL: the generic destination for a receiver of your own (or a workflow tool). */
export const webhook = defineDestination<WebhookConfig>({
  type: 'webhook',
  summary: 'JSON batches POSTed to any URL, signed with HMAC-SHA256',
  configSchema: webhookConfigSchema,
  modes: SYNC_MODES,
  events: {
    maxAgeDays: () => undefined,
    deduplication: 'the receiver: each record carries its idempotency_key, the same whenever an event is sent again (protocol.ts)',
  },
  secrets: (config) => [config.secret, config.token].filter((s): s is string => s !== undefined),
  limits: (config) => ({
    maxBatchRecords: config.batch_size,
    maxBatchBytes: config.max_batch_bytes,
    requestsPerSecond: null,
    concurrency: 4,
    timeoutMs: 30_000,
  }),
  lockScope: (config, object) => {
    const url = new URL(config.url);
    return `webhook:${url.host}${url.pathname}#${object}`;
  },
  // The receiver is the user's own system: Tideline asks it to erase, in the body it already reads (protocol.ts, FORGET).
  erasure: () => ({ operation: 'forget', method: 'webhook: a signed POST with "operation": "forget" to the destination\'s url, one record per key to erase (destinations/README.md, "webhook")' }),
  open: async (config, context) => new WebhookSession(config, context.sync, context.object, context.keyField),
  emulator: {
    start: (context) => startWebhookEmulator({ saved: context.saved }),
    sandboxConfig: (config, emulator) => {
      if (!(emulator instanceof WebhookEmulator)) throw new Error('the webhook sandbox needs a webhook emulator');
      return { ...config, url: `${emulator.endpoint}/hook`, secret: emulator.secret, token: undefined };
    },
  },
});

class WebhookSession implements DestinationSession {
  readonly #client: ApiClient;

  constructor(
    private readonly config: WebhookConfig,
    private readonly sync: string,
    private readonly object: string,
    private readonly keyField: string,
  ) {
    this.#client = new ApiClient({
      vendor: 'webhook',
      baseUrl: config.url,
      // Headers of the destination first: Tideline's own (content type, signature, token) win over them.
      headers: config.headers,
      refused: (response, what) => {
        if (response.status >= 300 && response.status < 400) return new TransientError(`${what}: redirects are not followed`);
        // 404, 405, 410…: the URL is wrong, not the records; splitting the batch could not help.
        return stopSync(`${what}: check the destination's url`);
      },
    });
  }

  async check(): Promise<void> {
    const body: WebhookBody = { sync: this.sync, object: this.object, operation: 'check', key_field: this.keyField, records: [] };
    await this.post(body, `check-${Date.now()}`, AbortSignal.timeout(30_000));
  }

  async apply(batch: Batch): Promise<readonly RecordOutcome[]> {
    const body: WebhookBody = {
      sync: this.sync,
      object: batch.object,
      operation: batch.operation,
      key_field: batch.keyField,
      records: batch.records.map((r) => ({ key: r.key, fields: r.fields, idempotency_key: r.idempotencyKey, ...(r.event ? { event: r.event } : {}) })),
    };
    const { status, results } = await this.post(body, batch.idempotencyKey, batch.signal);
    if (!results) {
      if (status >= 400) throw new BatchRejectedError(`the receiver refused the batch (${status})`, `http_${status}`);
      return batch.records.map(() => ({ ok: true }));
    }
    const byKey = new Map(results.results.map((r) => [r.key, r]));
    return batch.records.map((record): RecordOutcome => {
      const result = byKey.get(record.key);
      if (!result) return noOutcome('the receiver');
      if (result.ok) return { ok: true, destinationId: result.id };
      const code = result.code ?? 'rejected';
      return { ok: false, code, message: result.message ?? 'rejected by the receiver', retryable: result.retryable === true, alreadyExists: code === ALREADY_EXISTS };
    });
  }

  async close(): Promise<void> {}

  /** One POST of the body as signed; a batch refused for its content (BATCH_REFUSALS) is returned to be read. */
  private async post(body: WebhookBody, idempotencyKey: string, signal: AbortSignal): Promise<{ status: number; results: WebhookResults | undefined }> {
    const text = JSON.stringify(body);
    const headers: Record<string, string> = { 'content-type': 'application/json', [IDEMPOTENCY_HEADER]: idempotencyKey, 'user-agent': 'tideline-webhook' };
    if (this.config.secret) headers[SIGNATURE_HEADER] = sign(this.config.secret, text, Math.floor(Date.now() / 1000));
    if (this.config.token) Object.assign(headers, bearer(this.config.token));
    // The URL as configured (an absolute URL is taken as it is: a trailing slash stays).
    const response = await this.#client.request('POST', this.config.url, { raw: text, headers, accept: BATCH_REFUSALS, signal });
    const results = parseJson<{ results?: unknown }>(response.text);
    return { status: response.status, results: Array.isArray(results?.results) ? (results as WebhookResults) : undefined };
  }
}
