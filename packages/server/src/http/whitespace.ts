/**
 * Strips HTTP whitespace (Fetch: tab, LF, CR, space; RFC 9110 5.6.3 OWS) and nothing else.
 * `String.prototype.trim` also strips U+00A0, U+0085, U+FEFF and more — bytes a header can
 * carry as obs-text — so `Token <key>\xa0` authenticated as if the byte were not there.
 */
export function trimHttpWhitespace(text: string): string {
  return text.replace(/^[\t\n\r ]+|[\t\n\r ]+$/g, '');
}
