import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import type { Enum, Field, MapField, Namespace, Root, Type } from 'protobufjs';
import type { VendorSchema } from '../emulator-kit/contract.js';
import type { Exchange } from '../emulator-kit/server.js';
import { PATHS } from './protocol.js';

/**
 * Google's own message definitions, for the emulator: a request body or an answer is checked against the protos
 * Google publishes, not against our reading of the docs. The Data Manager messages come from
 * `@google-ads/datamanager` (build/protos/protos.json), the error model (google.rpc.Status, ErrorInfo, BadRequest,
 * RetryInfo) from the googleapis common protos that google-gax ships (build/protos/google/rpc/*.proto). Both are dev
 * dependencies: a user's install without them runs the sandbox emulator without this check (`load` answers undefined).
 *
 * The check follows the proto3 JSON mapping (https://protobuf.dev/programming-guides/json/): fields by their
 * lowerCamel JSON name or their proto name, enums by name or number, 64-bit integers as numbers or decimal strings,
 * google.protobuf.Timestamp as RFC 3339 text, `null` for a default. Unknown fields are refused as Google's front end
 * refuses them; in requests, fields whose google.api.field_behavior is REQUIRED must be set. protos.json keeps one
 * field_behavior per field (the last): a field both REQUIRED and IMMUTABLE reads as IMMUTABLE, and is not enforced.
 */

const DATA_MANAGER = 'google.ads.datamanager.v1';

/** A field that does not match its message: where (a JSON path) and why, as Google's BadRequest reports it. */
export interface SchemaViolation {
  /** lowerCamel JSON path: `audienceMembers[0].userData`. */
  readonly field: string;
  /** The proto (snake_case) path, as Google's front end words "Unknown name … at 'audience_members[0]'". */
  readonly protoField: string;
  readonly description: string;
  /** `REQUIRED_FIELD_MISSING` for a missing required field; undefined for a payload the front end refuses. */
  readonly reason?: string;
}

export class MessageSchema {
  private constructor(
    private readonly root: Root,
    /** google.rpc, in a root of its own: its imports define google.protobuf types protos.json already holds. */
    private readonly rpc: Root,
    private readonly protobuf: typeof import('protobufjs'),
  ) {}

  /**
   * Loads the definitions; undefined when the packages are not installed (a production install without dev
   * dependencies), and an error when they are but cannot be read.
   */
  static async load(): Promise<MessageSchema | undefined> {
    const require = createRequire(import.meta.url);
    let protosJson: string;
    let rpcDir: string;
    let protobuf: typeof import('protobufjs');
    try {
      protosJson = require.resolve('@google-ads/datamanager/build/protos/protos.json');
      const fromPackage = createRequire(protosJson);
      // google-gax exports no package.json: its main module is build/src/index.js, its protos build/protos/.
      rpcDir = join(dirname(dirname(dirname(fromPackage.resolve('google-gax')))), 'build', 'protos');
      protobuf = (await import('protobufjs')).default;
    } catch {
      return undefined;
    }
    const root = protobuf.Root.fromJSON(require(protosJson) as protobuf.INamespace);
    root.resolveAll();
    const rpc = new protobuf.Root();
    rpc.resolvePath = (_origin, target) => join(rpcDir, target);
    rpc.loadSync(['google/rpc/status.proto', 'google/rpc/error_details.proto', 'google/rpc/code.proto']);
    // REST answers errors as `{"error": Status}` where Status also carries `status`, the google.rpc.Code name, and
    // `code` is the HTTP status: the JSON error format of Google REST APIs ("Error.Status" in
    // https://cloud.google.com/apis/design/errors#http_mapping), made here of the published google.rpc types.
    const status = new protobuf.Type('RestErrorStatus')
      .add(new protobuf.Field('code', 1, 'int32'))
      .add(new protobuf.Field('message', 2, 'string'))
      .add(new protobuf.Field('status', 4, 'google.rpc.Code'))
      .add(new protobuf.Field('details', 5, 'google.protobuf.Any', 'repeated'));
    (rpc.lookup('google.rpc') as Namespace).add(status);
    rpc.resolveAll();
    return new MessageSchema(root, rpc, protobuf);
  }

  /**
   * Defines a Data Manager message the package does not carry yet, from the fields Google's REST reference
   * documents and the package's own types; a message the package defines is left as it is (its definition wins).
   */
  compose(name: string, fields: readonly { readonly name: string; readonly type: string; readonly repeated?: boolean; readonly required?: boolean }[]): void {
    if (this.has(name)) return;
    const type = new this.protobuf.Type(name);
    fields.forEach((f, i) => type.add(new this.protobuf.Field(f.name, i + 1, f.type, f.repeated ? 'repeated' : undefined, undefined, f.required ? { '(google.api.field_behavior)': 'REQUIRED' } : undefined)));
    (this.root.lookup(DATA_MANAGER) as Namespace).add(type);
    type.resolveAll();
  }

