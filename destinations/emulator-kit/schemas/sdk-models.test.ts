import { describe, expect, it } from 'vitest';
import { sdkModels } from './sdk-models.js';

describe('sdkModels', () => {
  const models = sdkModels('@hubspot/api-client/lib/codegen/crm/contacts/models/all.js');

  it('a map whose values may be null is a map, not a union of two halves of it', () => {
    expect(models.check('{ [key: string]: string | null; }', { a: null, b: 'x' })).toEqual([]);
    expect(models.check('{ [key: string]: string | null; }', { a: 1 }).join()).toMatch(/\$\.a: expected a string/);
    // HubSpot's SimplePublicObject: property values may be null.
    expect(models.check('SimplePublicObject', { id: '1', properties: { email: null }, createdAt: '2026-12-06T00:00:00Z', updatedAt: '2026-12-06T00:00:00Z' })).toEqual([]);
  });
});
