import { createHash } from 'node:crypto';
import type { ErasurePlan } from '../../destinations/destination.js';
import type { Dialect, TableRef } from '../dialects/dialect.js';
import { joinSql, Sql, sql, unionAll } from '../dialects/sql.js';
import type { Logger } from '../log/logger.js';
import { sourceRelation } from '../project/analyse.js';
import type { Project } from '../project/loader.js';
import type { StateStore } from '../state/store.js';
import { unnumberedTable } from '../state/tables.js';
import type { Connection, ColumnInfo, Value } from '../warehouses/connection.js';
import { contactColumn } from '../sync/contact.js';
import type { SyncDef } from '../sync/load.js';
import { compileMapping } from '../sync/mapping.js';
import { messageSource } from '../sync/messages.js';
import { recover } from '../sync/run/recover.js';
import { eraseAtDestination, erasurePlan, type ErasureRecord } from './erase.js';
import { CONTACT_KINDS, identifierColumns, KEY_KINDS, personCondition, SYNC_KEY_KIND, syncKeyValue, type MatchScope } from './match.js';
import { auditFacts } from '../sync/run/run.js';
import { ERASURE_COLUMNS, FORGOTTEN_COLUMNS, privacySalt, privacyTable, REQUEST_COLUMNS, setupPrivacy, tokenHash, tokenHashSql } from './state.js';

/**
 * `tideline forget`: erases people everywhere Tideline sent them (README "Privacy").
 *
 *  1. **Who.** The values given (e-mails, phones, customer ids, `source:id` records, keys) designate customers of the
 *     project's identity models, whose every identifying value (ids, records, e-mails, phones, codes in every source)
 *     is hashed in the warehouse with the state's salt. The hashes — never the values — are written to
 *     `privacy_forgotten` with the request's row, in one unit; then every sync's model rows that are theirs (by kind of
 *     value: src/privacy/match.ts) add their key, scoped to the sync, and their contact. From then on every sync
 *     leaves these people out (op `forgotten`), even while a source still holds them.
 *  2. **Where.** For each sync, the records its snapshot holds of them (by key, by the model's rows, by the messages
 *     it recorded) are erased at the destination as the destination declares (DestinationType.erasure): the vendor's
 *     own erasure, the mode's removal, or a manual step reported for the data-protection officer.
 *  3. **State.** The records erased (or that no API can erase) leave the sync's snapshot, its rejections, its
 *     messages and its change set, and the erasure is recorded (`privacy_erasures`), in one atomic unit per sync.
 *     A record the destination refused stays, so that a re-run tries it again.
 *
 * Idempotent and resumable: the request's id derives from the values given (or is given), so running the command
 * again — after a crash, a refusal, a kill -9 — finds the same request, erases what is still held and completes it.
 * `resume` completes every unfinished request from the hashes alone, without the values. `plan` writes nothing.
 */

export type PersonKind = 'email' | 'phone' | 'customer' | 'record' | 'key';
export const PERSON_KINDS: readonly PersonKind[] = ['email', 'phone', 'customer', 'record', 'key'];

export interface PersonRef {
  readonly kind: PersonKind;
  readonly value: string;
}

export interface ForgetInput {
  readonly project: Project;
  readonly connection: Connection;
  /** The state the syncs keep (the sandbox's own in a sandbox run). */
  readonly store: StateStore;
  readonly people: readonly PersonRef[];
  /** The request's id; default: derived from the values given, so the same command resumes the same request. */
  readonly requestId?: string;
  /** Free text naming the request (a ticket number): never a personal value. */
  readonly reference?: string;
  /** Count and report, erase and write nothing. */
  readonly plan?: boolean;
  /** The syncs to erase from: every sync of the project by default. */
  readonly syncs?: readonly SyncDef[];
  /** The destination config of a sync (the sandbox's points at an emulator). */
  configOf(sync: SyncDef): unknown;
  readonly log: Logger;
  readonly openWarehouse?: (target: string) => Promise<Connection>;
  readonly signal?: AbortSignal;
}

