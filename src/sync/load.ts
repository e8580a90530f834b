import { existsSync } from 'node:fs';
import { relative, resolve } from 'node:path';
import { glob } from 'tinyglobby';
import { z } from 'zod';
import type { RegisteredDestination, SyncMode } from '../../destinations/destination.js';
import type { SyncParts } from '../../models/model-kind.js';
import type { ColumnCondition } from '../expressions/conditions.js';
import type { Channel } from '../project/channels.js';
import { purposesOf } from '../project/policies.js';
import { transformProblem, type TransformName } from '../expressions/transforms.js';
import type { Sql } from '../dialects/sql.js';
import { parseDateFormat } from '../dialects/dialect.js';
import type { Dialect } from '../dialects/dialect.js';
import { redactor } from '../log/redact.js';
import type { EnvLookup } from '../project/env.js';
import type { FieldPath, Problems } from '../project/problems.js';
import { unknownTypeProblem } from '../project/pressure.js';
import type { ProjectFile } from '../project/schema.js';
import { didYouMean } from '../project/suggest.js';
import { validateAt } from '../project/validate.js';
import { YamlFile } from '../project/yaml-file.js';
import { destinationCommonShape, parseSpan, syncFileSchema, syncSchema, type SyncOptions } from './schema.js';
import { purposeProblems, topicProblems } from './suppressions.js';

/** Where an item was written: its file and its path inside (the loader's Origin, repeated to keep imports one-way). */
export interface SyncOrigin {
  readonly file: YamlFile;
  readonly path: FieldPath;
}

export interface RetryPolicy {
  readonly attempts: number;
  readonly baseMs: number;
  readonly maxMs: number;
}

/** A destination entry: its type, its parsed config, and the engine's common settings. */
export interface DestinationDef {
  readonly name: string;
  readonly type: RegisteredDestination;
  /** What the type's configSchema produced. */
  readonly config: unknown;
  readonly requestsPerSecond: number | undefined;
  readonly concurrency: number | undefined;
  readonly timeoutSeconds: number | undefined;
  readonly retries: RetryPolicy;
  readonly origin: SyncOrigin;
}

/** A value sent to the destination: from a model column or a constant, then formatted and cleaned. */
export interface MappedField {
  /** Destination field name. */
  readonly name: string;
  readonly column: string | undefined;
  readonly constant: string | number | boolean | undefined;
  readonly dateFormat: string | undefined;
  readonly transforms: readonly TransformName[];
  /** Where it is written, relative to the sync item (for column problems found later). */
  readonly at: FieldPath;
}

export interface SyncDef {
  readonly name: string;
  readonly description: string | undefined;
  readonly tags: readonly string[];
  readonly enabled: boolean;
  readonly model: string;
  /** The channel its records are messaged or targeted on (see syncSchema `channel`), if any. */
  readonly channel: Channel | undefined;
  /** The model column of the customer key as written or implied by an audiences model; see contactColumn. */
  readonly contact: string | undefined;
  /** The preference-centre topic it sends on: its `topic:`, else its audience's. */
  readonly topic: string | undefined;
  /**
   * Whether the project's suppressions, and its preferences, apply to it: neither with `suppress: false` nor for an
   * exclusion audience, no preferences for an audience without consent (SyncParts.policyOf). They reach only syncs
   * with a channel (see src/sync/suppressions.ts).
   */
  readonly suppress: boolean;
  readonly preferences: boolean;
  /**
   * The consent purposes a contact must have granted for the sync to send them (tideline.yml `consent:`): its own
   * `purposes:`, else its channel's; none without a consent section. Unlike the above, neither `suppress: false` nor
   * an exclusion audience exempts a sync: only `purposes: []` does (see src/sync/suppressions.ts).
   */
  readonly purposes: readonly string[];
  /** Whether its entries or inserts may be messages (false for an exclusion audience's sync); see src/sync/messages.ts. */
  readonly messages: boolean;
  /** The communication type of its messages (`message_type`, else its audience's `type`), for marketing pressure. */
  readonly messageType: string | undefined;
  /** For an audiences model: the audience sent, and the SQL condition selecting its sendable members. */
  readonly audience: { readonly name: string; readonly filter: Sql } | undefined;
  /** Row conditions on model columns (compiled by the planner, which knows the columns' types). */
  readonly where: readonly ColumnCondition[];
  readonly destination: DestinationDef;
  readonly object: string;
  readonly mode: SyncMode;
  /** The key: its model column, the destination field it fills, its clean-ups. */
  readonly key: MappedField & { readonly column: string };
  readonly fields: readonly MappedField[];
  /** For mode `events`: what makes each row an event (see src/sync/events.ts); undefined for the other modes. */
  readonly event: EventDef | undefined;
  readonly options: SyncOptions;
  readonly origin: SyncOrigin;
}

