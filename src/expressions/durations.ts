import { z } from 'zod';
import type { DateUnit } from '../dialects/dialect.js';

/** A span of calendar time written in YAML: `30 days`, `12 months`, `1 week`, `2 years`. */
export interface Duration {
  readonly amount: number;
  readonly unit: Exclude<DateUnit, 'quarter'>;
}

const UNITS: Record<string, Duration['unit']> = { day: 'day', days: 'day', week: 'week', weeks: 'week', month: 'month', months: 'month', year: 'year', years: 'year' };

export function parseDuration(text: string): Duration | undefined {
  const match = /^\s*(\d+)\s*([a-z]+)\s*$/i.exec(text);
  const unit = match ? UNITS[match[2]!.toLowerCase()] : undefined;
  return match && unit ? { amount: Number(match[1]), unit } : undefined;
}

export const durationSchema = z
  .string()
  .transform((text, ctx) => {
    const duration = parseDuration(text);
    if (!duration) ctx.addIssue({ code: 'custom', message: `expected a duration such as "30 days", "6 weeks", "12 months" or "1 year", got "${text}"` });
    return duration ?? { amount: 0, unit: 'day' as const };
  });

/** `20%`, `20 %` or the number 20: a share in percent, 0–100. */
export const percentSchema = z.union([z.number(), z.string()]).transform((value, ctx) => {
  const n = typeof value === 'number' ? value : Number(/^\s*(\d+(?:\.\d+)?)\s*%\s*$/.exec(value)?.[1] ?? Number.NaN);
  if (!Number.isFinite(n) || n < 0 || n > 100) ctx.addIssue({ code: 'custom', message: `expected a percentage between 0 and 100 such as "10%", got ${JSON.stringify(value)}` });
  return n;
});
