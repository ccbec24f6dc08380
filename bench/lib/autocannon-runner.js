// The fallback load generator where wrk is missing: autocannon, in a process of its own so it
// never shares an event loop with the harness. Reads one run's spec (JSON) from argv, prints
// the figures as one JSON line, in the same shape as wrk.js's parse().
import autocannon from 'autocannon';

const spec = JSON.parse(process.argv[2]);
let i = 0;
const request = spec.variants
  ? {
      setupRequest(req) {
        const v = spec.variants[i];
        i = (i + 1) % spec.variants.length;
        const body = v.body ?? spec.body;
        const headers = { ...spec.headers, ...v.headers };
        if (body !== undefined) headers['content-type'] ??= 'application/json';
        return { ...req, headers, ...(body !== undefined && { body }) };
      },
    }
  : {};
const result = await autocannon({
  url: spec.url,
  connections: spec.connections,
  duration: spec.duration,
  method: spec.method,
  headers: spec.headers,
  ...(spec.body !== undefined && { body: spec.body }),
  requests: [request],
  timeout: 10,
  pipelining: 1,
  ...(spec.rate !== undefined && { overallRate: spec.rate }),
});
process.stdout.write(
  `${JSON.stringify({
    rps: Math.round(result.requests.average),
    requests: result.requests.total,
    non2xx: result.non2xx,
    errors: result.errors - result.timeouts,
    timeouts: result.timeouts,
    p50: result.latency.p50,
    p99: result.latency.p99,
  })}\n`,
);
