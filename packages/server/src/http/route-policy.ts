import { isAdmin } from '../users/user.js';
import type { RequestContext } from './context.js';
import { detail } from './http-error.js';

/**
 * Who may call a route, declared beside the route and enforced here, in one place, for every
 * request (issue 13 item 4). A rule a handler had to remember to call is a rule the next
 * route forgets: an admin JWT once created a lasting admin because `POST /users/users/` called
 * neither the short-lived-token refusal nor the recent-login check (SECURITY G3).
 */

/**
 * The kinds of credential a caller can present: the `credential.kind` of a principal, plus
 * `conjur-api-key`, which only the Conjur routes read themselves (it is never a principal).
 */
export const CALLER_KINDS = {
  session: {
    label: 'session',
    name: 'Session cookie (`sessionid`, from a password login)',
    revokedBy:
      'logout; idle and absolute expiry; a password change (the other sessions); `tessera user sign-out`; deactivation or deletion of the user',
  },
  password: {
    label: 'password',
    name: 'Password (HTTP Basic `username:password`, or a login form)',
    revokedBy: 'a password change; deactivation or deletion of the user',
  },
  drf: {
    label: 'DRF token',
    name: 'DRF token (`Token <key>`, one per user)',
    revokedBy: '`POST /api/logout/`; `DELETE /v1/credentials/{id}`; deactivation or deletion of the user',
  },
  'drf-login': {
    label: 'DRF token',
    name: 'DRF per-login token (`TESSERA_DRF_TOKENS=per-login`)',
    revokedBy: '`POST /api/logout/`; `DELETE /v1/credentials/{id}`; deactivation or deletion of the user',
  },
  'api-key': {
    label: 'Frappe key',
    name: 'Frappe `api_key:api_secret`',
    revokedBy:
      '`generate_keys` again (replaces the secret); `DELETE /v1/credentials/{id}`; deactivation or deletion of the user',
  },
  personal: {
    label: 'personal token',
    name: 'Personal token (`Bearer tsr_…`, optionally scoped)',
    revokedBy: 'its expiry; `DELETE /v1/credentials/{id}`; deactivation or deletion of the user',
  },
  jwt: {
    label: 'JWT',
    name: 'JWT (`Bearer`, from `POST /v1/token`)',
    revokedBy:
      'its expiry (`TESSERA_JWT_TTL`, 5 min); `POST /v1/token/revoke`; revoking the credential it was bought with; a password change; `tessera user sign-out`; deactivation or deletion of the user',
  },
  'conjur-token': {
    label: 'Conjur token',
    name: 'Conjur token (`Token token="…"`)',
    revokedBy:
      'its expiry (`TESSERA_CONJUR_TOKEN_TTL`, 8 min); a password change; `tessera user sign-out`; deactivation or deletion of the user',
  },
  'conjur-api-key': {
    label: 'Conjur API key',
    name: 'Conjur API key (Basic `login:api_key` on the Conjur routes)',
    revokedBy: 'rotation (`PUT …/api_key`); `DELETE /v1/credentials/{id}`; deactivation or deletion of the user',
  },
} as const satisfies Record<string, { label: string; name: string; revokedBy: string }>;

export type CallerKind = keyof typeof CALLER_KINDS;

/**
 * Bought with another credential and living minutes: one that could make a lasting credential,
 * user or role would outlive what it was bought with (and any session, however old, buys one).
 */
export const SHORT_LIVED = ['jwt', 'conjur-token'] as const satisfies readonly CallerKind[];

/** The credentials a request can authenticate with that are not short-lived. */
export const LONG_LIVED = [
  'session',
  'password',
  'drf',
  'drf-login',
  'api-key',
  'personal',
] as const satisfies readonly CallerKind[];

/** Every credential the server's authentication accepts. */
export const ANY_CREDENTIAL: readonly CallerKind[] = [...LONG_LIVED, ...SHORT_LIVED];

/** What a route can do that outlives the request; the README's security model is drawn from these. */
export type Effect =
  | 'sign-in'
  | 'create-user'
  | 'delete-user'
  | 'change-roles'
  | 'set-password'
  | 'change-email'
  | 'mint-credential'
  | 'mint-short-lived'
  | 'revoke-credential';

