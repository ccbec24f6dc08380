import { afterAll, beforeAll, expect, it } from 'vitest';
import { describeEachDatabase, PASSWORD, startServer, type TestServer } from './helpers/harness.js';

/** Median of a list of numbers. */
function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? (sorted[mid] ?? 0) : ((sorted[mid - 1] ?? 0) + (sorted[mid] ?? 0)) / 2;
}

describeEachDatabase('login timing (SECURITY B1, B2)', (kind) => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startServer(kind, {
      throttle: { account: { max: 10_000, windowMs: 3_600_000 }, address: { max: 10_000, windowMs: 3_600_000 } },
    });
    await server.createUser('known', PASSWORD);
    await server.tessera.users.create({ username: 'dormant', password: PASSWORD, isActive: false }, { actorId: null });
  });
  afterAll(() => server.close());

  it('takes the same time for an unknown user, a wrong password and an inactive user', async () => {
    const attempt = async (username: string, password: string) => {
      const started = performance.now();
      const response = await fetch(`${server.url}/authentication/login/`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ username, password }),
      });
      await response.arrayBuffer();
      expect(response.status).toBe(400);
      return performance.now() - started;
    };
    const samples = { unknown: [] as number[], wrong: [] as number[], inactive: [] as number[] };
    // Warm up (the dummy hash is made on first use), then interleave so drift hits all alike.
    await attempt('nobody', PASSWORD);
    for (let i = 0; i < 50; i++) {
      samples.unknown.push(await attempt(`nobody-${i}`, PASSWORD));
      samples.wrong.push(await attempt('known', `wrong password ${i}`));
      samples.inactive.push(await attempt('dormant', PASSWORD));
    }
    const wrong = median(samples.wrong);
    for (const other of [median(samples.unknown), median(samples.inactive)]) {
      expect(other / wrong).toBeGreaterThan(0.8);
      expect(other / wrong).toBeLessThan(1.25);
    }
  }, 120_000);
});
