import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { renderSecurityModel, SECURITY_MODEL_END, SECURITY_MODEL_START, withSecurityModel } from './security-model.js';
import { serverRoutes } from './server.js';

const README = new URL('../../../../README.md', import.meta.url);

describe('README security model', () => {
  it('matches what the route policies generate (run npm run docs:security-model after changing a policy)', () => {
    const readme = readFileSync(README, 'utf8');
    expect(readme, 'README.md is stale: run npm run docs:security-model').toBe(
      withSecurityModel(readme, renderSecurityModel(serverRoutes())),
    );
  });

  it('says that no short-lived token can create users, change roles or mint a lasting credential', () => {
    const rows = renderSecurityModel(serverRoutes()).split('\n');
    for (const name of ['JWT', 'Conjur token']) {
      const row = rows.find((line) => line.startsWith(`| ${name} (`))?.split(' | ');
      expect(row?.slice(1, 5), name).toEqual(['no', 'no', 'no', 'no']);
    }
    const session = rows.find((line) => line.startsWith('| Session cookie'));
    expect(session).toMatch(/\| yes: as an admin, after a recent sign-in \|/);
  });

  it('refuses a README without the markers rather than guessing where the section goes', () => {
    expect(() => withSecurityModel('# Tessera\n', 'table\n')).toThrow(TypeError);
    const text = `a\n${SECURITY_MODEL_START}\nold\n${SECURITY_MODEL_END}\nb\n`;
    expect(withSecurityModel(text, 'new\n')).toBe(`a\n${SECURITY_MODEL_START}\nnew\n${SECURITY_MODEL_END}\nb\n`);
  });
});
