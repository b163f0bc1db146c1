import type { CachedEntry } from '../stores/contract.js';

/*
 * Which stored entry may answer a request. The layer above (HTTP, the data cache) works out what the request
 * takes, as data; the engine matches entries against it here and calls back into nothing, so a hit never leaves
 * the engine. An entry's `vary` pairs are the values it was filled for; the request names its own.
 */

/** What a request takes of the entries stored under its id: worked out by the caller, matched by the engine. */
export interface Selection {
  /** False when no stored entry may answer (a refresh): the lookup starts a fill whose entry replaces the old. */
  readonly reuse: boolean;
  /**
   * The request's own value of each name that entries of its key are known to vary on (an entry's `vary` pairs:
   * it suits when each of its pairs matches). Undefined when none is known.
   */
  readonly values: ReadonlyMap<string, string> | undefined;
  /**
   * Whether `values` holds every name the caller can tell: then an entry varying on a name outside it does not
   * suit. Otherwise the lookup answers `{ type: 'vary', names }` for the caller to work those values out and ask
   * again.
   */
  readonly complete: boolean;
  /**
   * A header an entry must carry one of these values of (`''` for absent), checked on entries that vary on
   * `whenVaryOn`, or on every entry when that is undefined.
   */
  readonly header?: {
    readonly name: string;
    readonly oneOf: ReadonlySet<string>;
    readonly whenVaryOn?: string;
  };
  /**
   * Where this request's own variant lives when the entry under its id was filled for another value of `name`:
   * looked up, and filled, there instead, so each value keeps its own entry.
   */
  readonly alternate?: { readonly name: string; readonly id: string };
}

/** A selection that takes any entry: no vary values, no header. */
export const ANY_ENTRY: Selection = { reuse: true, values: undefined, complete: true };

/** A selection that takes no entry (a refresh). */
export const NO_ENTRY: Selection = { reuse: false, values: undefined, complete: true };

/**
 * Whether `entry` suits a request: true, false, or the names the entry varies on that `selection` has no value
 * for (only when it is not `complete`).
 */
export function suits(entry: CachedEntry, selection: Selection): boolean | string[] {
  if (!selection.reuse) return false;
  let unknown: string[] | undefined;
  const values = selection.values;
  for (const [name, value] of entry.vary) {
    const own = values?.get(name);
    if (own === undefined) {
      if (selection.complete) return false;
      unknown ??= [];
      unknown.push(name);
    } else if (own !== value) {
      return false;
    }
  }
  if (unknown !== undefined) return unknown;
  const header = selection.header;
  return header === undefined || headerAllowed(entry, header);
}

function headerAllowed(entry: CachedEntry, header: NonNullable<Selection['header']>): boolean {
  if (header.whenVaryOn !== undefined && !entry.vary.some(([name]) => name === header.whenVaryOn)) return true;
  const wanted = header.name;
  for (const [name, value] of entry.headers) {
    if (name.length === wanted.length && name.toLowerCase() === wanted) {
      return header.oneOf.has(typeof value === 'string' ? value.trim().toLowerCase() : value.join(',').toLowerCase());
    }
  }
  return header.oneOf.has('');
}

/** The id to look under instead, when `entry` was filled for another value of the selection's alternate name. */
export function alternateId(entry: CachedEntry, selection: Selection): string | undefined {
  const alternate = selection.alternate;
  if (alternate === undefined) return undefined;
  const own = selection.values?.get(alternate.name);
  for (const [name, value] of entry.vary) {
    if (name === alternate.name) return own === undefined || own === value ? undefined : alternate.id;
  }
  return undefined;
}
