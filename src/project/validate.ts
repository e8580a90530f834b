import type { z } from 'zod';
import type { FieldPath, Problems } from './problems.js';
import { didYouMean } from './suggest.js';
import type { YamlFile } from './yaml-file.js';

/**
 * Validates `data` (the value found at `base` in `file`) against a zod schema and turns every issue into a located
 * problem: unknown keys point at the key and suggest the nearest known one, missing fields point at the object that
 * lacks them, wrong types say what was expected and what was found. Returns the parsed value, or undefined when
 * there were errors.
 */
export function validateAt<T>(schema: z.ZodType<T>, data: unknown, file: YamlFile, base: FieldPath, problems: Problems): T | undefined {
  const result = schema.safeParse(data);
  if (result.success) return result.data;
  reportIssues(result.error.issues, schema, data, file, base, [], problems);
  return undefined;
}

function reportIssues(
  issues: readonly z.core.$ZodIssue[],
  schema: z.ZodType,
  data: unknown,
  file: YamlFile,
  base: FieldPath,
  prefix: readonly (string | number)[],
  problems: Problems,
): void {
  for (const raw of issues) {
    const issue = { ...raw, path: [...prefix, ...(raw.path as (string | number)[])] } as z.core.$ZodIssue;
    const path = [...base, ...(issue.path as (string | number)[])];
    const local = issue.path as (string | number)[];
    switch (issue.code) {
      case 'unrecognized_keys': {
        const known = knownKeys(schema, local, data);
        for (const key of issue.keys) {
          problems.error('unknown-key', `unknown key "${key}"${didYouMean(key, known)}`, file.locateKey([...path, key]), [...path, key]);
        }
        break;
      }
      case 'invalid_type': {
        const found = valueAt(data, local);
        const message =
          found === undefined
            ? `required: expected ${article(issue.expected)}`
            : `expected ${article(issue.expected)}, got ${describe(found)}`;
        problems.error(found === undefined ? 'missing-field' : 'wrong-type', message, file.locate(path), path);
        break;
      }
      case 'invalid_value': {
        const found = valueAt(data, local);
        const values = issue.values.map((v) => JSON.stringify(v));
        const hint = typeof found === 'string' ? didYouMean(found, issue.values.map(String)) : '';
        problems.error('invalid-value', `expected one of ${values.join(', ')}, got ${describe(found)}${hint}`, file.locate(path), path);
        break;
      }
      case 'invalid_key': {
        // A key of a record (`columns:`, `fields:`, `types:`) that is not a valid name: the problem is the key's.
        const key = path[path.length - 1];
        const why = [...new Set(issue.issues.map((i) => i.message))].join('; ');
        problems.error('invalid-key', `${JSON.stringify(String(key))} cannot be a key here: ${why}`, file.locateKey(path), path);
        break;
      }
      case 'invalid_union': {
        const found = valueAt(data, local);
        const options = (issue as { options?: unknown[] }).options;
        if (options && (issue as { discriminator?: string }).discriminator) {
          const hint = typeof found === 'string' ? didYouMean(found, options.map(String)) : '';
          const message =
            found === undefined
              ? `required: one of ${options.map((o) => JSON.stringify(o)).join(', ')}`
              : `expected one of ${options.map((o) => JSON.stringify(o)).join(', ')}, got ${describe(found)}${hint}`;
          problems.error(found === undefined ? 'missing-field' : 'invalid-value', message, file.locate(path), path);
        } else {
          // A plain union (e.g. `column: name` or `column: {from, type}`): explain the alternative that has the
          // shape of what was written, rather than a bare "invalid input".
          const branches = (issue as { errors?: z.core.$ZodIssue[][] }).errors ?? [];
          const sameShape = branches.filter((b) => !b.some((i) => i.code === 'invalid_type' && i.path.length === 0));
          const best = sameShape.sort((a, b) => a.length - b.length)[0];
          if (best) reportIssues(best, schema, data, file, base, local, problems);
          else problems.error('wrong-type', `expected ${expectedShapes(branches)}, got ${describe(found)}`, file.locate(path), path);
        }
        break;
      }
      default:
        problems.error('invalid-value', issue.message, file.locate(path), path);
    }
  }
}

function expectedShapes(branches: readonly (readonly z.core.$ZodIssue[])[]): string {
  const expected = branches.flatMap((b) => b.filter((i) => i.code === 'invalid_type' && i.path.length === 0).map((i) => article((i as { expected: string }).expected)));
  return [...new Set(expected)].join(' or ') || 'another value';
}

function article(expected: string): string {
  if (expected === 'object') return 'a mapping (key: value)';
  if (expected === 'array') return 'a list';
  if (expected === 'string' || expected === 'number' || expected === 'boolean') return `a ${expected}`;
  return expected;
}

function describe(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'a list';
  if (typeof value === 'object') return 'a mapping';
  if (typeof value === 'string') return `"${value.length > 40 ? value.slice(0, 40) + '…' : value}"`;
  return `${typeof value} ${String(value)}`;
}

function valueAt(data: unknown, path: readonly (string | number)[]): unknown {
  let node = data;
  for (const key of path) {
    if (node === null || typeof node !== 'object') return undefined;
    node = (node as Record<string | number, unknown>)[key];
  }
  return node;
}

interface Def {
  type: string;
  shape?: Record<string, unknown>;
  innerType?: unknown;
  element?: unknown;
  valueType?: unknown;
  options?: unknown[];
  discriminator?: string;
  in?: unknown;
  getter?: () => unknown;
}

function defOf(schema: unknown): Def {
  return (schema as { _zod: { def: Def } })._zod.def;
}

/** The keys the schema allows for the object at `path` (for "did you mean"), following the data through unions. */
function knownKeys(schema: unknown, path: readonly (string | number)[], data: unknown): string[] {
  const objects = schemasAt(schema, path, data);
  return [...new Set(objects.flatMap((o) => Object.keys(defOf(o).shape ?? {})))];
}

function schemasAt(schema: unknown, path: readonly (string | number)[], data: unknown): unknown[] {
  const def = defOf(schema);
  switch (def.type) {
    case 'optional':
    case 'nullable':
    case 'default':
    case 'prefault':
    case 'catch':
    case 'readonly':
    case 'nonoptional':
      return schemasAt(def.innerType, path, data);
    case 'pipe':
      return schemasAt(def.in, path, data);
    case 'lazy':
      return def.getter ? schemasAt(def.getter(), path, data) : [];
    case 'union': {
      let options = def.options ?? [];
      if (def.discriminator && data && typeof data === 'object') {
        const tag = (data as Record<string, unknown>)[def.discriminator];
        const matching = options.filter((o) => {
          const field = defOf(o).shape?.[def.discriminator!];
          const values = field ? (defOf(field) as { values?: unknown[] }).values : undefined;
          return values?.includes(tag);
        });
        if (matching.length) options = matching;
      }
      return options.flatMap((o) => schemasAt(o, path, data));
    }
    case 'object': {
      if (path.length === 0) return [schema];
      const [head, ...rest] = path;
      const child = def.shape?.[String(head)];
      return child ? schemasAt(child, rest, valueAt(data, [head!])) : [];
    }
    case 'array':
      return path.length ? schemasAt(def.element, path.slice(1), valueAt(data, [path[0]!])) : [];
    case 'record':
      return path.length ? schemasAt(def.valueType, path.slice(1), valueAt(data, [path[0]!])) : [];
    default:
      return [];
  }
}
