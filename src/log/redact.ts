/**
 * Keeps secrets out of everything Tideline prints: log lines, error messages, run results.
 *
 * Secrets are registered when a target's configuration is loaded (each warehouse's config module says which of its
 * fields are secret). On top of those exact values, credentials embedded in URLs and DSN-style `password=` pairs are
 * masked by pattern, so a connection string quoted by a driver error is covered even if it was never registered.
 */
const MASK = '***';

export class SecretRedactor {
  readonly #secrets = new Set<string>();

  /** Registers a secret value. Very short values are ignored: masking them would garble ordinary text. */
  add(secret: string | undefined | null): void {
    if (secret && secret.length >= 4) this.#secrets.add(secret);
  }

  /** Returns `text` with every registered secret and every URL/DSN credential masked. */
  scrub(text: string): string {
    let out = text;
    // Longest first, so a secret containing another is masked whole.
    for (const secret of [...this.#secrets].sort((a, b) => b.length - a.length)) out = out.split(secret).join(MASK);
    out = out.replace(/([a-z][a-z0-9+.-]*:\/\/[^:/?#@\s]*:)([^@\s/]+)@/gi, `$1${MASK}@`);
    out = out.replace(/\b(password|passwd|pwd|secret|token|api[_-]?key|private[_-]?key(?:[_-]?passphrase)?)(\s*[=:]\s*)("[^"]*"|'[^']*'|[^\s,;&]+)/gi, `$1$2${MASK}`);
    return out;
  }

  /** Forgets registered secrets (tests). */
  clear(): void {
    this.#secrets.clear();
  }
}

/** The process-wide redactor: secrets belong to the process, whichever component loaded them. */
export const redactor = new SecretRedactor();

/**
 * Row values are personal data (e-mails, phones, names, birth dates), and warehouses quote them in their error
 * messages: "Could not convert string 'jane@example.com' to INT32". Each warehouse lists, beside its connection, the
 * shapes of its messages that quote a value, found by triggering them on the real database; its failures pass
 * through `hideRowValues` before they become a WarehouseError, so that no log line, run result or sync result
 * carries the value. What the message says about the failure — the type, the column, the constraint — stays, and
 * the value reads as ROW_VALUE.
 */
export const ROW_VALUE = '<value>';

export interface RowValueShape {
  /** Matches a value and the words around it that identify the shape; `g` to hide every occurrence. */
  readonly pattern: RegExp;
  /** The same words with ROW_VALUE for the value (`$1`… keep the pattern's groups). */
  readonly replacement: string;
}

export function hideRowValues(text: string, shapes: readonly RowValueShape[]): string {
  return shapes.reduce((out, shape) => out.replace(shape.pattern, shape.replacement), text);
}

/**
 * `text` without what looks like personal data, whatever quoted it (a warehouse's message in a shape no list knows,
 * a model's own error()): e-mail addresses read `<email>`, phone numbers (a leading `+` or `0`, or digits in groups:
 * seven digits or more) `<phone>`, 32+ hex digits (hashed identifiers) `<hash>`. Dates, times and plain counts
 * (`1200000 rows`) stay.
 */
export function scrubPersonalData(text: string): string {
  return text
    .replace(/[^\s"'<>,;:()[\]{}\\]*@[^\s"'<>,;:()[\]{}\\]*\.[^\s"'<>,;:()[\]{}\\]+/g, '<email>')
    .replace(/\b[0-9a-f]{32,}\b/gi, '<hash>')
    .replace(/(?<![\w.:-])(\+?\(?\d[\d ().-]{5,}\d)(?![\w:])/g, (match: string) => {
      const digits = match.replace(/\D/g, '');
      if (digits.length < 7 || /^\d{4}-\d\d-\d\d/.test(match) || /^\d{2}:\d{2}/.test(match)) return match;
      const grouped = /[ ().-]/.test(match) || match.startsWith('+') || match.startsWith('0');
      return grouped ? '<phone>' : match;
    });
}
