import { readFile } from 'node:fs/promises';
import { isMap, isPair, isScalar, isSeq, LineCounter, parseDocument, visit, type Document, type Node, type Pair } from 'yaml';
import { interpolateEnv, type EnvLookup } from './env.js';
import { isKeyOf, type FieldPath, type Location, type Place, type Problems } from './problems.js';

/**
 * A YAML file kept with its syntax tree, so that any field path of its parsed value can be turned back into the
 * line and column it was written at — the basis of every located error.
 */
export class YamlFile {
  private constructor(
    /** Absolute path. */
    readonly path: string,
    private readonly doc: Document.Parsed,
    private readonly lines: LineCounter,
  ) {}

  /**
   * Parses `text`, reporting syntax errors (bad indentation, duplicate keys, tabs…) with their position, and
   * substituting `${env:NAME}` references in every string scalar. Returns undefined when the file cannot be parsed.
   */
  static parse(path: string, text: string, problems: Problems, env: EnvLookup): YamlFile | undefined {
    const lines = new LineCounter();
    const doc = parseDocument(text, { lineCounter: lines, prettyErrors: true, uniqueKeys: true, merge: true });
    if (doc.errors.length) {
      for (const error of doc.errors) {
        const pos = error.linePos?.[0] ?? { line: 1, col: 1 };
        const message = error.message.split('\n')[0]?.replace(/ at line \d+, column \d+:?$/, '') ?? error.message;
        problems.error('yaml-syntax', message, { file: path, line: pos.line, col: pos.col });
      }
      return undefined;
    }
    const file = new YamlFile(path, doc, lines);
    file.substituteEnv(problems, env);
    return file;
  }

  static async read(path: string, problems: Problems, env: EnvLookup): Promise<YamlFile | undefined> {
    return YamlFile.parse(path, await readFile(path, 'utf8'), problems, env);
  }

  /** The parsed value (after environment substitution). */
  value(): unknown {
    return this.doc.toJS({ maxAliasCount: 100 });
  }

  /** Location of the value at `path`, or of its nearest existing ancestor when the path does not exist. */
  locate(path: FieldPath): Location {
    let node: unknown = this.doc.contents;
    let located: unknown = node;
    for (const key of path) {
      const next = childOf(node, key);
      if (next === undefined) break;
      node = next.value ?? next.key;
      located = node;
    }
    return this.at(located);
  }

  /** Location of a value (a path) or of a key (`keyOf(path)`). */
  place(place: Place): Location {
    return isKeyOf(place) ? this.locateKey(place.key) : this.locate(place);
  }

  /** Location of the key `path[last]` itself (unknown keys, names written as keys), falling back to `locate`. */
  locateKey(path: FieldPath): Location {
    const parent = this.nodeAt(path.slice(0, -1));
    const last = path[path.length - 1];
    const pair = last === undefined ? undefined : childOf(parent, last);
    return pair?.key ? this.at(pair.key) : this.locate(path);
  }

  private nodeAt(path: FieldPath): unknown {
    let node: unknown = this.doc.contents;
    for (const key of path) {
      const next = childOf(node, key);
      if (next === undefined) return undefined;
      node = next.value;
    }
    return node;
  }

  private at(node: unknown): Location {
    const offset = (node as { range?: [number, number, number] } | null)?.range?.[0] ?? 0;
    const pos = this.lines.linePos(offset);
    return { file: this.path, line: pos.line, col: pos.col };
  }

  private substituteEnv(problems: Problems, env: EnvLookup): void {
    visit(this.doc, {
      Scalar: (key, node, ancestors) => {
        if (key === 'key' || typeof node.value !== 'string' || !node.value.includes('${')) return;
        const result = interpolateEnv(node.value, env);
        const field = fieldPathOf(ancestors, node);
        for (const missing of result.missing) {
          problems.error(
            'missing-env',
            `environment variable ${missing} is not set (referenced as \${env:${missing}}); set it, add it to .env, or give a default: \${env:${missing}:-value}`,
            this.at(node),
            field,
          );
        }
        for (const bad of result.malformed) problems.error('bad-env-reference', `malformed reference ${bad}: expected \${env:NAME} or \${env:NAME:-default}`, this.at(node), field);
        node.value = result.value;
      },
    });
  }
}

/** The field path of a node from the visitor's ancestors (maps contribute keys, sequences indexes). */
function fieldPathOf(ancestors: readonly unknown[], node: unknown): (string | number)[] {
  const path: (string | number)[] = [];
  const chain = [...ancestors, node];
  for (let i = 0; i < chain.length - 1; i++) {
    const parent = chain[i];
    const child = chain[i + 1];
    if (isPair(parent) && child === parent.value) path.push(String(isScalar(parent.key) ? parent.key.value : parent.key));
    else if (isSeq(parent)) path.push(parent.items.indexOf(child as never));
  }
  return path;
}

/** The pair (for maps) or a pseudo-pair (for sequences) holding `key` under `node`. */
function childOf(node: unknown, key: string | number): { key?: Node | null; value: unknown } | undefined {
  if (isMap(node)) {
    const pair = node.items.find((item: Pair) => (isScalar(item.key) ? item.key.value : item.key) === key);
    return pair && isPair(pair) ? { key: pair.key as Node | null, value: pair.value } : undefined;
  }
  if (isSeq(node) && typeof key === 'number') {
    const item = node.items[key];
    return item === undefined ? undefined : { value: item };
  }
  return undefined;
}
