import { createHash } from 'node:crypto';

/** Mailchimp's id of a member in an audience: MD5 of the lower-cased e-mail address (hex). */
export function subscriberHash(email: string): string {
  return createHash('md5').update(email.trim().toLowerCase()).digest('hex');
}

/** The data center an API key belongs to: the suffix after its last `-` (`…-us21` → `us21`). */
export function dataCenterOf(apiKey: string): string | undefined {
  const match = /-([a-z]+\d+)$/.exec(apiKey.trim());
  return match?.[1];
}
