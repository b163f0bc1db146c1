import { inspect } from 'node:util';
import type { CachedEntry, HeaderList } from './contract.js';
import { bodySize, entryOwnSize } from './entry-size.js';
import type { Linked } from './recency-list.js';

/*
 * What entries share: status and header list. Most responses of a route have the same ones, so each is held once
 * for every entry that has it, counted in the store's bytes once, and dropped with its last entry. (Not the Vary
 * values: under `vary: ['cookie:sid']` each session's would need a head, and a copy of the header list, of its own.)
 */
export interface SharedHead {
  key: string;
  status: number;
  headers: HeaderList;
  refs: number;
  size: number;
}

/** An entry's times kept as they are, when one of them does not fit a small integer offset (see {@link fitTimes}). */
export interface WideTimes {
  startedAt: number;
  freshUntil: number;
  staleUntil: number;
  deadline: number;
}

/*
 * The entry as the store keeps it, and hands back on every lookup (the same object, so a hit allocates nothing): one
 * object of thirteen fields. Status and headers are read from its shared head; of its times only `storedAt` is held
 * as a number (a boxed double), the others as small integer offsets from it, which V8 keeps inside the object instead
 * of in a 16-byte box each. Read through getters, the fields are what the `CachedEntry` contract says; they are not
 * own properties, so a copy must name them (`toJSON()` gives the plain object, and `console.log` shows it). The entry
 * also carries its key and its links in the store's recency list, so that eviction needs no second structure.
 */
export class StoredEntry implements CachedEntry, Linked<StoredEntry> {
  readonly body: Buffer;
  readonly etag: string;
  readonly vary: CachedEntry['vary'];
  readonly tags: string[];
  readonly storedAt: number;
  readonly key: string;
  older: StoredEntry | undefined = undefined;
  newer: StoredEntry | undefined = undefined;
  readonly #head: SharedHead;
  // µs from storedAt * 1000 to startedAt, or all the times as they are (WideTimes).
  readonly #started: number | WideTimes;
  // ms from storedAt to freshUntil, from freshUntil to staleUntil, and from storedAt to the store's deadline.
  readonly #fresh: number;
  readonly #stale: number;
  readonly #deadline: number;

  // `wide`: what fitTimes(entry, deadline) answered.
  constructor(
    key: string,
    head: SharedHead,
    entry: CachedEntry,
    body: Buffer,
    etag: string,
    vary: CachedEntry['vary'],
    tags: string[],
    deadline: number,
    wide: WideTimes | undefined,
  ) {
    this.body = body;
    this.etag = etag;
    this.vary = vary;
    this.tags = tags;
    this.storedAt = entry.storedAt;
    this.key = key;
    this.#head = head;
    if (wide === undefined) {
      this.#started = (entry.startedAt - entry.storedAt * 1000) | 0;
      this.#fresh = (entry.freshUntil - entry.storedAt) | 0;
      this.#stale = (entry.staleUntil - entry.freshUntil) | 0;
      this.#deadline = (deadline - entry.storedAt) | 0;
    } else {
      this.#started = wide;
      this.#fresh = 0;
      this.#stale = 0;
      this.#deadline = 0;
    }
  }

  get status(): number {
    return this.#head.status;
  }

  get headers(): HeaderList {
    return this.#head.headers;
  }

  get startedAt(): number {
    const started = this.#started;
    return typeof started === 'number' ? this.storedAt * 1000 + started : started.startedAt;
  }

  get freshUntil(): number {
    const started = this.#started;
    return typeof started === 'number' ? this.storedAt + this.#fresh : started.freshUntil;
  }

  get staleUntil(): number {
    const started = this.#started;
    return typeof started === 'number' ? this.storedAt + this.#fresh + this.#stale : started.staleUntil;
  }

  /** The plain object of the ten contract fields (for JSON, logs and copies). */
  toJSON(): CachedEntry {
    return StoredEntry.plain(this);
  }

  // What console.log shows: the ten fields, as for any other store's entry.
  [inspect.custom](): CachedEntry {
    return StoredEntry.plain(this);
  }

  static plain(entry: CachedEntry): CachedEntry {
    const { status, headers, body, etag, vary, tags, startedAt, storedAt, freshUntil, staleUntil } = entry;
    return { status, headers, body, etag, vary, tags, startedAt, storedAt, freshUntil, staleUntil };
  }

  /** The store clock (ms) at which the store drops the entry. */
  static deadlineOf(entry: StoredEntry): number {
    const started = entry.#started;
    return typeof started === 'number' ? entry.storedAt + entry.#deadline : started.deadline;
  }