export interface SyncErasure {
  readonly sync: string;
  readonly destination: string;
  readonly type: string;
  readonly object: string;
  /** `unresolved`: the sync's model is not built, so not every row of theirs could be found (the request stays open). */
  readonly status: 'erased' | 'partial' | 'manual' | 'none' | 'unresolved' | 'planned';
  /** The vendor call, or what to do by hand. */
  readonly method: string;
  readonly records: number;
  readonly erased: number;
  readonly refused: number;
  readonly stateRows: number;
  /** Why the destination could not be reached, if it could not. */
  readonly failure?: string;
}

export interface ForgetReport {
  readonly requestId: string;
  readonly status: 'done' | 'partial' | 'planned';
  readonly customers: number;
  readonly tokens: number;
  readonly syncs: readonly SyncErasure[];
}

/** A request Tideline refuses before erasing anything (the message names no personal value). */
export class ForgetRefusal extends Error {
  override readonly name = 'ForgetRefusal';
}

interface Token {
  readonly hash: string;
  readonly kind: string;
}

/** A value may be listed under several kinds (a key given that is also a customer id): one entry per kind. */
function tokenKey(t: Token): string {
  return `${t.kind}:${t.hash}`;
}

/** Forgets the people of one request (see the module's comment). */
export async function forget(input: ForgetInput): Promise<ForgetReport> {
  const { store } = input;
  const planOnly = input.plan === true;
  if (!planOnly) await setupPrivacy(store);
  // A plan on a state that never forgot anyone hashes with a throwaway salt: it writes nothing. A real run never
  // falls back: hashes made with another salt would never match.
  const salt = planOnly ? ((await privacySalt(store, false).catch(() => undefined)) ?? createHash('sha256').update(String(Math.random())).digest('hex')) : (await privacySalt(store, true))!;
  const given = input.people.flatMap((p) => givenTokens(salt, p));
  if (!given.length) throw new Error('nothing to forget: give at least one e-mail, phone, customer id, source:id record or key');
  const requestId = input.requestId ?? `fr-${createHash('sha256').update(salt + [...new Set(given.map((t) => t.hash))].sort().join(',')).digest('hex').slice(0, 16)}`;
  const ctx = new Context(input, salt, requestId, planOnly);
  const customers = await ctx.customersOf(input.people);
  const tokens = new Map(given.map((t) => [tokenKey(t), t]));
  for (const t of await ctx.identityTokens(customers)) if (!tokens.has(tokenKey(t))) tokens.set(tokenKey(t), t);
  const customerCount = customers.reduce((n, c) => n + c.ids.length, 0);
  // Recorded first (hashes only), so that the syncs' rows are then matched against a table rather than literals.
  if (!planOnly) await ctx.recordRequest([...tokens.values()], input.people.length, customerCount, input.reference);
  // The syncs' own rows found by these values add their keys (scoped to their sync) and contacts. A crash before
  // they are added leaves the request `running`: `--resume` finds them again (resumeRequests).
  const found = (await ctx.syncTokens(tokens)).filter((t) => !tokens.has(tokenKey(t)));
  for (const t of found) tokens.set(tokenKey(t), t);
  if (!planOnly) await ctx.addTokens(found);
  return ctx.eraseAll(tokens, customerCount);
}

