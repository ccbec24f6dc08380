import SqliteDatabase from 'better-sqlite3';
import { afterEach, beforeEach, expect, it, vi } from 'vitest';
import type { ServeProcess } from '../helpers/cli.js';
import { basicHeader } from '../helpers/credentials.js';
import { type DatabaseKind, describeEachDatabase, PASSWORD } from '../helpers/harness.js';
import { createUserByCli, NO_LOGIN_LIMITS, type ServeBed, serveBed } from '../helpers/serve-bed.js';

// Four server processes started and killed per database, under load, on two shared cores.
vi.setConfig({ testTimeout: 120_000 });

const KILLS = 3;
/** Writes acknowledged in each life of the server before it is killed. */
const WRITES_PER_LIFE = 40;
const WORKERS = 6;
const ALICE = basicHeader('alice', PASSWORD);

/** What the load was told had happened: only these must survive a crash. */
interface Acknowledged {
  /** Personal tokens answered with 201, by token. */
  created: Map<string, number>;
  /** Tokens whose revocation was answered with 204. */
  revoked: Set<string>;
  /** Tokens whose revocation was sent but not answered: either outcome is allowed. */
  revoking: Set<string>;
  /** JWTs answered with 200, each signed by the key current in its server's life. */
  jwts: string[];
}

function integrityCheck(path: string): string {
  // Opening read-write runs the WAL recovery a restart would; the check itself only reads.
  const db = new SqliteDatabase(path);
  try {
    return String(db.pragma('integrity_check', { simple: true }));
  } finally {
    db.close();
  }
}

/**
 * Workers creating personal tokens, revoking every third one and failing logins (throttle
 * writes), until the server dies under them. Resolves `reached` once `target` writes of this
 * life were acknowledged.
 */
function writeLoad(url: string, seen: Acknowledged, target: number) {
  let acknowledged = 0;
  let reachedTarget: () => void = () => undefined;
  const reached = new Promise<void>((resolve) => {
    reachedTarget = resolve;
  });
  const count = () => {
    if (++acknowledged === target) reachedTarget();
  };
  const unexpected: string[] = [];
  const worker = async (n: number) => {
    for (let i = 0; ; i++) {
      if (i % 3 === 2) {
        const [token, id] = [...seen.created].find(([t]) => !seen.revoked.has(t) && !seen.revoking.has(t)) ?? [];
        if (token === undefined) continue;
        seen.revoking.add(token);
        const response = await fetch(`${url}/v1/credentials/${id}`, {
          method: 'DELETE',
          headers: { Authorization: ALICE },
        });
        if (response.status !== 204) unexpected.push(`revoke ${response.status}`);
        seen.revoking.delete(token);
        seen.revoked.add(token);
        count();
      } else if (i % 5 === 4) {
        const response = await fetch(`${url}/authentication/login/`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ username: 'alice', password: `wrong ${n}` }),
        });
        await response.arrayBuffer();
        if (response.status !== 400) unexpected.push(`login ${response.status}`);
      } else {
        const response = await fetch(`${url}/v1/credentials`, {
          method: 'POST',
          headers: { Authorization: ALICE, 'content-type': 'application/json' },
          body: JSON.stringify({ name: `w${n}-${i}` }),
        });
        const body = (await response.json()) as { id?: number; token?: string };
        if (response.status !== 201 || body.token === undefined || body.id === undefined) {
          unexpected.push(`create ${response.status}`);
          continue;
        }
        seen.created.set(body.token, body.id);
        count();
      }
    }
  };
  // Each worker ends with the first refused connection: that is the kill.
  const stopped = Promise.all(Array.from({ length: WORKERS }, (_, n) => worker(n).catch(() => undefined)));
  return { reached, stopped, unexpected };
}

async function status(url: string, authorization: string): Promise<number> {
  const response = await fetch(`${url}/v1/me`, { headers: { Authorization: authorization } });
  await response.arrayBuffer();
  return response.status;
}

describeEachDatabase('SECURITY I3: kill -9 of tessera serve mid-write', (kind: DatabaseKind) => {
  let bed: ServeBed;
  beforeEach(async () => {
    bed = await serveBed(kind, NO_LOGIN_LIMITS);
    await createUserByCli(bed, 'alice');
  });
  afterEach(() => bed.dispose());

  it('keeps the database consistent and every acknowledged token, revocation and signing key across 3 kill -9 restarts', async () => {
    const seen: Acknowledged = { created: new Map(), revoked: new Set(), revoking: new Set(), jwts: [] };
    let survived = 0;
    let serve: ServeProcess = await bed.serve();
    for (let life = 0; life < KILLS; life++) {
      // The first token of each life: in the first, the very first use of a signing key made at start.
      const issued = await fetch(`${serve.url}/v1/token`, { method: 'POST', headers: { Authorization: ALICE } });
      expect(issued.status).toBe(200);
      seen.jwts.push(((await issued.json()) as { access_token: string }).access_token);

      const load = writeLoad(serve.url, seen, WRITES_PER_LIFE);
      await load.reached;
      serve.child.kill('SIGKILL');
      expect(await serve.exited(10_000)).toEqual({ code: null, signal: 'SIGKILL' });
      await load.stopped;
      expect(load.unexpected).toEqual([]);

      if (kind === 'sqlite') expect(integrityCheck(bed.databaseUrl)).toBe('ok');
      serve = await bed.serve();
      expect(await status(serve.url, ALICE)).toBe(200);
      survived++;
    }

    const live = [...seen.created.keys()].filter((t) => !seen.revoked.has(t) && !seen.revoking.has(t));
    const revoked = [...seen.revoked];
    const liveStatuses = await Promise.all(live.map((t) => status(serve.url, `Bearer ${t}`)));
    const revokedStatuses = await Promise.all(revoked.map((t) => status(serve.url, `Bearer ${t}`)));
    const jwtStatuses = await Promise.all(seen.jwts.map((t) => status(serve.url, `Bearer ${t}`)));
    console.log(
      `I3 [${kind}]: ${survived} kill -9 restarts survived; ${seen.created.size} tokens and ` +
        `${revoked.length} revocations acknowledged, all intact; ${seen.jwts.length} JWTs verify after restarts`,
    );
    expect(survived).toBe(KILLS);
    expect(live.length).toBeGreaterThan(0);
    expect(revoked.length).toBeGreaterThan(0);
    expect(liveStatuses).toEqual(live.map(() => 200));
    expect(revokedStatuses).toEqual(revoked.map(() => 401));
    expect(jwtStatuses).toEqual(seen.jwts.map(() => 200));
    if (kind === 'sqlite') expect(integrityCheck(bed.databaseUrl)).toBe('ok');
  });
});
