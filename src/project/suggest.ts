import { closest, distance } from 'fastest-levenshtein';

/** ` (did you mean "x"?)` when a known name is close enough to the unknown one, else an empty string. */
export function didYouMean(unknown: string, known: Iterable<string>): string {
  const candidates = [...known];
  if (candidates.length === 0) return '';
  const best = closest(unknown, candidates);
  const limit = Math.max(2, Math.floor(Math.max(unknown.length, best.length) / 3));
  const d = distance(unknown.toLowerCase(), best.toLowerCase());
  return d <= limit ? ` (did you mean "${best}"?)` : '';
}
