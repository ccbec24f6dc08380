import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import * as client from '../src/index.js';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const read = (path: string) => readFileSync(join(root, path), 'utf8');

describe('the @tessera/client package', () => {
  it('has no runtime dependencies', () => {
    const pkg = JSON.parse(read('package.json')) as Record<string, unknown>;
    expect(Object.keys((pkg.dependencies as object | undefined) ?? {})).toEqual([]);
    expect(pkg.peerDependencies).toBeUndefined();
    expect(pkg.type).toBe('module');
  });

  it('exports exactly these runtime names', () => {
    expect(Object.keys(client).sort()).toEqual([
      'BasicAuthentication',
      'BearerAuthentication',
      'Client',
      'ConjurAuthentication',
      'CookieJar',
      'HTTPError',
      'NetworkError',
      'RedirectError',
      'SessionAuthentication',
      'TimeoutError',
      'TokenAuthentication',
      'domainMatches',
      'isHTTPError',
      'isNetworkError',
      'isRedirectError',
      'isTimeoutError',
      'normalizeDomain',
    ]);
  });

  it('documents every exported class, function and interface with TSDoc that has an example, or a summary for types', () => {
    const missing: string[] = [];
    for (const file of readdirSync(join(root, 'src')).filter((f) => f.endsWith('.ts') && !f.endsWith('.test.ts'))) {
      const source = read(`src/${file}`);
      for (const match of source.matchAll(/^export (?:class|function|interface|type|const) (\w+)/gm)) {
        if (file === 'index.ts') continue;
        const before = source.slice(0, match.index).trimEnd();
        if (!before.endsWith('*/')) missing.push(`${file}: ${match[1]} has no TSDoc`);
        const isValue = /^export (class|function)/.test(match[0]);
        const doc = before.slice(before.lastIndexOf('/**'));
        const internal = !(match[1] && match[1] in client);
        if (isValue && !internal && !doc.includes('@example')) missing.push(`${file}: ${match[1]} has no @example`);
      }
    }
    expect(missing).toEqual([]);
  });

  it('names every error code in the README, and rewrites each seed flow', () => {
    const readme = read('README.md');
    for (const code of ['HTTP_ERROR', 'NETWORK_ERROR', 'TIMEOUT', 'TOO_MANY_REDIRECTS']) expect(readme).toContain(code);
    for (const seed of ['seed 000', 'seed 002', 'seed 003', 'seed 004']) expect(readme.toLowerCase()).toContain(seed);
    for (const scheme of [
      'SessionAuthentication',
      'TokenAuthentication',
      'ConjurAuthentication',
      'BearerAuthentication',
    ])
      expect(readme).toContain(`new ${scheme}(`);
  });
});