/** Completes every request left unfinished (status `running` or `partial`) from the hashes it stored. */
export async function resumeRequests(input: Omit<ForgetInput, 'people' | 'requestId'>): Promise<ForgetReport[]> {
  const { store } = input;
  await setupPrivacy(store);
  const salt = await privacySalt(store, false);
  if (!salt) return [];
  const d = store.dialect;
  const rows = await store.connection.query(
    sql`SELECT ${d.id('request_id')}, ${d.id('customers')} FROM ${d.table(privacyTable(store, 'requests'))} WHERE ${d.id('status')} IN (${d.string('running')}, ${d.string('partial')}) ORDER BY ${d.id('requested_at')}`,
  );
  const reports: ForgetReport[] = [];
  for (const row of rows) {
    const requestId = String(row['request_id']);
    const ctx = new Context({ ...input, people: [] }, salt, requestId, false);
    const tokens = new Map((await ctx.storedTokens()).map((t) => [tokenKey(t), t]));
    // Rows that joined a sync's model since the request was made are found again by the same values.
    const found = (await ctx.syncTokens(tokens)).filter((t) => !tokens.has(tokenKey(t)));
    for (const t of found) tokens.set(tokenKey(t), t);
    await ctx.addTokens(found);
    reports.push(await ctx.eraseAll(tokens, Number(row['customers'] ?? 0)));
  }
  return reports;
}

/** The hash of a value as given (an e-mail without its spaces), of its kind (src/privacy/match.ts). */
function givenTokens(salt: string, person: PersonRef): Token[] {
  const value = person.kind === 'email' ? person.value.replace(/\s+/g, '') : person.value.trim();
  return value ? [{ hash: tokenHash(salt, value), kind: person.kind }] : [];
}

class Context {
  readonly d: Dialect;

  constructor(
    readonly input: ForgetInput,
    readonly salt: string,
    readonly requestId: string,
    readonly planOnly: boolean,
  ) {
    this.d = input.store.dialect;
  }

  get store(): StateStore {
    return this.input.store;
  }

  get syncs(): readonly SyncDef[] {
    return this.input.syncs ?? [...this.input.project.syncs.values()];
  }

  hash(value: Sql): Sql {
    return tokenHashSql(this.d, this.salt, value);
  }

  /** The identity models' lookups (ModelKind.people), for the models that are built. */
  async lookups() {
    const { project, connection } = this.input;
    const d = this.d;
    const found = [];
    for (const model of project.models.values()) {
      if (!model.kind.people) continue;
      const table = { schema: project.target.schema, name: model.name };
      if (!(await connection.columns(table))) continue;
      found.push(
        model.kind.people(model.spec, {
          dialect: d,
          io: connection,
          table,
          relation: (name) => {
            const source = project.sources.get(name);
            return source ? sourceRelation(project, source) : d.table({ schema: project.target.schema, name });
          },
        }),
      );
    }
    return found;
  }

  /** Customer ids of the identity models the values designate, by model. */
  async customersOf(people: readonly PersonRef[]): Promise<{ lookup: Awaited<ReturnType<Context['lookups']>>[number]; ids: string[] }[]> {
    const out = [];
    for (const lookup of await this.lookups()) {
      const ids = new Set<string>();
      for (const [n, person] of people.entries()) {
        const kinds: PersonRef['kind'][] = person.kind === 'key' ? ['customer', 'key'] : [person.kind];
        const found = new Set<string>();
        for (const kind of kinds) for (const id of await lookup.find(kind, person.kind === 'email' ? person.value.replace(/\s+/g, '') : person.value.trim())) found.add(id);
        // A value several customers hold (a family's address, a shop's phone) does not say whom to forget: erasing
        // them all would erase someone who asked for nothing.
        if (found.size > 1) {
          throw new ForgetRefusal(
            `the ${person.kind} of request line ${n + 1} designates ${found.size} customers (${[...found].sort().join(', ')}): name the one to forget with --customer; nothing was erased`,
          );
        }
        for (const id of found) ids.add(id);
      }
      if (ids.size) out.push({ lookup, ids: [...ids].sort() });
    }
    return out;
  }

