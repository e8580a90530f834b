/**
 * What the terminal behind a stream can show, decided once from the stream and the environment, so that progress
 * displays never hang, flood or garble a terminal that cannot take them.
 */
export interface Terminal {
  /**
   * Redrawing a line in place (spinners, bars): a TTY that is not `TERM=dumb`, reports a width, and is not a CI job
   * (`CI` set, as CI services and the is-interactive convention have it: nobody watches it live, logs say it all). A
   * terminal that reports 0 columns (`script`, some CI wrappers) is not: line counts divided by its width never end.
   */
  readonly interactive: boolean;
  /** Colours: a TTY that is not `TERM=dumb`, and `NO_COLOR` unset. */
  readonly color: boolean;
  /** The locale's character set is UTF-8 (LC_ALL, else LC_CTYPE, else LANG): glyphs beyond ASCII show as such. */
  readonly unicode: boolean;
}

interface TerminalStream {
  readonly isTTY?: boolean;
  readonly columns?: number;
}

export function terminalOf(stream: TerminalStream = process.stderr, env: NodeJS.ProcessEnv = process.env): Terminal {
  const tty = stream.isTTY === true && env['TERM'] !== 'dumb';
  return {
    interactive: tty && typeof stream.columns === 'number' && stream.columns > 0 && !env['CI'],
    color: tty && !env['NO_COLOR'],
    unicode: localeIsUtf8(env),
  };
}

function localeIsUtf8(env: NodeJS.ProcessEnv): boolean {
  if (process.platform === 'win32') return true;
  const locale = env['LC_ALL'] || env['LC_CTYPE'] || env['LANG'] || '';
  return /utf-?8/i.test(locale);
}

/**
 * A display drawn in place at the bottom of a terminal (a spinner, sync bars). While one is live, log lines bound for
 * its stream go through `write`, which puts them above the display instead of gluing them to its line.
 */
export interface LiveDisplay {
  readonly stream: NodeJS.WritableStream;
  write(text: string): void;
}

let live: LiveDisplay | undefined;

/** Makes `display` the live one until the returned function is called. */
export function showLive(display: LiveDisplay): () => void {
  live = display;
  return () => {
    if (live === display) live = undefined;
  };
}

/** `destination`, with what is written to it passed through the live display while one draws on it. */
export function aroundLive(destination: NodeJS.WritableStream): NodeJS.WritableStream {
  const write = (chunk: string | Uint8Array): boolean => {
    if (live && live.stream === destination) {
      live.write(String(chunk));
      return true;
    }
    return destination.write(chunk);
  };
  return new Proxy(destination, { get: (target, property, receiver) => (property === 'write' ? write : Reflect.get(target, property, receiver) as unknown) });
}

const ASCII_FOR: Readonly<Record<string, string>> = { '→': '->', '←': '<-', '…': '...', '—': '-', '–': '-', '×': 'x', '≤': '<=', '≥': '>=', '‘': "'", '’': "'", '“': '"', '”': '"', '•': '*', '·': '.' };

/** `text` with the typographic glyphs Tideline's own messages use written in ASCII, for a terminal whose locale is not UTF-8. */
export function asciiGlyphs(text: string): string {
  return text.replace(/[→←…—–×≤≥‘’“”•·]/g, (glyph) => ASCII_FOR[glyph] ?? glyph);
}
