import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { describe, expect, it } from 'vitest';
import type { Exchange } from '../server.js';
import { openApiSchema, OpenApiValidator, type OpenApiDocument } from './openapi.js';

/** A small document using what vendors' documents use: a base path, $ref, nullable, allOf, free-form maps, default answers. */
const DOCUMENT = {
  servers: [{ url: 'https://api.example.com/3.0' }],
  components: {
    schemas: {
      Member: { type: 'object', properties: { email: { type: 'string' }, note: { type: 'string', nullable: true, example: 'x', 'x-title': 'Note' }, fields: { type: 'object', additionalProperties: true, properties: { A: { type: 'string' } } }, extra: { type: 'object' } }, required: ['email'] },
    },
  },
  paths: {
    '/lists/{list_id}/members/{hash}': {
      put: {
        requestBody: { content: { 'application/json': { schema: { $ref: '#/components/schemas/Member' } } } },
        responses: {
          '200': { content: { 'application/json': { schema: { allOf: [{ $ref: '#/components/schemas/Member' }, { type: 'object', properties: { id: { type: 'string' } } }] } } } },
          default: { content: { 'application/problem+json': { schema: { type: 'object', properties: { title: { type: 'string' } } } } } },
        },
      },
    },
    '/lists/{list_id}/members/count': { get: { responses: { '200': { content: { 'application/json': { schema: { type: 'object', properties: { n: { type: 'integer' } } } } } } } } },
  },
} as unknown as OpenApiDocument;

const exchange = (over: Partial<Exchange>): Exchange => ({ method: 'PUT', path: '/3.0/lists/l1/members/abc', query: new URLSearchParams(), headers: {}, request: undefined, status: 200, response: undefined, ...over });

describe('OpenAPI exchange validator', () => {
  const validator = new OpenApiValidator(DOCUMENT);

  it('finds operations by method and path template, the base path stripped, literal segments first', () => {
    expect(validator.operation('PUT', '/3.0/lists/l1/members/abc')?.template).toBe('/lists/{list_id}/members/{hash}');
    expect(validator.operation('GET', '/3.0/lists/l1/members/count')?.template).toBe('/lists/{list_id}/members/count');
    expect(validator.check(exchange({ method: 'DELETE' }))).toEqual(["DELETE /3.0/lists/l1/members/abc: the vendor's document has no such operation"]);
  });

  it('closes objects that list properties, keeps free-form maps and additionalProperties open, resolves $ref and nullable, ignores example and x-*', () => {
    expect(validator.check(exchange({ request: { email: 'a', note: null, fields: { A: 'x', ANY: 1 }, extra: { anything: true } } }))).toEqual([]);
    expect(validator.check(exchange({ request: { email: 'a', emial: 'b' } }))).toEqual(['request: /: unknown property "emial"']);
    expect(validator.check(exchange({ request: { note: 3 } }))).toEqual(['request: /: missing required property "email"', 'request: /note: must be string,null']);
  });

  it('merges allOf branches before closing, and answers by status, then default; problem+json text is parsed', () => {
    expect(validator.check(exchange({ response: { email: 'a', id: '1' } }))).toEqual([]);
    expect(validator.check(exchange({ response: { email: 'a', id: '1', idd: 2 } }))).toEqual(['response 200: /: unknown property "idd"']);
    expect(validator.check(exchange({ status: 404, response: JSON.stringify({ title: 'Not Found' }) }))).toEqual([]);
    expect(validator.check(exchange({ status: 404, response: JSON.stringify({ title: 'Not Found', tideline: 1 }) }))).toEqual(['response 404: /: unknown property "tideline"']);
  });

  it('an absent document is unavailable, naming the script that fetches it', () => {
    const schema = openApiSchema({ file: pathToFileURL(join(mkdtempSync(join(tmpdir(), 'tideline-openapi-')), 'missing.json')), source: 'test' });
    expect(schema.unavailable?.()).toMatch(/missing\.json is absent: run `npm run vendor-specs`/);
  });
});
