import { z } from 'zod';
import { DESTINATIONS } from '../../destinations/index.js';
import { MODEL_KINDS } from '../../models/index.js';
import { modelCommonShape, modelFileSchema, projectFileSchema, sourceSchema } from '../project/schema.js';
import { destinationCommonShape, syncFileSchema, syncSchema } from '../sync/schema.js';
import { WAREHOUSES } from '../warehouses/registry.js';

/**
 * The YAML reference (docs/reference.md), generated from the zod schemas themselves: the registries of warehouses,
 * model kinds and destination types are iterated, so a new entry appears without touching this file. Field
 * descriptions come from the schemas' `.describe()` text; types, defaults and allowed values from
 * `z.toJSONSchema` (input side: what a user writes, before defaults and transforms apply).
 *
 * The output is a pure function of the schemas: sections are sorted by name, fields keep the order the schema
 * declares them in. test/docs-reference.test.ts fails when docs/reference.md differs; `npm run docs` rewrites it.
 */
export function renderReference(): string {
  const out: string[] = [
    '# YAML reference',
    '',
    '<!-- Generated from the zod schemas by `npm run docs` (src/docs/reference.ts); do not edit by hand. -->',
    '',
    'Every field Tideline reads from YAML, generated from the schemas that validate it. Nested fields are written',
    'with dots (`paths.models`); `[]` stands for any item of a list and `<name>` for any key of a map. "Required" is',
    'relative to the enclosing object. Unknown keys are errors everywhere.',
    '',
  ];
  const section = (level: number, title: string, intro: readonly string[], schema: z.ZodType) => {
    out.push(`${'#'.repeat(level)} ${title}`, '', ...intro, ...(intro.length ? [''] : []), ...fieldTable(schema), '');
  };

  section(2, '`tideline.yml`', ['The project file, at the project root.'], projectFileSchema);

  out.push('## Targets', '', 'Entries under `targets:` in tideline.yml, by `type`.', '');
  for (const warehouse of sorted(WAREHOUSES, (w) => w.type)) {
    section(3, `\`type: ${warehouse.type}\``, [], warehouse.schema);
  }

  section(2, 'Model files', ['Files under `paths.models` (default `models/`): `sources:` and `models:`, each a list.'], modelFileSchema);
  section(3, 'Sources', ['An item of `sources:`.'], sourceSchema);
  section(3, 'Models: fields of every kind', ['An item of `models:` has these fields, plus those of its `kind` below.'], z.strictObject(modelCommonShape));
  for (const kind of sorted(MODEL_KINDS, (k) => k.kind)) {
    section(3, `\`kind: ${kind.kind}\``, [kind.summary], kind.schema);
  }

  section(2, 'Sync files', ['Files under `paths.syncs` (default `syncs/`): `destinations:` and `syncs:`, each a list.'], syncFileSchema);
  section(3, 'Syncs', ['An item of `syncs:`.'], syncSchema);
  section(3, 'Destinations: fields of every type', ['An item of `destinations:` has these fields, plus those of its `type` below.'], z.strictObject(destinationCommonShape));
  for (const destination of sorted(DESTINATIONS, (d) => d.type)) {
    section(3, `\`type: ${destination.type}\``, [destination.summary, '', `Modes: ${destination.modes.map((m) => `\`${m}\``).join(', ')}.`], destination.configSchema);
  }
  return out.join('\n').replace(/\n{3,}/g, '\n\n').trimEnd() + '\n';
}

/** A JSON Schema node, as far as the reference reads it. */
interface Json {
  readonly type?: string | readonly string[];
  readonly const?: unknown;
  readonly enum?: readonly unknown[];
  readonly description?: string;
  readonly default?: unknown;
  readonly properties?: Readonly<Record<string, Json>>;
  readonly required?: readonly string[];
  readonly additionalProperties?: Json | boolean;
  readonly propertyNames?: Json;
  readonly items?: Json | false;
  readonly prefixItems?: readonly Json[];
  readonly anyOf?: readonly Json[];
  readonly oneOf?: readonly Json[];
  readonly allOf?: readonly Json[];
  readonly $ref?: string;
  readonly $defs?: Readonly<Record<string, Json>>;
  readonly minimum?: number;
  readonly maximum?: number;
  readonly exclusiveMinimum?: number;
  readonly exclusiveMaximum?: number;
  readonly minLength?: number;
  readonly maxLength?: number;
  readonly minItems?: number;
  readonly maxItems?: number;
  readonly pattern?: string;
  readonly format?: string;
}

interface FieldRow {
  readonly path: string;
  readonly type: string;
  readonly required: boolean;
  readonly default: string;
  readonly allowed: string;
  readonly description: string;
}

function fieldTable(schema: z.ZodType): string[] {
  const root = z.toJSONSchema(schema, { io: 'input', unrepresentable: 'any', reused: 'inline', cycles: 'ref' }) as Json;
  const rows: FieldRow[] = [];
  collect(root, root, '', rows, new Map([[shapeKey(resolve(root, root)), '(top)']]));
  if (rows.length === 0) return ['No fields.'];
  return [
    '| Field | Type | Required | Default | Allowed values | Description |',
    '| --- | --- | --- | --- | --- | --- |',
    ...rows.map((r) => `| \`${r.path}\` | ${cell(r.type)} | ${r.required ? 'yes' : 'no'} | ${cell(r.default)} | ${cell(r.allowed)} | ${cell(r.description)} |`),
  ];
}

