import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { defineDestination, SYNC_MODES, type DestinationType } from '../destinations/destination.js';
import { defineModelKind, type ModelKind } from '../models/model-kind.js';

/**
 * A model kind's Spec and a destination's Config are the output types of their schemas: a definition whose schema
 * and code disagree does not type-check. The `@ts-expect-error` lines are the test, checked by `tsc --noEmit` (the
 * first half of `npm test`): each fails the type-check the day its line stops being an error.
 */

/** Everything a kind needs besides its schema, reading `spec.from`. */
function kindReading<Spec extends { readonly from: string }>(): Omit<ModelKind<Spec>, 'schema'> {
  return {
    kind: 'throwaway',
    summary: 'A kind defined by a test',
    inputs: (spec) => [{ relation: spec.from, at: ['from'], columns: [] }],
    analyse: () => undefined,
    plan: () => ({ steps: [] }),
  };
}

/** Everything a destination type needs besides its config schema, reading `config.url`. */
function destinationReading<Config extends { readonly url: string }>(): Omit<DestinationType<Config>, 'configSchema'> {
  return {
    type: 'throwaway',
    summary: 'A destination defined by a test',
    modes: SYNC_MODES,
    secrets: () => [],
    limits: () => ({ maxBatchRecords: 1, maxBatchBytes: 1024, requestsPerSecond: null, concurrency: 1, timeoutMs: 1000 }),
    lockScope: (config, object) => `throwaway:${config.url}#${object}`,
    erasure: () => ({ manual: 'not erased by this test: nothing is ever sent to it' }),
    open: () => Promise.reject(new Error('not opened by this test')),
    emulator: { start: () => Promise.reject(new Error('not started by this test')), sandboxConfig: (config) => config },
  };
}

describe('schemas type what they produce', () => {
  it('a model kind: its Spec is what its schema produces', () => {
    const kind = defineModelKind({ ...kindReading<{ from: string }>(), schema: z.strictObject({ from: z.string() }) });
    const spec = kind.parse({ from: 'orders' }, (schema, data) => schema.parse(data));
    expect(kind.inputs(spec)).toEqual([{ relation: 'orders', at: ['from'], columns: [] }]);

    defineModelKind<{ from: string }>({
      ...kindReading(),
      // @ts-expect-error the schema produces a number where the kind reads a string
      schema: z.strictObject({ from: z.number() }),
    });
    defineModelKind<{ from: string; to: string }>({
      ...kindReading(),
      // @ts-expect-error the kind reads `to`, which the schema does not produce
      schema: z.strictObject({ from: z.string() }),
    });
    defineModelKind({
      kind: 'throwaway',
      summary: 'A kind defined by a test',
      schema: z.strictObject({ from: z.string() }),
      // @ts-expect-error Spec is inferred from the schema, and this method reads another type
      inputs: (spec: { from: number }) => [{ relation: String(spec.from), at: ['from'], columns: [] }],
      analyse: () => undefined,
      plan: () => ({ steps: [] }),
    });
  });

  it('a destination type: its Config is what its config schema produces', () => {
    const type = defineDestination({ ...destinationReading<{ url: string }>(), configSchema: z.strictObject({ url: z.string() }) });
    expect(type.lockScope(type.configSchema.parse({ url: 'https://example.test/hook' }), 'contacts')).toBe('throwaway:https://example.test/hook#contacts');

    defineDestination<{ url: string }>({
      ...destinationReading(),
      // @ts-expect-error the schema produces a number where the type reads a string
      configSchema: z.strictObject({ url: z.number() }),
    });
    defineDestination<{ url: string; token: string }>({
      ...destinationReading(),
      // @ts-expect-error the type reads `token`, which the schema does not produce
      configSchema: z.strictObject({ url: z.string() }),
    });
  });
});
