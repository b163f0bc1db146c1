/*
 * How the data API (`getOrSet`, `wrap`) turns a value into bytes and back, and the check that the bytes give back
 * the value the loader returned. The promise is that a caller gets the same value on a miss and on a hit: so a miss
 * hands back what it decoded from what it stored, and a value its serializer cannot give back as it was (`NaN`
 * under JSON reads back as `null`, a `Date` as a string, a class instance as a plain object) is not stored at all.
 */
import { Buffer } from 'node:buffer';
import { deserialize as v8Deserialize, serialize as v8Serialize } from 'node:v8';
import type { Selection } from './selection.js';

/** Turns values into bytes and back: the `serializer` option of `createCache`, `getOrSet` and `wrap`. */
export interface Serializer {
  /**
   * Names the format: letters, digits, `.`, `_` and `-`. Stored beside each value, so that a value written in
   * another format (another serializer, another deploy) is loaded again instead of being misread.
   */
  readonly name: string;
  /** The bytes of a value. May throw for a value it cannot hold: that value is then returned, not stored. */
  serialize(value: unknown): Uint8Array | string;
  /** The value back from its bytes. */
  deserialize(data: Buffer): unknown;
}

/** What the `serializer` option takes: `'json'` (the default), `'v8'`, or a {@link Serializer} of your own. */
export type SerializerOption = 'json' | 'v8' | Serializer;

/** JSON: plain objects, arrays, strings, finite numbers, booleans and null. The default. */
export const jsonSerializer: Serializer = Object.freeze({
  name: 'json',
  serialize(value: unknown): string {
    const text = JSON.stringify(value);
    // JSON.stringify answers undefined, not an error, for a function or a symbol at the top.
    if (text === undefined) throw new TypeError(`a ${typeof value} has no JSON form`);
    return text;
  },
  deserialize(data: Buffer): unknown {
    return JSON.parse(data.toString('utf8'));
  },
});

/**
 * Node's structured clone format (`v8.serialize`): also `Date`, `Map`, `Set`, `BigInt`, `RegExp`, typed arrays,
 * `Buffer`, `NaN`, `Infinity`, `undefined`, and objects that refer to each other. Only Node can read it back, and a
 * Node release reads what the same or an older one wrote.
 */
export const v8Serializer: Serializer = Object.freeze({
  name: 'v8',
  serialize(value: unknown): Buffer {
    return v8Serialize(value);
  },
  deserialize(data: Buffer): unknown {
    return v8Deserialize(data);
  },
});

const BUILT_IN: Readonly<Record<string, Serializer>> = { json: jsonSerializer, v8: v8Serializer };
const NAME = /^[A-Za-z0-9._-]{1,64}$/;

/**
 * Reads a `serializer` option, throwing a `TypeError` that names the option for anything else. Undefined stays
 * undefined (the caller's default applies).
 */
export function serializerOption(value: unknown, option: string): Serializer | undefined {
  if (value === undefined) return undefined;
  if (typeof value === 'string') {
    const builtIn = Object.hasOwn(BUILT_IN, value) ? BUILT_IN[value] : undefined;
    if (builtIn !== undefined) return builtIn;
    throw new TypeError(`option ${option} must be 'json', 'v8' or a serializer object, got ${JSON.stringify(value)}`);
  }
  if (typeof value !== 'object' || value === null) {
    throw new TypeError(`option ${option} must be 'json', 'v8' or a serializer object, got ${String(value)}`);
  }
  if (value === jsonSerializer || value === v8Serializer) return value as Serializer;
  const raw = value as Record<string, unknown>;
  if (typeof raw.name !== 'string' || !NAME.test(raw.name)) {
    throw new TypeError(`option ${option} needs a name of letters, digits, '.', '_' or '-', got ${String(raw.name)}`);
  }
  // The built-in formats' names are theirs: a value another serializer wrote under them would be misread.
  if (Object.hasOwn(BUILT_IN, raw.name)) {
    throw new TypeError(`option ${option}: the name ${raw.name} is the built-in serializer's; give yours another`);
  }
  for (const method of ['serialize', 'deserialize'] as const) {
    if (typeof raw[method] !== 'function') throw new TypeError(`option ${option} needs a ${method}() function`);
  }
  return value as Serializer;
}