  /** Whether a Data Manager message is defined (RemoveAllAudienceMembersRequest is not, in 0.3.0). */
  has(name: string): boolean {
    return this.root.lookup(`${DATA_MANAGER}.${name}`) !== null;
  }

  /** The violations of a Data Manager message given as JSON; `request` also enforces REQUIRED fields. */
  check(message: string, value: unknown, mode: 'request' | 'response'): SchemaViolation[] {
    return this.checkType(this.root.lookupType(`${DATA_MANAGER}.${message}`), value, mode);
  }

  /** As `check`, for a message type of the caller's making (composed from published types). */
  checkType(type: Type, value: unknown, mode: 'request' | 'response'): SchemaViolation[] {
    const out: SchemaViolation[] = [];
    this.message(type, value, { json: '', proto: '' }, mode, out);
    return out;
  }

  /** The violations of an error body `{"error": Status}` (REST's form, with `status`), details resolved by their `@type`. */
  checkError(body: unknown): SchemaViolation[] {
    if (!isObject(body) || Object.keys(body).join() !== 'error') return [{ field: '', protoField: '', description: 'an error body is {"error": Status}' }];
    const out: SchemaViolation[] = [];
    this.message(this.rpc.lookupType('google.rpc.RestErrorStatus'), body['error'], { json: 'error', proto: 'error' }, 'response', out);
    return out;
  }

  /** A type by its full name, for composing messages the package lacks. */
  lookupType(name: string): Type {
    return this.root.lookupType(name);
  }

  private message(type: Type, value: unknown, at: Path, mode: 'request' | 'response', out: SchemaViolation[]): void {
    const special = WELL_KNOWN[type.fullName.slice(1)];
    if (special) {
      if (!special(value)) out.push(invalid(at, type.fullName.slice(1), value));
      return;
    }
    if (type.fullName === '.google.protobuf.Any') return this.any(value, at, mode, out);
    if (!isObject(value)) return void out.push(invalid(at, type.fullName.slice(1), value));
    const seen = new Set<Field>();
    for (const [key, child] of Object.entries(value)) {
      const field = type.fields[key] ?? type.fieldsArray.find((f) => snake(f.name) === key);
      if (!field) {
        out.push({ field: at.json, protoField: at.proto, description: `Invalid JSON payload received. Unknown name "${key}"${at.proto ? ` at '${at.proto}'` : ''}: Cannot find field.` });
        continue;
      }
      if (seen.has(field)) out.push({ field: join2(at.json, field.name), protoField: join2(at.proto, snake(field.name)), description: `Invalid JSON payload received. Field "${snake(field.name)}" is given twice.` });
      seen.add(field);
      if (child === null) continue;
      this.field(field, child, { json: join2(at.json, field.name), proto: join2(at.proto, snake(field.name)) }, mode, out);
    }
    for (const oneof of type.oneofsArray) {
      const set = oneof.fieldsArray.filter((f) => seen.has(f) && value[f.name] !== null && value[snake(f.name)] !== null);
      if (set.length > 1) out.push({ field: at.json, protoField: at.proto, description: `Invalid JSON payload received. More than one field of oneof "${oneof.name}" is set: ${set.map((f) => f.name).join(', ')}.` });
    }
    if (mode !== 'request') return;
    for (const field of type.fieldsArray) {
      if (behaviour(field) !== 'REQUIRED') continue;
      const given = value[field.name] ?? value[snake(field.name)];
      if (given === undefined || given === null || given === '' || (Array.isArray(given) && given.length === 0)) {
        out.push({ field: join2(at.json, field.name), protoField: join2(at.proto, snake(field.name)), description: `The required field ${join2(at.json, field.name)} is missing.`, reason: 'REQUIRED_FIELD_MISSING' });
      }
    }
  }

  private field(field: Field, value: unknown, at: Path, mode: 'request' | 'response', out: SchemaViolation[]): void {
    if (field.map) {
      if (!isObject(value)) return void out.push(invalid(at, `map<${(field as unknown as MapField).keyType}, ${field.type}>`, value));
      for (const [key, item] of Object.entries(value)) this.single(field, item, { json: `${at.json}[${key}]`, proto: `${at.proto}[${key}]` }, mode, out);
      return;
    }
    if (field.repeated) {
      if (!Array.isArray(value)) return void out.push(invalid(at, `repeated ${field.type}`, value));
      value.forEach((item, i) => this.single(field, item, { json: `${at.json}[${i}]`, proto: `${at.proto}[${i}]` }, mode, out));
      return;
    }
    this.single(field, value, at, mode, out);
  }

