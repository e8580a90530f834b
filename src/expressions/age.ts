import { z } from 'zod';
import { parseDuration, type Duration } from './durations.js';

/**
 * How old data may be: a duration as `durations.ts` reads it (`2 days`, `1 week`, `3 months`), or in hours and
 * minutes (`6 hours`, `30 minutes`), which calendar conditions never need but a source loaded every hour does.
 */
export interface Age {
  readonly amount: number;
  readonly unit: 'minute' | 'hour' | Duration['unit'];
  /** As written, for messages. */
  readonly text: string;
}

const SHORT: Record<string, 'minute' | 'hour'> = { minute: 'minute', minutes: 'minute', min: 'minute', mins: 'minute', hour: 'hour', hours: 'hour', h: 'hour' };

export function parseAge(text: string): Age | undefined {
  const match = /^\s*(\d+)\s*([a-z]+)\s*$/i.exec(text);
  const short = match ? SHORT[match[2]!.toLowerCase()] : undefined;
  if (match && short) return { amount: Number(match[1]), unit: short, text: text.trim() };
  const long = parseDuration(text);
  return long ? { ...long, text: text.trim() } : undefined;
}

export const ageSchema = z.string().transform((text, ctx) => {
  const age = parseAge(text);
  if (!age || age.amount === 0) ctx.addIssue({ code: 'custom', message: `expected a positive duration such as "30 minutes", "6 hours", "2 days" or "1 week", got "${text}"` });
  return age ?? { amount: 0, unit: 'day' as const, text };
});

/** The instant `age` before `now`, in calendar terms for months and years (UTC). */
export function ageBefore(now: Date, age: Age): Date {
  const at = new Date(now.getTime());
  switch (age.unit) {
    case 'minute':
      at.setUTCMinutes(at.getUTCMinutes() - age.amount);
      break;
    case 'hour':
      at.setUTCHours(at.getUTCHours() - age.amount);
      break;
    case 'day':
      at.setUTCDate(at.getUTCDate() - age.amount);
      break;
    case 'week':
      at.setUTCDate(at.getUTCDate() - 7 * age.amount);
      break;
    case 'month':
      return monthsBefore(at, age.amount);
    case 'year':
      return monthsBefore(at, 12 * age.amount);
  }
  return at;
}

/** `months` calendar months before `at`, the day kept where the month has it and clamped to its last day otherwise (as SQL does). */
function monthsBefore(at: Date, months: number): Date {
  const target = new Date(at.getTime());
  target.setUTCDate(1);
  target.setUTCMonth(target.getUTCMonth() - months);
  const last = new Date(Date.UTC(target.getUTCFullYear(), target.getUTCMonth() + 1, 0)).getUTCDate();
  target.setUTCDate(Math.min(at.getUTCDate(), last));
  return target;
}

/** An elapsed time in words, in the largest unit that reads well: `45 minutes`, `30 hours`, `6 days`. */
export function describeElapsed(ms: number): string {
  const minutes = Math.floor(ms / 60_000);
  const plural = (n: number, unit: string) => `${n} ${unit}${n === 1 ? '' : 's'}`;
  if (minutes < 120) return plural(Math.max(0, minutes), 'minute');
  const hours = Math.floor(minutes / 60);
  if (hours < 48) return plural(hours, 'hour');
  return plural(Math.floor(hours / 24), 'day');
}