/** Effects that last: no short-lived token may cause them, and a session needs a fresh sign-in. */
export const LASTING_EFFECTS: readonly Effect[] = [
  'create-user',
  'delete-user',
  'change-roles',
  'set-password',
  'change-email',
  'mint-credential',
];

/**
 * What a session caller must show (SECURITY G3): nothing more; a sign-in within
 * `TESSERA_RECENT_LOGIN`; or the current password in the body, which the handler checks as a
 * throttled login (SECURITY A6) — it proves the user is at the keyboard as well as a new sign-in.
 */
export type SessionRule = 'any' | 'recent' | 'current-password';

export interface Requirement {
  /**
   * The credential kinds that may call; any other gets 403. `anyone`: a route without
   * authentication. On such a route the list names what the handler itself checks (a password
   * or a Conjur API key in the request), for the documentation.
   */
  callers: 'anyone' | readonly CallerKind[];
  session: SessionRule;
  /** Admins only: the 403 said to anyone else. */
  adminOnly?: string;
  effects: readonly Effect[];
}

/** A stricter requirement that applies when the request asks for more (see {@link RoutePolicy.stricter}). */
export interface Rule extends Requirement {
  /** When it applies, in words, for the documentation. */
  when: string;
}

export interface RoutePolicy extends Requirement {
  /**
   * On a route without authentication: the credential is sent in the request (a password in
   * the body, Basic on the Conjur routes) and the handler checks it; `callers` names which.
   */
  checkedByRoute?: true;
  /**
   * For a route whose body decides what it changes (`PATCH /users/users/{id}`): named rules,
   * and a function that says which apply to this request. Both run here, after authentication,
   * before the handler, so the handler need not remember them.
   */
  stricter?: {
    rules: Readonly<Record<string, Rule>>;
    select(ctx: RequestContext): Promise<readonly string[]>;
  };
}

/** Routes without authentication that anyone may call and that change nothing. */
export const PUBLIC: RoutePolicy = { callers: 'anyone', session: 'any', effects: [] };

/** Any signed-in credential may call. */
export function anyCredential(...effects: Effect[]): RoutePolicy {
  return { callers: ANY_CREDENTIAL, session: 'any', effects };
}

/**
 * A route that makes something lasting: no short-lived token, a session signed in recently
 * (SECURITY G3), and, with `adminOnly`, admins only.
 */
export function lasting(effects: readonly Effect[], adminOnly?: string): Requirement {
  return { callers: LONG_LIVED, session: 'recent', effects, ...(adminOnly !== undefined && { adminOnly }) };
}

/** A route without authentication whose handler checks the credential sent in the request itself. */
export function selfChecked(callers: readonly CallerKind[], ...effects: Effect[]): RoutePolicy {
  return { callers, session: 'any', effects, checkedByRoute: true };
}

const STALE = 'This change needs a recent sign-in: sign in again, then retry.';

/**
 * Applies a route's policy to an authenticated request: the base requirement, then every
 * stricter rule the request triggers. Called by the server after authentication, the scope
 * and the CSRF checks, before the handler.
 *
 * @throws HttpError 403 naming what is missing: an admin, another kind of credential, a recent sign-in.
 */
export function enforceRoutePolicy(ctx: RequestContext, policy: RoutePolicy): Promise<void> | undefined {
  check(ctx, policy);
  // Every authenticated request passes here: only a route whose body decides pays for a promise.
  return policy.stricter && enforceStricter(ctx, policy.stricter);
}

async function enforceStricter(ctx: RequestContext, stricter: NonNullable<RoutePolicy['stricter']>): Promise<void> {
  for (const name of await stricter.select(ctx)) {
    const rule = stricter.rules[name];
    // A name without a rule is a programming error: a 500, never a request let through.
    if (!rule) throw new TypeError(`route policy: no rule named "${name}"`);
    check(ctx, rule);
  }
}

