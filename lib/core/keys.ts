import { createHash } from 'node:crypto';

/** Keys and group names longer than this (in UTF-16 code units) are stored by their SHA-256 digest. */
export const DEFAULT_MAX_KEY_LENGTH = 256;

function digest(value: string): string {
  return createHash('sha256').update(value).digest('base64url');
}

/*
 * Keys and groups live in separate name spaces, and hashed names in their own, so that no key can ever be
 * read as a group (the seed let a key overwrite a group token of the same name) and no short name can be
 * chosen to equal the digest of a long one. Any string is a valid name: stores treat ids as opaque.
 */

/** The store id of a cache key; also the tag that `expireKey` expires. */
export function keyId(key: string, maxLength = DEFAULT_MAX_KEY_LENGTH): string {
  return key.length <= maxLength ? `k:${key}` : `K:${digest(key)}`;
}

/**
 * The invalidation tags of an entry: its groups' tags and the tag `expireKey` expires (`keyTag`, a `keyId`).
 * Computed here only, and by the engine only when a fill needs them: a hit never builds them.
 */
export function entryTags(groups: readonly string[], keyTag: string, maxLength = DEFAULT_MAX_KEY_LENGTH): string[] {
  // Pre-sized: map() then push() would grow the array to 19 slots, held for the entry's lifetime.
  const tags: string[] = new Array(groups.length + 1);
  for (let i = 0; i < groups.length; i++) tags[i] = groupTag(groups[i] as string, maxLength);
  tags[groups.length] = keyTag;
  return tags;
}

/** The tag of a group name. */
export function groupTag(group: string, maxLength = DEFAULT_MAX_KEY_LENGTH): string {
  return group.length <= maxLength ? `g:${group}` : `G:${digest(group)}`;
}

/** True for a group's tag (`g:` or, hashed, `G:`), as {@link groupTag} makes them; false for a key's. */
export function isGroupTag(tag: string): boolean {
  return tag.charCodeAt(1) === 58 && (tag.charCodeAt(0) === 103 || tag.charCodeAt(0) === 71);
}

/**
 * The store id of a data key (`cache.getOrSet`, `cache.wrap`): its own name space, so a cached value and a cached
 * response of the same key never share a slot. Key expiry is not separate: a data entry also carries
 * `keyId(key)` as a tag, so `expireKey(key)` invalidates the value and the response of that name alike.
 */
export function dataKeyId(key: string, maxLength = DEFAULT_MAX_KEY_LENGTH): string {
  return key.length <= maxLength ? `d:${key}` : `D:${digest(key)}`;
}

/** Group names longer than this are sent to a CDN by their digest (Akamai's tags stop at 128 characters). */
export const MAX_CDN_TAG_LENGTH = 128;
// Visible ASCII only, no comma (Cache-Tag's separator) and no space (Surrogate-Key's): RFC 9110 §5.5 field-vchar.
const CDN_SAFE = /^[\x21-\x2b\x2d-\x7e]+$/;

/**
 * The tag a CDN gets for a group (`Surrogate-Key`, `Cache-Tag`): the name itself when it is short and holds no
 * separator, else its SHA-256 digest (base64url: safe in both headers). A purge call must send the same value.
 */
export function cdnTag(group: string): string {
  return group.length <= MAX_CDN_TAG_LENGTH && CDN_SAFE.test(group) ? group : digest(group);
}

/** The headers a CDN reads an entry's tags from: Fastly's `Surrogate-Key`, Cloudflare's `Cache-Tag`. */
export type CdnTagHeader = 'Surrogate-Key' | 'Cache-Tag';

/** Reads a `cdnTags` option: `'Surrogate-Key'`, `'Cache-Tag'` (any case) or `false`; undefined when unset. */
export function cdnTagsOption(value: unknown, name: string): CdnTagHeader | false | undefined {
  if (value === undefined || value === false) return value;
  if (typeof value === 'string') {
    const lower = value.toLowerCase();
    if (lower === 'surrogate-key') return 'Surrogate-Key';
    if (lower === 'cache-tag') return 'Cache-Tag';
  }
  throw new TypeError(`option ${name} must be 'Surrogate-Key', 'Cache-Tag' or false, got ${String(value)}`);
}
