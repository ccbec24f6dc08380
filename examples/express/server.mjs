// A small notes API protected by Tessera, on Express.
//   node examples/express/server.mjs
// Offline mode (default): send `Authorization: Bearer <JWT>` from Tessera's POST /v1/token.
// Remote mode: set TESSERA_INTROSPECT_TOKEN to a Tessera credential with the `introspect` scope
// (e.g. "Bearer tsr_…"); then any header credential Tessera accepts works here too.
import express from 'express';
import { requireRole, requireScopes, tessera } from 'tessera/express';

const url = process.env.TESSERA_URL ?? 'http://127.0.0.1:8000';
const introspectToken = process.env.TESSERA_INTROSPECT_TOKEN;
const options = introspectToken ? { mode: 'remote', url, credential: introspectToken } : { mode: 'offline', url };
const notes = [];

const app = express();
app.use(express.json());
app.get('/health', (_req, res) => res.json({ status: 'ok' })); // before the middleware: public
app.use(tessera(options));
app.get('/me', (req, res) => res.json(req.principal));
app.get('/notes', requireScopes('notes:read'), (req, res) => {
  res.json(notes.filter((note) => note.owner === req.principal.userId));
});
app.post('/notes', requireScopes('notes:write'), (req, res) => {
  const note = { id: notes.length + 1, owner: req.principal.userId, text: String(req.body?.text ?? '') };
  notes.push(note);
  res.status(201).json(note);
});
app.get('/admin/notes', requireRole('admin'), (_req, res) => res.json(notes));

const port = Number(process.env.PORT ?? 3001);
app.listen(port, '127.0.0.1', () => {
  console.log(`Express notes API on http://127.0.0.1:${port} (${options.mode} mode against ${url})`);
});
