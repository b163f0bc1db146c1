// Load generation with autocannon, run programmatically in the bench's own process (pinned apart from servers).
import autocannon from 'autocannon';
import { IDS, WRITE_BODY } from './servers/payload.mjs';

function percentile(sorted, p) {
  if (sorted.length === 0) return Number.NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];
}

/**
 * Loads `base` for `duration` seconds and returns req/s and latency percentiles in ms. Latencies are taken from
 * autocannon's per-response timings (fractional ms), not its integer-ms histogram, so sub-ms rows stay apart.
 */
export async function measure(base, { duration, connections, requests, server }) {
  const cpuBefore = await server?.cpu();
  const sample = await load(base, { duration, connections, requests });
  if (server) sample.cpuUsPerReq = ((await server.cpu()) - cpuBefore) / sample.total;
  return sample;
}

/**
 * Requests for autocannon that each ask for a new id, `/users/<counter.next>` counting up: a unique key per request
 * for the miss rows. The counter is the caller's, so ids go on counting across measurements of one server.
 */
export function uniqueRequests(counter) {
  return [
    {
      setupRequest(request) {
        request.method = 'GET';
        request.path = `/users/${counter.next++}`;
        return request;
      },
    },
  ];
}

/** Requests for autocannon of the write rows: `PUT /users/:id` with a small JSON body, the 16 ids in a cycle. */
export function writeRequests() {
  return IDS.map((id) => ({
    method: 'PUT',
    path: `/users/${id}`,
    headers: { 'content-type': 'application/json' },
    body: WRITE_BODY,
  }));
}

/** Sends `count` unique ids from the counter on (16 at a time), as a miss row's fill before its warm-up. */
export async function fillUnique(base, counter, count) {
  const last = counter.next + count - 1;
  const filler = async () => {
    while (counter.next <= last) {
      const response = await fetch(`${base}/users/${counter.next++}`);
      await response.arrayBuffer();
    }
  };
  await Promise.all(Array.from({ length: 16 }, filler));
}

function load(base, { duration, connections, requests }) {
  const list = requests ?? IDS.map((id) => ({ method: 'GET', path: `/users/${id}` }));
  return new Promise((resolve, reject) => {
    const latencies = [];
    const instance = autocannon({ url: base, connections, duration, pipelining: 1, requests: list }, (error, result) => {
      if (error) return reject(error);
      latencies.sort((a, b) => a - b);
      resolve({
        rps: result.requests.total / duration,
        p50: percentile(latencies, 50),
        p99: percentile(latencies, 99),
        total: result.requests.total,
        non2xx: result.non2xx,
        errors: result.errors + result.timeouts,
      });
    });
    instance.on('response', (_client, statusCode, _bytes, responseTime) => {
      if (statusCode >= 200 && statusCode < 300) latencies.push(responseTime);
    });
  });
}
