// `node bench/linearity.js` (needs `npm run build`): how each parser of request data scales from
// a ~10 KB to a ~100 KB adversarial input (issue 13 item 1). Linear ≈ 10×, quadratic ≈ 100×;
// packages/server/test/security/h-linear-parsers.test.ts asserts every ratio stays under 30×.
// Flags: --rounds N (default 7).
import { cpus } from 'node:os';
import { measure, openParsers } from './lib/linearity.js';

const LIMIT = 30;
const i = process.argv.indexOf('--rounds');
const rounds = i === -1 ? 7 : Number(process.argv[i + 1]);

const parsers = await openParsers();
const rows = [];
try {
  for (const testCase of parsers.cases) {
    const row = await measure(testCase, { rounds });
    rows.push(row);
    process.stderr.write('.');
  }
} finally {
  await parsers.close();
}
process.stderr.write('\n');

const us = (n) => (n < 10 ? n.toFixed(2) : n < 1000 ? n.toFixed(1) : Math.round(n).toLocaleString('en'));
const chars = (n) => (n >= 1000 ? `${Math.round(n / 1000)}k` : String(n));
console.log(
  `${new Date().toISOString().slice(0, 10)}, ${cpus()[0]?.model.trim()} × ${cpus().length}, Node ${process.version}, fastest of ${rounds} rounds.`,
);
console.log('');
console.log(`| parser and input | small | µs | large | µs | ratio | linear (< ${LIMIT}×)? |`);
console.log('| --- | ---: | ---: | ---: | ---: | ---: | --- |');
for (const r of rows) {
  console.log(
    `| ${r.name} | ${chars(r.smallChars)} | ${us(r.smallUs)} | ${chars(r.largeChars)} | ${us(r.largeUs)} | ${r.ratio.toFixed(1)}× | ${r.ratio < LIMIT ? 'yes' : '**no**'} |`,
  );
}
if (rows.some((r) => r.ratio >= LIMIT)) process.exitCode = 1;
