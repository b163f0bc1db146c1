/**
 * The few Redis calls the Redis store makes, behind one interface, with one small adapter per client package:
 * ioredis 5 and node-redis (`redis` v4 and later). Only types are imported from either package, so neither is
 * needed at run time unless the application uses it.
 */

import { createHash } from 'node:crypto';
import type { Cluster, Redis } from 'ioredis';
import { describeValue } from '../../core/describe-value.js';

// Neither client package is a dependency: the message says which to install and how to pass it.
const NOT_A_CLIENT =
  'option client must be an ioredis or node-redis client: npm install ioredis (new Redis(url)) or redis (createClient({ url }))';

/** Options of a node-redis `sendCommand` that the store sets: v4 reads `returnBuffers`, v5 and later `typeMapping`. */
export interface NodeRedisCommandOptions {
  returnBuffers?: boolean;
  typeMapping?: Record<number, unknown>;
}

/**
 * The part of a node-redis client the store uses: what `createClient()` from `redis` (v4 or later) returns, with
 * any modules, RESP version or type mapping. Not a cluster (`createCluster()`).
 */
export interface NodeRedisClient {
  readonly isOpen: boolean;
  readonly isReady: boolean;
  sendCommand(args: Array<string | Buffer>, options?: NodeRedisCommandOptions): Promise<unknown>;
  on(event: 'ready' | 'end' | 'reconnecting', listener: () => void): unknown;
  off(event: 'ready' | 'end' | 'reconnecting', listener: () => void): unknown;
}

/** A client the Redis store accepts: an ioredis `Redis`, an ioredis `Cluster` (Redis Cluster) or a node-redis client. */
export type RedisClient = Redis | Cluster | NodeRedisClient;

/** A Lua script: its keys come first in the arguments. */
export interface RedisScript {
  readonly name: string;
  readonly numberOfKeys: number;
  readonly lua: string;
}

export type RedisArg = string | Buffer;

/** What the store asks of a client, whichever package made it. */
export interface StoreClient {
  /**
   * Undefined when a command may be sent now: the client is ready, or its first connection attempt is under way
   * (the cache's storeTimeout bounds that wait). Otherwise the status to report: the store then fails at once
   * rather than let the client queue the command until Redis is back.
   */
  unavailable(): string | undefined;
  /** Runs a script by its SHA (EVALSHA), loading it on NOSCRIPT. With `buffers`, bulk strings come back as Buffers. */
  run(script: RedisScript, args: readonly RedisArg[], buffers?: boolean): Promise<unknown>;
  unlink(keys: readonly string[]): Promise<number>;
  /** SCAN with MATCH and COUNT, one batch of keys at a time. */
  scan(match: string, count: number): AsyncIterable<string[]>;
  zcard(key: string): Promise<number>;
  /** Detaches the listeners this adapter put on the client. */
  release(): void;
  /** True for a Redis Cluster client: keys of one call must share a slot, and SCAN runs on every master. */
  readonly cluster: boolean;
  /**
   * Runs a script, then `ROLE` and `WAIT replicas ms` on the same node in one pipeline (cluster clients only):
   * answers the script's reply, how many replicas acknowledged it, and how many were connected (ROLE).
   */
  runAndWait?(
    script: RedisScript,
    args: readonly RedisArg[],
    replicas: number,
    ms: number,
  ): Promise<[reply: unknown, acked: number, connected: number]>;
}

export function isIoredis(value: Record<string, unknown>): boolean {
  return typeof value.defineCommand === 'function' && typeof value.scanStream === 'function' && typeof value.status === 'string';
}

function isIoredisCluster(value: Record<string, unknown>): boolean {
  return value.isCluster === true && typeof value.defineCommand === 'function' && typeof value.nodes === 'function';
}

function isNodeRedis(value: Record<string, unknown>): boolean {
  return (
    typeof value.sendCommand === 'function' &&
    typeof value.isReady === 'boolean' &&
    typeof value.isOpen === 'boolean' &&
    typeof value.on === 'function' &&
    typeof value.off === 'function'
  );
}

/**
 * Wraps `client` for `scripts`. Throws a TypeError naming option `client` when it is neither client, or when it
 * prefixes keys itself (the store's `prefix` does that, and `clear()` must see the real key names).
 */
