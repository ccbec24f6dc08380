/**
 * Strips HTTP whitespace (Fetch: tab, LF, CR, space; RFC 9110 5.6.3 OWS) and nothing else.
 * `String.prototype.trim` also strips U+00A0, U+0085, U+FEFF and more — bytes a header can
 * carry as obs-text — so `Token <key>\xa0` authenticated as if the byte were not there.
 *
 * A scan from each end, not a regular expression: `/[\t\n\r ]+$/` retries its run of
 * whitespace from every start position, so `a` + 16,000 spaces + `b` — one cookie — cost
 * O(n²), hundreds of milliseconds of event loop (issue 13 item 1; SECURITY H: never a hang).
 */
export function trimHttpWhitespace(text: string): string {
  let start = 0;
  let end = text.length;
  while (start < end && isHttpWhitespace(text.charCodeAt(start))) start++;
  while (end > start && isHttpWhitespace(text.charCodeAt(end - 1))) end--;
  return start === 0 && end === text.length ? text : text.slice(start, end);
}

/** Tab, LF, CR or space. */
function isHttpWhitespace(code: number): boolean {
  return code === 0x20 || code === 0x09 || code === 0x0a || code === 0x0d;
}
