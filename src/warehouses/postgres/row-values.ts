import { hideRowValues, ROW_VALUE, type RowValueShape } from '../../log/redact.js';

/**
 * PostgreSQL's messages (15) that quote a row value, each with an example. The server sends the message and its
 * detail apart, and a value ends each shape, so every pattern is anchored at the end of the text it reads: a value
 * holding quotes or line breaks is hidden whole.
 */
const MESSAGE_SHAPES: readonly RowValueShape[] = [
  // invalid input syntax for type integer: "jane@example.com"; invalid input value for enum mood: "…";
  // malformed array literal: "…"; date/time field value out of range: "2024-13-45"
  { pattern: /^(invalid input syntax for type [^:]+|invalid input value for enum [^:]+|malformed [\w ]+ literal|[\w/ ]+ out of range): [\s\S]+$/, replacement: `$1: ${ROW_VALUE}` },
  // value "99999999999" is out of range for type integer
  { pattern: /^value "[\s\S]*" is out of range for type ([\w ]+)$/, replacement: `value ${ROW_VALUE} is out of range for type $1` },
  // invalid value "jane" for "YYYY"
  { pattern: /^invalid value "[\s\S]*" for ("[^"]*")$/, replacement: `invalid value ${ROW_VALUE} for $1` },
];

const DETAIL_SHAPES: readonly RowValueShape[] = [
  // Key (email)=(jane@example.com) already exists. / is duplicated. / is not present in table "people".
  { pattern: /^Key \(([\s\S]*?)\)=\([\s\S]*\) (already exists|is duplicated|is not present in table "[^"]*"|is still referenced from table "[^"]*")\.$/, replacement: `Key ($1)=(${ROW_VALUE}) $2.` },
  // Failing row contains (jane@example.com, -1).
  { pattern: /^Failing row contains \([\s\S]*\)\.$/, replacement: `Failing row contains (${ROW_VALUE}).` },
  // Token "jane" is invalid.
  { pattern: /^Token "[\s\S]*" is invalid\.$/, replacement: `Token ${ROW_VALUE} is invalid.` },
];

/** A server error's message and detail without the row values they quote. */
export function hidePostgresRowValues(message: string, detail: string | undefined): { message: string; detail: string | undefined } {
  return { message: hideRowValues(message, MESSAGE_SHAPES), detail: detail === undefined ? undefined : hideRowValues(detail, DETAIL_SHAPES) };
}
