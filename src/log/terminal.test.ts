import { clearLine, cursorTo, moveCursor } from 'node:readline';
import { PassThrough } from 'node:stream';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { rateAndEta } from '../sync/progress.js';
import { createLogger } from './logger.js';
import { createProgress } from './progress.js';
import { asciiGlyphs, terminalOf } from './terminal.js';

const UTF8 = { TERM: 'xterm', LANG: 'en_US.UTF-8' };

describe('terminalOf', () => {
  it('is interactive only on a TTY with a width, not dumb', () => {
    expect(terminalOf({ isTTY: true, columns: 80 }, UTF8)).toEqual({ interactive: true, color: true, unicode: true });
    expect(terminalOf({ isTTY: true, columns: 0 }, UTF8)).toMatchObject({ interactive: false, color: true });
    expect(terminalOf({ isTTY: true }, UTF8).interactive).toBe(false);
    expect(terminalOf({ isTTY: true, columns: 80 }, { ...UTF8, TERM: 'dumb' })).toMatchObject({ interactive: false, color: false });
    expect(terminalOf({ isTTY: false, columns: 80 }, UTF8)).toMatchObject({ interactive: false, color: false });
    expect(terminalOf({ isTTY: true, columns: 80 }, { ...UTF8, NO_COLOR: '1' }).color).toBe(false);
    expect(terminalOf({ isTTY: true, columns: 80 }, { ...UTF8, CI: 'true' })).toMatchObject({ interactive: false, color: true });
  });

  it('reads the character set from LC_ALL, then LC_CTYPE, then LANG', () => {
    expect(terminalOf({}, { LANG: 'C' }).unicode).toBe(false);
    expect(terminalOf({}, {}).unicode).toBe(false);
    expect(terminalOf({}, { LANG: 'de_DE.utf8' }).unicode).toBe(true);
    expect(terminalOf({}, { LC_ALL: 'C', LANG: 'en_US.UTF-8' }).unicode).toBe(false);
    expect(terminalOf({}, { LC_CTYPE: 'en_US.UTF-8', LANG: 'C' }).unicode).toBe(true);
  });

  it('writes Tideline\'s glyphs in ASCII', () => {
    expect(asciiGlyphs('sandbox: brevo → http://x — 3 × 2 ≤ 6…')).toBe('sandbox: brevo -> http://x - 3 x 2 <= 6...');
  });
});

/** A fake terminal of `columns` columns recording what it is sent; `screen()` replays it (one line at a time). */
function fakeTerminal(columns: number) {
  let written = '';
  const stream = Object.assign(new PassThrough(), { isTTY: true, columns, rows: 24 });
  // What a tty.WriteStream adds, as it writes them.
  Object.assign(stream, {
    cursorTo: (x: number) => cursorTo(stream, x),
    moveCursor: (dx: number, dy: number) => moveCursor(stream, dx, dy),
    clearLine: (dir: -1 | 0 | 1) => clearLine(stream, dir),
  });
  stream.on('data', (chunk: Buffer) => (written += chunk.toString()));
  const tty = stream as unknown as NodeJS.WriteStream;
  return {
    tty,
    written: () => written,
    /** The lines as a terminal shows them: carriage returns, column moves and line erasures applied. */
    screen(): string[] {
      const lines: string[] = [''];
      let col = 0;
      for (const token of written.match(/\x1b\[[0-9;?]*[A-Za-z]|[\s\S]/g) ?? []) {
        const row = lines.length - 1;
        const move = /^\x1b\[(\d*)G$/.exec(token);
        if (move) col = Number(move[1] || 1) - 1;
        else if (/^\x1b\[[02]?K$/.test(token)) lines[row] = lines[row]!.slice(0, col);
        else if (token.startsWith('\x1b')) continue;
        else if (token === '\r') col = 0;
        else if (token === '\n') (lines.push(''), (col = 0));
        else {
          lines[row] = lines[row]!.slice(0, col).padEnd(col) + token + lines[row]!.slice(col + 1);
          col++;
        }
      }
      return lines;
    },
  };
}

const tick = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe('createProgress', () => {
  afterEach(() => vi.unstubAllEnvs());

  it('draws nothing on a terminal of 0 columns', async () => {
    const terminal = fakeTerminal(0);
    const progress = createProgress(true, { stream: terminal.tty, env: UTF8, delayMs: 0 });
    progress.update('building customers (1/1)');
    await tick(250);
    progress.stop();
    expect(terminal.written()).toBe('');
  });

  it('puts log lines above the spinner, in ASCII where the locale is not UTF-8', async () => {
    const terminal = fakeTerminal(80);
    vi.stubEnv('LANG', 'C');
    vi.stubEnv('LC_ALL', '');
    vi.stubEnv('LC_CTYPE', '');
    const logger = createLogger({ format: 'pretty', destination: terminal.tty });
    const progress = createProgress(true, { stream: terminal.tty, env: { TERM: 'xterm', LANG: 'C' }, delayMs: 0 });
    progress.update('building customers (1/2)');
    await tick(250);
    logger.info('built customers → 3 rows');
    progress.update('building orders (2/2)');
    await tick(250);
    logger.info('built orders');
    progress.stop();
    const screen = terminal.screen().filter(Boolean);
    expect(screen.map((line) => line.replace(/^\[[\d:]+\] /, ''))).toEqual(['INFO: built customers -> 3 rows', 'INFO: built orders']);
    expect(terminal.written()).toMatch(/[-\\|/] building orders \(2\/2\)/);
    expect([...Buffer.from(terminal.written())].every((byte) => byte < 0x80)).toBe(true);
  });
});

describe('rateAndEta', () => {
  it('shows a rate once records settled for a second, and an ETA only then', () => {
    expect(rateAndEta({ settled: 0, total: 100 }, 5)).toEqual({ rate: '-/s', eta: '' });
    expect(rateAndEta({ settled: 10, total: 100 }, 0.5)).toEqual({ rate: '-/s', eta: '' });
    expect(rateAndEta({ settled: 100, total: 300 }, 2)).toEqual({ rate: '50/s', eta: ' | ETA 4s' });
    expect(rateAndEta({ settled: 10, total: 10_000 }, 1)).toEqual({ rate: '10/s', eta: ' | ETA 16m39s' });
    expect(rateAndEta({ settled: 300, total: 300 }, 2)).toEqual({ rate: '150/s', eta: '' });
  });
});
