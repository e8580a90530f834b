import { seededRandom } from '../../models/ltv/simulate.js';

/**
 * A small generated population for identity tests whose truth is known: people (some sharing a household: surname
 * and postcode) with one to three records each; a person's later records drop or change an e-mail, mistype a name,
 * lose a date. Everything lower-case ASCII and ISO dates, so that the warehouse's normalisation leaves the values as
 * they are and an oracle can compare them as written.
 */

export const FIRST = ['anna', 'bruno', 'carla', 'david', 'elena', 'felix', 'greta', 'hugo', 'ines', 'jonas', 'karin', 'lucas', 'maria', 'nils', 'olga', 'paul', 'rosa', 'simon', 'tina', 'viktor'];
export const LAST = ['adler', 'berger', 'conti', 'dahl', 'eriksen', 'fischer', 'garcia', 'hansen', 'ivanov', 'jansen', 'keller', 'lang', 'moreau', 'novak', 'olsen', 'petit', 'quinn', 'rossi', 'schmidt', 'toth', 'urban', 'vogel', 'weber', 'young', 'zimmer'];

export interface Row {
  readonly id: string;
  readonly person: number;
  readonly email: string | null;
  readonly first_name: string | null;
  readonly surname: string | null;
  readonly dob: string | null;
  readonly postcode: string | null;
}
export const FIELDS = ['email', 'first_name', 'surname', 'dob', 'postcode'] as const;

/**
 * People (some sharing a household: surname and postcode) with one to three records each; a person's later records
 * drop or change an e-mail, mistype a name, lose a date. Everything lower-case ASCII and ISO dates, so that the
 * warehouse's normalisation leaves the values as they are and the oracle can compare them as written.
 */
export function population(seed: number, people: number, idPrefix = ''): Row[] {
  const random = seededRandom(seed);
  const pick = <T>(list: readonly T[]) => list[Math.floor(random() * list.length)]!;
  const typo = (s: string) => {
    const i = 1 + Math.floor(random() * (s.length - 1));
    return s.slice(0, i) + s.slice(i + 1);
  };
  const rows: Row[] = [];
  let household: { surname: string; postcode: string; firsts: Set<string> } | undefined;
  for (let p = 0; p < people; p++) {
    household = household && random() < 0.3 ? household : { surname: pick(LAST), postcode: String(10000 + Math.floor(random() * 90000)), firsts: new Set() };
    // Two people of one household have different first names.
    const first = pick(FIRST.filter((name) => !household!.firsts.has(name)));
    household.firsts.add(first);
    const date = new Date(Date.UTC(1950, 0, 1) + Math.floor(random() * 50 * 365) * 86_400_000).toISOString().slice(0, 10);
    const email = `${first}.${household.surname}.${1000 + Math.floor(random() * 9000)}@example.org`;
    const records = 1 + (random() < 0.55 ? 1 : 0) + (random() < 0.2 ? 1 : 0);
    for (let r = 0; r < records; r++) {
      const later = r > 0;
      const e = random();
      rows.push({
        id: `${idPrefix}${p}-${r}`,
        person: p,
        email: !later || e < 0.5 ? email : e < 0.8 ? null : `${first}${1000 + Math.floor(random() * 9000)}@mail.example.net`,
        first_name: later && random() < 0.15 ? typo(first) : first,
        surname: later && random() < 0.1 ? typo(household.surname) : household.surname,
        dob: later && random() < 0.1 ? null : date,
        postcode: later && random() < 0.15 ? null : household.postcode,
      });
    }
  }
  return rows;
}

