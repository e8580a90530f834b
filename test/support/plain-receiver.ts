import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';

/**
 * An independent oracle for the sync engine's delivery: a plain HTTP receiver that records every record of every
 * request it is sent. It shares no code with the webhook adapter or its emulator — it reads the JSON body as the
 * protocol's README describes it (`{ operation, object, records: [{ key, fields, idempotency_key }] }`) and nothing
 * else — so a test judging the engine by what this receiver saw does not repeat the engine's own reading.
 *
 * What it does with a record, like a store with unique keys: an insert of a key it holds is refused with
 * `already_exists`, upserts and adds set the key, deletes, removes and forgets drop it. With `dedupe`, it also remembers the
 * idempotency key of every record it applied and answers a record it has seen with success without applying it
 * again — the per-record de-duplication the protocol recommends. Without, it applies whatever comes.
 *
 * Faults, drawn by its own seeded generator for a share of requests: 429 with Retry-After, 500 and 503, a hang past
 * the client's timeout before or after the request took effect, and a connection reset before or after it took
 * effect. A fault "after" is the dangerous one: the records are applied, the client never hears it.
 */
export interface PlainReceiverOptions {
  /** Share of requests that fail, in [0, 1]. */
  readonly faultRate?: number;
  readonly seed?: number;
  /** How long a hang lasts before the connection is cut (longer than the client's timeout). */
  readonly hangMs?: number;
  readonly dedupe?: boolean;
  /** Faults chosen by the test instead of drawn: the fault for the n-th request carrying records (1-based), if any. */
  readonly script?: (n: number) => ReceiverFault | undefined;
}

export type ReceiverFault = '429' | '500' | '503' | 'hang-before' | 'hang-after' | 'reset-before' | 'reset-after';
const FAULTS: readonly ReceiverFault[] = ['429', '500', '503', 'hang-before', 'hang-after', 'reset-before', 'reset-after'];

/** One record as it arrived. */
export interface Arrival {
  readonly request: number;
  readonly operation: string;
  readonly object: string;
  readonly key: string;
  readonly fields: Record<string, unknown>;
  readonly idempotencyKey: string | undefined;
  readonly batchKey: string | undefined;
  /** applied: it changed the store; replay: a known idempotency key (dedupe); exists: an insert of a held key; lost: its request failed before taking effect. */
  readonly outcome: 'applied' | 'replay' | 'exists' | 'lost';
}

export class PlainReceiver {
  readonly arrivals: Arrival[] = [];
  /** The store: by object, by key. */
  readonly objects = new Map<string, Map<string, Record<string, unknown>>>();
  readonly faults = new Map<ReceiverFault, number>();
  requests = 0;
  #dataRequests = 0;
  readonly #seen = new Set<string>();
  readonly #sockets = new Set<Socket>();
  #state: number;

  private constructor(
    private readonly server: Server,
    private readonly options: PlainReceiverOptions,
  ) {
    this.#state = (options.seed ?? 1) >>> 0 || 1;
  }

