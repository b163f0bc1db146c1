import { createConnection, createServer, type Server, type Socket } from 'node:net';

/**
 * A loopback TCP proxy in front of a Redis, standing for the address a Sentinel-aware client or a virtual IP gives
 * an application: after a failover the same address reaches the promoted replica. Each connection is piped to the
 * current target; switching the target drops every open connection, so clients reconnect to the new one.
 */
export interface TcpProxy {
  readonly port: number;
  readonly url: string;
  /** Sends new connections to `port` from now on and drops the open ones. */
  target(port: number): void;
  close(): Promise<void>;
}

export async function startProxy(initial: number): Promise<TcpProxy> {
  let current = initial;
  const open = new Set<Socket>();
  const server: Server = createServer((client) => {
    const upstream = createConnection({ port: current, host: '127.0.0.1' });
    for (const socket of [client, upstream]) {
      open.add(socket);
      socket.once('close', () => open.delete(socket));
      // A peer gone (a killed server, a client that quit) ends both sides; the error itself tells nothing more.
      socket.on('error', () => {
        client.destroy();
        upstream.destroy();
      });
    }
    client.once('close', () => upstream.destroy());
    upstream.once('close', () => client.destroy());
    client.pipe(upstream);
    upstream.pipe(client);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  const port = typeof address === 'object' && address !== null ? address.port : 0;
  return {
    port,
    url: `redis://127.0.0.1:${port}`,
    target(next) {
      current = next;
      for (const socket of open) socket.destroy();
    },
    close: () =>
      new Promise<void>((resolve) => {
        for (const socket of open) socket.destroy();
        server.close(() => resolve());
      }),
  };
}
