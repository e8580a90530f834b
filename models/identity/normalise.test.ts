import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { joinSql, sql } from '../../src/dialects/sql.js';
import type { Connection } from '../../src/warehouses/connection.js';
import { engines } from '../../test/support/engines.js';
import { normaliseInline, type NormaliseOptions } from './normalise.js';
import { phoneCountry } from './phone-countries.js';
import type { IdentifierType } from './schema.js';

interface Case {
  readonly type: IdentifierType;
  readonly input: string | number | null;
  readonly expected: string | null;
  readonly options?: NormaliseOptions;
}

const FR = { country: phoneCountry('FR') };
const GB = { country: phoneCountry('GB') };
const US = { country: phoneCountry('US') };

/** Ugly inputs as they arrive from tills, forms and CRMs, with the value each must become. */
const CASES: readonly Case[] = [
  // French phones, default country FR
  { type: 'phone', input: '06 12 34 56 78', expected: '+33612345678', options: FR },
  { type: 'phone', input: '+33 (0)6 12 34 56 78', expected: '+33612345678', options: FR },
  { type: 'phone', input: '+33 6 12 34 56 78', expected: '+33612345678', options: FR },
  { type: 'phone', input: '+33 06 12 34 56 78', expected: '+33612345678', options: FR },
  { type: 'phone', input: '0033 6 12 34 56 78', expected: '+33612345678', options: FR },
  { type: 'phone', input: '06.12.34.56.78', expected: '+33612345678', options: FR },
  { type: 'phone', input: '06-12-34-56-78', expected: '+33612345678', options: FR },
  { type: 'phone', input: '(06) 12 34 56 78', expected: '+33612345678', options: FR },
  { type: 'phone', input: '33612345678', expected: '+33612345678', options: FR },
  { type: 'phone', input: '612345678', expected: '+33612345678', options: FR },
  { type: 'phone', input: ' 01 23 45 67 89 ', expected: '+33123456789', options: FR },
  { type: 'phone', input: '0000000000', expected: null, options: FR },
  { type: 'phone', input: '061234567', expected: null, options: FR },
  { type: 'phone', input: '12', expected: null, options: FR },
  { type: 'phone', input: 'n/a', expected: null, options: FR },
  { type: 'phone', input: '', expected: null, options: FR },
  { type: 'phone', input: null, expected: null, options: FR },
  // A UK number in a French shop's data, written internationally, stays British
  { type: 'phone', input: '+44 7911 123456', expected: '+447911123456', options: FR },
  // UK phones, default country GB
  { type: 'phone', input: '07911 123456', expected: '+447911123456', options: GB },
  { type: 'phone', input: '+44 (0)7911 123456', expected: '+447911123456', options: GB },
  { type: 'phone', input: '(020) 7946-0958', expected: '+442079460958', options: GB },
  { type: 'phone', input: '0044 20 7946 0958', expected: '+442079460958', options: GB },
  { type: 'phone', input: '00 33 6 12 34 56 78', expected: '+33612345678', options: GB },
  // North America: trunk prefix 1, international prefix 011
  { type: 'phone', input: '(212) 555-0100', expected: '+12125550100', options: US },
  { type: 'phone', input: '1-212-555-0100', expected: '+12125550100', options: US },
  { type: 'phone', input: '011 33 6 12 34 56 78', expected: '+33612345678', options: US },
  // Without a default country only international numbers survive
  { type: 'phone', input: '06 12 34 56 78', expected: null },
  { type: 'phone', input: '+33 6 12 34 56 78', expected: '+33612345678' },
  // E-mails
  { type: 'email', input: ' Alice.Martin@Example.COM ', expected: 'alice.martin@example.com' },
  { type: 'email', input: 'alice @ example.com', expected: 'alice@example.com' },
  { type: 'email', input: 'BOB+news@shop.co.uk\t', expected: 'bob+news@shop.co.uk' },
  { type: 'email', input: "o'brien@example.ie", expected: "o'brien@example.ie" },
  { type: 'email', input: 'not an email', expected: null },
  { type: 'email', input: 'alice@example', expected: null },
  { type: 'email', input: 'alice@@example.com', expected: null },
  { type: 'email', input: 'alice@example..com', expected: null },
  { type: 'email', input: '@example.com', expected: null },
  { type: 'email', input: 'alice@.example.com', expected: null },
  { type: 'email', input: 'x@y.z', expected: null },
  { type: 'email', input: '', expected: null },
  { type: 'email', input: null, expected: null },
  // Names
  { type: 'name', input: '  Chloé   DUPONT-Martin ', expected: 'chloe dupont martin' },
  { type: 'name', input: "O'Brien", expected: 'obrien' },
  { type: 'name', input: 'ÉLÉONORE', expected: 'eleonore' },
  { type: 'name', input: 'Françoise', expected: 'francoise' },
  { type: 'name', input: 'Søren Łukasz Straße', expected: 'soren lukasz strasse' },
  { type: 'name', input: 'Jean-Luc.', expected: 'jean luc' },
  { type: 'name', input: 'Núñez', expected: 'nunez' },
  { type: 'name', input: ' - ', expected: null },
  { type: 'name', input: '', expected: null },
  { type: 'name', input: null, expected: null },
  // Postcodes
  { type: 'postcode', input: ' sw1a 1aa ', expected: 'SW1A1AA' },
  { type: 'postcode', input: '75 011', expected: '75011' },
  { type: 'postcode', input: '   ', expected: null },
  // Customer numbers, loyalty cards
  { type: 'code', input: ' ab-123.456 ', expected: 'AB123456' },
  { type: 'code', input: 4411002233, expected: '4411002233' },
  { type: 'code', input: '--', expected: null },
  // Free text
  { type: 'text', input: '  Rue   de la PAIX ', expected: 'rue de la paix' },
  // Dates
  { type: 'date', input: '1990-01-02', expected: '1990-01-02' },
  { type: 'date', input: '19900102', expected: '1990-01-02' },
  { type: 'date', input: 19560409, expected: '1956-04-09' },
  { type: 'date', input: '1990/1/2', expected: '1990-01-02' },
  { type: 'date', input: '1990-01-02 13:45:00', expected: '1990-01-02' },
  { type: 'date', input: '02/01/1990', expected: '1990-01-02', options: { dateOrder: 'dmy' } },
  { type: 'date', input: '2.1.1990', expected: '1990-01-02', options: { dateOrder: 'dmy' } },
  { type: 'date', input: '01/02/1990', expected: '1990-01-02', options: { dateOrder: 'mdy' } },
  { type: 'date', input: '1990-01-02', expected: '1990-01-02', options: { dateOrder: 'dmy' } },
  { type: 'date', input: '2000-02-29', expected: '2000-02-29' },
  { type: 'date', input: '1900-02-29', expected: null },
  { type: 'date', input: '2023-02-29', expected: null },
  { type: 'date', input: '2023-04-31', expected: null },
  { type: 'date', input: '1990-13-01', expected: null },
  { type: 'date', input: '0000-01-01', expected: null },
  { type: 'date', input: '02/01/1990', expected: null },
  { type: 'date', input: 'unknown', expected: null },
  { type: 'date', input: '', expected: null },
  { type: 'date', input: null, expected: null },
];

for (const engine of engines()) {
  describe(`identity normalisers on ${engine.name}`, () => {
    let connection: Connection;
    const d = engine.dialect;
    beforeAll(async () => {
      connection = await engine.open();
      for (const statement of d.setupStatements()) await connection.execute(statement).catch(() => undefined);
    });
    afterAll(() => connection.close());

    it('turns every ugly input into the expected value', async () => {
      // One query for all cases: the machine is shared and each round trip costs.
      const columns = CASES.map((c, i) => sql`${normaliseInline(d, c.type, c.options ?? {}, d.literal(c.input))} AS ${d.id(`c${i}`)}`);
      const rows = await connection.query(sql`SELECT ${joinSql(columns)}`);
      const actual = CASES.map((c, i) => ({ type: c.type, input: c.input, value: rows[0]![`c${i}`] }));
      expect(actual).toEqual(CASES.map((c) => ({ type: c.type, input: c.input, value: c.expected })));
    });
  });
}