  /** Every value identifying the customers found, hashed in the warehouse. */
  async identityTokens(customers: Awaited<ReturnType<Context['customersOf']>>): Promise<Token[]> {
    if (!customers.length) return [];
    const d = this.d;
    const values = unionAll(customers.map((c) => c.lookup.values(c.ids)));
    const rows = await this.input.connection.query(
      sql`SELECT DISTINCT ${this.hash(d.id('v'))} AS ${d.id('h')}, ${d.id('kind')} FROM (\n${values}\n) AS p WHERE ${d.id('v')} IS NOT NULL AND ${d.id('v')} <> ''`,
    );
    return rows.map((r) => ({ hash: String(r['h']), kind: String(r['kind']) }));
  }

  /** Whether the request's hashes are in the state table yet (before: literals; a plan never writes them). */
  persisted = false;

  /** The matching scope (src/privacy/match.ts) over the request's hashes: the state table's, or literals. */
  scope(tokens: ReadonlyMap<string, Token>): MatchScope {
    const d = this.d;
    return {
      dialect: d,
      hash: (value) => this.hash(value),
      tokens: (kinds) => {
        if (this.persisted) {
          return sql`SELECT ${d.id('token_hash')} FROM ${d.table(privacyTable(this.store, 'forgotten'))} WHERE ${d.id('request_id')} = ${d.string(this.requestId)} AND ${d.id('kind')} IN (${joinSql(kinds.map((k) => d.string(k)))})`;
        }
        const hashes = [...tokens.values()].filter((t) => kinds.includes(t.kind)).map((t) => t.hash);
        return hashes.length ? unionAll(hashes.map((h) => sql`SELECT ${d.string(h)} AS ${d.id('token_hash')}`)) : sql`SELECT ${d.string('')} AS ${d.id('token_hash')} WHERE 1 = 0`;
      },
    };
  }

  /** The models' columns, read once per command: every step of every sync asks. */
  readonly #models = new Map<string, Promise<{ columns: ColumnInfo[]; types: Map<string, ColumnInfo['type']> } | undefined>>();

  /** A sync's model as built, with its column types, or undefined when it is not built. */
  modelOf(sync: SyncDef): Promise<{ columns: ColumnInfo[]; types: Map<string, ColumnInfo['type']> } | undefined> {
    let model = this.#models.get(sync.model);
    if (!model) {
      model = this.input.connection.columns({ schema: this.input.project.target.schema, name: sync.model }).then((columns) => (columns ? { columns, types: new Map(columns.map((c) => [this.d.identifierKey(c.name), c.type])) } : undefined));
      this.#models.set(sync.model, model);
    }
    return model;
  }


  /** The model rows of a sync that are the person's (src/privacy/match.ts), as a condition over the model's columns. */
  modelMatch(sync: SyncDef, model: { columns: ColumnInfo[]; types: Map<string, ColumnInfo['type']> }, tokens: ReadonlyMap<string, Token>): { condition: Sql; key: Sql; contact: string | undefined } {
    const d = this.d;
    const key = compileMapping(d, sync, model.types).key;
    const contact = contactColumn(sync, model.types);
    const identifiers = identifierColumns(
      model.columns.map((c) => c.name),
      this.input.project.config.privacy.identifiers,
    ).map((c) => d.id(c));
    const condition = personCondition(this.scope(tokens), { sync: sync.name, events: sync.event !== undefined, key, contact: contact ? d.id(contact) : undefined, identifiers });
    return { condition, key, contact };
  }

