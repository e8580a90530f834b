import type { ApiVersion } from '../../destinations/destination.js';
import type { Problems } from '../project/problems.js';
import type { DestinationDef } from './load.js';

/** From this many days before a version's sunset, `tideline validate` warns. */
export const SUNSET_WARNING_DAYS = 90;

const DAY_MS = 86_400_000;

/** A `YYYY-MM-DD` day as UTC milliseconds; undefined when it is not one. */
export function parseDay(day: string): number | undefined {
  if (!/^\d{4}-\d{2}-\d{2}$/.test(day)) return undefined;
  const ms = Date.parse(`${day}T00:00:00Z`);
  return Number.isNaN(ms) || new Date(ms).toISOString().slice(0, 10) !== day ? undefined : ms;
}

/** Today in UTC, `YYYY-MM-DD`. */
export function utcToday(now: Date = new Date()): string {
  return now.toISOString().slice(0, 10);
}

/** Where a destination stands against its API's sunset on a day. */
export interface VersionStanding {
  readonly version: ApiVersion;
  /** Whole days from `today` to the sunset (0 or less: switched off); undefined when no sunset is announced. */
  readonly daysLeft: number | undefined;
  readonly state: 'supported' | 'near-sunset' | 'expired';
}

export function standing(version: ApiVersion, today: string): VersionStanding {
  const sunset = version.sunset === undefined ? undefined : parseDay(version.sunset);
  const day = parseDay(today);
  if (sunset === undefined || day === undefined) return { version, daysLeft: undefined, state: 'supported' };
  const daysLeft = Math.round((sunset - day) / DAY_MS);
  return { version, daysLeft, state: daysLeft <= 0 ? 'expired' : daysLeft <= SUNSET_WARNING_DAYS ? 'near-sunset' : 'supported' };
}

/**
 * Checks the API version of every destination entry against the vendor's published sunset, as of `today`
 * (`YYYY-MM-DD`, UTC; injectable so that tests and `tideline validate --today` can move the clock): a warning within
 * SUNSET_WARNING_DAYS of it, an error from the sunset day on, located at the entry (at the key holding the version
 * when the entry writes it). Destination types without `apiVersion` (unversioned APIs, files, tables) are skipped.
 */
export function checkApiVersions(destinations: Iterable<DestinationDef>, today: string, problems: Problems): void {
  for (const destination of destinations) {
    const declared = destination.type.apiVersion?.(destination.config);
    if (!declared) continue;
    const { daysLeft, state } = standing(declared, today);
    if (state === 'supported') continue;
    const { file, path } = destination.origin;
    const entry = file.value();
    const item = pathValue(entry, path);
    const key = item && typeof item === 'object' ? Object.entries(item).find(([, v]) => v === declared.version)?.[0] : undefined;
    const at = key === undefined ? path : [...path, key];
    const what = `${destination.type.type} API version ${declared.version}`;
    const source = `(sunset as published: ${declared.source})`;
    if (state === 'expired') {
      problems.error('api-version-expired', `${what} was switched off on ${declared.sunset}: requests to it fail. Choose a supported version (destinations/README.md lists them) ${source}`, file.locate(at), at);
    } else {
      problems.warning('api-version-sunset', `${what} is switched off on ${declared.sunset}, in ${daysLeft} day${daysLeft === 1 ? '' : 's'}: move to a newer version before then ${source}`, file.locate(at), at);
    }
  }
}

function pathValue(value: unknown, path: readonly (string | number)[]): unknown {
  let node = value;
  for (const key of path) {
    if (node === null || typeof node !== 'object') return undefined;
    node = (node as Record<string | number, unknown>)[key];
  }
  return node;
}
