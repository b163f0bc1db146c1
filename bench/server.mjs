// One benchmark server, alone in its process: `node bench/server.mjs <row id>`. Reports its port over IPC.
import { createServer } from 'node:http';
import { ALL_ROWS } from './rows.mjs';

const row = ALL_ROWS.find((candidate) => candidate.id === process.argv[2]);
if (!row) {
  console.error(`unknown row ${process.argv[2]}`);
  process.exit(2);
}

const { build } = await import(`./servers/${row.module}.mjs`);
const { handler } = await build(row.kind, {
  version: row.version,
  redisUrl: process.env.BENCH_REDIS_URL,
  prefix: `bench:${row.id}:${process.pid}:`,
  ...row.options,
});
const server = createServer(handler);
server.keepAliveTimeout = 60_000;

// A clean exit on SIGTERM/SIGINT/disconnect lets --cpu-prof write its profile.
const stop = () => {
  server.close();
  server.closeAllConnections?.();
  process.exit(0);
};
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
process.on('disconnect', stop);
// CPU time used so far (user + system, µs): the parent divides its growth by the requests served, a measure the
// other processes on a shared machine disturb far less than wall-clock throughput.
process.on('message', (message) => {
  if (message?.cpu) {
    const { user, system } = process.cpuUsage();
    process.send({ cpu: user + system, id: message.id });
  }
});

server.listen(0, '127.0.0.1', () => {
  process.send?.({ ready: true, port: server.address().port });
});
