import { describe, expect, it } from 'vitest';
import { maskRecord, maskValue } from './mask.js';

describe('masking sample values', () => {
  it('hides personal text but keeps its shape', () => {
    expect(maskValue('alice@example.com')).toBe('a****@e******.com');
    expect(maskValue('Chloé Martin')).toBe('C********');
    expect(maskValue('+33612345678')).toBe('+********');
    expect(maskValue('')).toBe('');
  });

  it('shows numbers, booleans, nulls and the start of digests', () => {
    expect(maskRecord({ orders: 3, vip: true, phone: null, email_sha256: 'ff8d9819fc0e12bf0d24892e45987e249a28dce836a85cad60e28eaaa8c6d976' })).toEqual({
      orders: 3,
      vip: true,
      phone: null,
      email_sha256: 'ff8d9819…',
    });
  });

  it('never lets a full value through', () => {
    for (const value of ['bob@example.org', '2024-03-01', '12 rue de la Paix', 'x']) {
      const masked = String(maskValue(value));
      if (value.length > 1) expect(masked).not.toBe(value);
      expect(masked.length).toBeLessThanOrEqual(value.length);
    }
  });
});
