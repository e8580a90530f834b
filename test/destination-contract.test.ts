import { describe, expect, it } from 'vitest';
import { DESTINATIONS } from '../destinations/index.js';
import { CONTRACT_CASES } from '../destinations/emulator-kit/contract.js';
import { describeContractShare, registeredKits } from './support/destination-contract.js';

/**
 * The shared contract suite (test/support/destination-contract.ts): every registered destination, through the real
 * sync engine, against its emulator — split over this file and destination-contract-{1,2,3}.test.ts, each running
 * every fourth destination, so that the runner's workers share them. A destination finds its way here by its registry line and its
 * destinations/<type>/contract.ts; a case that cannot
 * apply is skipped with the reason its kit gives. A kit with a `shape` (ads audiences: identifiers only, hashed) runs
 * the cases with generated contacts in that shape, and is checked against what its shape says it should hold.
 */
const kits = await registeredKits();

describe('every registered destination has a contract kit', () => {
  for (const type of DESTINATIONS) {
    it(type.type, () => {
      expect(kits.has(type.type), `destinations/${type.type}/contract.ts must export \`kit\``).toBe(true);
      for (const name of Object.keys(kits.get(type.type)!.notApplicable)) expect(CONTRACT_CASES).toContain(name);
      // An events destination says what it accepts of an event's age and how it de-duplicates, and runs the events cases.
      const events = type.modes.includes('events');
      expect(type.events !== undefined, `${type.type}: modes include events, so the type declares \`events\``).toBe(events);
      expect(kits.get(type.type)!.events !== undefined, `${type.type}: modes include events, so its kit has an \`events\` shape`).toBe(events);
    });
  }
});

// Every fourth destination's suite from the first; test/destination-contract-{1,2,3}.test.ts run the others.
await describeContractShare(0);
