import type { CountryCode, PhoneNumber } from 'libphonenumber-js';
import { lazyPackage } from '../src/lazy-package.js';

/** libphonenumber-js, loaded when a destination first reads a phone number (src/lazy-package.ts says why). */
const phoneNumbers = lazyPackage<typeof import('libphonenumber-js')>('libphonenumber-js');

/** libphonenumber-js's parsePhoneNumberFromString: the number, or undefined when the text is not one. */
export function parsePhoneNumberFromString(text: string, defaultCountry?: CountryCode): PhoneNumber | undefined {
  return phoneNumbers().parsePhoneNumberFromString(text, defaultCountry);
}
