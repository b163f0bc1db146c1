/*
 * The suites' HTTP client: Node's own http module against a real server on a free loopback port, so neither the
 * suites nor their users need supertest.
 */
import { createServer, type IncomingHttpHeaders, type RequestListener, request, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

/** A response as received: status, headers as Node parsed them (lower-case names), and the raw body bytes. */
export interface RawResponse {
  status: number;
  headers: IncomingHttpHeaders;
  body: Buffer;
}

export interface Listening {
  server: Server;
  /** `http://127.0.0.1:<port>` */
  url: string;
  close(): Promise<void>;
}

/** Serves `handler` on a free loopback port. */
export async function listen(handler: RequestListener): Promise<Listening> {
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

/**
 * Sends one request on a connection of its own (`Connection: close`) and resolves once the whole body arrived and
 * the server closed the connection. Node's server closes it from the response's 'finish', so by then whatever an
 * adapter does on 'finish' (a cache stores the response there) has run: the next request sees it, however loaded
 * the machine.
 */
export function send(url: string, method: string, path: string, headers: Record<string, string> = {}): Promise<RawResponse> {
  return new Promise((resolve, reject) => {
    let response: RawResponse | undefined;
    let closed = false;
    const settle = () => {
      if (response !== undefined && closed) resolve(response);
    };
    const req = request(`${url}${path}`, { method, headers, agent: false }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.on('error', reject);
      res.on('end', () => {
        response = { status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks) };
        settle();
      });
    });
    req.on('socket', (socket) =>
      socket.once('close', () => {
        closed = true;
        if (response === undefined) reject(new Error(`${method} ${path}: connection closed before the response ended`));
        else settle();
      }),
    );
    req.on('error', reject);
    req.end();
  });
}

/** A promise with its resolve handle, to hold a handler until a test releases it. */
export function deferred<T = void>(): { promise: Promise<T>; resolve(value: T): void } {
  let resolve!: (value: T) => void;
  const promise = new Promise<T>((r) => {
    resolve = r;
  });
  return { promise, resolve };
}
