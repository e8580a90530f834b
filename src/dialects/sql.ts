/**
 * SQL text as a value that can only be built from trusted parts.
 *
 * Generated SQL is assembled with the `sql` template tag. Its literal parts are source code written by us; every
 * interpolated part must itself be a `Sql` — produced by a Dialect's quoting functions (identifiers, literals), by
 * another `sql` template, or by `Sql.trusted` for text written in our own code (keywords chosen from a map). A plain
 * string from YAML therefore cannot reach generated SQL without passing through `Dialect.id` / `Dialect.literal`:
 * the type checker refuses it.
 *
 * Fixed text of our own (a separator, a keyword, a sort order) is a `sql` template without interpolations, or
 * `Sql.empty`: the tag only takes text that is in the source, so such a fragment is safe at a glance. `Sql.trusted`
 * is left for what a template cannot express: the dialects' quoting and literal functions themselves, and text
 * computed from other `Sql` (joining, indenting).
 *
 * The deliberate exceptions are `Sql.userExpression`, for the YAML fields documented as "a SQL expression" (custom
 * computed columns), and `Sql.userQuery`, for the `sql` model kind's SELECT. Analysts own that text; it is marked so
 * that a reader of the compiler sees where it enters.
 */
export class Sql {
  private constructor(readonly text: string) {
    Object.freeze(this);
  }

  /** No SQL at all: the `else` of an optional clause. */
  static readonly empty: Sql = new Sql('');

  /**
   * Text built by Tideline's own code where a template cannot express it: a dialect quoting a name or a value,
   * spelling a number or a type, text joined from other fragments. Fixed text is a `sql` template instead.
   */
  static trusted(text: string): Sql {
    return new Sql(text);
  }

  /** A SQL expression written by the analyst in a field documented as SQL. Wrapped in parentheses. */
  static userExpression(text: string): Sql {
    return new Sql(`(${text})`);
  }

  /**
   * A whole SELECT written by the analyst (the `sql` model kind), as a parenthesised subquery. Unlike
   * `userExpression`, the parentheses are on their own lines: a query may end with a `--` comment, which would
   * otherwise swallow the closing parenthesis.
   */
  static userQuery(text: string): Sql {
    return new Sql(`(\n${text}\n)`);
  }

  /** The same statement without surrounding blanks or trailing semicolons, to be joined into a script. */
  withoutTerminator(): Sql {
    return new Sql(this.text.trim().replace(/;+$/, ''));
  }

  toString(): string {
    return this.text;
  }
}

/** Template tag: `sql\`select ${d.id(col)} from ${d.table(ref)}\``. Interpolations must be `Sql`. */
export function sql(strings: TemplateStringsArray, ...parts: readonly Sql[]): Sql {
  let text = strings[0] ?? '';
  for (let i = 0; i < parts.length; i++) {
    const part = parts[i];
    if (!(part instanceof Sql)) throw new TypeError(`sql\`\`: interpolation ${i} is not a Sql fragment`);
    text += part.text + (strings[i + 1] ?? '');
  }
  return Sql.trusted(text);
}

/** Joins fragments with a separator (default `, `). */
export function joinSql(parts: readonly Sql[], separator: Sql = sql`, `): Sql {
  return Sql.trusted(parts.map((p) => p.text).join(separator.text));
}

/** SELECTs joined by `UNION ALL`, each branch on its own lines. */
export function unionAll(parts: readonly Sql[]): Sql {
  return joinSql(parts, sql`\nUNION ALL\n`);
}

/** Indents every line of a fragment, for readable compiled SQL. */
export function indentSql(fragment: Sql, spaces = 2): Sql {
  const pad = ' '.repeat(spaces);
  return Sql.trusted(
    fragment.text
      .split('\n')
      .map((line) => (line.length ? pad + line : line))
      .join('\n'),
  );
}
