// A small notes API protected by Tessera, on Hono (served by @hono/node-server).
//   node examples/hono/server.mjs
// Offline mode (default): send `Authorization: Bearer <JWT>` from Tessera's POST /v1/token.
// Remote mode: set TESSERA_INTROSPECT_TOKEN to a Tessera credential with the `introspect` scope.
import { serve } from '@hono/node-server';
import { Hono } from 'hono';
import { requireRole, requireScopes, tessera } from 'tessera/hono';

const url = process.env.TESSERA_URL ?? 'http://127.0.0.1:8000';
const introspectToken = process.env.TESSERA_INTROSPECT_TOKEN;
const options = introspectToken ? { mode: 'remote', url, credential: introspectToken } : { mode: 'offline', url };
const notes = [];

const app = new Hono();
app.get('/health', (c) => c.json({ status: 'ok' }));
app.use('/api/*', tessera(options));
app.get('/api/me', (c) => c.json(c.get('principal')));
app.get('/api/notes', requireScopes('notes:read'), (c) =>
  c.json(notes.filter((note) => note.owner === c.get('principal').userId)),
);
app.post('/api/notes', requireScopes('notes:write'), async (c) => {
  const body = await c.req.json().catch(() => ({}));
  const note = { id: notes.length + 1, owner: c.get('principal').userId, text: String(body.text ?? '') };
  notes.push(note);
  return c.json(note, 201);
});
app.get('/api/admin/notes', requireRole('admin'), (c) => c.json(notes));

const port = Number(process.env.PORT ?? 3003);
serve({ fetch: app.fetch, port, hostname: '127.0.0.1' }, () => {
  console.log(`Hono notes API on http://127.0.0.1:${port}/api (${options.mode} mode against ${url})`);
});