export function storeClient(client: unknown, scripts: readonly RedisScript[]): StoreClient {
  if (typeof client !== 'object' || client === null) throw new TypeError(`${NOT_A_CLIENT}, got ${describeValue(client)}`);
  const raw = client as Record<string, unknown>;
  const prefixed = Boolean((raw.options as { keyPrefix?: unknown } | undefined)?.keyPrefix);
  if (isIoredis(raw)) {
    if (prefixed) throw new TypeError('option client must not have a keyPrefix: use option prefix');
    return new IoredisClient(client as Redis, scripts);
  }
  if (isIoredisCluster(raw)) {
    const keyPrefix = (raw.options as { redisOptions?: { keyPrefix?: unknown }; keyPrefix?: unknown } | undefined) ?? {};
    if (keyPrefix.keyPrefix || keyPrefix.redisOptions?.keyPrefix)
      throw new TypeError('option client must not have a keyPrefix: use option prefix');
    return new IoredisClusterClient(client as Cluster, scripts);
  }
  if (typeof raw.getSlotMaster === 'function')
    throw new TypeError(
      'option client: node-redis cluster clients (createCluster()) are not supported: on Redis Cluster, only an ioredis Cluster client is (new Cluster(nodes) from ioredis)',
    );
  if (isNodeRedis(raw)) {
    if (prefixed) throw new TypeError('option client must not have a keyPrefix: use option prefix');
    return new NodeRedisStoreClient(client as NodeRedisClient);
  }
  throw new TypeError(`${NOT_A_CLIENT}, got ${describeValue(client)}`);
}

export type ScriptMethod = (...args: RedisArg[]) => Promise<unknown>;

/**
 * What ioredis's single-node and cluster clients share: scripts through `defineCommand` (it runs EVALSHA and falls
 * back to EVAL itself), their status, and commands waiting during the first connection attempt.
 */
