import { createRequire } from 'node:module';

/**
 * Unicode's confusables mapping (UTS #39 §4, `confusables.txt` v13.0.0, © Unicode, Inc.,
 * Unicode License), as shipped by the `unhomoglyph` package (MIT): one code point → its
 * prototype string. Loaded once; 6,311 entries.
 */
const CONFUSABLES = new Map<string, string>(
  Object.entries(createRequire(import.meta.url)('unhomoglyph/data.json') as Record<string, string>),
);

/**
 * The one identity of a username (issue 13 items 3 and 9): NFKC, so compatibility twins
 * (`ａdmin` in fullwidth, `ﬁ` ligatures) collapse, then case-folded, so `DAVE` and `dave` are
 * one name. Folding is upper-then-lower case, which folds `ß`/`SS` and final `ς`/`σ` as full
 * case folding does (JavaScript has no `casefold`); NFKC again because folding can undo it.
 * Stored as `users.username_key` under a unique index, and the login throttle's account key.
 *
 * @example canonicalUsername('ＤＡＶＥ') === 'dave'
 */
export function canonicalUsername(username: string): string {
  return username.normalize('NFKC').toUpperCase().toLowerCase().normalize('NFKC');
}

/**
 * UTS #39 §4 `skeleton()` of a canonical username: NFD, each code point replaced by its
 * confusables prototype, NFD again. Two names with one skeleton look alike (Cyrillic `аdmin`
 * and `admin`), so a new name may not share an existing user's skeleton. Not for display:
 * `m` becomes `rn`. Linear in the input: one map look-up per code point.
 */
export function usernameSkeleton(canonical: string): string {
  let out = '';
  for (const char of canonical.normalize('NFD')) out += CONFUSABLES.get(char) ?? char;
  return out.normalize('NFD');
}
