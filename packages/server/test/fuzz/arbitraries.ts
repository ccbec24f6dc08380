import fc from 'fast-check';

/**
 * Inputs for parsers that must never trust what they are given. Header values arrive from
 * node:http as latin1 strings (one character per byte), bodies as raw bytes; both can hold
 * anything, so the text arbitraries mix every shape a hostile client can send.
 */

/** Raw bytes, mostly small. */
export const anyBytes = fc.uint8Array({ maxLength: 400 });

/** How node:http hands a header's bytes over: one latin1 character per byte. */
export const headerBytes = anyBytes.map((bytes) => Buffer.from(bytes).toString('latin1'));

/** Unpaired UTF-16 halves, which no UTF-8 encoder can write faithfully. */
const loneSurrogate = fc.integer({ min: 0xd800, max: 0xdfff }).map((code) => String.fromCharCode(code));

/** The characters parsers split on or refuse, plus controls and NUL. */
const delimiter = fc.constantFrom(
  '\u0000',
  '\t',
  '\n',
  '\r',
  '\u000b',
  '\u001f',
  '\u007f',
  ' ',
  ';',
  '=',
  ':',
  ',',
  '"',
  '\\',
  '.',
  '/',
  '+',
  '-',
  '_',
  '%',
  '\u00a0',
  '\ufeff',
);

/** Text that stresses delimiters: mostly those characters, some letters and digits. */
export const delimiterText = fc.string({
  unit: fc.oneof(
    { arbitrary: delimiter, weight: 3 },
    { arbitrary: fc.string({ unit: 'binary-ascii', minLength: 1, maxLength: 1 }), weight: 2 },
  ),
  maxLength: 80,
});

/** Long input: a header or body far past any sane size. */
export const hugeText = fc
  .tuple(fc.string({ unit: 'binary-ascii', minLength: 1, maxLength: 8 }), fc.integer({ min: 2_000, max: 12_000 }))
  .map(([piece, times]) => piece.repeat(times));

/** Any string at all: unicode, lone surrogates, header bytes, delimiters, now and then a huge one. */
export const anyText = fc.oneof(
  { arbitrary: fc.string({ unit: 'binary', maxLength: 120 }), weight: 4 },
  {
    arbitrary: fc.string({
      unit: fc.oneof(loneSurrogate, fc.string({ unit: 'binary', minLength: 1, maxLength: 1 })),
      maxLength: 40,
    }),
    weight: 1,
  },
  { arbitrary: headerBytes, weight: 3 },
  { arbitrary: delimiterText, weight: 4 },
  { arbitrary: hugeText, weight: 1 },
);

/** A JSON value of any type, including the operator objects (`{"$ne": 1}`) NoSQL injection tries. */
export const jsonValue: fc.Arbitrary<unknown> = fc.oneof(
  { arbitrary: fc.jsonValue({ maxDepth: 3 }), weight: 4 },
  {
    arbitrary: fc.record({ $ne: fc.oneof(fc.constant(1), fc.constant(null), fc.string()) }),
    weight: 1,
  },
  { arbitrary: fc.array(fc.string(), { maxLength: 4 }), weight: 1 },
);

/** A base64 alphabet swap (standard ↔ url-safe), which must never give the same credential. */
export function swapBase64Alphabet(text: string): string {
  return text.replace(/[+/\-_]/g, (c) => ({ '+': '-', '/': '_', '-': '+', _: '/' })[c] ?? c);
}
