/*
 * The inspector's record of recent cache decisions: two fixed-size rings, one for what is served from the cache
 * (hits and stale copies, the bulk of the traffic) and one for everything else, so that a flood of hits never
 * pushes the misses, bypasses and expiries an operator looks for out of memory. Keys, routes and reasons come from
 * requests (attackers choose them): each is cut to a bounded length, and an expiry keeps only its first few names,
 * so the rings' memory stays bounded whatever the traffic.
 */
import type { ExpireEvent, ExpiryTrigger } from '../engine/engine-types.js';

export const DECISION_EVENTS = [
  'hit',
  'miss',
  'stale',
  'invalidated',
  'bypass',
  'store',
  'not-stored',
  'evict',
  'expire',
] as const;
export type DecisionEvent = (typeof DECISION_EVENTS)[number];

/** One decision of the cache, as the inspector shows it. */
export interface Decision {
  /** Increases by one per decision recorded, from 1. */
  seq: number;
  /** Time of the event (ms since the epoch, on the cache's clock). */
  at: number;
  event: DecisionEvent;
  key?: string;
  /** The route (`GET /users/:id`); for an expiry, its trigger's method and route. */
  where?: string;
  /** Why: a bypass's, a refusal's (`not-stored`) or an eviction's reason. */
  reason?: string;
  /** Body bytes stored, or served by a hit. */
  bytes?: number;
  /** For `store`: how long the fill took (ms). */
  ms?: number;
  /** For `evict`: the store id. */
  id?: string;
  /** For `expire`: the groups and keys expired (the first few; `more` counts the rest), and how many of each. */
  groups?: string[];
  keys?: string[];
  more?: number;
  groupCount?: number;
  keyCount?: number;
  /** For `expire`: the request that caused it, when one did. */
  trigger?: ExpiryTrigger;
}

/** Which decisions a reader wants: any of `events` (all when empty), of one route, with `text` in a key or name. */
export interface DecisionFilter {
  events?: ReadonlySet<DecisionEvent>;
  route?: string;
  /** Matched without regard to case against the key, the store id, and an expiry's groups and keys. */
  text?: string;
}

const MAX_TEXT = 512;
const MAX_NAMES = 20;

export function cut(text: string): string {
  return text.length > MAX_TEXT ? `${text.slice(0, MAX_TEXT)}…` : text;
}

/** An expiry as a decision: its first names, how many there were, and its trigger. */
export function expireDecision(event: ExpireEvent): Omit<Decision, 'seq' | 'at'> {
  const groups = event.groups.slice(0, MAX_NAMES).map(cut);
  const keys = event.keys.slice(0, MAX_NAMES - groups.length).map(cut);
  const decision: Omit<Decision, 'seq' | 'at'> = {
    event: 'expire',
    groups,
    keys,
    groupCount: event.groups.length,
    keyCount: event.keys.length,
  };
  const shown = groups.length + keys.length;
  if (event.groups.length + event.keys.length > shown) decision.more = event.groups.length + event.keys.length - shown;
  const { trigger } = event;
  if (trigger !== undefined) {
    decision.trigger = { ...trigger };
    decision.where = `${trigger.method} ${trigger.route}`;
  }
  return decision;
}

function matches(decision: Decision, filter: DecisionFilter): boolean {
  if (filter.events !== undefined && filter.events.size > 0 && !filter.events.has(decision.event)) return false;
  if (filter.route !== undefined && filter.route !== '' && decision.where !== filter.route) return false;
  if (filter.text === undefined || filter.text === '') return true;
  const text = filter.text.toLowerCase();
  const names = [decision.key, decision.id, ...(decision.groups ?? []), ...(decision.keys ?? [])];
  return names.some((name) => name?.toLowerCase().includes(text) === true);
}

class Ring {
  readonly #slots: (Decision | undefined)[];
  #next = 0;

  constructor(size: number) {
    this.#slots = new Array<Decision | undefined>(size);
  }

  push(decision: Decision): void {
    this.#slots[this.#next] = decision;
    this.#next = (this.#next + 1) % this.#slots.length;
  }

  /** What it holds after `since`, oldest first. */
  after(since: number): Decision[] {
    const size = this.#slots.length;
    const out: Decision[] = [];
    for (let i = 0; i < size; i++) {
      const decision = this.#slots[(this.#next + i) % size];
      if (decision !== undefined && decision.seq > since) out.push(decision);
    }
    return out;
  }
}

export class DecisionLog {
  readonly #served: Ring;
  readonly #others: Ring;
  #seq = 0;

  /** Keeps the last `size` hits and stale copies, and the last `size` other decisions. */
  constructor(size: number) {
    this.#served = new Ring(size);
    this.#others = new Ring(size);
  }

  /** Records a decision at `at` (the cache's clock). */
  push(at: number, decision: Omit<Decision, 'seq' | 'at'>): void {
    const seq = ++this.#seq;
    const ring = decision.event === 'hit' || decision.event === 'stale' ? this.#served : this.#others;
    ring.push({ seq, at, ...decision });
  }

  /** The decisions held after `since` (a `seq`) that pass `filter`, oldest first: at most the last `limit`. */
  recent(since = 0, filter: DecisionFilter = {}, limit = Infinity): Decision[] {
    const all = [...this.#served.after(since), ...this.#others.after(since)].sort((a, b) => a.seq - b.seq);
    const kept = all.filter((decision) => matches(decision, filter));
    return kept.length > limit ? kept.slice(kept.length - limit) : kept;
  }

  /** The `seq` of the latest decision (0 before any). */
  get seq(): number {
    return this.#seq;
  }
}
