import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { type LinearityCase, type LinearityFigure, measure, openParsers } from '../../../../bench/lib/linearity.js';
import { describeEachDatabase, startServer, type TestServer } from '../helpers/harness.js';
import { rawRequest } from '../helpers/requests.js';

/**
 * Issue 13 item 1 (SECURITY H: never a hang): every parser that reads request data runs in
 * linear time. `trimHttpWhitespace` was O(n²) on a run of spaces followed by a non-space — one
 * cookie of 16,000 spaces held the event loop for over half a second — and so were Conjur's
 * Basic-header regular expression and a form body repeating one field.
 *
 * Timed as a ratio, never an absolute time: a 100 KB adversarial input against a 10 KB one in
 * the same run (`bench/lib/linearity.js`; `node bench/linearity.js` prints the table). Linear
 * is about 10×, quadratic about 100×; the line is drawn at 30×.
 */
const LIMIT = 30;

describe('item 1: parsers of request data are linear (SECURITY H)', () => {
  let parsers: { cases: LinearityCase[]; close(): Promise<void> };
  beforeAll(async () => {
    parsers = await openParsers();
  });
  afterAll(() => parsers.close());

  it('item 1: every parser takes under 30× as long on a 100 KB adversarial input as on a 10 KB one', async () => {
    const figures: LinearityFigure[] = [];
    for (const testCase of parsers.cases) {
      let figure = await measure(testCase, { rounds: 5 });
      // Two cores shared with other work: a case over the line is measured again, longer,
      // before it counts. Noise only adds time, so the faster of the two measurements stands.
      if (figure.ratio >= LIMIT) {
        const again = await measure(testCase, { rounds: 15 });
        if (again.ratio < figure.ratio) figure = again;
      }
      figures.push(figure);
    }
    const superlinear = figures.filter((f) => f.ratio >= LIMIT).map((f) => `${f.name}: ${f.ratio.toFixed(1)}×`);
    expect(superlinear).toEqual([]);
    expect(figures.length).toBeGreaterThanOrEqual(30);
  }, 600_000);
});

/** Headers that were each O(n²) somewhere on the way to a 401, within node's 16 KiB header limit. */
const SPACES = ' '.repeat(16_000);
const ADVERSARIAL: Array<{
  name: string;
  path: string;
  headers: Record<string, string>;
  control: Record<string, string>;
}> = [
  {
    name: 'a session cookie of a, 16,000 spaces, b',
    path: '/v1/me',
    headers: { cookie: `sessionid=a${SPACES}b` },
    control: { cookie: `sessionid=a${'x'.repeat(16_000)}b` },
  },
  {
    // `authenticate()` reads at most 8 KiB of Authorization.
    name: 'Authorization: Basic a, 8,000 spaces, b',
    path: '/v1/me',
    headers: { authorization: `Basic a${SPACES.slice(0, 8_000)}b` },
    control: { authorization: `Basic a${'x'.repeat(8_000)}b` },
  },
  {
    name: 'Conjur login with Authorization: Basic, 16,000 spaces, a b',
    path: '/api/authn/users/login',
    headers: { authorization: `Basic${SPACES}a b` },
    control: { authorization: `Basic ${'x'.repeat(16_000)}a` },
  },
];

describeEachDatabase('item 1: adversarial headers through the real server', (kind) => {
  let server: TestServer;
  beforeEach(async () => {
    server = await startServer(kind);
  });
  afterEach(() => server.close());

  /** Milliseconds for `count` requests sent at once, each answered 401. */
  async function burst(path: string, headers: Record<string, string>, count: number): Promise<number> {
    const started = performance.now();
    const answers = await Promise.all(Array.from({ length: count }, () => rawRequest(server, { path, headers })));
    for (const answer of answers) {
      expect(answer.status).toBe(401);
    }
    return performance.now() - started;
  }

  for (const adversarial of ADVERSARIAL) {
    it(`item 1: ${adversarial.name} costs about what a harmless header of its size does`, async () => {
      await burst(adversarial.path, adversarial.control, 2); // warm up
      // The fastest of five turns each: another process on the machine only ever adds time.
      let control = Number.POSITIVE_INFINITY;
      let attack = Number.POSITIVE_INFINITY;
      for (let turn = 0; turn < 5; turn++) {
        control = Math.min(control, await burst(adversarial.path, adversarial.control, 6));
        attack = Math.min(attack, await burst(adversarial.path, adversarial.headers, 6));
      }
      const ratio = attack / control;
      // About 1× now; before the fix 20–200× (each such request held the event loop 150–600 ms,
      // where a burst of harmless ones takes a few ms). 10× leaves room for a noisy machine.
      expect(ratio).toBeLessThan(10);
    });
  }

  it('item 1: /healthz answers promptly while adversarial requests are in flight', async () => {
    const health = async () => {
      const started = performance.now();
      const answer = await rawRequest(server, { path: '/healthz' });
      expect(answer.status).toBe(200);
      return performance.now() - started;
    };
    let idle = Number.POSITIVE_INFINITY;
    for (let i = 0; i < 5; i++) idle = Math.min(idle, await health());
    const attacks = ADVERSARIAL.flatMap((a) =>
      Array.from({ length: 6 }, () => rawRequest(server, { path: a.path, headers: a.headers })),
    );
    const during = await health();
    const answers = await Promise.all(attacks);
    expect(answers.map((a) => a.status)).toEqual(answers.map(() => 401));
    // 18 such requests held /healthz for several seconds before the fix; a generous bound,
    // far above an idle answer's few milliseconds, still tells the two apart.
    expect(during).toBeLessThan(Math.max(1_000, idle * 50));
  });
});
