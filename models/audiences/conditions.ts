import type { FieldPath } from '../../src/project/problems.js';
import type { AudienceSpec, AudiencesSpec, Condition, EventCondition, FieldCondition, PercentileCondition } from './schema.js';

/**
 * Reading an audience's conditions: the leaves of its `where`, the audiences it refers to and the order that follows
 * from them. Analysis, the kind's inputs and the membership SQL all walk the tree the same way.
 */

export type Leaf =
  | { readonly kind: 'field'; readonly c: FieldCondition; readonly at: FieldPath }
  | { readonly kind: 'percentile'; readonly c: PercentileCondition; readonly at: FieldPath }
  | { readonly kind: 'event'; readonly c: EventCondition; readonly at: FieldPath }
  | { readonly kind: 'audience'; readonly name: string; readonly at: FieldPath };

export function whereOf(audience: AudienceSpec): Condition | undefined {
  const where = audience.where;
  if (where === undefined) return undefined;
  return Array.isArray(where) ? { all: where } : (where as Condition);
}

/** Every leaf of an audience's condition, with its YAML path relative to the audience. */
function leaves(condition: Condition | undefined, at: FieldPath, out: Leaf[] = []): Leaf[] {
  if (condition === undefined) return out;
  if ('all' in condition) condition.all.forEach((c, i) => leaves(c, [...at, 'all', i], out));
  else if ('any' in condition) condition.any.forEach((c, i) => leaves(c, [...at, 'any', i], out));
  else if ('not' in condition) leaves(condition.not, [...at, 'not'], out);
  else if ('field' in condition) out.push({ kind: 'field', c: condition, at });
  else if ('event' in condition) out.push({ kind: 'event', c: condition, at });
  else if ('in_audience' in condition) out.push({ kind: 'audience', name: condition.in_audience, at });
  else out.push({ kind: 'percentile', c: condition, at });
  return out;
}

/** Every leaf of an audience's `where` (a list there means all of them), addressed from the audience. */
export function leavesOf(audience: AudienceSpec): Leaf[] {
  const where = audience.where;
  if (where === undefined) return [];
  if (Array.isArray(where)) return where.flatMap((c, i) => leaves(c as Condition, ['where', i]));
  return leaves(where as Condition, ['where']);
}

/** Audiences each audience refers to (include, exclude, in_audience), for ordering and cycle checks. */
export function references(audience: AudienceSpec): { name: string; at: FieldPath }[] {
  return [
    ...(audience.include ?? []).map((name, i) => ({ name, at: ['include', i] as FieldPath })),
    ...(audience.exclude ?? []).map((name, i) => ({ name, at: ['exclude', i] as FieldPath })),
    ...leavesOf(audience)
      .filter((l): l is Extract<Leaf, { kind: 'audience' }> => l.kind === 'audience')
      .map((l) => ({ name: l.name, at: [...l.at, 'in_audience'] })),
  ];
}

/** Audiences in an order where each comes after those it refers to; cycles reported through `onCycle`. */
export function audienceOrder(spec: AudiencesSpec, onCycle?: (index: number, at: FieldPath, cycle: string[]) => void): number[] {
  const index = new Map(spec.audiences.map((a, i) => [a.name, i]));
  const state = new Map<number, 'visiting' | 'done'>();
  const order: number[] = [];
  const visit = (i: number, stack: number[]): void => {
    if (state.get(i) === 'done') return;
    if (state.get(i) === 'visiting') return;
    state.set(i, 'visiting');
    for (const ref of references(spec.audiences[i]!)) {
      const j = index.get(ref.name);
      if (j === undefined) continue;
      if (state.get(j) === 'visiting') {
        const cycle = [...stack.slice(stack.indexOf(j)), i, j].map((k) => spec.audiences[k]!.name);
        onCycle?.(i, ref.at, cycle);
        continue;
      }
      visit(j, [...stack, i]);
    }
    state.set(i, 'done');
    order.push(i);
  };
  spec.audiences.forEach((_, i) => visit(i, []));
  return order;
}
