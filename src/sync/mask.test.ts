import { describe, expect, it } from 'vitest';
import { maskIfPersonal, maskRecord, maskValue, personalName } from './mask.js';

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

  it('knows personal columns by name', () => {
    for (const name of ['email', 'EMAIL', 'email_sha256', 'phone', 'SMS', 'mobile_number', 'FIRSTNAME', 'first_name', 'lastName', 'name', 'street', 'postcode', 'birthdate', 'ip_address', 'customer_id', 'contactKey', 'external_id', 'id', 'em', 'ph']) {
      expect(personalName(name), name).toBe(true);
    }
    for (const name of ['segment', 'SEGMENT', 'segment_name', 'audience_group', 'channel', 'list_name', 'campaign_name', 'orders', 'tier', 'status', 'source', 'last_order_date', 'order_id', 'event_name', 'rfm_segment', 'lifecycle_stage']) {
      expect(personalName(name), name).toBe(false);
    }
  });

  it('fails safe: a name that does not say what it holds is masked, as are names, plurals and lists of personal data', () => {
    for (const name of ['contact', 'recipient', 'handle', 'login', 'customer_name', 'contact_name', 'userid', 'CUSTOMERID', 'customer_ids', 'member_ids', 'emails', 'phones', 'addresses', 'identifiers', 'date_of_birth', 'addr1', 'msisdn', 'nom', 'prenom', 'instagram', 'notes', 'profile']) {
      expect(personalName(name), name).toBe(true);
    }
    expect(maskRecord({ contact: 'Alice Martin', notes: 'call Alice on 06 12 34 56 78', emails: ['alice@x.org', 'al@y.org'], profile: { email: 'alice@x.org', tier: 'gold' } })).toEqual({
      contact: 'A********',
      notes: 'c********',
      emails: ['a****@x.org', 'a*@y.org'],
      profile: { email: 'a****@x.org', tier: 'g***' },
    });
    // Within a non-personal column, an object's keys decide.
    expect(maskIfPersonal({ email: 'alice@x.org', tier: 'gold' }, false)).toEqual({ email: 'a****@x.org', tier: 'gold' });
  });

  it('masks personal data only: by column, or by a value that looks like an e-mail, a phone or a digest', () => {
    expect(maskRecord({ customer_id: 'c03', first_name: 'Cat', segment: 'Champions', channel: 'email', orders: 4, last_order: '2026-11-30' })).toEqual({
      customer_id: 'c**',
      first_name: 'C**',
      segment: 'Champions',
      channel: 'email',
      orders: 4,
      last_order: '2026-11-30',
    });
    expect(maskIfPersonal('cat@x.org', false)).toBe('c**@x.org');
    expect(maskIfPersonal('+33 6 12 34 56 78', false)).toBe('+********');
    expect(maskIfPersonal('ff8d9819fc0e12bf0d24892e45987e249a28dce836a85cad60e28eaaa8c6d976', false)).toBe('ff8d9819…');
    expect(maskIfPersonal('Newsletter subscribers', true)).toBe('N********');
    expect(maskIfPersonal('Newsletter subscribers', false)).toBe('Newsletter subscribers');
  });
});