function check(ctx: RequestContext, requirement: Requirement): void {
  const principal = ctx.user;
  if (requirement.adminOnly !== undefined && !isAdmin(principal.user)) throw detail(403, requirement.adminOnly);
  const kind = principal.credential.kind;
  // A kind not listed is refused, one added later included: the safe way to fail.
  if (requirement.callers !== 'anyone' && !(requirement.callers as readonly string[]).includes(kind)) {
    throw detail(403, refusal(kind));
  }
  // Only a session can be stale (SECURITY G3; ASVS5 7.5): a session left open on a shared
  // machine, or ridden by injected script, must not quietly take the account over. Basic
  // proves the password on the request itself; a long-lived token is limited by its scopes.
  if (requirement.session === 'recent' && kind === 'session') {
    const { signedInAt } = principal;
    const { clock, config } = ctx.tessera;
    if (signedInAt === undefined || clock() - signedInAt > config.recentLoginMs) throw detail(403, STALE);
  }
}

function refusal(kind: string): string {
  if ((SHORT_LIVED as readonly string[]).includes(kind)) {
    const { label } = CALLER_KINDS[kind as CallerKind];
    return `A ${label} is short-lived and cannot be used for this; use the credential it came from.`;
  }
  const known = Object.hasOwn(CALLER_KINDS, kind) ? CALLER_KINDS[kind as CallerKind].label : 'credential';
  return `This route does not accept a ${known}.`;
}

/** Whether the policy can refuse a signed-in caller (the OpenAPI document then lists a 403). */
export function policyRefuses(policy: RoutePolicy): boolean {
  if (policy.checkedByRoute) return false;
  return (
    policy.stricter !== undefined ||
    policy.adminOnly !== undefined ||
    policy.session !== 'any' ||
    (policy.callers !== 'anyone' && !sameKinds(policy.callers, ANY_CREDENTIAL))
  );
}

/** The policy as the OpenAPI document publishes it (`x-tessera-policy`): data only. */
export interface PolicyDocument {
  callers: 'anyone' | CallerKind[];
  checked_by_route: boolean;
  session: SessionRule;
  admin_only: boolean;
  effects: Effect[];
  stricter?: Array<{
    rule: string;
    when: string;
    callers: 'anyone' | CallerKind[];
    session: SessionRule;
    admin_only: boolean;
    effects: Effect[];
  }>;
}

export function policyDocument(policy: RoutePolicy): PolicyDocument {
  const base = { ...requirementDocument(policy), checked_by_route: policy.checkedByRoute === true };
  if (!policy.stricter) return base;
  return {
    ...base,
    stricter: Object.entries(policy.stricter.rules).map(([rule, r]) => ({
      rule,
      when: r.when,
      ...requirementDocument(r),
    })),
  };
}

function requirementDocument(requirement: Requirement) {
  return {
    callers: requirement.callers === 'anyone' ? ('anyone' as const) : [...requirement.callers],
    session: requirement.session,
    admin_only: requirement.adminOnly !== undefined,
    effects: [...requirement.effects],
  };
}

/** The policy in a sentence or two, for the OpenAPI operation's description. */
export function policyText(policy: RoutePolicy): string {
  const checked = policy.checkedByRoute ? ', sent in the request and checked by the route itself' : '';
  const parts = [`Who may call: ${requirementText(policy)}${checked}.`];
  for (const rule of Object.values(policy.stricter?.rules ?? {})) {
    parts.push(`When ${rule.when}: ${requirementText(rule)}.`);
  }
  return parts.join(' ');
}

/** A requirement in words: who may call, and what more it takes. */
export function requirementText(requirement: Requirement): string {
  const { callers } = requirement;
  let who: string;
  if (callers === 'anyone') who = 'anyone, without authentication';
  else if (sameKinds(callers, ANY_CREDENTIAL)) who = 'any credential';
  else if (sameKinds(callers, LONG_LIVED)) who = 'any credential but a short-lived one (JWT, Conjur token)';
  else who = `only a ${kindList(callers)}`;
  const extra: string[] = [];
  if (requirement.adminOnly !== undefined) extra.push('admins only');
  if (requirement.session === 'recent') extra.push('a session must have signed in within TESSERA_RECENT_LOGIN');
  if (requirement.session === 'current-password') extra.push('the current password is required');
  return [who, ...extra].join('; ');
}

function sameKinds(a: readonly CallerKind[], b: readonly CallerKind[]): boolean {
  return a.length === b.length && a.every((kind) => b.includes(kind));
}

function kindList(kinds: readonly CallerKind[]): string {
  return [...new Set(kinds.map((kind) => CALLER_KINDS[kind].label))].join(' or ');
}
