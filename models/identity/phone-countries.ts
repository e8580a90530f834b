/**
 * The numbering facts phone normalisation needs for a default country, as data: the country calling code, the
 * national trunk prefix dialled before a national number (FR `0` 6 12 34 56 78), the international call prefix
 * (`00` in most of the world), and the length range of the national significant number (what follows the calling
 * code in E.164). Sources: ITU-T E.164 assignments and national numbering plans. Lengths are those of the plans'
 * fixed and mobile numbers; short codes and service numbers are deliberately outside them.
 */
export interface PhoneCountry {
  readonly callingCode: string;
  /** Empty where no trunk prefix exists, or where the leading 0 is part of the number (Italy). */
  readonly trunk: string;
  readonly international: string;
  readonly minDigits: number;
  readonly maxDigits: number;
}

const c = (callingCode: string, trunk: string, minDigits: number, maxDigits: number, international = '00'): PhoneCountry => ({ callingCode, trunk, international, minDigits, maxDigits });

export const PHONE_COUNTRIES: Readonly<Record<string, PhoneCountry>> = {
  AE: c('971', '0', 8, 9),
  AT: c('43', '0', 4, 13),
  AU: c('61', '0', 9, 9, '0011'),
  BE: c('32', '0', 8, 9),
  BR: c('55', '0', 10, 11),
  CA: c('1', '1', 10, 10, '011'),
  CH: c('41', '0', 9, 9),
  CN: c('86', '0', 9, 11),
  CZ: c('420', '', 9, 9),
  DE: c('49', '0', 6, 13),
  DK: c('45', '', 8, 8),
  ES: c('34', '', 9, 9),
  FI: c('358', '0', 5, 12),
  FR: c('33', '0', 9, 9),
  GB: c('44', '0', 9, 10),
  GR: c('30', '', 10, 10),
  HK: c('852', '', 8, 8, '001'),
  IE: c('353', '0', 7, 9),
  IL: c('972', '0', 8, 9),
  IN: c('91', '0', 10, 10),
  IT: c('39', '', 6, 11),
  JP: c('81', '0', 9, 10, '010'),
  LU: c('352', '', 4, 11),
  MA: c('212', '0', 9, 9),
  MX: c('52', '', 10, 10),
  NL: c('31', '0', 9, 9),
  NO: c('47', '', 8, 8),
  NZ: c('64', '0', 8, 10),
  PL: c('48', '', 9, 9),
  PT: c('351', '', 9, 9),
  RO: c('40', '0', 9, 9),
  SE: c('46', '0', 7, 13),
  SG: c('65', '', 8, 8, '001'),
  TR: c('90', '0', 10, 10),
  US: c('1', '1', 10, 10, '011'),
  ZA: c('27', '0', 9, 9),
};

export function phoneCountry(code: string): PhoneCountry | undefined {
  return PHONE_COUNTRIES[code.toUpperCase()];
}
