/*
 * The inspector's record of recent cache decisions: a fixed-size ring fed from a cache's events. It listens only
 * from `start()` to `stop()` (the life of an inspector), so a cache with no inspector pays nothing for it.
 * Keys, routes and reasons come from requests (attackers choose them): each is cut to a bounded length, and an
 * expiry keeps only its first few names, so the ring's memory stays bounded whatever the traffic.
 */
import type { GroupCache } from '../engine/cache.js';
import type { BypassEvent, EvictEvent, ExpireEvent, KeyEvent, NotStoredEvent, StoreEvent } from '../engine/engine-types.js';

/** One decision of the cache, as the inspector shows it. */
export interface Decision {
  /** Increases by one per decision recorded, from 1. */
  seq: number;
  /** Wall-clock time of the event (ms since the epoch). */
  at: number;
  event: 'hit' | 'miss' | 'stale' | 'invalidated' | 'bypass' | 'store' | 'not-stored' | 'evict' | 'expire';
  key?: string;
  /** The route (`GET /users/:id`). */
  where?: string;
  /** Why: a bypass's, a refusal's (`not-stored`) or an eviction's reason. */
  reason?: string;
  /** Body bytes stored. */
  bytes?: number;
  /** For `evict`: the store id. */
  id?: string;
  /** For `expire`: the groups and keys expired (the first few; `more` counts the rest). */
  groups?: string[];
  keys?: string[];
  more?: number;
}

const MAX_TEXT = 512;
const MAX_NAMES = 20;

function cut(text: string): string {
  return text.length > MAX_TEXT ? `${text.slice(0, MAX_TEXT)}…` : text;
}

export class DecisionLog {
  readonly #cache: GroupCache;
  readonly #ring: (Decision | undefined)[];
  #seq = 0;
  #listening = false;

  constructor(cache: GroupCache, size: number) {
    this.#cache = cache;
    this.#ring = new Array<Decision | undefined>(size);
  }

  readonly #onHit = (event: KeyEvent): void => this.#keyed('hit', event);
  readonly #onMiss = (event: KeyEvent): void => this.#keyed('miss', event);
  readonly #onStale = (event: KeyEvent): void => this.#keyed('stale', event);
  readonly #onInvalidated = (event: KeyEvent): void => this.#keyed('invalidated', event);
  readonly #onStore = (event: StoreEvent): void => this.#push({ ...this.#keyFields(event), event: 'store', bytes: event.bytes });
  readonly #onNotStored = (event: NotStoredEvent): void =>
    this.#push({ ...this.#keyFields(event), event: 'not-stored', reason: cut(`${event.reason}: ${event.detail}`) });
  readonly #onBypass = (event: BypassEvent): void => {
    const decision: Omit<Decision, 'seq' | 'at'> = { event: 'bypass', where: cut(event.where), reason: cut(event.reason) };
    if (event.key !== undefined) decision.key = cut(event.key);
    this.#push(decision);
  };
  readonly #onEvict = (event: EvictEvent): void => this.#push({ event: 'evict', id: cut(event.id), reason: event.reason });
  readonly #onExpire = (event: ExpireEvent): void => {
    const names = event.groups.length + event.keys.length;
    const groups = event.groups.slice(0, MAX_NAMES).map(cut);
    const keys = event.keys.slice(0, MAX_NAMES - groups.length).map(cut);
    const decision: Omit<Decision, 'seq' | 'at'> = { event: 'expire', groups, keys };
    if (names > groups.length + keys.length) decision.more = names - groups.length - keys.length;
    this.#push(decision);
  };

  /** Starts listening to the cache's events (no-op when listening). `error` is left alone on purpose: a listener
   * there would silence the cache's own fallbacks (the debug log, process warnings for lost expiries). */
  start(): void {
    if (this.#listening) return;
    this.#listening = true;
    const cache = this.#cache;
    cache.on('hit', this.#onHit);
    cache.on('miss', this.#onMiss);
    cache.on('stale', this.#onStale);
    cache.on('invalidated', this.#onInvalidated);
    cache.on('store', this.#onStore);
    cache.on('notStored', this.#onNotStored);
    cache.on('bypass', this.#onBypass);
    cache.on('evict', this.#onEvict);
    cache.on('expire', this.#onExpire);
  }

  /** Stops listening; what was recorded stays readable. */
  stop(): void {
    if (!this.#listening) return;
    this.#listening = false;
    const cache = this.#cache;
    cache.off('hit', this.#onHit);
    cache.off('miss', this.#onMiss);
    cache.off('stale', this.#onStale);
    cache.off('invalidated', this.#onInvalidated);
    cache.off('store', this.#onStore);
    cache.off('notStored', this.#onNotStored);
    cache.off('bypass', this.#onBypass);
    cache.off('evict', this.#onEvict);
    cache.off('expire', this.#onExpire);
  }

  /** The decisions held, oldest first; only those after `since` (a `seq`) when given. */
  recent(since = 0): Decision[] {
    const size = this.#ring.length;
    const out: Decision[] = [];
    for (let seq = Math.max(since + 1, this.#seq - size + 1); seq <= this.#seq; seq++) {
      const decision = this.#ring[seq % size];
      if (decision !== undefined) out.push(decision);
    }
    return out;
  }

  /** The `seq` of the latest decision (0 before any). */
  get seq(): number {
    return this.#seq;
  }

  #keyFields(event: KeyEvent): { key: string; where: string } {
    return { key: cut(event.key), where: cut(event.where) };
  }

  #keyed(name: 'hit' | 'miss' | 'stale' | 'invalidated', event: KeyEvent): void {
    this.#push({ ...this.#keyFields(event), event: name });
  }

  #push(decision: Omit<Decision, 'seq' | 'at'>): void {
    const seq = ++this.#seq;
    this.#ring[seq % this.#ring.length] = { seq, at: this.#cache.now(), ...decision };
  }
}