  /** Keys (scoped to their sync) and contacts of every sync's rows that are the person's, hashed. */
  async syncTokens(tokens: ReadonlyMap<string, Token>): Promise<Token[]> {
    const d = this.d;
    const found: Token[] = [];
    for (const sync of this.syncs) {
      const model = await this.modelOf(sync);
      if (!model) continue;
      const match = this.modelMatch(sync, model, tokens);
      const parts = [sql`SELECT ${this.hash(syncKeyValue(d, sync.name, match.key))} AS ${d.id('h')}, ${d.string(SYNC_KEY_KIND)} AS ${d.id('kind')} FROM ${this.modelTable(sync)} WHERE ${match.condition}`];
      if (match.contact) parts.push(sql`SELECT ${this.hash(d.id(match.contact))} AS ${d.id('h')}, ${d.string('customer')} AS ${d.id('kind')} FROM ${this.modelTable(sync)} WHERE ${match.condition}`);
      const rows = await this.input.connection.query(sql`SELECT DISTINCT ${d.id('h')}, ${d.id('kind')} FROM (\n${unionAll(parts)}\n) AS t WHERE ${d.id('h')} IS NOT NULL`);
      for (const r of rows) found.push({ hash: String(r['h']), kind: String(r['kind']) });
    }
    return found;
  }

  modelTable(sync: SyncDef): Sql {
    return this.d.table({ schema: this.input.project.target.schema, name: sync.model });
  }

  /** The request's row and its first hashes, in one unit: from then on the syncs leave these people out. */
  async recordRequest(tokens: readonly Token[], given: number, customers: number, reference: string | undefined): Promise<void> {
    const d = this.d;
    const requests = privacyTable(this.store, 'requests');
    const held = await this.store.connection.query(sql`SELECT ${d.id('status')} FROM ${d.table(requests)} WHERE ${d.id('request_id')} = ${d.string(this.requestId)}`);
    const now = new Date();
    const statements: Sql[] = [];
    if (!held.length) {
      const values: Value[] = [this.requestId, now, 'running', given, tokens.length, customers, null, reference ?? null];
      statements.push(insertValues(d, requests, REQUEST_COLUMNS.map((c) => c.name), values));
    } else statements.push(sql`UPDATE ${d.table(requests)} SET ${d.id('status')} = ${d.string('running')}, ${d.id('finished_at')} = NULL WHERE ${d.id('request_id')} = ${d.string(this.requestId)}`);
    statements.push(...this.tokenInserts(tokens, now));
    await this.store.connection.runAtomically(statements);
    this.persisted = true;
  }

  async addTokens(tokens: readonly Token[]): Promise<void> {
    const statements = this.tokenInserts(tokens, new Date());
    if (statements.length) await this.store.connection.runAtomically(statements);
  }

  /** Inserts of the hashes the request does not hold yet (a re-run adds none twice). */
  tokenInserts(tokens: readonly Token[], now: Date): Sql[] {
    const d = this.d;
    const table = privacyTable(this.store, 'forgotten');
    const out: Sql[] = [];
    for (let i = 0; i < tokens.length; i += 500) {
      const rows = tokens.slice(i, i + 500).map((t) => sql`SELECT ${d.string(t.hash)} AS ${d.id('token_hash')}, ${d.string(t.kind)} AS ${d.id('kind')}, ${d.string(this.requestId)} AS ${d.id('request_id')}, ${d.timestampLiteral(now)} AS ${d.id('forgotten_at')}`);
      out.push(
        sql`INSERT INTO ${d.table(table)} (${joinSql(FORGOTTEN_COLUMNS.map((c) => d.id(c.name)))}) SELECT * FROM (\n${unionAll(rows)}\n) AS n WHERE NOT EXISTS (SELECT 1 FROM ${d.table(table)} AS f WHERE f.${d.id('token_hash')} = n.${d.id('token_hash')} AND f.${d.id('kind')} = n.${d.id('kind')} AND f.${d.id('request_id')} = n.${d.id('request_id')})`,
      );
    }
    return out;
  }

  async storedTokens(): Promise<Token[]> {
    this.persisted = true;
    const d = this.d;
    const rows = await this.store.connection.query(
      sql`SELECT ${d.id('token_hash')}, ${d.id('kind')} FROM ${d.table(privacyTable(this.store, 'forgotten'))} WHERE ${d.id('request_id')} = ${d.string(this.requestId)}`,
    );
    return rows.map((r) => ({ hash: String(r['token_hash']), kind: String(r['kind']) }));
  }

