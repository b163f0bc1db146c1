import type { Response as SuperResponse, Test } from 'supertest';

// One server-on-a-free-port and one deferred for all tests: the shipped suite's own.
export { deferred, listen } from 'group-cache/test-suite';

/** A supertest response whose body is the raw bytes received. */
export type RawResponse = SuperResponse & { body: Buffer };

/** supertest parser that keeps the body as raw bytes, whatever its type. */
function rawBody(res: SuperResponse, callback: (error: Error | null, body: Buffer) => void): void {
  const chunks: Buffer[] = [];
  res.on('data', (chunk: Buffer) => chunks.push(chunk));
  res.on('end', () => callback(null, Buffer.concat(chunks)));
}

/**
 * Sends a supertest request at once (supertest is lazy) and resolves with its body as a Buffer; supertest runs no
 * parser for HEAD or a 304, which read as the empty body they are.
 */
export function sendRaw(test: Test, headers: Record<string, string> = {}): Promise<RawResponse> {
  return test
    .set(headers)
    .buffer(true)
    .parse(rawBody)
    .then((res) => {
      if (!Buffer.isBuffer(res.body)) res.body = Buffer.alloc(0);
      return res as RawResponse;
    });
}
