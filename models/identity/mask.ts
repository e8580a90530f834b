import type { IdentifierType } from './schema.js';

/**
 * Masks an identifier value for logs and run results, where personal data must not appear: enough is kept for an
 * operator to recognise a known junk value (`t***@test.com`, `+33*******78`), not enough to identify a person.
 * `tideline identity explain` prints values unmasked: there the user asked for them.
 */
export function maskValue(type: IdentifierType | undefined, value: string): string {
  if (value.length === 0) return value;
  switch (type) {
    case 'email': {
      const at = value.lastIndexOf('@');
      return at > 0 ? `${value[0]}***${value.slice(at)}` : stars(value);
    }
    case 'phone':
      return value.length > 6 ? `${value.slice(0, 3)}${'*'.repeat(value.length - 5)}${value.slice(-2)}` : stars(value);
    case 'date':
      return /^\d{4}-/.test(value) ? `${value.slice(0, 4)}-**-**` : stars(value);
    default:
      return stars(value);
  }
}

function stars(value: string): string {
  return `${[...value][0]}***`;
}

/** A rule key (`martin + alice + 1990-01-02`), each part masked by the type of the identifier it comes from. */
export function maskKey(types: readonly (IdentifierType | undefined)[], key: string): string {
  const fuzzy = key.indexOf(' ~ ');
  const exact = fuzzy >= 0 ? key.slice(0, fuzzy) : key;
  return exact
    .split(' + ')
    .map((part, i) => maskValue(types[i], part))
    .join(' + ');
}