/** `event:` of an events sync, read. */
export interface EventDef {
  /** The model column of the event's time. */
  readonly time: string;
  /** The event's name: the same for every row, or a model column's value. */
  readonly name: { readonly constant: string } | { readonly column: string };
  /** How late a row may land after its event's time and still be read (ms). */
  readonly lookbackMs: number;
  /** The first run's window (ms), or every event. */
  readonly backfillMs: number | 'all';
}

export interface LoadedSyncs {
  readonly destinations: ReadonlyMap<string, DestinationDef>;
  readonly syncs: ReadonlyMap<string, SyncDef>;
}

export interface SyncLoadContext {
  readonly root: string;
  readonly config: ProjectFile;
  readonly configFile: YamlFile;
  readonly env: EnvLookup;
  readonly dialect: Dialect;
  /** The destination types `type:` is read against: the registry (destinations/index.ts), or a test's own. */
  readonly destinationTypes: readonly RegisteredDestination[];
  /** Model names (valid ones) and names of models that failed validation (known to exist). */
  readonly models: ReadonlySet<string>;
  readonly invalidModels: ReadonlySet<string>;
  readonly targets: readonly string[];
  /** The named parts of a model a sync must choose from (the audiences of an audiences model), if it has any. */
  readonly syncParts: (model: string) => SyncParts | undefined;
}

/**
 * Loads every sync file: destinations and syncs validated, destination types and modes checked, references to
 * destinations and models resolved, secrets registered with the redactor. Columns are checked later, against the
 * models' output columns (`checkSyncColumns`).
 */
export async function loadSyncFiles(context: SyncLoadContext, problems: Problems): Promise<LoadedSyncs> {
  const { root, config, configFile } = context;
  const files: string[] = [];
  for (const [i, dir] of config.paths.syncs.entries()) {
    const abs = resolve(root, dir);
    if (!existsSync(abs)) {
      if (dir !== 'syncs') problems.error('missing-path', `folder ${dir} does not exist`, configFile.locate(['paths', 'syncs', i]), ['paths', 'syncs', i]);
      continue;
    }
    files.push(...(await glob(['**/*.yml', '**/*.yaml'], { cwd: abs, absolute: true })).sort());
  }

  const destinations = new Map<string, DestinationDef>();
  const invalidDestinations = new Set<string>();
  const pendingSyncs: { item: unknown; origin: SyncOrigin }[] = [];
  const seen = new Map<string, SyncOrigin>();
  const claim = (kind: string, name: string, origin: SyncOrigin): boolean => {
    const id = `${kind}:${name.toLowerCase()}`;
    const previous = seen.get(id);
    if (previous) {
      const p = previous.file.locate([...previous.path, 'name']);
      problems.error('duplicate-name', `${kind} "${name}" is already defined at ${relative(root, p.file)}:${p.line}:${p.col}`, origin.file.locate([...origin.path, 'name']), [...origin.path, 'name']);
      return false;
    }
    seen.set(id, origin);
    return true;
  };

  for (const path of [...new Set(files)]) {
    const file = await YamlFile.read(path, problems, context.env);
    if (!file) continue;
    const parsed = validateAt(syncFileSchema, file.value() ?? {}, file, [], problems);
    if (!parsed) continue;
    for (const [i, item] of (parsed.destinations ?? []).entries()) {
      const origin: SyncOrigin = { file, path: ['destinations', i] };
      const def = makeDestination(item, origin, context.destinationTypes, problems);
      if (def && claim('destination', def.name, origin)) destinations.set(def.name, def);
      else if (!def && nameOf(item)) invalidDestinations.add(nameOf(item)!);
    }
    for (const [i, item] of (parsed.syncs ?? []).entries()) pendingSyncs.push({ item, origin: { file, path: ['syncs', i] } });
  }

  const syncs = new Map<string, SyncDef>();
  for (const { item, origin } of pendingSyncs) {
    const def = makeSync(item, origin, destinations, invalidDestinations, context, problems);
    if (def && claim('sync', def.name, origin)) syncs.set(def.name, def);
  }
  return { destinations, syncs };
}

