// Per-request overhead of @tessera/client against plain fetch: N sequential GETs to a local
// node:http server, each way, after a warm-up. Run after building: node packages/client/bench/overhead.mjs
import { createServer } from 'node:http';
import { Client, TokenAuthentication } from '../dist/index.js';

const N = Number(process.env.N ?? 2000);
const server = createServer((req, res) => {
  res.writeHead(200, { 'content-type': 'application/json' });
  res.end(`{"ok":true,"auth":${JSON.stringify(req.headers.authorization ?? null)}}`);
});
await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
const url = `http://127.0.0.1:${server.address().port}/v1/me`;

const client = new Client({ auth: new TokenAuthentication({ token: 'tsr_bench', domain: '127.0.0.1' }) });

async function plain() {
  const response = await fetch(url, { headers: { authorization: 'Bearer tsr_bench', accept: 'application/json' } });
  if (!response.ok) throw new Error(String(response.status));
  return response.json();
}
const viaClient = () => client.get(url);

// Warm both up first (connections, JIT), then alternate blocks so drift hits both sides alike.
for (let i = 0; i < 300; i++) {
  await plain();
  await viaClient();
}
const BLOCKS = 4;
const totals = { plain: 0n, client: 0n };
for (let block = 0; block < BLOCKS; block++) {
  for (const [key, fn] of [
    ['plain', plain],
    ['client', viaClient],
  ]) {
    const started = process.hrtime.bigint();
    for (let i = 0; i < N / BLOCKS; i++) await fn();
    totals[key] += process.hrtime.bigint() - started;
  }
}
const a = Number(totals.plain) / 1000 / N;
const b = Number(totals.client) / 1000 / N;
console.log(`plain fetch                   mean ${a.toFixed(1)} µs/request`);
console.log(`Client + TokenAuthentication  mean ${b.toFixed(1)} µs/request`);
console.log(`N=${N} sequential GETs each; ratio client/fetch = ${(b / a).toFixed(2)} (+${(b - a).toFixed(1)} µs)`);
server.close();
