// A small notes API protected by Tessera, on Fastify.
//   node examples/fastify/server.mjs
// Offline mode (default): send `Authorization: Bearer <JWT>` from Tessera's POST /v1/token.
// Remote mode: set TESSERA_INTROSPECT_TOKEN to a Tessera credential with the `introspect` scope.
import Fastify from 'fastify';
import { requireRole, requireScopes, tessera } from 'tessera/fastify';

const url = process.env.TESSERA_URL ?? 'http://127.0.0.1:8000';
const introspectToken = process.env.TESSERA_INTROSPECT_TOKEN;
const options = introspectToken ? { mode: 'remote', url, credential: introspectToken } : { mode: 'offline', url };
const notes = [];

const app = Fastify({ logger: false });
app.decorateRequest('principal', null);
app.get('/health', async () => ({ status: 'ok' }));
// Everything registered in this scope needs a credential; /health above stays public.
app.register(async (api) => {
  api.addHook('onRequest', tessera(options));
  api.get('/me', async (request) => request.principal);
  api.get('/notes', { preHandler: requireScopes('notes:read') }, async (request) =>
    notes.filter((note) => note.owner === request.principal.userId),
  );
  api.post('/notes', { preHandler: requireScopes('notes:write') }, async (request, reply) => {
    const note = { id: notes.length + 1, owner: request.principal.userId, text: String(request.body?.text ?? '') };
    notes.push(note);
    return reply.code(201).send(note);
  });
  api.get('/admin/notes', { preHandler: requireRole('admin') }, async () => notes);
});

const port = Number(process.env.PORT ?? 3002);
await app.listen({ port, host: '127.0.0.1' });
console.log(`Fastify notes API on http://127.0.0.1:${port} (${options.mode} mode against ${url})`);
