import type { FieldPath } from '../../src/project/problems.js';
import { didYouMean } from '../../src/project/suggest.js';
import { CHANNELS, KPIS, thresholdKey, type Better, type Thresholds, type Unit } from './kpis.js';
import type { ReportSpec, ThresholdValue } from './schema.js';

export type Report = (at: FieldPath, message: string, code?: string) => void;

/** Rates are written as percentages (`"0.2%"`) so that 0.2 can never be mistaken for 20 %; counts and seconds as numbers. */
export function parseThreshold(value: ThresholdValue, unit: Unit): { value: number } | { error: string } {
  if (unit === 'rate') {
    const match = typeof value === 'string' ? /^\s*(\d+(?:\.\d+)?)\s*%\s*$/.exec(value) : null;
    if (!match) return { error: `write a rate as a percentage such as "0.2%", not ${JSON.stringify(value)}` };
    const percent = Number(match[1]);
    if (percent > 100) return { error: `a rate cannot exceed 100 %, got ${JSON.stringify(value)}` };
    return { value: percent / 100 };
  }
  if (typeof value !== 'number' || value < 0) return { error: `expected a number (${unit === 'seconds' ? 'seconds' : 'a count'}), got ${JSON.stringify(value)}` };
  return { value };
}

function formatValue(value: number, unit: Unit): string {
  return unit === 'rate' ? `${+(value * 100).toPrecision(6)} %` : String(value);
}

/**
 * Resolves good/bad bounds: parses each, checks it lies on the right side of the other for the KPI's direction, and
 * reports problems at the value. Returns undefined bounds for what could not be read.
 */
export function resolveBounds(
  good: ThresholdValue | undefined,
  bad: ThresholdValue | undefined,
  unit: Unit,
  better: Better,
  label: string,
  at: FieldPath,
  report: Report,
): { good: number | undefined; bad: number | undefined } {
  const read = (raw: ThresholdValue | undefined, field: 'good' | 'bad') => {
    if (raw === undefined) return undefined;
    const parsed = parseThreshold(raw, unit);
    if ('error' in parsed) {
      report([...at, field], parsed.error, 'bad-threshold');
      return undefined;
    }
    return parsed.value;
  };
  const g = read(good, 'good');
  const b = read(bad, 'bad');
  if (g !== undefined && b !== undefined && (better === 'higher' ? g < b : g > b)) {
    report(
      [...at, 'good'],
      `thresholds out of order: ${label} is better ${better}, so good (${formatValue(g, unit)}) must be ${better === 'higher' ? 'at or above' : 'at or below'} bad (${formatValue(b, unit)})`,
      'bad-threshold',
    );
  }
  return { good: g, bad: b };
}

/**
 * The thresholds of every channel KPI: the defaults, then the YAML's overrides (`null` removes a default). Problems
 * (unknown channel or KPI, unreadable or out-of-order values) are reported when `report` is given.
 */
export function channelThresholds(spec: ReportSpec, report: Report = () => undefined): Thresholds {
  const map = new Map<string, { good: number | undefined; bad: number | undefined }>();
  for (const k of KPIS) if (k.defaults) map.set(thresholdKey(k.channel, k.name), { good: k.defaults.good, bad: k.defaults.bad });
  for (const [channel, kpis] of Object.entries(spec.thresholds)) {
    if (!(CHANNELS as readonly string[]).includes(channel)) {
      report(['thresholds', channel], `unknown channel "${channel}"${didYouMean(channel, CHANNELS)}; channels: ${CHANNELS.join(', ')}`, 'unknown-channel');
      continue;
    }
    if (!spec.messages?.[channel as keyof NonNullable<ReportSpec['messages']>]) {
      report(['thresholds', channel], `thresholds for ${channel}, but no ${channel} events are configured under messages.${channel}`, 'unknown-channel');
    }
    const names = KPIS.filter((k) => k.channel === channel).map((k) => k.name);
    for (const [name, bounds] of Object.entries(kpis)) {
      const def = KPIS.find((k) => k.channel === channel && k.name === name);
      if (!def) {
        report(['thresholds', channel, name], `unknown ${channel} KPI "${name}"${didYouMean(name, names)}; ${channel} KPIs: ${names.join(', ')}`, 'unknown-kpi');
        continue;
      }
      const key = thresholdKey(channel, name);
      if (bounds === null) {
        map.delete(key);
        continue;
      }
      if (bounds.good === undefined && bounds.bad === undefined) report(['thresholds', channel, name], 'give `good`, `bad` or both (or null for no flag)', 'bad-threshold');
      map.set(key, resolveBounds(bounds.good, bounds.bad, def.unit, def.better, `${channel} ${def.label}`, ['thresholds', channel, name], report));
    }
  }
  return map;
}

/** Each data-quality share's bounds (a share, better higher), by KPI name. */
export function qualityThresholds(spec: ReportSpec, report: Report = () => undefined): Map<string, { good: number | undefined; bad: number | undefined }> {
  const map = new Map<string, { good: number | undefined; bad: number | undefined }>();
  for (const [name, share] of Object.entries(spec.quality?.shares ?? {})) {
    map.set(name, resolveBounds(share.good, share.bad, 'rate', 'higher', `quality share ${name}`, ['quality', 'shares', name], report));
  }
  return map;
}

/** Each program's bounds (its KPI is a share, better higher). */
export function programThresholds(spec: ReportSpec, report: Report = () => undefined): Map<string, { good: number | undefined; bad: number | undefined }> {
  const map = new Map<string, { good: number | undefined; bad: number | undefined }>();
  spec.programs.forEach((p, i) => map.set(p.name, resolveBounds(p.kpi.good, p.kpi.bad, 'rate', 'higher', `program ${p.name}'s KPI`, ['programs', i, 'kpi'], report)));
  return map;
}
