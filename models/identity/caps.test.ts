import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { joinSql, sql } from '../../src/dialects/sql.js';
import type { Connection } from '../../src/warehouses/connection.js';
import { engines, uniqueSchema } from '../../test/support/engines.js';
import { build, identityProject } from '../../test/support/identity-project.js';

/**
 * The cap on distinct values per customer, judged by a reference written here another way: union-find over the links
 * in TypeScript, the cap applied as the model's documentation states it (models/identity/guards.ts), round after
 * round over the whole graph. The build re-runs the components only for the customers a round cut; both must give
 * the same customers, on random records where the weakest rule merges many e-mails and the cap cuts over several
 * rounds.
 */
interface Account {
  readonly id: string;
  readonly email: string | null;
  readonly card: string | null;
  readonly club: string | null;
}

const CAP = 2;
/** Rules from the strongest: the same e-mail, the same card, the same club (a weak, widely shared code). */
const FIELDS = ['email', 'card', 'club'] as const;

function accounts(seed: number, count: number): Account[] {
  let state = seed;
  const random = () => ((state = (Math.imul(state, 1103515245) + 12345) >>> 0) / 2 ** 32);
  const pick = (pool: number, prefix: string, missing: number) => (random() < missing ? null : `${prefix}${Math.floor(random() * pool)}`);
  return Array.from({ length: count }, (_, i) => ({
    id: `a${i}`,
    email: ((e) => (e ? `${e}@example.com` : null))(pick(count * 0.7, 'e', 0.1)),
    card: pick(count * 0.6, 'c', 0.4),
    club: pick(count * 0.12, 'k', 0.5),
  }));
}

/** Customers as sets of account ids: components under the cap, computed over the whole graph each round. */
function reference(rows: readonly Account[]): string[][] {
  // Links: each rule joins the accounts sharing its value (how the build spans a group does not change components).
  const links: { a: number; b: number; rank: number }[] = [];
  FIELDS.forEach((field, rank) => {
    const groups = new Map<string, number[]>();
    rows.forEach((row, i) => row[field] !== null && groups.set(row[field]!, [...(groups.get(row[field]!) ?? []), i]));
    for (const members of groups.values()) for (const other of members.slice(1)) links.push({ a: members[0]!, b: other, rank });
  });
  const active = new Set(links.keys());
  for (;;) {
    const parent = rows.map((_, i) => i);
    const find = (x: number): number => (parent[x] === x ? x : (parent[x] = find(parent[x]!)));
    for (const i of active) parent[find(links[i]!.a)] = find(links[i]!.b);
    const emails = new Map<number, Set<string>>();
    rows.forEach((row, i) => row.email !== null && emails.set(find(i), (emails.get(find(i)) ?? new Set()).add(row.email)));
    const ranks = new Map<number, number[]>();
    for (const i of active) ranks.set(find(links[i]!.a), [...(ranks.get(find(links[i]!.a)) ?? []), links[i]!.rank]);
    const cut = [...active].filter((i) => {
      const component = find(links[i]!.a);
      const held = ranks.get(component)!;
      const weakest = Math.max(...held);
      return (emails.get(component)?.size ?? 0) > CAP && weakest > Math.min(...held) && links[i]!.rank === weakest;
    });
    if (cut.length === 0) {
      const customers = new Map<number, string[]>();
      rows.forEach((row, i) => customers.set(find(i), [...(customers.get(find(i)) ?? []), row.id]));
      return canonical([...customers.values()]);
    }
    for (const i of cut) active.delete(i);
  }
}

const canonical = (groups: string[][]) => groups.map((g) => [...g].sort()).sort((x, y) => (x[0]! < y[0]! ? -1 : 1));

for (const engine of engines()) {
  describe(`the cap on distinct values per customer on ${engine.name}, against a reference`, () => {
    const d = engine.dialect;
    const schema = uniqueSchema('idcap');
    const raw = `${schema}_raw`;
    let connection: Connection;
    beforeAll(async () => {
      connection = await engine.open();
      for (const statement of d.setupStatements()) await connection.execute(statement).catch(() => undefined);
      await connection.execute(d.createSchema(raw));
    });
    afterAll(async () => {
      for (const s of [schema, raw]) await connection.execute(sql`DROP SCHEMA IF EXISTS ${d.id(s)} CASCADE`);
      await connection.close();
    });

    for (const seed of [1, 2, 3]) {
      it(`seed ${seed}: the same customers, and the cap cut in more than one round`, async () => {
        const rows = accounts(seed, 400);
        const table = d.table({ schema: raw, name: `accounts_${seed}` });
        const columns = ['id', ...FIELDS];
        await connection.execute(sql`CREATE TABLE ${table} (${joinSql(columns.map((c) => sql`${d.id(c)} ${d.type('string')}`))})`);
        await connection.execute(
          sql`INSERT INTO ${table} (${joinSql(columns.map((c) => d.id(c)))}) VALUES ${joinSql(rows.map((r) => sql`(${joinSql([r.id, r.email, r.card, r.club].map((v) => d.literal(v)))})`))}`,
        );
        const model = `sources:
  - name: accounts
    table: ${raw}.accounts_${seed}
models:
  - name: people_${seed}
    kind: identity
    identifiers:
      email: { type: email, max_per_customer: ${CAP} }
      card: code
      club: code
    sources:
      - from: accounts
        id: id
        identifiers: { email: email, card: card, club: club }
    rules:
${FIELDS.map((f) => `      - { name: same_${f}, match: [${f}] }`).join('\n')}
`;
        const project = await identityProject(engine, schema, model);
        const result = await build(project, connection, `people_${seed}`);
        const map = await connection.query(sql`SELECT ${d.id('source_id')} AS s, ${d.id('customer_id')} AS c FROM ${d.table({ schema, name: `people_${seed}_map` })}`);
        const customers = new Map<string, string[]>();
        for (const row of map) customers.set(String(row['c']), [...(customers.get(String(row['c'])) ?? []), String(row['s'])]);
        const want = reference(rows);
        expect(canonical([...customers.values()])).toEqual(want);
        // The data exercises the cap: several rounds cut links, and customers end up both merged and split.
        const rounds = (result.summary?.data['rounds'] as Record<string, number> | undefined)?.['caps'] ?? 0;
        expect(rounds).toBeGreaterThanOrEqual(3);
        expect(want.length).toBeLessThan(rows.length * 0.8);
      });
    }
  });
}