function nameOf(item: unknown): string | undefined {
  return item && typeof item === 'object' && typeof (item as { name?: unknown }).name === 'string' ? (item as { name: string }).name : undefined;
}

const COMMON_KEYS = Object.keys(destinationCommonShape);

function makeDestination(item: unknown, origin: SyncOrigin, types: readonly RegisteredDestination[], problems: Problems): DestinationDef | undefined {
  const { file, path } = origin;
  const typeValue = item && typeof item === 'object' ? (item as Record<string, unknown>)['type'] : undefined;
  if (typeof typeValue !== 'string') {
    validateAt(z.strictObject(destinationCommonShape).partial().required({ type: true }).loose(), item, file, path, problems);
    return undefined;
  }
  const type = types.find((d) => d.type === typeValue);
  if (!type) {
    const known = types.map((d) => d.type);
    problems.error('unknown-destination-type', `unknown destination type "${typeValue}"${didYouMean(typeValue, known)}; types: ${known.join(', ')}`, file.locate([...path, 'type']), [...path, 'type']);
    return undefined;
  }
  const schema = z.strictObject({ ...destinationCommonShape, ...type.configSchema.shape });
  const parsed = validateAt(schema, item, file, path, problems) as Record<string, unknown> | undefined;
  if (!parsed) return undefined;
  const own = Object.fromEntries(Object.entries(parsed).filter(([k]) => !COMMON_KEYS.includes(k)));
  // The type's own schema again, whole: the checks that span several of its fields (exactly one kind of
  // credentials) are refinements of it, which the merged shape above does not carry. Located like the rest.
  const config = validateAt(type.configSchema, own, file, path, problems);
  if (config === undefined) return undefined;
  for (const secret of type.secrets(config)) redactor.add(secret);
  const retries = parsed['retries'] as { attempts: number; base_ms: number; max_ms: number };
  return {
    name: parsed['name'] as string,
    type,
    config,
    requestsPerSecond: parsed['requests_per_second'] as number | undefined,
    concurrency: parsed['concurrency'] as number | undefined,
    timeoutSeconds: parsed['timeout_seconds'] as number | undefined,
    retries: { attempts: retries.attempts, baseMs: retries.base_ms, maxMs: retries.max_ms },
    origin,
  };
}

