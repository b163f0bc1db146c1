/*
 * The connection a tiered store reads the expiry stream on (one node): its own, beside the application's client,
 * since `XREAD BLOCK` holds the connection it runs on. One adapter per client package, as in client.ts.
 */

import type { Redis } from 'ioredis';
import {
  isIoredis,
  type NodeRedisClient,
  NodeRedisStoreClient,
  type RedisArg,
  type RedisClient,
  type RedisScript,
  type ScriptMethod,
  TEXT,
} from './client.js';

/** One message of a Redis stream: its id and its field/value list. */
export type StreamMessage = [id: string, fields: string[]];

/**
 * A connection of its own for blocking reads of a stream (`XREAD BLOCK` holds its connection), opened from the
 * application's client with the same settings. Commands never wait in an offline queue and are never resent after a
 * reconnect: a reader must see a dropped connection as one.
 */
export interface StreamConnection {
  /** `XREAD BLOCK ms COUNT count STREAMS stream cursor`: the messages after `cursor`, `[]` when none came in `ms`. */
  read(stream: string, cursor: string, count: number, ms: number): Promise<StreamMessage[]>;
  run(script: RedisScript, args: readonly RedisArg[]): Promise<unknown>;
  ready(): boolean;
  /** Resolves once ready, or after `ms` whatever the state. */
  waitReady(ms: number): Promise<void>;
  /** `listener` runs each time the connection drops. */
  onDown(listener: () => void): void;
  close(): void;
}

/** What a node-redis client offers to open a connection beside it. */
interface DuplicableNodeRedisClient extends NodeRedisClient {
  duplicate(overrides?: { disableOfflineQueue?: boolean }): DuplicableNodeRedisClient;
  connect(): Promise<unknown>;
  destroy?(): void;
  disconnect?(): Promise<void>;
  on(event: string, listener: (...args: unknown[]) => void): unknown;
}

/** Opens a {@link StreamConnection} beside `client` (ioredis or node-redis), with the same settings. */
export function streamConnection(client: RedisClient, scripts: readonly RedisScript[]): StreamConnection {
  const raw = client as unknown as Record<string, unknown>;
  if (isIoredis(raw)) return new IoredisStreamConnection(client as Redis, scripts);
  if (typeof raw.duplicate !== 'function') throw new TypeError('option client must be an ioredis or node-redis client');
  return new NodeRedisStreamConnection(client as DuplicableNodeRedisClient);
}

class NodeRedisStreamConnection implements StreamConnection {
  readonly #connection: DuplicableNodeRedisClient;
  readonly #scripts: NodeRedisStoreClient;
  #closed = false;

  constructor(client: DuplicableNodeRedisClient) {
    this.#connection = client.duplicate({ disableOfflineQueue: true });
    // node-redis emits one per failed reconnection; reads fail on their own.
    this.#connection.on('error', () => {});
    this.#connection.connect().catch(() => {});
    this.#scripts = new NodeRedisStoreClient(this.#connection);
  }

  async read(stream: string, cursor: string, count: number, ms: number): Promise<StreamMessage[]> {
    const args = ['XREAD', 'COUNT', String(count), 'BLOCK', String(ms), 'STREAMS', stream, cursor];
    const reply = (await this.#connection.sendCommand(args, TEXT)) as unknown;
    if (reply === null || reply === undefined) return [];
    // RESP2: [[stream, messages]]; RESP3: a map of stream to messages.
    const first = Array.isArray(reply) ? (reply[0] as unknown[] | undefined)?.[1] : Object.values(reply as object)[0];
    return ((first as StreamMessage[] | undefined) ?? []).map(([id, fields]) => [String(id), (fields ?? []).map(String)]);
  }

  run(script: RedisScript, args: readonly RedisArg[]): Promise<unknown> {
    return this.#scripts.run(script, args);
  }

  ready(): boolean {
    return this.#connection.isReady;
  }

  waitReady(ms: number): Promise<void> {
    return this.ready() ? Promise.resolve() : readyWithin(this.#connection, ms);
  }

  onDown(listener: () => void): void {
    this.#connection.on('end', listener);
    this.#connection.on('reconnecting', listener);
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    if (!this.#connection.isOpen) return;
    if (this.#connection.destroy !== undefined) this.#connection.destroy();
    else void this.#connection.disconnect?.().catch(() => {});
  }
}

class IoredisStreamConnection implements StreamConnection {
  readonly #connection: Redis;

  constructor(client: Redis, scripts: readonly RedisScript[]) {
    this.#connection = client.duplicate({
      lazyConnect: false,
      enableOfflineQueue: false,
      autoResendUnfulfilledCommands: false,
      maxRetriesPerRequest: 0,
      connectionName: 'group-cache:stream',
    });
    // Failures surface as rejected reads; without a listener ioredis would report each one as unhandled.
    this.#connection.on('error', () => {});
    for (const { name, numberOfKeys, lua } of scripts) this.#connection.defineCommand(name, { numberOfKeys, lua });
  }

  async read(stream: string, cursor: string, count: number, ms: number): Promise<StreamMessage[]> {
    const reply = await this.#connection.xread('COUNT', count, 'BLOCK', ms, 'STREAMS', stream, cursor);
    return (reply?.[0]?.[1] ?? []) as StreamMessage[];
  }

  run(script: RedisScript, args: readonly RedisArg[]): Promise<unknown> {
    const method = (this.#connection as unknown as Record<string, ScriptMethod>)[script.name];
    if (method === undefined) return Promise.reject(new Error(`script ${script.name} is not defined on the client`));
    return method.apply(this.#connection, [...args]);
  }

  ready(): boolean {
    return this.#connection.status === 'ready';
  }

  waitReady(ms: number): Promise<void> {
    return this.ready() ? Promise.resolve() : readyWithin(this.#connection, ms);
  }

  onDown(listener: () => void): void {
    this.#connection.on('close', listener);
  }

  close(): void {
    this.#connection.disconnect();
  }
}

// Resolves when `connection` is next ready, or after `ms` at the latest.
function readyWithin(connection: ReadyEvents, ms: number): Promise<void> {
  return new Promise((resolve) => {
    const done = (): void => {
      clearTimeout(timer);
      connection.off('ready', done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    connection.on('ready', done);
  });
}

interface ReadyEvents {
  on(event: 'ready', listener: () => void): unknown;
  off(event: 'ready', listener: () => void): unknown;
}