  /*
   * Bytes counted for this entry alone (its head is counted with the head): computed again from what it holds, as
   * the store computed them from what it was handed (the same lengths), rather than kept in a field of every entry.
   */
  static sizeOf(entry: StoredEntry): number {
    return entryOwnSize(entry.key, entry, typeof entry.#started !== 'number') + bodySize(entry.body);
  }

  static headOf(entry: StoredEntry): SharedHead {
    return entry.#head;
  }
}

// V8 keeps integers of 31 bits inside an object (32 without pointer compression): below 2^30 either way.
const SMALL = 2 ** 30;

function small(value: number): boolean {
  return value >= -SMALL && value < SMALL && Number.isInteger(value);
}

/*
 * Undefined when every time of the entry is a small integer offset that reads back exactly (as StoredEntry's getters
 * compute it); else the times as they are. Offsets fit for TTLs and stale windows under 12 days and a fill that
 * started within 17 minutes of its storedAt on the store's clock; an injected clock, a longer TTL or fractional times
 * take the wide form (16 B more a number, as every entry paid before).
 */
export function fitTimes(entry: CachedEntry, deadline: number): WideTimes | undefined {
  const { startedAt, storedAt, freshUntil, staleUntil } = entry;
  const started = startedAt - storedAt * 1000;
  const fresh = freshUntil - storedAt;
  const stale = staleUntil - freshUntil;
  const kept = deadline - storedAt;
  if (
    small(started) &&
    small(fresh) &&
    small(stale) &&
    small(kept) &&
    storedAt * 1000 + started === startedAt &&
    storedAt + fresh === freshUntil &&
    storedAt + fresh + stale === staleUntil &&
    storedAt + kept === deadline
  ) {
    return undefined;
  }
  return { startedAt, freshUntil, staleUntil, deadline };
}

/*
 * The same characters as one flat string. V8 keeps a string built by concatenation as a tree of its parts (a 32-byte
 * wrapper for each join, each part held whole) and a slice with its parent: held for an entry's lifetime, either costs
 * more than its characters. Strings under 13 characters are always flat. Changing case copies into one flat string
 * (and hands back a flat one when nothing changed); NFC does the same for the rest, JSON's round trip copies any
 * string exactly.
 */
export function flat(value: string): string {
  if (value.length < 13) return value;
  const lower = value.toLowerCase();
  if (lower === value) return lower;
  const normal = value.normalize();
  if (normal === value) return normal;
  return JSON.parse(JSON.stringify(value)) as string;
}

// What identifies a head: the status, then the header pairs in order, a list value marked apart from a string one
// (Node refuses NUL in header names and values; heads that still collide are compared before they are shared).
export function headKeyOf(status: number, headers: HeaderList): string {
  let key = `${status}\0`;
  for (let i = 0; i < headers.length; i++) {
    const [name, value] = headers[i] as HeaderList[number];
    key += typeof value === 'string' ? `${name}\0=${value}\0` : `${name}\0[${value.join('\0,')}\0`;
  }
  return key;
}

function sameHeaders(a: HeaderList, b: HeaderList): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) {
    const [nameA, valueA] = a[i] as HeaderList[number];
    const [nameB, valueB] = b[i] as HeaderList[number];
    if (nameA !== nameB || typeof valueA !== typeof valueB) return false;
    if (typeof valueA === 'string' ? valueA !== valueB : valueA.join('\0') !== (valueB as string[]).join('\0')) return false;
  }
  return true;
}

export function sameHead(head: SharedHead, entry: CachedEntry): boolean {
  return head.status === entry.status && sameHeaders(head.headers, entry.headers);
}

// The store's copy of a header list, handed to every entry that has the same one (replay.ts copies a list value
// before it reaches a response, so that Node's appendHeader cannot grow the stored one).
export function copyHeaders(headers: HeaderList): HeaderList {
  return headers.map(([name, value]) => [flat(name), typeof value === 'string' ? flat(value) : value.map(flat)]);
}

/*
 * The body as the store keeps it: a Buffer that views part of a larger allocation (a slice of Node's 8 KB pool, or of
 * a bigger buffer) would pin all of it for the entry's lifetime, so it gets its own copy; one that owns its memory is
 * kept as it is.
 */
export function ownBody(body: Buffer): Buffer {
  if (body.byteLength === body.buffer.byteLength) return body;
  const copy = Buffer.allocUnsafeSlow(body.byteLength);
  body.copy(copy);
  return copy;
}