/** A serializer with the content type its values are stored under. */
export interface ValueCodec {
  readonly serializer: Serializer;
  /** The stored entry's `content-type`: a value stored under another one is not this codec's to read. */
  readonly contentType: string;
  encode(value: unknown): Buffer;
  decode(body: Buffer): unknown;
  /** The entries a lookup may take: those holding a value of this codec (their `content-type` is its type). */
  readonly selection: Selection;
}

const codecs = new WeakMap<Serializer, ValueCodec>();

/** The codec of a serializer, made once per serializer object. */
export function codecOf(serializer: Serializer): ValueCodec {
  let codec = codecs.get(serializer);
  if (codec === undefined) {
    // JSON keeps the type values had before serializers existed, so that those entries still read. By name: the
    // built-in names are reserved (serializerOption), and the other build's JSON serializer (ESM or CommonJS, both
    // loaded in one process) must write and read the same type.
    const contentType =
      serializer.name === jsonSerializer.name
        ? 'application/json; charset=utf-8'
        : `application/vnd.group-cache.${serializer.name}`;
    codec = {
      serializer,
      contentType,
      encode(value: unknown): Buffer {
        const data = serializer.serialize(value);
        if (typeof data === 'string') return Buffer.from(data, 'utf8');
        if (data instanceof Uint8Array)
          return Buffer.isBuffer(data) ? data : Buffer.from(data.buffer, data.byteOffset, data.byteLength);
        throw new TypeError(`serializer ${serializer.name} returned ${typeof data}, not a string or bytes`);
      },
      decode(body: Buffer): unknown {
        return serializer.deserialize(body);
      },
      selection: {
        reuse: true,
        values: undefined,
        complete: true,
        header: { name: 'content-type', oneOf: new Set([contentType.toLowerCase()]) },
      },
    };
    codecs.set(serializer, codec);
  }
  return codec;
}

function describe(value: unknown): string {
  if (value === undefined) return 'missing';
  if (value === null) return 'null';
  switch (typeof value) {
    case 'number':
      return Number.isNaN(value) || !Number.isFinite(value) ? String(value) : 'a number';
    case 'bigint':
      return 'a BigInt';
    case 'object': {
      if (Array.isArray(value)) return 'an array';
      const prototype: unknown = Object.getPrototypeOf(value);
      if (prototype === null || prototype === Object.prototype) return 'an object';
      const name = (value as { constructor?: { name?: unknown } }).constructor?.name;
      return typeof name === 'string' && name !== '' ? `a ${name}` : 'an object of a class';
    }
    default:
      return `a ${typeof value}`;
  }
}

function plainPrototype(value: object): unknown {
  const prototype: unknown = Object.getPrototypeOf(value);
  // An object without a prototype reads back as a plain object from every format: the same data.
  return prototype === null ? Object.prototype : prototype;
}

function where(path: string): string {
  return path === '' ? 'the value' : `property ${JSON.stringify(path)}`;
}

function child(path: string, key: string): string {
  const part = /^[A-Za-z_$][\w$]*$/.test(key) ? key : JSON.stringify(key);
  return path === '' ? part : `${path}.${part}`;
}

/**
 * Where `decoded` differs from `original`, as a sentence (`property "joined" is a Date and comes back as a
 * string`), or undefined when it is the same value: same types, same prototypes, same contents. Two leniencies,
 * both invisible to a reader: an object property holding `undefined` may come back absent, and `-0` may come back
 * as `0`.
 */
export function roundTripMismatch(original: unknown, decoded: unknown): string | undefined {
  return compare(original, decoded, '', new Map());
}

function differ(original: unknown, decoded: unknown, path: string): string {
  return `${where(path)} is ${original === undefined ? 'undefined' : describe(original)} and comes back as ${describe(decoded)}`;
}

