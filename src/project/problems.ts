import { relative } from 'node:path';

/** Where a problem is: a file (relative to the project root when printed), 1-based line and column. */
export interface Location {
  readonly file: string;
  readonly line: number;
  readonly col: number;
}

/**
 * A user-facing problem: a value, not an exception. Problems are collected across every file and reported together,
 * as `path/to/file.yml:LINE:COL  field.path  message`.
 */
export interface Problem {
  /** Stable machine-readable code, e.g. `unknown-key`, `missing-env`, `unknown-column`. */
  readonly code: string;
  readonly severity: 'error' | 'warning';
  readonly message: string;
  /** Dotted path of the field in its file (`targets.pg.port`), when there is one. */
  readonly field?: string | undefined;
  readonly at?: Location | undefined;
}

export type FieldPath = readonly (string | number)[];

/**
 * The key of the mapping entry at `path`, rather than its value: where a problem about a name written as a key is
 * located (an output column of `columns:`, a field of a sync's `fields:`), so that it points at the name.
 */
export interface KeyOf {
  readonly key: FieldPath;
}

/** Where a problem is in a YAML item: a value (a path), or a key (`keyOf(path)`). */
export type Place = FieldPath | KeyOf;

export function keyOf(path: FieldPath): KeyOf {
  return { key: path };
}

export function pathOf(place: Place): FieldPath {
  return isKeyOf(place) ? place.key : place;
}

export function isKeyOf(place: Place): place is KeyOf {
  return !Array.isArray(place);
}

/** `a.b[0].c`; control characters of keys are escaped (`\n`), so that a hostile key cannot break the line. */
export function formatField(path: FieldPath): string {
  return path.map((p, i) => (typeof p === 'number' ? `[${p}]` : `${i === 0 ? '' : '.'}${escapeControls(p)}`)).join('');
}

function escapeControls(text: string): string {
  return text.replace(/[\u0000-\u001f\u007f]/g, (c) => JSON.stringify(c).slice(1, -1));
}

export function formatProblem(problem: Problem, root?: string): string {
  const where = problem.at ? `${root ? relative(root, problem.at.file) || problem.at.file : problem.at.file}:${problem.at.line}:${problem.at.col}` : '';
  const severity = problem.severity === 'warning' ? 'warning: ' : '';
  return [where, problem.field, `${severity}${problem.message}`].filter(Boolean).join('  ');
}

/** Problems in the order they were found; errors make the whole load fail, warnings are printed and carried on. */
export class Problems {
  readonly #list: Problem[] = [];
  /** Places whose value is already known to be wrong at the source (a missing variable): later errors there are noise. */
  readonly #settled = new Set<string>();

  add(problem: Problem): void {
    const place = problem.at ? `${problem.at.file}:${problem.at.line}:${problem.at.col}` : undefined;
    if (place && this.#settled.has(place)) return;
    if (place && problem.code === 'missing-env') this.#settled.add(place);
    this.#list.push(problem);
  }

  error(code: string, message: string, at?: Location, field?: FieldPath): void {
    this.add({ code, severity: 'error', message, at, field: field && field.length ? formatField(field) : undefined });
  }

  warning(code: string, message: string, at?: Location, field?: FieldPath): void {
    this.add({ code, severity: 'warning', message, at, field: field && field.length ? formatField(field) : undefined });
  }

  get all(): readonly Problem[] {
    return this.#list;
  }

  get errors(): readonly Problem[] {
    return this.#list.filter((p) => p.severity === 'error');
  }

  get hasErrors(): boolean {
    return this.#list.some((p) => p.severity === 'error');
  }

  /** Throws a ConfigError carrying every problem when any is an error. */
  throwIfErrors(): void {
    if (this.hasErrors) throw new ConfigError(this.sorted());
  }

  sorted(): Problem[] {
    return [...this.#list].sort(
      (a, b) =>
        (a.at?.file ?? '').localeCompare(b.at?.file ?? '') || (a.at?.line ?? 0) - (b.at?.line ?? 0) || (a.at?.col ?? 0) - (b.at?.col ?? 0),
    );
  }
}

/** The configuration cannot be used: the CLI prints every problem and exits with code 2. */
export class ConfigError extends Error {
  constructor(readonly problems: readonly Problem[]) {
    super(`${problems.filter((p) => p.severity === 'error').length} problem(s) in the project configuration`);
    this.name = 'ConfigError';
  }
}
