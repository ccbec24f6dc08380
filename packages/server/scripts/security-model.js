// Rewrites README.md's "Security model" section from the routes' policies (issue 13):
// `npm run docs:security-model`, after a build. A test fails while the two differ.
import { readFileSync, writeFileSync } from 'node:fs';
import { renderSecurityModel, withSecurityModel } from '../dist/http/security-model.js';
import { serverRoutes } from '../dist/http/server.js';

const readme = new URL('../../../README.md', import.meta.url);
const before = readFileSync(readme, 'utf8');
const after = withSecurityModel(before, renderSecurityModel(serverRoutes()));
if (after !== before) writeFileSync(readme, after);
console.log(after === before ? 'README.md security model: up to date' : 'README.md security model: rewritten');
