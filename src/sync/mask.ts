/**
 * Masks values for display (`tideline plan` samples): model rows are customers' personal data, and plan output
 * ends up in CI logs. Text keeps its first character and its shape — an e-mail its `@` and the end of its domain —
 * so a reader can tell a value from a blank; hex digests (already hashed identifiers) keep 8 characters; numbers
 * and booleans, which are not personal on their own in a customer model, are shown.
 */
export function maskValue(value: unknown): unknown {
  if (value === null || value === undefined || typeof value === 'number' || typeof value === 'boolean') return value ?? null;
  const text = value instanceof Date ? value.toISOString() : String(value);
  if (/^[0-9a-f]{32,}$/.test(text)) return `${text.slice(0, 8)}…`;
  const at = text.indexOf('@');
  if (at > 0) {
    const domain = text.slice(at + 1);
    const dot = domain.lastIndexOf('.');
    return `${maskText(text.slice(0, at))}@${dot > 0 ? `${maskText(domain.slice(0, dot))}${domain.slice(dot)}` : maskText(domain)}`;
  }
  return maskText(text);
}

function maskText(text: string): string {
  if (text.length === 0) return text;
  const chars = [...text];
  return chars[0] + '*'.repeat(Math.min(chars.length - 1, 8));
}

export function maskRecord(record: Readonly<Record<string, unknown>>): Record<string, unknown> {
  return Object.fromEntries(Object.entries(record).map(([k, v]) => [k, maskValue(v)]));
}