  private single(field: Field, value: unknown, at: Path, mode: 'request' | 'response', out: SchemaViolation[]): void {
    const resolved = field.resolvedType;
    if (resolved && 'fieldsArray' in resolved) return this.message(resolved, value, at, mode, out);
    if (resolved) {
      const values = (resolved as Enum).values;
      const ok = typeof value === 'string' ? value in values : Number.isInteger(value) && Object.values(values).includes(value as number);
      if (!ok) out.push(invalid(at, resolved.fullName.slice(1), value));
      return;
    }
    const check = SCALARS[field.type];
    if (!check || !check(value)) out.push(invalid(at, field.type, value));
  }

  private any(value: unknown, at: Path, mode: 'request' | 'response', out: SchemaViolation[]): void {
    const url = isObject(value) ? value['@type'] : undefined;
    const name = typeof url === 'string' ? url.slice(url.lastIndexOf('/') + 1) : undefined;
    const type = name ? (this.rpc.lookup(name) ?? this.root.lookup(name)) : null;
    if (!type || !('fieldsArray' in type)) return void out.push({ field: at.json, protoField: at.proto, description: `Invalid value at '${at.proto}': the @type of an Any must name a known message` });
    const { '@type': _type, ...rest } = value as Record<string, unknown>;
    this.message(type as Type, rest, at, mode, out);
  }
}

interface Path {
  readonly json: string;
  readonly proto: string;
}

function join2(path: string, name: string): string {
  return path ? `${path}.${name}` : name;
}

