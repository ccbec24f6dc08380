import { setTimeout as delay } from 'node:timers/promises';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { PASSWORD } from '../helpers/harness.js';
import {
  createUserByCli,
  NO_LOGIN_LIMITS,
  quantile,
  residentKiB,
  type ServeBed,
  serveBed,
} from '../helpers/serve-bed.js';

// 200 argon2id logins (19 MiB, t=2) on two shared cores take several seconds by design.
vi.setConfig({ testTimeout: 120_000 });

const LOGINS = 200;

describe('SECURITY I5: bounded argon2 concurrency', () => {
  let bed: ServeBed;
  afterEach(() => bed.dispose());

  it('keeps memory bounded through 200 parallel logins while token requests keep answering without waiting on argon2', async () => {
    bed = await serveBed('sqlite', NO_LOGIN_LIMITS);
    await createUserByCli(bed, 'alice');
    const token = (await bed.cli(['token', 'create', 'alice', '--name', 'i5'])).stdout.trim();
    const serve = await bed.serve();
    const pid = serve.child.pid as number;

    const login = async () => {
      const started = performance.now();
      const response = await fetch(`${serve.url}/authentication/login/`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ username: 'alice', password: PASSWORD }),
      });
      await response.arrayBuffer();
      return { status: response.status, ms: performance.now() - started };
    };
    const tokenCall = async () => {
      const started = performance.now();
      const response = await fetch(`${serve.url}/v1/me`, { headers: { Authorization: `Bearer ${token}` } });
      await response.arrayBuffer();
      return { status: response.status, ms: performance.now() - started };
    };

    // Warm: one login (argon2's memory once allocated), some token calls, before the baseline.
    expect((await login()).status).toBe(200);
    for (let i = 0; i < 20; i++) expect((await tokenCall()).status).toBe(200);
    const before = residentKiB(pid);
    let peak = before;
    const sampler = setInterval(() => {
      peak = Math.max(peak, residentKiB(pid));
    }, 25);

    let storming = true;
    const storm = Promise.all(Array.from({ length: LOGINS }, login)).finally(() => {
      storming = false;
    });
    // Token calls at about 50 a second for as long as the logins last: a client's steady traffic,
    // paced so that it measures waiting rather than adding load of its own to two shared cores.
    const tokenCalls: Array<{ status: number; ms: number }> = [];
    while (storming) {
      tokenCalls.push(await tokenCall());
      await delay(20);
    }
    const logins = await storm;
    clearInterval(sampler);
    const after = residentKiB(pid);

    const tokenP50 = quantile(
      tokenCalls.map((c) => c.ms),
      0.5,
    );
    const tokenP99 = quantile(
      tokenCalls.map((c) => c.ms),
      0.99,
    );
    const loginP50 = quantile(
      logins.map((l) => l.ms),
      0.5,
    );
    const loginMax = quantile(
      logins.map((l) => l.ms),
      1,
    );
    const mib = (kib: number) => (kib / 1024).toFixed(1);
    console.log(
      `I5: RSS ${mib(before)} MiB before, peak ${mib(peak)}, ${mib(after)} after ${LOGINS} parallel logins ` +
        `(login p50 ${loginP50.toFixed(0)} ms, slowest ${loginMax.toFixed(0)} ms); ` +
        `${tokenCalls.length} token calls meanwhile: p50 ${tokenP50.toFixed(1)} ms, p99 ${tokenP99.toFixed(1)} ms`,
    );

    expect(logins.map((l) => l.status)).toEqual(Array(LOGINS).fill(200));
    expect(tokenCalls.map((c) => c.status)).toEqual(tokenCalls.map(() => 200));
    // Two hashes at a time hold 2 × 19 MiB; 200 at once would need 3.7 GiB.
    expect(peak - before).toBeLessThan(200 * 1024);
    expect(after - before).toBeLessThan(150 * 1024);
    expect(tokenCalls.length).toBeGreaterThanOrEqual(20);
    expect(tokenP99).toBeLessThan(1000);
    // A token check that ran argon2 would queue behind the logins' hashes, as slowly as a login.
    expect(tokenP99).toBeLessThan(loginP50);
  });
});
