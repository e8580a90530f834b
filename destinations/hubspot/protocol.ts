/**
 * HubSpot facts shared by the adapter and its emulator, each with its source.
 */

/**
 * HubSpot's validation of an e-mail address, applied "for any process that would create or update a contact record",
 * the Contacts API included. "In addition to being valid according to RFC 2822, we place the following restrictions on
 * email addresses: we don't allow the local parts to be quoted (e.g. "Test Email" is not valid); the domain part must
 * end in a valid TLD, as listed at https://data.iana.org/TLD/tlds-alpha-by-domain.txt (note that this is after handling
 * unicode TLDs, so "user@email.삼성" is a valid email address)."
 * Source: https://legacydocs.hubspot.com/docs/faq/how-does-hubspot-validate-email-addresses (linked from
 * https://developers.hubspot.com/docs/faq/how-does-hubspot-validate-email-addresses).
 *
 * So: an RFC 2822 addr-spec whose local part is a dot-atom (never quoted) and whose domain is a dot-atom (a domain
 * literal such as `[192.0.2.1]` has no TLD). Characters beyond ASCII are taken as atext (internationalised addresses,
 * unicode TLDs). The emulator does not hold IANA's list: it requires the last label to be a plausible TLD — letters
 * only, at least two, or a punycode `xn--` label — so a well-formed but unassigned TLD (`user@example.comx`) passes
 * here while HubSpot refuses it.
 */
export function isValidHubSpotEmail(value: string): boolean {
  const at = value.lastIndexOf('@');
  if (at <= 0 || at === value.length - 1) return false;
  const local = value.slice(0, at);
  const domain = value.slice(at + 1);
  if (!DOT_ATOM.test(local) || !DOT_ATOM.test(domain)) return false;
  const tld = domain.slice(domain.lastIndexOf('.') + 1);
  return domain.includes('.') && (/^\p{L}{2,}$/u.test(tld) || /^xn--[a-z0-9-]+$/i.test(tld));
}

/** RFC 2822 §3.2.4 dot-atom: atext runs separated by single dots, none at either end (atext, plus any non-ASCII). */
const DOT_ATOM = /^[A-Za-z0-9!#$%&'*+\-/=?^_`{|}~\u0080-\u{10FFFF}]+(\.[A-Za-z0-9!#$%&'*+\-/=?^_`{|}~\u0080-\u{10FFFF}]+)*$/u;

/**
 * HubSpot's answer to an invalid address: 400 VALIDATION_ERROR for the request, its message listing the refused values
 * as `Property values were not valid: [{"isValid":false,"message":"Email address … is invalid","error":"INVALID_EMAIL",
 * "name":"email"}]` (as HubSpot answers it: community.hubspot.com/t5/APIs-Integrations/contacts-integration-invalid-e-mails/td-p/833439).
 */
export const INVALID_EMAIL = 'INVALID_EMAIL';