function snake(name: string): string {
  return name.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`);
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function behaviour(field: Field): string | undefined {
  return field.options?.['(google.api.field_behavior)'] as string | undefined;
}

function invalid(at: Path, type: string, value: unknown): SchemaViolation {
  const shown = typeof value === 'string' ? `"${value.slice(0, 40)}"` : Array.isArray(value) ? 'an array' : typeof value === 'object' ? 'an object' : String(value);
  return { field: at.json, protoField: at.proto, description: `Invalid value at '${at.proto}' (${type}), ${shown}` };
}

const INT = /^-?\d+$/;
const UINT = /^\d+$/;
const int32 = (v: unknown) => (Number.isInteger(v) && Math.abs(v as number) < 2 ** 31) || (typeof v === 'string' && INT.test(v) && Math.abs(Number(v)) < 2 ** 31);
const uint32 = (v: unknown) => (Number.isInteger(v) && (v as number) >= 0 && (v as number) < 2 ** 32) || (typeof v === 'string' && UINT.test(v) && Number(v) < 2 ** 32);
const int64 = (v: unknown) => Number.isSafeInteger(v) || (typeof v === 'string' && INT.test(v) && v.replace('-', '').length <= 19);
const uint64 = (v: unknown) => (Number.isSafeInteger(v) && (v as number) >= 0) || (typeof v === 'string' && UINT.test(v) && v.length <= 20);
const floating = (v: unknown) => (typeof v === 'number' && Number.isFinite(v)) || (typeof v === 'string' && (['NaN', 'Infinity', '-Infinity'].includes(v) || (v.trim() !== '' && Number.isFinite(Number(v)))));

const SCALARS: Readonly<Record<string, (value: unknown) => boolean>> = {
  string: (v) => typeof v === 'string',
  bool: (v) => typeof v === 'boolean',
  bytes: (v) => typeof v === 'string' && /^[A-Za-z0-9+/_-]*={0,2}$/.test(v),
  double: floating,
  float: floating,
  int32,
  sint32: int32,
  sfixed32: int32,
  uint32,
  fixed32: uint32,
  int64,
  sint64: int64,
  sfixed64: int64,
  uint64,
  fixed64: uint64,
};

/** RFC 3339 with a `Z` or an offset, 0–9 fractional digits (proto3 JSON for google.protobuf.Timestamp). */
const TIMESTAMP = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,9})?(Z|[+-]\d{2}:\d{2})$/;

const WELL_KNOWN: Readonly<Record<string, (value: unknown) => boolean>> = {
  'google.protobuf.Timestamp': (v) => typeof v === 'string' && TIMESTAMP.test(v) && !Number.isNaN(Date.parse(v)),
  'google.protobuf.Duration': (v) => typeof v === 'string' && /^-?\d+(\.\d{1,9})?s$/.test(v),
  'google.protobuf.FieldMask': (v) => typeof v === 'string',
  'google.protobuf.Empty': (v) => isObject(v) && Object.keys(v).length === 0,
};

/**
 * Google's definitions as the emulator and the contract suite check against them: the package's messages, plus those
 * Google documents but the newest package (0.3.0) lacks — removeAll's request and answer, composed from the fields of
 * https://developers.google.com/data-manager/api/reference/rest/v1/audienceMembers/removeAll and published types.
 * Undefined without the dev dependencies.
 */
export async function dataManagerSchema(): Promise<MessageSchema | undefined> {
  const schema = await MessageSchema.load();
  schema?.compose('RemoveAllAudienceMembersRequest', [
    { name: 'destinations', type: 'Destination', repeated: true, required: true },
    { name: 'removeAsOfTime', type: 'google.protobuf.Timestamp' },
    { name: 'validateOnly', type: 'bool' },
  ]);
  schema?.compose('RemoveAllAudienceMembersResponse', [{ name: 'requestId', type: 'string' }]);
  return schema;
}

/** Data Manager write methods by REST path (the services' google.api.http options): `<method>Request` / `<method>Response`. */
export const METHODS: Readonly<Record<string, string>> = {
  [PATHS.ingestMembers]: 'IngestAudienceMembers',
  [PATHS.removeMembers]: 'RemoveAudienceMembers',
  [PATHS.removeAllMembers]: 'RemoveAllAudienceMembers',
  [PATHS.ingestEvents]: 'IngestEvents',
};

let loading: Promise<MessageSchema | undefined> | undefined;

/**
 * Google's contract as the contract suite checks it: every request Tideline sent to the Data Manager API and every
 * answer the emulator gave, against the same definitions (the emulator also refuses a request outside them, as
 * Google's front end does). The OAuth token endpoint is checked for the fields google-auth-library reads (RFC 6749
 * §5.1, §5.2); Google's front end's HTML 404 for a version it does not serve is a page, not a message.
 */
export const googleAdsSchema: VendorSchema = {
  source: '@google-ads/datamanager 0.3.0 (google.ads.datamanager.v1 protos) and the google.rpc protos of google-gax',
  unavailable: () => {
    try {
      createRequire(import.meta.url).resolve('@google-ads/datamanager/build/protos/protos.json');
      return undefined;
    } catch {
      return '@google-ads/datamanager (a dev dependency) is not installed';
    }
  },
  async check(exchange: Exchange): Promise<readonly string[]> {
    const schema = await (loading ??= dataManagerSchema());
    if (!schema) return ['Google\'s message definitions could not be loaded'];
    const shown = (violations: readonly SchemaViolation[], what: string) => violations.map((v) => `${what} ${v.field || '(body)'}: ${v.description}`);
    if (exchange.path === '/token') return tokenProblems(exchange);
    const path = /^\/v\d+(\/.*)$/.exec(exchange.path)?.[1];
    if (exchange.status === 404 && typeof exchange.response === 'string') return [];
    if (!path) return [`${exchange.method} ${exchange.path}: not a Data Manager API path`];
    const answer = (message: string) => (exchange.status >= 400 ? shown(schema.checkError(exchange.response), 'error') : shown(schema.check(message, exchange.response, 'response'), message));
    const method = METHODS[path];
    if (method && exchange.method === 'POST') return [...shown(schema.check(`${method}Request`, exchange.request, 'request'), `${method}Request`), ...answer(`${method}Response`)];
    if (path === PATHS.requestStatus && exchange.method === 'GET') return answer('RetrieveRequestStatusResponse');
    if (/^\/accountTypes\/GOOGLE_ADS\/accounts\/\d+\/userLists\/\d+$/.test(path) && exchange.method === 'GET') return answer('UserList');
    return [`${exchange.method} ${exchange.path}: an operation Google's definitions do not have`];
  },
};

/**
 * The fields of Google's token answers: RFC 6749 §5.1 and §5.2, and what Google adds (id_token,
 * refresh_token_expires_in — https://developers.google.com/identity/protocols/oauth2/web-server#exchange-authorization-code).
 */
const TOKEN_FIELDS = new Set(['access_token', 'expires_in', 'token_type', 'scope', 'refresh_token', 'id_token', 'refresh_token_expires_in']);
const TOKEN_ERROR_FIELDS = new Set(['error', 'error_description', 'error_uri']);

/** An OAuth 2.0 token answer: a bearer token with its lifetime, or an error code; nothing else. */
function tokenProblems(exchange: Exchange): string[] {
  const body = isObject(exchange.response) ? exchange.response : {};
  const ok = exchange.status === 200;
  const problems = Object.keys(body)
    .filter((k) => !(ok ? TOKEN_FIELDS : TOKEN_ERROR_FIELDS).has(k))
    .map((k) => `token ${ok ? 'answer' : 'error'}: unknown field "${k}"`);
  if (ok && !(typeof body['access_token'] === 'string' && typeof body['expires_in'] === 'number' && body['token_type'] === 'Bearer')) problems.push('token answer: access_token, expires_in and token_type Bearer are required (RFC 6749 §5.1)');
  if (!ok && typeof body['error'] !== 'string') problems.push('token error: `error` is required (RFC 6749 §5.2)');
  return problems;
}
