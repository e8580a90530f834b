import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { GOOGLE, identifier, META, type IdentifierField, type IdentifierRule } from './ads-identifiers.js';

/** The expected hash, computed here independently of the module under test. */
const sha = (s: string) => createHash('sha256').update(Buffer.from(s, 'utf8')).digest('hex');

/** [field, raw input, expected normalised text (null: left out)] */
type Vector = readonly [IdentifierField, string | number | null, string | null];

const GOOGLE_VECTORS: readonly Vector[] = [
  ['email', '  John.Doe@Example.COM ', 'john.doe@example.com'],
  ['email', 'MARIE Curie@Ecole.fr', 'mariecurie@ecole.fr'],
  // Google's own examples: Gmail addresses lose the dots and the +suffix of their local part, others keep them.
  ['email', 'cloudy.sanfrancisco+shopping@gmail.com', 'cloudysanfrancisco@gmail.com'],
  ['email', ' Cloudy.SanFrancisco@GoogleMail.com', 'cloudysanfrancisco@googlemail.com'],
  ['email', 'user.name+NYC@Example.com', 'user.name+nyc@example.com'],
  ['email', '', null],
  ['email', '   ', null],
  ['email', null, null],
  ['email', 'not an e-mail', null],
  ['phone', '+33 (0)6 12 34 56 78', '+33612345678'],
  ['phone', '0044 20 7946 0958', '+442079460958'],
  ['phone', '06 12 34 56 78', '+33612345678'],
  ['phone', ' +1 (415) 555-2671 ', '+14155552671'],
  ['phone', '12', null],
  ['phone', '', null],
  ['first_name', '  Jean Pierre ', 'jean pierre'],
  ['first_name', 'Jean-Luc', 'jeanluc'],
  ['first_name', 'Chloé', 'chloé'],
  ['last_name', " O'Brien-Smith ", 'obriensmith'],
  ['last_name', 'DE LA CROIX.', 'de la croix'],
  ['last_name', 'Müller', 'müller'],
  ['country_code', ' fr ', 'FR'],
  ['country_code', 'France', null],
  ['postal_code', ' SW1A 1AA ', 'SW1A 1AA'],
  ['postal_code', '94045-1234', '94045-1234'],
  ['postal_code', '75001', '75001'],
];

const META_VECTORS: readonly Vector[] = [
  ['email', '  John.Doe@Example.COM ', 'john.doe@example.com'],
  ['email', '', null],
  ['phone', '+33 (0)6 12 34 56 78', '33612345678'],
  ['phone', '0044 20 7946 0958', '442079460958'],
  ['phone', '06 12 34 56 78', '33612345678'],
  ['phone', '(415) 555-2671', null],
  ['phone', '+1 415 555 2671', '14155552671'],
  ['phone', '   ', null],
  ['first_name', ' Jean-Pierre ', 'jeanpierre'],
  ['first_name', 'CHLOÉ', 'chloé'],
  ['last_name', "d'Artagnan Jr.", 'dartagnanjr'],
  ['city', ' Saint-Étienne ', 'saintetienne'],
  ['city', 'New York 10', 'newyork'],
  // UK: area, district and sector only.
  ['postal_code', ' SW1A 1AA ', 'sw1a1'],
  ['postal_code', 'M1 1AE', 'm11'],
  ['postal_code', '75 001', '75001'],
  ['postal_code', '94043-1351', '94043'],
  ['country_code', 'FR', 'fr'],
  ['country_code', 'FRA', null],
  ['birth_year', '1985-03-02', '1985'],
  ['birth_year', 1985, '1985'],
  ['birth_year', '1850', null],
  ['gender', 'Female', 'f'],
  ['gender', ' M ', 'm'],
  ['gender', 'x', null],
  ['external_id', ' C-0042 ', 'C-0042'],
  ['first_initial', ' Émile ', 'é'],
  ['first_initial', '-', null],
  ['state', 'CA', 'ca'],
  ['state', 'New York', 'ny'],
  ['state', 'Île-de-France', 'iledefrance'],
  ['birth_month', '1985-03-02', '03'],
  ['birth_month', '7', '07'],
  ['birth_month', '13', null],
  ['birth_day', '1985-03-02', '02'],
  ['birth_day', 31, '31'],
  ['birth_day', '32', null],
  // Advertising ids are sent as they are (lower-case, hyphens kept): never hashed.
  ['mobile_advertiser_id', ' AECE52E7-03EE-455A-B3C4-E57283966239 ', 'aece52e7-03ee-455a-b3c4-e57283966239'],
  ['mobile_advertiser_id', 'not-an-id', null],
];

function check(rules: Readonly<Partial<Record<IdentifierField, IdentifierRule>>>, vectors: readonly Vector[]) {
  for (const [field, input, normalised] of vectors) {
    const rule = rules[field]!;
    const got = identifier(rule, input, { defaultCountry: 'FR' });
    const want = normalised === null ? null : rule.hashed ? sha(normalised) : normalised;
    expect(got, `${field} ${JSON.stringify(input)} → ${JSON.stringify(normalised)}`).toBe(want);
  }
}

describe('ads identifiers: normalisation vectors, then SHA-256 lower-case hex', () => {
  it('Google (Data Manager API formatting)', () => check(GOOGLE, GOOGLE_VECTORS));
  it('Meta Custom Audiences', () => check(META, META_VECTORS));

  it('the same phone hashes differently on Google (E.164 with +) and Meta (digits only)', () => {
    const google = identifier(GOOGLE.phone!, '+33 (0)6 12 34 56 78');
    const meta = identifier(META.phone, '+33 (0)6 12 34 56 78');
    expect(google).toBe(sha('+33612345678'));
    expect(meta).toBe(sha('33612345678'));
    expect(google).not.toBe(meta);
  });

  it('passes values that are already SHA-256 hex through, lower-cased, and never re-hashes them', () => {
    const hashed = sha('john.doe@example.com');
    expect(identifier(GOOGLE.email!, hashed.toUpperCase())).toBe(hashed);
    expect(identifier(META.phone, ` ${hashed} `)).toBe(hashed);
    // Unhashed fields are not identifiers of that kind even when they look like a digest.
    expect(identifier(GOOGLE.country_code!, hashed)).toBeNull();
  });

  it('a phone without its country code takes the configured default country', () => {
    expect(identifier(META.phone, '020 7946 0958', { defaultCountry: 'GB' })).toBe(sha('442079460958'));
    expect(identifier(GOOGLE.phone!, '(415) 555-2671', { defaultCountry: 'US' })).toBe(sha('+14155552671'));
  });
});
