/** How many of the most common passwords are refused (SECURITY A5, ASVS 5.0 6.2.4). */
export const COMMON_PASSWORD_COUNT = 3000;

let common: Promise<Set<string>> | undefined;

/**
 * A check that is true when the password is among the 3,000 most common, compared without
 * case so that "Password1" is caught with "password1". The ranked list is zxcvbn's, from
 * public breaches; it is loaded (and decompressed) at the first password set, not at start-up.
 */
export async function commonPasswordCheck(): Promise<(password: string) => boolean> {
  common ??= import('@zxcvbn-ts/language-common').then(
    ({ dictionary }) => new Set(dictionary['passwords-common']?.slice(0, COMMON_PASSWORD_COUNT) ?? []),
    (error: unknown) => {
      common = undefined; // try again at the next password rather than fail every one after
      throw error;
    },
  );
  const set = await common;
  return (password) => set.has(password.toLowerCase());
}
