/*
 * What an inspector records of its cache, fed from the cache's events: the recent decisions (decision-log.ts), the
 * per-minute history (hit-history.ts) and the per-route table (route-table.ts). It listens only from `start()` to
 * `stop()` (the life of an inspector), so a cache with no inspector pays nothing for it; with one, each event costs
 * a clock read, a few counters and one small object in a fixed ring.
 */
import type { GroupCache } from '../engine/cache.js';
import type {
  BypassEvent,
  EvictEvent,
  ExpireEvent,
  HitEvent,
  KeyEvent,
  NotStoredEvent,
  StoreEvent,
} from '../engine/engine-types.js';
import { cut, DecisionLog, expireDecision } from './decision-log.js';
import { HitHistory } from './hit-history.js';
import { RouteTable } from './route-table.js';

/** The bounds of what an inspector keeps. */
export interface FeedSizes {
  decisions: number;
  historyMinutes: number;
  routes: number;
}

export class InspectorFeed {
  readonly log: DecisionLog;
  readonly history: HitHistory;
  readonly routes: RouteTable;
  readonly #cache: GroupCache;
  #listening = false;

  constructor(cache: GroupCache, sizes: FeedSizes) {
    this.#cache = cache;
    this.log = new DecisionLog(sizes.decisions);
    this.history = new HitHistory(sizes.historyMinutes);
    this.routes = new RouteTable(sizes.routes);
  }

  readonly #onHit = (event: HitEvent): void => {
    const at = this.#cache.now();
    this.history.count('hits', at);
    this.routes.hit(event.where, event.bytes);
    this.log.push(at, { event: 'hit', key: cut(event.key), where: cut(event.where), bytes: event.bytes });
  };
  readonly #onMiss = (event: KeyEvent): void => {
    const at = this.#cache.now();
    this.history.count('misses', at);
    this.routes.miss(event.where);
    this.log.push(at, { event: 'miss', key: cut(event.key), where: cut(event.where) });
  };
  readonly #onStale = (event: KeyEvent): void => {
    const at = this.#cache.now();
    this.history.count('stale', at);
    this.routes.stale(event.where);
    this.log.push(at, { event: 'stale', key: cut(event.key), where: cut(event.where) });
  };
  readonly #onInvalidated = (event: KeyEvent): void => {
    const at = this.#cache.now();
    this.history.count('invalidated', at);
    this.routes.invalidated(event.where);
    this.log.push(at, { event: 'invalidated', key: cut(event.key), where: cut(event.where) });
  };
  readonly #onStore = (event: StoreEvent): void => {
    this.routes.stored(event.where, event.ms);
    const decision = { event: 'store', key: cut(event.key), where: cut(event.where), bytes: event.bytes, ms: event.ms } as const;
    this.log.push(this.#cache.now(), decision);
  };
  readonly #onNotStored = (event: NotStoredEvent): void => {
    const at = this.#cache.now();
    this.history.count('notStored', at);
    this.routes.notStored(event.where, event.reason);
    const reason = cut(`${event.reason}: ${event.detail}`);
    this.log.push(at, { event: 'not-stored', key: cut(event.key), where: cut(event.where), reason });
  };
  readonly #onBypass = (event: BypassEvent): void => {
    const at = this.#cache.now();
    this.history.count('bypasses', at);
    this.routes.bypass(event.where, event.reason);
    const where = cut(event.where);
    const reason = cut(event.reason);
    this.log.push(
      at,
      event.key === undefined ? { event: 'bypass', where, reason } : { event: 'bypass', key: cut(event.key), where, reason },
    );
  };
  readonly #onEvict = (event: EvictEvent): void => {
    this.log.push(this.#cache.now(), { event: 'evict', id: cut(event.id), reason: event.reason });
  };
  readonly #onExpire = (event: ExpireEvent): void => {
    const at = this.#cache.now();
    this.history.count('expires', at);
    this.log.push(at, expireDecision(event));
  };

  /** Starts listening to the cache's events (no-op when listening). `error` is left alone on purpose: a listener
   * there would silence the cache's own fallbacks (the debug log, process warnings for lost expiries). */
  start(): void {
    if (this.#listening) return;
    this.#listening = true;
    this.#subscribe('on');
  }

  /** Stops listening; what was recorded stays readable. */
  stop(): void {
    if (!this.#listening) return;
    this.#listening = false;
    this.#subscribe('off');
  }

  #subscribe(method: 'on' | 'off'): void {
    const cache = this.#cache;
    cache[method]('hit', this.#onHit);
    cache[method]('miss', this.#onMiss);
    cache[method]('stale', this.#onStale);
    cache[method]('invalidated', this.#onInvalidated);
    cache[method]('store', this.#onStore);
    cache[method]('notStored', this.#onNotStored);
    cache[method]('bypass', this.#onBypass);
    cache[method]('evict', this.#onEvict);
    cache[method]('expire', this.#onExpire);
  }
}
