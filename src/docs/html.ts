/**
 * What the self-contained HTML pages Tideline writes (the report, the docs site) share: text escaped for HTML, and
 * data that can sit inside a <script> element.
 */

const ESCAPES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };

/** Text as HTML text or a quoted attribute value: nothing in it can open an element or close the attribute. */
export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => ESCAPES[c]!);
}

/** JSON that can sit inside a <script> element: nothing in it can close the element or start a comment. */
export function scriptJson(value: unknown): string {
  return JSON.stringify(value).replace(/</g, '\\u003c').replace(/>/g, '\\u003e').replace(/\u2028/g, '\\u2028').replace(/\u2029/g, '\\u2029');
}

/**
 * The start of a self-contained page, through `</head>`: its title, its style inline, and a Content-Security-Policy
 * that forbids every request (the page works the same offline) and runs only the scripts `scriptSrc` admits.
 */
export function pageHead(options: { readonly title: string; readonly style: string; readonly scriptSrc: string }): string {
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; script-src ${options.scriptSrc}; style-src 'unsafe-inline'; img-src data:; base-uri 'none'; form-action 'none'">
<title>${escapeHtml(options.title)}</title>
<style>${options.style}</style>
</head>`;
}
