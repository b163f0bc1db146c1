import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import express from 'express';
import request from 'supertest';
import { type RawResponse, sendRaw } from './http.js';

export { express, request };

/** GET `path` and return the response with `body` as a Buffer. The request is sent at once (supertest is lazy). */
export function getRaw(app: express.Express | Server | string, path: string): Promise<RawResponse> {
  return sendRaw(request(app).get(path));
}

/** Starts `app` on a free loopback port; one server for many concurrent requests. */
export async function serve(app: express.Express): Promise<{ url: string; server: Server; close(): Promise<void> }> {
  const server = await new Promise<Server>((resolve) => {
    const s = app.listen(0, '127.0.0.1', () => resolve(s));
  });
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    server,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/** A clock the test moves by hand. */
export function manualClock(start = 1_700_000_000_000): { now: () => number; advance(ms: number): void } {
  let time = start;
  return {
    now: () => time,
    advance(ms: number) {
      time += ms;
    },
  };
}
