import { writeFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { renderReference } from './reference.js';

/** `npm run docs`: rewrites docs/reference.md from the schemas. */
export const REFERENCE_PATH = fileURLToPath(new URL('../../docs/reference.md', import.meta.url));

await writeFile(REFERENCE_PATH, renderReference());
process.stdout.write(`wrote ${REFERENCE_PATH}\n`);
