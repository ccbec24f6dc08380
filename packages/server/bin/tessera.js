#!/usr/bin/env node
// The `tessera` command. A committed file, not dist/cli/main.js itself: npm links bins before
// the root `prepare` script builds dist/, and a bin whose target is missing gets no link at all,
// so `npx tessera` was "not found" after the first `npm ci` on a fresh clone.
import { existsSync } from 'node:fs';

const main = new URL('../dist/cli/main.js', import.meta.url);
if (!existsSync(main)) {
  process.stderr.write(`tessera: ${main.pathname} is missing: the server is not built; run \`npm run build\`\n`);
  process.exit(1);
}
await import(main.href);