function makeSync(
  item: unknown,
  origin: SyncOrigin,
  destinations: ReadonlyMap<string, DestinationDef>,
  invalidDestinations: ReadonlySet<string>,
  context: SyncLoadContext,
  problems: Problems,
): SyncDef | undefined {
  const { file, path } = origin;
  const parsed = validateAt(syncSchema, item, file, path, problems);
  if (!parsed) return undefined;
  const at = (...rel: FieldPath) => [...path, ...rel];
  const error = (code: string, message: string, ...rel: FieldPath) => problems.error(code, message, file.locate(at(...rel)), at(...rel));
  let ok = true;

  if (!context.models.has(parsed.model) && !context.invalidModels.has(parsed.model)) {
    error('unknown-model', `unknown model "${parsed.model}"${didYouMean(parsed.model, context.models)}`, 'model');
    ok = false;
  }
  let audience: SyncDef['audience'];
  const parts = context.syncParts(parsed.model);
  if (parts) {
    if (parsed.audience === undefined) {
      error('missing-audience', `model "${parsed.model}" holds several audiences (${parts.names.join(', ')}): name the one this sync sends with \`audience:\``, 'model');
      ok = false;
    } else if (!parts.names.includes(parsed.audience)) {
      error('unknown-audience', `unknown audience "${parsed.audience}" in model "${parsed.model}"${didYouMean(parsed.audience, parts.names)}; it has ${parts.names.join(', ')}`, 'audience');
      ok = false;
    } else {
      audience = { name: parsed.audience, filter: parts.filter(context.dialect, parsed.audience) };
    }
  } else if (parsed.audience !== undefined && context.models.has(parsed.model)) {
    error('bad-field', `\`audience\` picks an audience of an audiences model; "${parsed.model}" is not one`, 'audience');
    ok = false;
  }
  const destination = destinations.get(parsed.destination);
  if (!destination) {
    if (!invalidDestinations.has(parsed.destination)) {
      const known = [...destinations.keys()];
      error('unknown-destination', `unknown destination "${parsed.destination}"${didYouMean(parsed.destination, known)}; destinations: ${known.length ? known.join(', ') : 'none (add a `destinations:` list to a sync file)'}`, 'destination');
    }
    return undefined;
  }
  const type = destination.type;
  if (!type.modes.includes(parsed.mode)) {
    error('unsupported-mode', `destination "${destination.name}" (${type.type}) does not support mode "${parsed.mode}"; it supports ${type.modes.join(', ')}`, 'mode');
    ok = false;
  }

  const key = typeof parsed.key === 'string' ? { from: parsed.key, field: parsed.key, transform: [] } : { ...parsed.key, field: parsed.key.field ?? parsed.key.from };
  const keyField: MappedField & { column: string } = {
    name: key.field,
    column: key.from,
    constant: undefined,
    dateFormat: undefined,
    transforms: normaliseTransforms(key.transform),
    at: typeof parsed.key === 'string' ? ['key'] : ['key', 'from'],
  };
  const fields: MappedField[] = [];
  for (const [name, spec] of Object.entries(parsed.fields)) {
    if (typeof spec === 'string') {
      fields.push({ name, column: spec, constant: undefined, dateFormat: undefined, transforms: [], at: ['fields', name] });
      continue;
    }
    if ((spec.from === undefined) === (spec.constant === undefined)) {
      error('bad-field', 'a field takes its value either `from` a model column or from a `constant`, exactly one of them', 'fields', name);
      ok = false;
      continue;
    }
    if (spec.date_format !== undefined) {
      const tokens = parseDateFormat(spec.date_format);
      if (typeof tokens === 'string') {
        error('bad-date-format', `bad date format: ${tokens}`, 'fields', name, 'date_format');
        ok = false;
      }
      if (spec.constant !== undefined) {
        error('bad-field', '`date_format` applies to a column, not a constant', 'fields', name, 'date_format');
        ok = false;
      }
    }
    fields.push({
      name,
      column: spec.from,
      constant: spec.constant,
      dateFormat: spec.date_format,
      transforms: normaliseTransforms(spec.transform),
      at: spec.from !== undefined ? ['fields', name, 'from'] : ['fields', name, 'constant'],
    });
  }
  if (fields.some((f) => f.name === keyField.name)) {
    problems.error('bad-field', `"${keyField.name}" is the key's destination field; it cannot also be mapped as a field`, file.locateKey(at('fields', keyField.name)), at('fields', keyField.name));
    ok = false;
  }
  for (const field of [keyField, ...fields]) {
    for (const transform of field.transforms) {
      const problem = transformProblem(context.dialect, transform);
      if (problem) {
        problems.error('unsupported', problem, file.locate(at(...field.at)), at(...field.at));
        ok = false;
      }
    }
  }

  const limits = type.limits(destination.config);
  const ceiling = parsed.mode === 'events' && limits.maxEventsPerBatch !== undefined ? Math.min(limits.maxBatchRecords, limits.maxEventsPerBatch) : limits.maxBatchRecords;
  if (parsed.options.batch_size !== undefined && parsed.options.batch_size > ceiling) {
    error('bad-option', `destination "${destination.name}" takes at most ${ceiling} ${parsed.mode === 'events' ? 'events' : 'records'} per request`, 'options', 'batch_size');
    ok = false;
  }
  const options = removalOptions(item, parsed.options, parsed.mode, file, at, problems);
  if (!options) ok = false;
  const channel = parsed.channel ?? (audience ? parts?.channelOf(audience.name) : undefined) ?? type.channel;
  const partPolicy = audience ? parts?.policyOf(audience.name) : undefined;
  const policies = { suppressions: context.config.suppressions, preferences: context.config.preferences, consent: context.config.consent, file: context.configFile };
  for (const wrong of [...topicProblems(parsed, channel, policies), ...purposeProblems(parsed, policies)]) {
    error(wrong.code, wrong.message, ...wrong.at);
    ok = false;
  }
  const shape = { object: parsed.object, mode: parsed.mode, keyField: keyField.name, fields: fields.map((f) => f.name) };
  for (const problem of type.checkSync?.(destination.config, shape, { targets: context.targets }) ?? []) {
    // A destination sees the mapped fields by name only: a problem at ['fields', name] is about the name, a key; one
    // at ['key'] is about the key's field name, written at `key.field` (else `key` itself).
    const fieldName = problem.at.length === 2 && problem.at[0] === 'fields';
    const keyName = problem.at.length === 1 && problem.at[0] === 'key';
    const place = fieldName ? file.locateKey(at(...problem.at)) : file.locate(keyName ? at('key', 'field') : at(...problem.at));
    problems.error('invalid-sync', problem.message, place, at(...problem.at));
    ok = false;
  }
  let event: EventDef | undefined;
  if (parsed.mode === 'events') {
    if (!parsed.event) {
      error('missing-event', 'an events sync says what makes each row an event: `event: { time: <column>, name: <name or { from: column }> }`', 'mode');
      ok = false;
    } else {
      const spec = parsed.event;
      event = {
        time: spec.time,
        name: typeof spec.name === 'string' ? { constant: spec.name } : { column: spec.name.from },
        lookbackMs: parseSpan(spec.lookback)!,
        backfillMs: spec.backfill === 'all' ? 'all' : parseSpan(spec.backfill)!,
      };
    }
  } else if (parsed.event) {
    error('bad-field', `\`event\` describes the rows of an events sync; this sync's mode is ${parsed.mode}`, 'event');
    ok = false;
  }
  if (parsed.message_type !== undefined) {
    const unknown = unknownTypeProblem(context.config.pressure, parsed.message_type);
    if (unknown) {
      error('unknown-type', unknown, 'message_type');
      ok = false;
    }
  }
  if (!ok) return undefined;
  return {
    name: parsed.name,
    description: parsed.description,
    tags: parsed.tags,
    enabled: parsed.enabled,
    model: parsed.model,
    channel,
    contact: parsed.contact ?? (audience ? parts?.contact : undefined),
    topic: parsed.topic ?? partPolicy?.topic,
    suppress: parsed.suppress && (partPolicy?.suppressions ?? true),
    preferences: parsed.suppress && (partPolicy?.preferences ?? true),
    purposes: purposesOf(policies, parsed.purposes, channel),
    messages: partPolicy?.messages ?? true,
    messageType: parsed.message_type ?? (audience ? parts?.typeOf(audience.name) : undefined),
    audience,
    where: parsed.where ?? [],
    destination,
    object: parsed.object,
    mode: parsed.mode,
    key: keyField,
    fields,
    event,
    options: options ?? parsed.options,
    origin,
  };
}

