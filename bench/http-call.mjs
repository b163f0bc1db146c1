// One request of the fleet benchmarks (bench/fleet.mjs, bench/fleet-scale.mjs), read whole: its status, X-Cache and
// body as text.
import { request } from 'node:http';

/** Sends a request (`http.request` options, with the caller's keep-alive agent) and resolves with its answer. */
export function httpCall(options) {
  return new Promise((resolve, reject) => {
    const req = request(options, (res) => {
      const chunks = [];
      res.on('data', (chunk) => chunks.push(chunk));
      res.on('end', () =>
        resolve({ status: res.statusCode, cache: res.headers['x-cache'], body: Buffer.concat(chunks).toString() }),
      );
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end();
  });
}
