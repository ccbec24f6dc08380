// The yardstick: a bare node:http server answering the same JSON a whoami returns, with
// nothing else in the way. Every Tessera figure is quoted as a ratio to this, from one run.
import { createServer } from 'node:http';

const body = JSON.stringify({
  id: 1,
  username: 'bench',
  email: '',
  is_active: true,
  is_staff: false,
  roles: [],
  date_joined: '2026-01-01T00:00:00.000Z',
  last_login: '2026-01-01T00:00:00.000Z',
});
const server = createServer((_req, res) => {
  res.writeHead(200, { 'Content-Type': 'application/json', 'Cache-Control': 'no-store' });
  res.end(body);
});
server.listen(0, '127.0.0.1', () => {
  process.stdout.write(`${JSON.stringify({ port: server.address().port })}\n`);
});
process.on('SIGTERM', () => server.close(() => process.exit(0)));
