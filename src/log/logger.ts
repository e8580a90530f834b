import { pino, type Logger } from 'pino';
import type PinoPretty from 'pino-pretty';
import { lazyPackage } from '../lazy-package.js';
import { redactor } from './redact.js';
import { aroundLive, asciiGlyphs, terminalOf } from './terminal.js';

export type LogFormat = 'pretty' | 'json';
export type LogLevel = 'trace' | 'debug' | 'info' | 'warn' | 'error' | 'silent';
export type { Logger };

/** The pretty format's formatter, loaded when a pretty logger is made (JSON logs, as CI and schedulers get, never need it). */
const pretty = lazyPackage<typeof PinoPretty>('pino-pretty');

export interface LoggerOptions {
  format?: LogFormat | undefined;
  level?: LogLevel | undefined;
  /** Where lines go; stderr by default so that stdout carries only command output (SQL, tables, JSON). */
  destination?: NodeJS.WritableStream | undefined;
}

/** Pretty on a terminal, JSON lines otherwise, unless the caller says which. */
export function defaultLogFormat(stream: { isTTY?: boolean } = process.stderr): LogFormat {
  return stream.isTTY ? 'pretty' : 'json';
}

/**
 * The Tideline logger. Every line passes through the secret redactor after serialisation, so a secret cannot leak
 * through a field name nobody thought of, an error stack or a driver message.
 */
export function createLogger(options: LoggerOptions = {}): Logger {
  const format = options.format ?? defaultLogFormat();
  const destination = options.destination ?? process.stderr;
  const terminal = terminalOf(destination as { isTTY?: boolean; columns?: number });
  // Pretty lines are written above a spinner or progress bars drawing on the same terminal, never glued to them.
  const stream =
    format === 'pretty'
      ? pretty()({ destination: aroundLive(destination), colorize: terminal.color, sync: true, hideObject: true, ignore: 'pid,hostname', translateTime: 'SYS:HH:MM:ss' })
      : destination;
  return pino(
    {
      level: options.level ?? 'info',
      base: undefined,
      timestamp: pino.stdTimeFunctions.isoTime,
      // Pretty lines are for a person at a terminal: where its locale is not UTF-8, Tideline's arrows and dashes are
      // written in ASCII rather than as bytes it shows as garbage.
      hooks: { streamWrite: format === 'pretty' && !terminal.unicode ? (line: string) => asciiGlyphs(redactor.scrub(line)) : (line: string) => redactor.scrub(line) },
      // JSON lines say `"level":"error"`, which is what a CI log reader greps for; pretty output keeps pino's numbers.
      ...(format === 'json' ? { formatters: { level: (label: string) => ({ level: label }) } } : {}),
    },
    stream,
  );
}