  static async start(options: PlainReceiverOptions = {}): Promise<PlainReceiver> {
    const server = createServer();
    const receiver = new PlainReceiver(server, options);
    server.on('connection', (socket) => {
      receiver.#sockets.add(socket);
      socket.on('close', () => receiver.#sockets.delete(socket));
    });
    server.on('request', (request, response) => void receiver.#handle(request, response));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    return receiver;
  }

  get url(): string {
    return `http://127.0.0.1:${(this.server.address() as AddressInfo).port}/hook`;
  }

  /** Records held for one object, by key. */
  records(object: string): Map<string, Record<string, unknown>> {
    let records = this.objects.get(object);
    if (!records) this.objects.set(object, (records = new Map()));
    return records;
  }

  /** Stops failing requests (for a run that must converge). */
  calm(): void {
    (this.options as { faultRate?: number }).faultRate = 0;
  }

  /** How many times each key was applied, per operation: `insert:42 → 1`. */
  appliedCounts(): Map<string, number> {
    const counts = new Map<string, number>();
    for (const a of this.arrivals) if (a.outcome === 'applied') counts.set(`${a.operation}:${a.key}`, (counts.get(`${a.operation}:${a.key}`) ?? 0) + 1);
    return counts;
  }

  async close(): Promise<void> {
    for (const socket of this.#sockets) socket.destroy();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  #random(): number {
    // xorshift32: this receiver's own generator, independent of the emulator kit's.
    let x = this.#state;
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    this.#state = x >>> 0;
    return this.#state / 4294967296;
  }

  async #handle(request: IncomingMessage, response: ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const chunk of request) chunks.push(chunk as Buffer);
    const number = ++this.requests;
    let body: { operation?: string; object?: string; records?: { key: string; fields: Record<string, unknown>; idempotency_key?: string }[] };
    try {
      body = JSON.parse(Buffer.concat(chunks).toString('utf8')) as typeof body;
    } catch {
      response.writeHead(400, { 'content-type': 'application/json' }).end('{"error":"not json"}');
      return;
    }
    const operation = body.operation ?? '';
    const records = body.records ?? [];
    if (operation === 'check' || records.length === 0) {
      response.writeHead(204).end();
      return;
    }
    const batchKey = request.headers['idempotency-key'] as string | undefined;
    const object = body.object ?? '';
    const scripted = this.options.script?.(++this.#dataRequests);
    const fault = scripted ?? ((this.options.faultRate ?? 0) > 0 && this.#random() < this.options.faultRate! ? FAULTS[Math.floor(this.#random() * FAULTS.length)]! : undefined);
    if (fault) this.faults.set(fault, (this.faults.get(fault) ?? 0) + 1);
    const lost = () => {
      for (const r of records) this.arrivals.push({ request: number, operation, object, key: r.key, fields: r.fields, idempotencyKey: r.idempotency_key, batchKey, outcome: 'lost' });
    };
    switch (fault) {
      case '429':
        lost();
        response.writeHead(429, { 'retry-after': '1', 'content-type': 'application/json' }).end('{"error":"slow down"}');
        return;
      case '500':
      case '503':
        lost();
        response.writeHead(Number(fault), { 'content-type': 'application/json' }).end('{"error":"failed"}');
        return;
      case 'reset-before':
        lost();
        request.socket.destroy();
        return;
      case 'hang-before':
        lost();
        setTimeout(() => request.socket.destroy(), this.options.hangMs ?? 1000).unref();
        return;
    }
    const results = records.map((r) => this.#apply(number, operation, object, r, batchKey));
    if (fault === 'reset-after') {
      request.socket.destroy();
      return;
    }
    if (fault === 'hang-after') {
      setTimeout(() => request.socket.destroy(), this.options.hangMs ?? 1000).unref();
      return;
    }
    response.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ results }));
  }

  #apply(request: number, operation: string, object: string, record: { key: string; fields: Record<string, unknown>; idempotency_key?: string }, batchKey: string | undefined) {
    const arrive = (outcome: Arrival['outcome']) =>
      this.arrivals.push({ request, operation, object, key: record.key, fields: record.fields, idempotencyKey: record.idempotency_key, batchKey, outcome });
    if (this.options.dedupe && record.idempotency_key !== undefined && this.#seen.has(record.idempotency_key)) {
      arrive('replay');
      return { key: record.key, ok: true };
    }
    const store = this.records(object);
    if (operation === 'insert' && store.has(record.key)) {
      arrive('exists');
      return { key: record.key, ok: false, code: 'already_exists', message: 'a record with this key exists', retryable: false };
    }
    // `forget` (tideline forget's erasure, see destinations/webhook/README.md) drops the record like a delete.
    if (operation === 'delete' || operation === 'remove' || operation === 'forget') store.delete(record.key);
    else store.set(record.key, { ...store.get(record.key), ...record.fields });
    if (record.idempotency_key !== undefined) this.#seen.add(record.idempotency_key);
    arrive('applied');
    return { key: record.key, ok: true };
  }
}
