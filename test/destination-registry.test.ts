import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { DESTINATIONS, destinationType } from '../destinations/index.js';
import { SYNC_MODES } from '../destinations/destination.js';

/** The destination registry must not lose entries silently, and each entry must be complete. */
describe('destination registry', () => {
  it('has the generic destinations, each complete and named once', () => {
    const types = DESTINATIONS.map((d) => d.type);
    expect(new Set(types).size).toBe(types.length);
    for (const expected of ['webhook', 'file', 'table']) expect(types).toContain(expected);
    // 13 types: the generic three, six CRM and marketing APIs, and the ads audiences (google_ads, meta, linkedin, tiktok).
    expect(DESTINATIONS.length).toBeGreaterThanOrEqual(13);
    for (const expected of ['google_ads', 'meta', 'linkedin', 'tiktok']) expect(types).toContain(expected);
    for (const d of DESTINATIONS) {
      expect(destinationType(d.type)).toBe(d);
      expect(d.summary.length, d.type).toBeGreaterThan(10);
      expect(d.modes.length, d.type).toBeGreaterThan(0);
      for (const mode of d.modes) expect(SYNC_MODES).toContain(mode);
      expect(typeof d.emulator.start, d.type).toBe('function');
      expect(typeof d.emulator.sandboxConfig, d.type).toBe('function');
    }
  });

  it('registers every destination folder (destinations/<type>/adapter.ts), so that none drops out of the contract suite unnoticed', () => {
    const root = join(import.meta.dirname, '../destinations');
    const folders = readdirSync(root, { withFileTypes: true }).filter((e) => e.isDirectory() && existsSync(join(root, e.name, 'adapter.ts')));
    expect(folders.length).toBeGreaterThan(0);
    // The folder is the type's name, with `-` for `_` (google_ads → destinations/google-ads/).
    expect(DESTINATIONS.map((d) => d.type.replaceAll('_', '-')).sort()).toEqual(folders.map((f) => f.name).sort());
  });
});