  /** Erases and purges sync by sync, then closes the request. */
  async eraseAll(tokens: ReadonlyMap<string, Token>, customers: number): Promise<ForgetReport> {
    const results: SyncErasure[] = [];
    for (const sync of this.syncs) results.push(await this.eraseSync(sync, tokens));
    if (!this.planOnly) await this.purgeShared(tokens);
    const partial = results.some((r) => r.status === 'partial' || r.status === 'unresolved');
    const status = this.planOnly ? 'planned' : partial ? 'partial' : 'done';
    if (!this.planOnly) {
      const d = this.d;
      await this.store.connection.execute(
        sql`UPDATE ${d.table(privacyTable(this.store, 'requests'))} SET ${d.id('status')} = ${d.string(status)}, ${d.id('finished_at')} = ${d.timestampLiteral(new Date())}, ${d.id('tokens')} = ${d.literal(tokens.size)} WHERE ${d.id('request_id')} = ${d.string(this.requestId)}`,
      );
    }
    return { requestId: this.requestId, status, customers, tokens: tokens.size, syncs: results };
  }

  /**
   * The condition on a state row's record key that it is the person's, for one sync: its key was found in the sync's
   * rows (or, not an events sync's, is an e-mail, phone or key given), or it is the key of a model row that is theirs
   * now, or of a message the sync recorded to them.
   */
  async keyMatch(sync: SyncDef, tokens: ReadonlyMap<string, Token>): Promise<(key: Sql) => Sql> {
    const d = this.d;
    const scope = this.scope(tokens);
    const model = await this.modelOf(sync);
    const match = model ? this.modelMatch(sync, model, tokens) : undefined;
    const messages = (await this.store.exists(this.store.table('messages')))
      ? sql`SELECT ${d.id('record_key')} FROM ${d.table(this.store.table('messages'))} WHERE ${d.id('sync_name')} = ${d.string(sync.name)} AND ${this.hash(d.id('contact_key'))} IN (${scope.tokens(CONTACT_KINDS)})`
      : undefined;
    return (key) =>
      sql`(${joinSql(
        [
          sql`${this.hash(syncKeyValue(d, sync.name, key))} IN (${scope.tokens([SYNC_KEY_KIND])})`,
          ...(sync.event ? [] : [sql`${this.hash(key)} IN (${scope.tokens(KEY_KINDS)})`]),
          ...(match ? [sql`${key} IN (SELECT ${match.key} FROM ${this.modelTable(sync)} WHERE ${match.condition})`] : []),
          ...(messages ? [sql`${key} IN (${messages})`] : []),
        ],
        sql` OR `,
      )})`;
  }

