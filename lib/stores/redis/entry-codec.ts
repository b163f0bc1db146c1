/*
 * How the Redis store writes an entry's metadata (everything but its body and fill stamp, which travel as fields of
 * their own): JSON, with a version, so that an entry written in another layout reads as a miss instead of being
 * misread.
 */
import type { CachedEntry, HeaderList } from '../contract.js';

// Raise it whenever the layout of Meta changes.
const META_VERSION = 2;

/** An entry's metadata as stored. */
export interface Meta {
  v: number;
  status: number;
  headers: HeaderList;
  etag: string;
  vary: Array<[string, string]>;
  tags: string[];
  storedAt: number;
  freshUntil: number;
  staleUntil: number;
}

/** The metadata field of `entry`, as sent to Redis. */
export function encodeMeta(entry: CachedEntry): Buffer {
  const meta: Meta = {
    v: META_VERSION,
    status: entry.status,
    headers: entry.headers,
    etag: entry.etag,
    vary: entry.vary,
    tags: entry.tags,
    storedAt: entry.storedAt,
    freshUntil: entry.freshUntil,
    staleUntil: entry.staleUntil,
  };
  return Buffer.from(JSON.stringify(meta), 'utf8');
}

/** The metadata read back; undefined when it was written in another layout. */
export function readMeta(meta: Buffer): Meta | undefined {
  const decoded = JSON.parse(meta.toString('utf8')) as Meta;
  return decoded.v === META_VERSION ? decoded : undefined;
}

/** The entry its metadata, body and fill stamp describe. */
export function entryOf(meta: Meta, body: Buffer, startedAt: number): CachedEntry {
  return {
    status: meta.status,
    headers: meta.headers,
    body,
    etag: meta.etag,
    vary: meta.vary,
    tags: meta.tags,
    startedAt,
    storedAt: meta.storedAt,
    freshUntil: meta.freshUntil,
    staleUntil: meta.staleUntil,
  };
}
