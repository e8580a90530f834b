import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { DESTINATIONS, destinationType } from '../destinations/index.js';
import { expectCompleteDestination, foldersWith } from './support/registries.js';

/** The destination registry must not lose entries silently, and each of its entries must be complete. */
describe('destination registry', () => {
  for (const destination of DESTINATIONS) {
    it(`${destination.type} is complete and found by its type`, () => {
      expectCompleteDestination(destination);
      expect(destinationType(destination.type)).toBe(destination);
    });
  }

  it('registers every destination folder (destinations/<type>/adapter.ts), each type once', () => {
    const types = DESTINATIONS.map((d) => d.type);
    expect(new Set(types).size).toBe(types.length);
    // The folder is the type's name, with `-` for `_` (google_ads → destinations/google-ads/).
    expect(types.map((t) => t.replaceAll('_', '-')).sort()).toEqual(foldersWith(join(import.meta.dirname, '../destinations'), 'adapter.ts'));
  });

  it('has a row for every type in the table of destinations/README.md', () => {
    const readme = readFileSync(join(import.meta.dirname, '../destinations/README.md'), 'utf8');
    const rows = readme.split('\n').flatMap((line) => /^\| `([a-z_]+)` \|/.exec(line)?.[1] ?? []);
    expect(rows.sort()).toEqual(DESTINATIONS.map((d) => d.type).sort());
  });
});
