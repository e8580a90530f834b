import { createHash } from 'node:crypto';
import type { ApiVersion } from '../destination.js';

/**
 * The API version: Marketing API 3.0, in every path (`https://{dc}.api.mailchimp.com/3.0/…`). Mailchimp announces no
 * end of support for it (Marketing API reference, https://mailchimp.com/developer/marketing/api/, read 2026-12-06).
 */
export const MAILCHIMP_API_VERSION: ApiVersion = { version: '3.0', sunset: undefined, source: 'https://mailchimp.com/developer/marketing/api/ (3.0, no end of support announced; read 2026-12-06)' };

/** Mailchimp's id of a member in an audience: MD5 of the lower-cased e-mail address (hex). */
export function subscriberHash(email: string): string {
  return createHash('md5').update(email.trim().toLowerCase()).digest('hex');
}

/** The data center an API key belongs to: the suffix after its last `-` (`…-us21` → `us21`). */
export function dataCenterOf(apiKey: string): string | undefined {
  const match = /-([a-z]+\d+)$/.exec(apiKey.trim());
  return match?.[1];
}