abstract class IoredisCommon<C extends Redis | Cluster> {
  protected readonly client: C;
  // True during the client's first connection attempt, when commands may wait for it.
  #starting: boolean;
  readonly #started = (): void => {
    this.#starting = false;
    this.client.off('ready', this.#started);
    this.client.off('close', this.#started);
  };

  constructor(client: C, scripts: readonly RedisScript[]) {
    this.client = client;
    for (const { name, numberOfKeys, lua } of scripts) client.defineCommand(name, { numberOfKeys, lua });
    const status = client.status;
    // 'wait' is a lazyConnect client: ioredis connects on its first command.
    this.#starting = status === 'wait' || status === 'connecting' || status === 'connect';
    if (this.#starting) {
      client.once('ready', this.#started);
      client.once('close', this.#started);
    }
  }

  unavailable(): string | undefined {
    const status = this.client.status;
    return status === 'ready' || this.#starting ? undefined : status;
  }

  run(script: RedisScript, args: readonly RedisArg[], buffers = false): Promise<unknown> {
    const method = (this.client as unknown as Record<string, ScriptMethod>)[buffers ? `${script.name}Buffer` : script.name];
    if (method === undefined) return Promise.reject(new Error(`script ${script.name} is not defined on the client`));
    return method.apply(this.client, [...args]);
  }

  zcard(key: string): Promise<number> {
    return this.client.zcard(key);
  }

  release(): void {
    this.#started();
  }
}

/** ioredis on one node. */
class IoredisClient extends IoredisCommon<Redis> implements StoreClient {
  readonly cluster = false;

  unlink(keys: readonly string[]): Promise<number> {
    return this.client.unlink(...keys);
  }

  scan(match: string, count: number): AsyncIterable<string[]> {
    return this.client.scanStream({ match, count }) as AsyncIterable<string[]>;
  }
}

interface ScriptPipeline {
  exec(): Promise<Array<[Error | null, unknown]> | null>;
  role(): ScriptPipeline;
  wait(replicas: number, ms: number): ScriptPipeline;
}

// Times an expiry's pipeline is sent again after a MOVED (each after a slot-map refresh).
const MOVED_RETRIES = 3;

/**
 * ioredis Cluster: scripts through `defineCommand` (routed by their first key; every key of one call shares a slot),
 * SCAN on every master, UNLINK one key at a time (keys of different slots may not share a command).
 */
class IoredisClusterClient extends IoredisCommon<Cluster> implements StoreClient {
  readonly cluster = true;

  /*
   * One pipeline goes to the node of its keys' slot, so WAIT follows the script on that node's connection. ioredis
   * follows a MOVED for a lone command, not for a pipeline whose other commands (ROLE, WAIT: no key) succeeded where
   * they were sent; after a failover that left the client's slot map stale, the pipeline would fail there for good.
   * So a MOVED refreshes the slot map and sends the pipeline again (a few times at most).
   */
  async runAndWait(
    script: RedisScript,
    args: readonly RedisArg[],
    replicas: number,
    ms: number,
  ): Promise<[reply: unknown, acked: number, connected: number]> {
    for (let attempt = 0; ; attempt++) {
      const pipeline = this.client.pipeline() as unknown as Record<string, (...a: RedisArg[]) => ScriptPipeline>;
      const queued = pipeline[script.name]!.apply(pipeline, [...args])
        .role()
        .wait(replicas, ms);
      const replies = (await queued.exec()) ?? [];
      const moved = replies[0]?.[0];
      if (moved instanceof Error && moved.message.startsWith('MOVED ') && attempt < MOVED_RETRIES) {
        await new Promise<void>((resolve) => this.client.refreshSlotsCache(() => resolve()));
        continue;
      }
      for (const [error] of replies) if (error) throw error;
      // ROLE on a master: ['master', offset, [[ip, port, offset], ...]], one row per connected replica.
      const role = replies[1]?.[1] as [string, unknown, unknown[]] | undefined;
      const connected = role?.[0] === 'master' && Array.isArray(role[2]) ? role[2].length : 0;
      return [replies[0]?.[1], Number(replies[2]?.[1] ?? 0), connected];
    }
  }

  async unlink(keys: readonly string[]): Promise<number> {
    const counts = await Promise.all(keys.map((key) => this.client.unlink(key)));
    return counts.reduce((sum, count) => sum + count, 0);
  }

  async *scan(match: string, count: number): AsyncIterable<string[]> {
    for (const node of this.client.nodes('master')) {
      for await (const keys of node.scanStream({ match, count }) as AsyncIterable<string[]>) yield keys;
    }
  }
}

// RESP type '$' (blob string): v5+ map it to Buffer per command; v4 reads returnBuffers. An empty mapping
// overrides any mapping the application set on the client, so text replies are always plain strings.
const BUFFERS: NodeRedisCommandOptions = { returnBuffers: true, typeMapping: { 36: Buffer } };
export const TEXT: NodeRedisCommandOptions = { returnBuffers: false, typeMapping: {} };

/** node-redis v4+: raw `sendCommand` only, the one call whose shape all versions share. */
export class NodeRedisStoreClient implements StoreClient {
  readonly #client: NodeRedisClient;
  readonly #shas = new Map<string, string>();
  // True until the first connection attempt ends (ready, or failed and retrying, or given up).
  #starting: boolean;
  readonly #started = (): void => {
    this.#starting = false;
    this.#client.off('ready', this.#started);
    this.#client.off('reconnecting', this.#started);
    this.#client.off('end', this.#started);
  };

  constructor(client: NodeRedisClient) {
    this.#client = client;
    this.#starting = !client.isReady;
    if (this.#starting) {
      client.on('ready', this.#started);
      client.on('reconnecting', this.#started);
      client.on('end', this.#started);
    }
  }

  unavailable(): string | undefined {
    if (this.#client.isReady) return undefined;
    // A client not connected (connect() not called yet, or quit) would reject anyway; say so in our words.
    if (!this.#client.isOpen) return 'closed';
    return this.#starting ? undefined : 'reconnecting';
  }

  async run(script: RedisScript, args: readonly RedisArg[], buffers = false): Promise<unknown> {
    const options = buffers ? BUFFERS : TEXT;
    let sha = this.#shas.get(script.name);
    if (sha === undefined) {
      sha = createHash('sha1').update(script.lua).digest('hex');
      this.#shas.set(script.name, sha);
    }
    const rest = [String(script.numberOfKeys), ...args];
    try {
      return await this.#client.sendCommand(['EVALSHA', sha, ...rest], options);
    } catch (error) {
      // Scripts are loaded once per server (and again after a restart or SCRIPT FLUSH): EVAL loads it.
      if (!(error instanceof Error) || !error.message.startsWith('NOSCRIPT')) throw error;
      return this.#client.sendCommand(['EVAL', script.lua, ...rest], options);
    }
  }

  async unlink(keys: readonly string[]): Promise<number> {
    return Number(await this.#client.sendCommand(['UNLINK', ...keys], TEXT));
  }

  async *scan(match: string, count: number): AsyncIterable<string[]> {
    let cursor = '0';
    do {
      const reply = (await this.#client.sendCommand(['SCAN', cursor, 'MATCH', match, 'COUNT', String(count)], TEXT)) as [
        string,
        string[],
      ];
      cursor = String(reply[0]);
      yield reply[1];
    } while (cursor !== '0');
  }

  async zcard(key: string): Promise<number> {
    return Number(await this.#client.sendCommand(['ZCARD', key], TEXT));
  }

  release(): void {
    this.#started();
  }

  readonly cluster = false;
}