  async eraseSync(sync: SyncDef, tokens: ReadonlyMap<string, Token>): Promise<SyncErasure> {
    const { store, log } = this.input;
    const d = this.d;
    const config = this.input.configOf(sync);
    const plan: ErasurePlan = erasurePlan(sync, config);
    const method = 'manual' in plan ? plan.manual : plan.method;
    const base = { sync: sync.name, destination: sync.destination.name, type: sync.destination.type.type, object: sync.object, method };
    const snapshot = store.snapshot(sync.name);
    if (!(await store.exists(snapshot))) return { ...base, status: this.planOnly ? 'planned' : 'none', records: 0, erased: 0, refused: 0, stateRows: 0 };
    // A run that died left outcomes to fold: folded first, so that what it delivered is known and erased too.
    if (!this.planOnly && (await store.exists(store.journal(sync.name))) && (await store.journalCounts(sync.name)).rows) {
      const model = await this.modelOf(sync);
      await recover({ store, sync: sync.name, runId: this.requestId, tookOver: [], fullResync: false, messages: model ? messageSource(sync, model.types) : undefined, events: sync.event !== undefined, audit: auditFacts(sync), log });
    }
    const match = await this.keyMatch(sync, tokens);
    const held = await store.connection.query(
      sql`SELECT ${d.id('record_key')}, ${d.id('destination_id')}, ${d.id('retained')}, ${d.id('last_run_id')} FROM ${d.table(snapshot)} WHERE ${match(d.id('record_key'))} ORDER BY ${d.id('record_key')}`,
    );
    const records: ErasureRecord[] = held.map((r) => ({
      key: String(r['record_key']),
      destinationId: (r['destination_id'] as string | null) ?? null,
      retained: (r['retained'] as string | null) ?? null,
      priorRun: (r['last_run_id'] as string | null) ?? null,
    }));
    // Without its model, the sync's rows found by e-mail or phone cannot be known: what the keys and messages name is
    // erased, and the request stays unfinished until the model is built and the erasure resumed.
    const unresolved = !(await this.modelOf(sync));
    if (this.planOnly) return { ...base, status: 'planned', records: records.length, erased: 0, refused: 0, stateRows: 0 };
    const result = await eraseAtDestination({ project: this.input.project, connection: this.input.connection, sync, config, records, runId: this.requestId, log, ...(this.input.openWarehouse ? { openWarehouse: this.input.openWarehouse } : {}), ...(this.input.signal ? { signal: this.input.signal } : {}) });
    const refusedKeys = result.outcomes.filter((o) => !o.ok).map((o) => o.key);
    const erased = 'manual' in plan ? 0 : result.outcomes.length - refusedKeys.length;
    const status: SyncErasure['status'] = refusedKeys.length ? 'partial' : unresolved ? 'unresolved' : !records.length ? 'none' : 'manual' in plan ? 'manual' : 'erased';
    if (result.failure) log.warn({ sync: sync.name }, `${sync.name}: the erasure at ${sync.destination.name} stopped: ${result.failure}; run \`tideline forget --resume\` to try again`);
    if (unresolved) log.warn({ sync: sync.name }, `${sync.name}: model ${sync.model} is not built, so its rows of these people cannot all be found: build it (\`tideline run --select ${sync.model}\`) and run \`tideline forget --resume\``);
    const stateRows = await this.purgeSync(sync, match, refusedKeys, { ...base, status, records: records.length, erased, refused: refusedKeys.length });
    return { ...base, status, records: records.length, erased, refused: refusedKeys.length, stateRows, ...(result.failure ? { failure: result.failure } : {}) };
  }