/**
 * Rows for the properties of `node` (an object, or a union/list/map leading to objects), depth first. An object met
 * again (a shared or recursive schema: conditions nest) is not listed twice: its row points to the first listing.
 */
function collect(root: Json, node: Json, prefix: string, rows: FieldRow[], listed: Map<string, string>): void {
  const resolved = resolve(root, node);
  for (const [name, child] of Object.entries(resolved.properties ?? {})) {
    const property = resolve(root, child);
    const path = prefix ? `${prefix}.${name}` : name;
    const row: FieldRow = {
      path,
      type: typeName(root, property),
      required: (resolved.required ?? []).includes(name),
      default: property.default === undefined ? '' : `\`${JSON.stringify(property.default)}\``,
      allowed: allowed(root, property),
      description: property.description ?? child.description ?? '',
    };
    const same = rows.find((r) => r.path === path);
    if (same) {
      if (JSON.stringify(same) !== JSON.stringify(row)) rows.push(row);
      continue;
    }
    const nested = nestedObjects(root, property);
    const earlier = nested.map(([, object]) => listed.get(shapeKey(object))).filter((p): p is string => p !== undefined);
    rows.push(earlier.length ? { ...row, allowed: [row.allowed, `fields as under ${unique(earlier).map((p) => `\`${p}\``).join(', ')}`].filter(Boolean).join('; ') } : row);
    // The options of a union are registered together first, so that one nesting another points back here.
    const fresh = nested.filter(([, object], i) => !listed.has(shapeKey(object)) && nested.findIndex(([, o]) => shapeKey(o) === shapeKey(object)) === i);
    for (const [suffix, object] of fresh) listed.set(shapeKey(object), path + suffix);
    for (const [suffix, object] of fresh) collect(root, object, path + suffix, rows, listed);
  }
}

function shapeKey(object: Json): string {
  return JSON.stringify(object.properties);
}

/**
 * The objects whose fields are listed under a field: its own properties, a list's items (`[]`), a map's values
 * (`.<name>`), the object options of a union. A union of objects told apart by a constant (`type: duckdb`) is
 * documented in sections of its own and is not expanded.
 */
function nestedObjects(root: Json, node: Json): [string, Json][] {
  const n = resolve(root, node);
  if (n.properties) return [['', n]];
  const options = n.anyOf ?? n.oneOf;
  if (options) {
    if (isTaggedUnion(root, options)) return [];
    return options.flatMap((o) => nestedObjects(root, o));
  }
  if (n.items && typeof n.items === 'object') return nestedObjects(root, n.items).map(([s, o]) => [`[]${s}`, o]);
  if (n.additionalProperties && typeof n.additionalProperties === 'object') {
    return nestedObjects(root, n.additionalProperties).map(([s, o]) => [`.<name>${s}`, o]);
  }
  return [];
}

function isTaggedUnion(root: Json, options: readonly Json[]): boolean {
  const objects = options.map((o) => resolve(root, o));
  if (objects.length < 2 || !objects.every((o) => o.properties)) return false;
  return Object.keys(objects[0]!.properties!).some((key) => objects.every((o) => o.properties![key] !== undefined && resolve(root, o.properties![key]!).const !== undefined));
}

function typeName(root: Json, node: Json): string {
  const n = resolve(root, node);
  const options = n.anyOf ?? n.oneOf;
  if (options) {
    if (isTaggedUnion(root, options)) {
      const tag = Object.keys(resolve(root, options[0]!).properties!).find((key) => options.every((o) => resolve(root, o).properties![key]?.const !== undefined))!;
      return `object by \`${tag}\`: ${options.map((o) => `\`${String(resolve(root, o).properties![tag]!.const)}\``).join(', ')}`;
    }
    return unique(options.map((o) => typeName(root, o))).join(' or ');
  }
  if (n.allOf) return unique(n.allOf.map((o) => typeName(root, o))).join(' and ');
  if (n.const !== undefined) return typeof n.const === 'string' ? 'string' : typeof n.const;
  if (typeof n.type === 'object') return n.type.join(' or ');
  switch (n.type) {
    case 'array':
      if (n.prefixItems) return `list of ${n.prefixItems.length}: ${n.prefixItems.map((i) => typeName(root, i)).join(', ')}`;
      return n.items && typeof n.items === 'object' ? `list of ${typeName(root, n.items)}` : 'list';
    case 'object':
      if (n.properties) return 'object';
      if (n.additionalProperties && typeof n.additionalProperties === 'object') {
        const keys = n.propertyNames ? resolve(root, n.propertyNames) : undefined;
        const keyText = keys?.enum ? ` (keys: ${keys.enum.map(literal).join(', ')})` : '';
        return `map of ${typeName(root, n.additionalProperties)}${keyText}`;
      }
      return 'object';
    case undefined:
      return n.enum ? unique(n.enum.map((v) => (v === null ? 'null' : typeof v))).join(' or ') : 'any';
    default:
      return n.type;
  }
}

/** Constants, enumerations and constraints of a field (and of the scalar options of a union). */
function allowed(root: Json, node: Json): string {
  const n = resolve(root, node);
  const options = n.anyOf ?? n.oneOf;
  if (options) {
    if (isTaggedUnion(root, options)) return '';
    return unique(options.map((o) => allowed(root, o)).filter(Boolean)).join('; or ');
  }
  const parts: string[] = [];
  if (n.const !== undefined) parts.push(literal(n.const));
  if (n.enum) parts.push(n.enum.map(literal).join(', '));
  const range = bounds(n.minimum ?? n.exclusiveMinimum, n.maximum ?? n.exclusiveMaximum, n.exclusiveMinimum !== undefined, n.exclusiveMaximum !== undefined);
  if (range) parts.push(range);
  if (n.minLength !== undefined || n.maxLength !== undefined) {
    if (n.minLength === 1 && n.maxLength === undefined) parts.push('non-empty');
    else parts.push(`${bounds(n.minLength, n.maxLength, false, false)} characters`);
  }
  if (n.minItems !== undefined || n.maxItems !== undefined) {
    parts.push(n.minItems === n.maxItems ? `exactly ${n.minItems} items` : `${bounds(n.minItems, n.maxItems, false, false)} items`);
  }
  if (n.pattern) parts.push(`matches \`${n.pattern}\``);
  if (n.format) parts.push(`${n.format} format`);
  const each = n.type === 'array' && !n.prefixItems ? n.items : n.additionalProperties;
  if (each && typeof each === 'object') {
    const items = allowed(root, each);
    if (items) parts.push(`each: ${items}`);
  }
  return parts.join('; ');
}

