import { describe, expect, it } from 'vitest';
import { openApiDocument, routeFor } from '../dialects/openapi.js';
import {
  CALLER_KINDS,
  LASTING_EFFECTS,
  policyDocument,
  policyText,
  type Requirement,
  SHORT_LIVED,
} from './route-policy.js';
import type { Route } from './routes.js';
import { serverRoutes } from './server.js';

const routes = serverRoutes();

/** Every (method, path) the server registers, each with its route. */
const operations = routes.flatMap((route) => route.methods.map((method) => ({ method, route })));

/** The base requirement and every stricter rule of a route. */
function requirements(route: Route): Array<[string, Requirement]> {
  const rules = Object.entries(route.policy.stricter?.rules ?? {});
  return [['base', route.policy], ...rules];
}

describe('item 4: every route declares its policy', () => {
  it('item 4: a route without a policy does not compile', () => {
    // @ts-expect-error `policy` is a required field of Route: typecheck fails if this compiles.
    const undeclared: Route = { methods: ['GET'], path: '/x', auth: 'none', handler: async () => ({}) };
    expect(undeclared.policy).toBeUndefined();
  });

  it('item 4: every registered route has a policy naming known credential kinds and its effects', () => {
    expect(operations.length).toBeGreaterThan(30);
    for (const { method, route } of operations) {
      const label = `${method} ${route.path}`;
      expect(route.policy, label).toBeDefined();
      for (const [name, requirement] of requirements(route)) {
        expect(['any', 'recent', 'current-password'], `${label} ${name}`).toContain(requirement.session);
        expect(Array.isArray(requirement.effects), `${label} ${name}`).toBe(true);
        if (requirement.callers !== 'anyone') {
          expect(requirement.callers.length, `${label} ${name}`).toBeGreaterThan(0);
          for (const kind of requirement.callers) expect(Object.keys(CALLER_KINDS), label).toContain(kind);
        }
      }
    }
  });

  it('item 4: no route lets a short-lived token or a stale session make a lasting change', () => {
    for (const { method, route } of operations) {
      if (route.policy.checkedByRoute) continue; // the route reads a password or API key in the request itself
      for (const [name, requirement] of requirements(route)) {
        if (!requirement.effects.some((effect) => LASTING_EFFECTS.includes(effect))) continue;
        const label = `${method} ${route.path} ${name}`;
        expect(requirement.callers, label).not.toBe('anyone');
        for (const kind of SHORT_LIVED) expect(requirement.callers, label).not.toContain(kind);
        expect(requirement.session, label).not.toBe('any');
      }
    }
  });

  it('item 4: authentication and policy agree: open routes name who they check themselves, others no one outside authentication', () => {
    for (const { method, route } of operations) {
      const label = `${method} ${route.path}`;
      const { policy } = route;
      if (route.auth === 'none') {
        // Without authentication nothing is enforced centrally: the route must say so.
        expect(policy.callers === 'anyone' ? policy.effects : policy.checkedByRoute, label).toEqual(
          policy.callers === 'anyone' ? [] : true,
        );
        expect(policy.stricter, label).toBeUndefined();
      } else {
        expect(policy.checkedByRoute, label).toBeUndefined();
        for (const [, requirement] of requirements(route)) {
          expect(requirement.callers, label).not.toBe('anyone');
          expect(requirement.callers, label).not.toContain('conjur-api-key');
        }
      }
    }
  });

  it('item 4: the OpenAPI document lists every route with its policy, and nothing else', () => {
    const document = openApiDocument(routes) as {
      paths: Record<string, Record<string, { summary: string; description?: string; 'x-tessera-policy'?: unknown }>>;
    };
    const documented = Object.entries(document.paths).flatMap(([path, ops]) =>
      Object.entries(ops).map(([method, op]) => ({ path, method, op })),
    );
    for (const { method, route } of operations) {
      const entry = documented.find(({ path, method: m }) => m === method.toLowerCase() && routeFor([route], path, m));
      const label = `${method} ${route.path}`;
      expect(entry, `${label} is missing from the OpenAPI document`).toBeDefined();
      expect(entry?.op['x-tessera-policy'], label).toEqual(policyDocument(route.policy));
      expect(entry?.op.description, label).toBe(policyText(route.policy));
    }
    for (const { path, method } of documented) {
      expect(routeFor(routes, path, method), `${method} ${path} is documented but not routed`).toBeDefined();
    }
  });

  it('item 4: the published policy is plain data that names every stricter rule and when it applies', () => {
    const update = routes.find((route) => route.path === '/users/users/:id' && route.methods.includes('PATCH'));
    const published = policyDocument(update?.policy ?? { callers: 'anyone', session: 'any', effects: [] });
    expect(JSON.parse(JSON.stringify(published))).toEqual(published);
    expect(published.stricter?.map((rule) => rule.rule)).toEqual(['admin_fields', 'password', 'own_password', 'email']);
    for (const rule of published.stricter ?? []) expect(rule.when).toMatch(/^the body /);
  });
});
