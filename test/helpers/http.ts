import type { RequestListener, Server } from 'node:http';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Response as SuperResponse, Test } from 'supertest';

/** A real server on a free loopback port, for tests that need one server across many requests. */
export async function listen(handler: RequestListener): Promise<{ server: Server; url: string; close(): Promise<void> }> {
  const server = createServer(handler);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    server,
    url: `http://127.0.0.1:${port}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/** A promise with its resolve handle, to hold a handler until a test releases it. */
export function deferred<T = void>(): { promise: Promise<T>; resolve(value: T): void } {
  let resolve!: (value: T) => void;
  const promise = new Promise<T>((r) => {
    resolve = r;
  });
  return { promise, resolve };
}

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
