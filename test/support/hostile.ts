import { describe, expect, it } from 'vitest';
import type { Dialect } from '../../src/dialects/dialect.js';

/**
 * Names and values an attacker (or an unlucky analyst) could put in YAML. Every one must come out of the dialect as
 * exactly one quoted token that decodes back to itself, so that nothing in it can end the quote and become SQL.
 */
export const HOSTILE = [
  'plain',
  'a"b',
  'a""b',
  "a'b",
  "a''b",
  'a`b',
  'a\\b',
  'ends with backslash\\',
  "\\'",
  '\\"',
  '\\`',
  '"; DROP TABLE sentinel; --',
  "'; DROP TABLE sentinel; --",
  '`; DROP TABLE sentinel; --',
  "\\'; DROP TABLE sentinel; --",
  '/* open comment',
  '*/ close comment',
  '-- line comment',
  'new\nline; DROP TABLE sentinel',
  'carriage\rreturn',
  'tab\there',
  '$$ dollar $$',
  '$tag$ x $tag$',
  '${env:HOME}',
  "E'escape'",
  'ünïcødé € 😀',
  '\u0007bell\u001f',
  ' leading and trailing ',
  'UPPER lower',
];

/** Reads one quoted token at the start of `text` by the dialect's documented rules; returns its value and length. */
export type Lexer = (text: string) => { value: string; length: number };

export function doubledQuote(quote: string): Lexer {
  return (text) => {
    expect(text[0]).toBe(quote);
    let value = '';
    for (let i = 1; i < text.length; i++) {
      if (text[i] === quote) {
        if (text[i + 1] === quote) {
          value += quote;
          i++;
          continue;
        }
        return { value, length: i + 1 };
      }
      value += text[i];
    }
    throw new Error(`unterminated token: ${text}`);
  };
}

const ESCAPES: Record<string, string> = { n: '\n', r: '\r', t: '\t', '\\': '\\', "'": "'", '"': '"', '`': '`', '0': '\u0000' };

/** Backslash escapes (BigQuery identifiers and strings; Snowflake strings, which also accept a doubled quote). */
export function backslashed(quote: string, doubledToo: boolean): Lexer {
  return (text) => {
    expect(text[0]).toBe(quote);
    let value = '';
    for (let i = 1; i < text.length; i++) {
      const ch = text[i]!;
      expect(ch.charCodeAt(0) >= 0x20 || ch === undefined, `raw control character in ${JSON.stringify(text)}`).toBe(true);
      if (ch === '\\') {
        const next = text[i + 1]!;
        if (next === 'x') {
          value += String.fromCharCode(parseInt(text.slice(i + 2, i + 4), 16));
          i += 3;
        } else {
          expect(ESCAPES[next], `unknown escape \\${next}`).toBeDefined();
          value += ESCAPES[next];
          i++;
        }
        continue;
      }
      if (ch === quote) {
        if (doubledToo && text[i + 1] === quote) {
          value += quote;
          i++;
          continue;
        }
        return { value, length: i + 1 };
      }
      value += ch;
    }
    throw new Error(`unterminated token: ${text}`);
  };
}

/** Postgres: a plain '' string, or an E'' string where backslash escapes apply. */
export const postgresString: Lexer = (text) => {
  if (text.startsWith("E'")) {
    const inner = backslashed("'", true)(text.slice(1));
    return { value: inner.value, length: inner.length + 1 };
  }
  expect(text).not.toContain('\\');
  return doubledQuote("'")(text);
};

function expectSingleToken(lexer: Lexer, text: string, expected: string): void {
  const token = lexer(text);
  expect(token.length, `the quote closes before the end: ${JSON.stringify(text)}`).toBe(text.length);
  expect(token.value).toBe(expected);
}

/**
 * The quoting checks every dialect must pass, as a suite of its own: run by test/hostile-identifiers.test.ts for each
 * registered dialect, and by test/checklists.test.ts for the throwaway one. `lexer` reads the dialect's quoted
 * tokens by its documented rules, independently of the dialect's code.
 */
export function describeQuoting(dialect: Dialect, lexer: { readonly id: Lexer; readonly string: Lexer }): void {
  describe(dialect.name, () => {
    for (const hostile of HOSTILE) {
      it(`quotes ${JSON.stringify(hostile)}`, () => {
        if (!dialect.identifierProblem(hostile)) expectSingleToken(lexer.id, dialect.id(hostile).text, dialect.storedName(hostile));
        expectSingleToken(lexer.string, dialect.string(hostile).text, hostile);
        expectSingleToken(lexer.string, dialect.literal(hostile).text, hostile);
      });
    }

    it('quotes every part of a table reference separately', () => {
      const ref = dialect.table({ catalog: 'c.x', schema: 's"`', name: "t'; --" }).text;
      let rest = ref;
      const parts: string[] = [];
      while (rest.length) {
        const token = lexer.id(rest);
        parts.push(token.value);
        rest = rest.slice(token.length);
        if (rest.length) {
          expect(rest[0]).toBe('.');
          rest = rest.slice(1);
        }
      }
      expect(parts).toEqual(['c.x', 's"`', "t'; --"].map((p) => dialect.storedName(p)));
    });

    it('refuses names it cannot hold instead of emitting wrong SQL', () => {
      expect(() => dialect.id('')).toThrow(/empty/);
      expect(() => dialect.id('nul\u0000byte')).toThrow(/NUL/);
      expect(() => dialect.id('x'.repeat(dialect.capabilities.maxIdentifierBytes + 1))).toThrow(/bytes/);
      expect(() => dialect.string('nul\u0000byte')).toThrow(/NUL/);
      expect(() => dialect.literal(Number.NaN)).toThrow();
    });
  });
}