  /**
   * The sync's state rows of the person, except the records the destination refused (a re-run tries them again),
   * and the erasure's record, in one unit. The change set of the last run is dropped whole: a plan makes it anew.
   */
  async purgeSync(sync: SyncDef, match: (key: Sql) => Sql, refused: readonly string[], erasure: Omit<SyncErasure, 'stateRows'>): Promise<number> {
    const { store } = this.input;
    const d = this.d;
    const keep = refused.length ? (key: Sql) => sql` AND ${key} NOT IN (${joinSql(refused.map((k) => d.string(k)))})` : () => Sql.empty;
    const key = d.id('record_key');
    const where = sql`${match(key)}${keep(key)}`;
    const counted: { table: Sql; where: Sql }[] = [{ table: d.table(store.snapshot(sync.name)), where }];
    if (await store.exists(store.table('rejected'))) counted.push({ table: d.table(store.table('rejected')), where: sql`${d.id('sync_name')} = ${d.string(sync.name)} AND ${where}` });
    if (await store.exists(store.table('messages'))) counted.push({ table: d.table(store.table('messages')), where: sql`${d.id('sync_name')} = ${d.string(sync.name)} AND ${where}` });
    let rows = 0;
    for (const c of counted) rows += Number((await store.connection.query(sql`SELECT COUNT(*) AS ${d.id('n')} FROM ${c.table} WHERE ${c.where}`))[0]?.['n'] ?? 0);
    // Messages are matched through themselves: deleted last, after the tables their keys designate.
    const statements = [...counted.map((c) => sql`DELETE FROM ${c.table} WHERE ${c.where}`)];
    const journalEmpty = !(await store.exists(store.journal(sync.name))) || (await store.journalCounts(sync.name)).rows === 0;
    // The change set of a sync with nothing to fold may hold the person's values, and so may one a killed plan left
    // unnumbered (never read again, so dropped whatever the journal holds): dropped in the same unit where DDL is
    // transactional; elsewhere after it (BigQuery refuses DDL on permanent tables inside a transaction, Snowflake
    // would commit the unit there), a re-run dropping them again if the process dies in between.
    const drops = [...(journalEmpty ? [d.dropTable(store.changes(sync.name))] : []), d.dropTable(unnumberedTable(store.changes(sync.name)))];
    if (d.capabilities.transactionalDdl) statements.push(...drops);
    const erasures = privacyTable(store, 'erasures');
    const values: Value[] = [this.requestId, sync.name, erasure.destination, erasure.type, erasure.object, erasure.status, erasure.method, erasure.records, erasure.erased, erasure.refused, rows, new Date()];
    // A re-run that finds nothing left keeps the row of the run that erased.
    if (erasure.records > 0 || !(await this.hasErasure(sync.name))) {
      statements.push(sql`DELETE FROM ${d.table(erasures)} WHERE ${d.id('request_id')} = ${d.string(this.requestId)} AND ${d.id('sync_name')} = ${d.string(sync.name)}`);
      statements.push(insertValues(d, erasures, ERASURE_COLUMNS.map((c) => c.name), values));
    }
    await store.connection.runAtomically(statements);
    if (!d.capabilities.transactionalDdl) for (const drop of drops) await store.connection.execute(drop);
    return rows;
  }

  async hasErasure(sync: string): Promise<boolean> {
    const d = this.d;
    const rows = await this.store.connection.query(
      sql`SELECT 1 AS ${d.id('one')} FROM ${d.table(privacyTable(this.store, 'erasures'))} WHERE ${d.id('request_id')} = ${d.string(this.requestId)} AND ${d.id('sync_name')} = ${d.string(sync)}`,
    );
    return rows.length > 0;
  }

  /**
   * Messages recorded to them by any sync (declared or not: the contact key is a customer's), and rejections of syncs
   * the project no longer declares whose key is an e-mail, phone or key given.
   */
  async purgeShared(tokens: ReadonlyMap<string, Token>): Promise<void> {
    const { store } = this.input;
    const d = this.d;
    const scope = this.scope(tokens);
    const statements: Sql[] = [];
    if (await store.exists(store.table('messages'))) statements.push(sql`DELETE FROM ${d.table(store.table('messages'))} WHERE ${this.hash(d.id('contact_key'))} IN (${scope.tokens(CONTACT_KINDS)})`);
    if (await store.exists(store.table('rejected'))) {
      const declared = joinSql([...this.input.project.syncs.keys()].map((name) => d.string(name)).concat([d.string('')]));
      statements.push(sql`DELETE FROM ${d.table(store.table('rejected'))} WHERE ${d.id('sync_name')} NOT IN (${declared}) AND ${this.hash(d.id('record_key'))} IN (${scope.tokens(KEY_KINDS)})`);
    }
    if (statements.length) await store.connection.runAtomically(statements);
  }
}

function insertValues(d: Dialect, table: TableRef, columns: readonly string[], values: readonly Value[]): Sql {
  const literal = (v: Value) => (v instanceof Date ? d.timestampLiteral(v) : typeof v === 'string' ? d.string(v) : v === null ? sql`NULL` : d.literal(v as number));
  return sql`INSERT INTO ${d.table(table)} (${joinSql(columns.map((c) => d.id(c)))}) VALUES (${joinSql(values.map(literal))})`;
}