function compare(a: unknown, b: unknown, path: string, seen: Map<object, object>): string | undefined {
  if (typeof a === 'function' || typeof a === 'symbol') return `${where(path)} is a ${typeof a}`;
  if (typeof a !== 'object' || a === null) {
    // `===` takes -0 for 0; Object.is takes NaN for NaN.
    return a === b || Object.is(a, b) ? undefined : differ(a, b, path);
  }
  if (typeof b !== 'object' || b === null) return differ(a, b, path);
  // A value that refers to itself: the pair is being compared further up.
  if (seen.get(a) === b) return undefined;
  seen.set(a, b);
  const prototype = plainPrototype(a);
  if (prototype !== plainPrototype(b)) return differ(a, b, path);
  if (Array.isArray(a)) {
    const other = b as unknown[];
    if (a.length !== other.length) return `${where(path)} has ${a.length} items and comes back with ${other.length}`;
    for (let i = 0; i < a.length; i++) {
      const found = compare(a[i], other[i], `${path}[${i}]`, seen);
      if (found !== undefined) return found;
    }
    return undefined;
  }
  if (a instanceof Date) {
    return Object.is(a.getTime(), (b as Date).getTime()) ? undefined : `${where(path)} is a Date that comes back as another`;
  }
  if (a instanceof RegExp) {
    const other = b as RegExp;
    return a.source === other.source && a.flags === other.flags
      ? undefined
      : `${where(path)} is a RegExp that comes back as another`;
  }
  if (a instanceof Map) return compareEntries([...a], [...(b as Map<unknown, unknown>)], path, 'Map', seen);
  if (a instanceof Set) return compareEntries([...a], [...(b as Set<unknown>)], path, 'Set', seen);
  if (ArrayBuffer.isView(a) || a instanceof ArrayBuffer) {
    const bytes = (view: ArrayBufferView | ArrayBuffer): Buffer =>
      ArrayBuffer.isView(view) ? Buffer.from(view.buffer, view.byteOffset, view.byteLength) : Buffer.from(view);
    return bytes(a).equals(bytes(b as ArrayBufferView | ArrayBuffer))
      ? undefined
      : `${where(path)} is ${describe(a)} whose bytes come back changed`;
  }
  if (a instanceof Boolean || a instanceof Number || a instanceof String) {
    return Object.is(a.valueOf(), (b as typeof a).valueOf()) ? undefined : differ(a, b, path);
  }
  if (a instanceof Error && (a.message !== (b as Error).message || a.name !== (b as Error).name)) {
    return `${where(path)} is ${describe(a)} that comes back with another message`;
  }
  return compareFields(a, b, path, seen);
}

function compareEntries(a: unknown[], b: unknown[], path: string, kind: string, seen: Map<object, object>): string | undefined {
  if (a.length !== b.length) return `${where(path)} is a ${kind} of ${a.length} and comes back with ${b.length}`;
  for (let i = 0; i < a.length; i++) {
    const found = compare(a[i], b[i], `${path}<${kind} entry ${i}>`, seen);
    if (found !== undefined) return found;
  }
  return undefined;
}

// Own enumerable fields, as every format reads an object; a field holding undefined may come back absent.
function compareFields(a: object, b: object, path: string, seen: Map<object, object>): string | undefined {
  if (Object.getOwnPropertySymbols(a).some((symbol) => Object.prototype.propertyIsEnumerable.call(a, symbol))) {
    return `${where(path)} has symbol-keyed properties`;
  }
  const left = a as Record<string, unknown>;
  const right = b as Record<string, unknown>;
  let count = 0;
  for (const key of Object.keys(left)) {
    const value = left[key];
    if (value === undefined && !Object.hasOwn(right, key)) continue;
    count++;
    const found = compare(value, Object.hasOwn(right, key) ? right[key] : undefined, child(path, key), seen);
    if (found !== undefined) return found;
  }
  const keys = Object.keys(right);
  if (keys.length !== count) {
    const extra = keys.find((key) => !Object.hasOwn(left, key));
    if (extra !== undefined) return `${where(child(path, extra))} is missing and comes back as ${describe(right[extra])}`;
  }
  return undefined;
}
