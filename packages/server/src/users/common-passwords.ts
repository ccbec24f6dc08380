import { dictionary } from '@zxcvbn-ts/language-common';

/** How many of the most common passwords are refused (SECURITY A5, ASVS 5.0 6.2.4). */
export const COMMON_PASSWORD_COUNT = 3000;

let common: Set<string> | undefined;

/**
 * True when the password is among the 3,000 most common, compared without case so that
 * "Password1" is caught with "password1". The ranked list is zxcvbn's, from public breaches.
 */
export function isCommonPassword(password: string): boolean {
  common ??= new Set(dictionary['passwords-common']?.slice(0, COMMON_PASSWORD_COUNT) ?? []);
  return common.has(password.toLowerCase());
}
