import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { interpolateEnv, projectEnv } from './env.js';

const env = (vars: Record<string, string>) => (name: string) => vars[name];

describe('interpolateEnv', () => {
  it('substitutes variables anywhere in a string', () => {
    expect(interpolateEnv('postgres://${env:USER}:${env:PW}@db/x', env({ USER: 'u', PW: 'p' }))).toEqual({ value: 'postgres://u:p@db/x', missing: [], malformed: [] });
  });

  it('uses the default only when the variable is unset, and allows an empty default', () => {
    expect(interpolateEnv('${env:A:-fallback}', env({})).value).toBe('fallback');
    expect(interpolateEnv('${env:A:-fallback}', env({ A: '' })).value).toBe('');
    expect(interpolateEnv('x${env:A:-}y', env({})).value).toBe('xy');
    expect(interpolateEnv('${env:A:-a:-b}', env({})).value).toBe('a:-b');
  });

  it('reports each missing variable and each malformed reference', () => {
    const result = interpolateEnv('${env:ONE}/${env:TWO}/${nope}/${env:1BAD}', env({ TWO: '2' }));
    expect(result.missing).toEqual(['ONE']);
    expect(result.malformed).toEqual(['${nope}', '${env:1BAD}']);
  });

  it('writes a literal ${ for $${', () => {
    expect(interpolateEnv('cost: $${env:X}', env({ X: 'no' })).value).toBe('cost: ${env:X}');
  });
});

describe('projectEnv', () => {
  it('reads .env beside tideline.yml, the process environment winning', () => {
    const root = mkdtempSync(join(tmpdir(), 'tideline-env-'));
    writeFileSync(join(root, '.env'), 'A=from-file\nB="quoted value"\n# comment\n');
    const lookup = projectEnv(root, { A: 'from-process' });
    expect(lookup('A')).toBe('from-process');
    expect(lookup('B')).toBe('quoted value');
    expect(lookup('C')).toBeUndefined();
  });
});