/**
 * `max_removals` as written, or `max_deletes`, its former name, which mirror syncs written before the guard covered
 * audiences still carry: read with a warning so that they load. Either, written on a sync that never removes
 * anything, is an error rather than a setting silently ignored.
 */
function removalOptions(item: unknown, options: SyncOptions, mode: SyncMode, file: YamlFile, at: (...rel: FieldPath) => FieldPath, problems: Problems): SyncOptions | undefined {
  const written = item && typeof item === 'object' ? (item as { options?: unknown }).options : undefined;
  const has = (key: string) => written !== null && typeof written === 'object' && Object.hasOwn(written, key);
  const removes = mode === 'mirror' || mode === 'audience';
  let ok = true;
  for (const key of ['max_removals', 'max_deletes'].filter(has)) {
    if (removes) continue;
    problems.error('bad-option', `\`${key}\` guards mirror and audience syncs only (mode ${mode} never removes anything)`, file.locateKey(at('options', key)), at('options', key));
    ok = false;
  }
  if (!ok) return undefined;
  if (!has('max_deletes')) return options;
  if (has('max_removals')) {
    problems.error('bad-option', '`max_deletes` is the former name of `max_removals`: keep only `max_removals`', file.locateKey(at('options', 'max_deletes')), at('options', 'max_deletes'));
    return undefined;
  }
  problems.warning('deprecated', '`max_deletes` is now `max_removals` (it guards audience syncs too): rename it', file.locateKey(at('options', 'max_deletes')), at('options', 'max_deletes'));
  return { ...options, max_removals: options.max_deletes ?? options.max_removals };
}

function normaliseTransforms(names: readonly string[]): TransformName[] {
  return names.map((n) => (n === 'hash' ? 'sha256' : n) as TransformName);
}
