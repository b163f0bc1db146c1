// How the demos listen: on loopback (127.0.0.1) unless HOST says otherwise (HOST=0.0.0.0 for a container or a VM).
// A demo has an open inspector page and no authentication: it is for this machine unless you ask. PORT=0 takes a
// free port. Calls back with the URL to print, built from the address it really listens on.
import { createServer } from 'node:http';

export function listen(requestListener, defaultPort, callback) {
  const host = process.env.HOST || '127.0.0.1';
  const port = Number(process.env.PORT ?? defaultPort);
  const server = createServer(requestListener);
  server.listen(port, host, () => {
    const { address, family, port: bound } = server.address();
    // Every interface (0.0.0.0, ::) includes loopback, which this machine's browser and curl reach as localhost.
    const shown = address === '0.0.0.0' || address === '::' ? 'localhost' : family === 'IPv6' ? `[${address}]` : address;
    callback(`http://${shown}:${bound}`);
  });
  return server;
}
