import { hideRowValues, ROW_VALUE, type RowValueShape } from '../../log/redact.js';

/**
 * DuckDB's messages (1.5) that quote a row value, each with an example. A value may hold quotes and line breaks, so
 * a pattern reaches to the last words that follow a value of its shape; it runs on the message's own text only, not
 * on the excerpt of the statement DuckDB appends ("LINE 1: …"), which is SQL, so greed cannot cross into it.
 */
const SHAPES: readonly RowValueShape[] = [
  // Could not convert string 'jane@example.com' to INT32 when casting from source column email
  // (a CSV file: Could not convert string "abc" to 'BIGINT')
  { pattern: /Could not convert string (['"])[\s\S]*\1 to /g, replacement: `Could not convert string ${ROW_VALUE} to ` },
  // Type VARCHAR with value 'jane' can't be cast to the destination type STRUCT(a INTEGER)
  // Type INT64 with value 33612345678 can't be cast because the value is out of range for the destination type INT32
  { pattern: / with value [\s\S]* can't be cast/g, replacement: ` with value ${ROW_VALUE} can't be cast` },
  // Casting value "123.45" to type DECIMAL(3,2) failed: value is out of range!
  { pattern: /Casting value [\s\S]* to type /g, replacement: `Casting value ${ROW_VALUE} to type ` },
  // Could not cast value 123.450000 to DECIMAL(3,2) when casting from source column amount
  { pattern: /Could not cast value [\s\S]* to /g, replacement: `Could not cast value ${ROW_VALUE} to ` },
  // date field value out of range: "2024-13-45" when casting from source column born
  // time field value out of range: "jane", expected format is ([YYYY-MM-DD ]HH:MM:SS[.MS])
  // invalid date field format: "jane", expected format is (YYYY-MM-DD)
  { pattern: /(field value out of range|field format): "[\s\S]*"/g, replacement: `$1: ${ROW_VALUE}` },
  // Date out of range: 2024-99-1
  { pattern: /Date out of range: [^\n]*/g, replacement: `Date out of range: ${ROW_VALUE}` },
  // Could not parse string "jane" according to format specifier "%Y-%m-%d"\njane\n^\nError: Expected a number
  { pattern: /Could not parse string "[\s\S]*" according to format specifier ("[^"\n]*")(?:\n[\s\S]*\n *\^)?/g, replacement: `Could not parse string ${ROW_VALUE} according to format specifier $1` },
  // Malformed JSON at byte 0 of input: unexpected character.  Input: "jane@example.com"
  { pattern: /Input: "[\s\S]*"/g, replacement: `Input: ${ROW_VALUE}` },
  // Invalid hex escape code encountered in string -> blob conversion of string "\xZZjane": \xZZ
  { pattern: /conversion of string "[\s\S]*": [^\n]*/g, replacement: `conversion of string ${ROW_VALUE}` },
  // Duplicate key "email: jane@example.com" violates primary key constraint.
  { pattern: /Duplicate key "([^":\n]+): [\s\S]*" violates/g, replacement: `Duplicate key "$1: ${ROW_VALUE}" violates` },
  // PRIMARY KEY or UNIQUE constraint violation: duplicate key "jane, doe"
  { pattern: /duplicate key "[\s\S]*"/g, replacement: `duplicate key ${ROW_VALUE}` },
  // Violates foreign key constraint because key "email: jane@example.com" does not exist in the referenced table
  { pattern: /because key "([^":\n]+): [\s\S]*" does not exist/g, replacement: `because key "$1: ${ROW_VALUE}" does not exist` },
  // Overflow in multiplication of INT32 (33612345 * 1000000000)!
  { pattern: /(Overflow in \w+ of \w+) \([\s\S]*\)/g, replacement: `$1 (${ROW_VALUE})` },
  // A CSV file's line: Original Line: 2,jane@example.com,…
  { pattern: /Original Line: [^\n]*/g, replacement: `Original Line: ${ROW_VALUE}` },
];

/** A DuckDB message without the row values it quotes; the statement's excerpt (`LINE n: …`) is kept as it is. */
export function hideDuckDbRowValues(message: string): string {
  const excerpt = message.search(/\n\s*\nLINE \d+:/);
  if (excerpt < 0) return hideRowValues(message, SHAPES);
  return hideRowValues(message.slice(0, excerpt), SHAPES) + message.slice(excerpt);
}
