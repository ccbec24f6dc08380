import { readFileSync } from 'node:fs';
import type { RequestContext } from './context.js';
import { detail } from './http-error.js';
import { PUBLIC } from './route-policy.js';
import type { Reply, Route } from './routes.js';

/**
 * `GET /`: a small HTML page for someone who opens the server in a browser, saying what it is
 * and where to go next. It has no script, no style and no external asset, and is served under
 * a CSP that allows none (`default-src 'none'`), so there is nothing on it to inject into or
 * to load from elsewhere. Every other client — no Accept, `*\/*`, JSON — keeps the 404
 * `{"detail": "Not found."}` that `/` always gave: the API has no resource at `/`.
 */
export function homePageRoute(): Route {
  return { methods: ['GET'], path: '/', auth: 'none', policy: PUBLIC, handler: homePage };
}

async function homePage(ctx: RequestContext): Promise<Reply> {
  if (!prefersHtml(ctx.header('accept'))) throw detail(404, 'Not found.');
  return {
    text: page(),
    headers: {
      'Content-Type': 'text/html; charset=utf-8',
      'Content-Security-Policy': "default-src 'none'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'",
      // The answer depends on Accept; a cache between must not give the HTML to an API client.
      Vary: 'Accept',
    },
  };
}

/**
 * Whether an `Accept` header (RFC 9110 12.5.1) ranks `text/html` above zero and at least as
 * high as JSON would be ranked: true for a browser's `text/html,…,*\/*;q=0.8`, false for a
 * missing header, `*\/*` (curl, fetch) or `application/json`. One split per element and per
 * parameter, so linear in the header's length.
 */
export function prefersHtml(accept: string | undefined): boolean {
  if (accept === undefined) return false;
  let html = 0;
  let json = 0;
  for (const element of accept.split(',')) {
    const [range = '', ...parameters] = element.split(';');
    const type = range.trim().toLowerCase();
    let q = 1;
    for (const parameter of parameters) {
      const [name = '', value = ''] = parameter.split('=');
      if (name.trim().toLowerCase() !== 'q') continue;
      const parsed = Number(value.trim());
      // RFC 9110 12.4.2: a qvalue is 0 to 1 with at most three decimals; anything else counts as 0.
      q = /^(0(\.\d{0,3})?|1(\.0{0,3})?)$/.test(value.trim()) ? parsed : 0;
    }
    if (type === 'text/html') html = Math.max(html, q);
    else if (type === 'application/json' || type === 'application/*' || type === '*/*') json = Math.max(json, q);
  }
  return html > 0 && html >= json;
}

let cached: string | undefined;

/** Built once: the version comes from the package's own package.json. */
function page(): string {
  if (cached !== undefined) return cached;
  const manifest = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as {
    version?: string;
    homepage?: string;
  };
  const version = escapeHtml(manifest.version ?? 'unknown');
  const docs = manifest.homepage
    ? `<a href="${escapeHtml(manifest.homepage)}">the README</a>`
    : 'the <code>README.md</code> at the top of the Tessera source tree';
  cached = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Tessera ${version}</title>
</head>
<body>
<h1>Tessera</h1>
<p>A self-hosted authentication server for HTTP APIs, version ${version}. It answers the
credentials existing clients already send: Keystone-style sessions with CSRF, DRF tokens,
Frappe key pairs, HTTP Basic, personal tokens, Conjur signed tokens and JWTs.</p>
<p>There is nothing to sign in to here: this page is for people, the API is for programs.</p>
<ul>
<li><a href="/openapi.json">/openapi.json</a>: every route, as OpenAPI 3.1</li>
<li><a href="/healthz">/healthz</a>: 200 while serving, 503 while shutting down</li>
<li><a href="/.well-known/jwks.json">/.well-known/jwks.json</a>: the public keys that verify its JWTs</li>
</ul>
<p>Documentation: ${docs}.</p>
</body>
</html>
`;
  return cached;
}

function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}