function bounds(min: number | undefined, max: number | undefined, exclusiveMin: boolean, exclusiveMax: boolean): string {
  // zod states an integer's safe range explicitly; it says nothing to a reader.
  const lo = min === undefined || min <= Number.MIN_SAFE_INTEGER ? undefined : min;
  const hi = max === undefined || max >= Number.MAX_SAFE_INTEGER ? undefined : max;
  if (lo === undefined && hi === undefined) return '';
  if (lo !== undefined && hi !== undefined && !exclusiveMin && !exclusiveMax) return `${lo}–${hi}`;
  return [lo === undefined ? '' : `${exclusiveMin ? '>' : '≥'} ${lo}`, hi === undefined ? '' : `${exclusiveMax ? '<' : '≤'} ${hi}`].filter(Boolean).join(', ');
}

function resolve(root: Json, node: Json): Json {
  let current = node;
  for (let depth = 0; current.$ref && depth < 32; depth++) {
    const ref = current.$ref;
    const target = ref === '#' ? root : ref.startsWith('#/$defs/') ? root.$defs?.[ref.slice('#/$defs/'.length)] : undefined;
    if (!target) throw new Error(`the reference generator cannot follow ${ref}`);
    const { $ref: _ref, ...rest } = current;
    current = { ...target, ...rest };
  }
  return current;
}

function literal(value: unknown): string {
  return `\`${typeof value === 'string' ? value : JSON.stringify(value)}\``;
}

/** Markdown table cell text: pipes escaped, one line. */
function cell(text: string): string {
  return text.replace(/\|/g, '\\|').replace(/\s*\n\s*/g, ' ');
}

function unique(values: readonly string[]): string[] {
  return [...new Set(values)];
}

function sorted<T>(values: readonly T[], key: (value: T) => string): T[] {
  return [...values].sort((a, b) => (key(a) < key(b) ? -1 : key(a) > key(b) ? 1 : 0));
}
