/*
 * An entry's groups, told to a CDN in front of the app so that it can cache the response too and purge it when a
 * group is expired (`onExpire`): Fastly reads `Surrogate-Key` (space-separated), Cloudflare `Cache-Tag`
 * (comma-separated). Each tag is `cdnTag(group)`: long or odd names go by their digest.
 */
import { type CdnTagHeader, cdnTag } from '../core/keys.js';
import type { StatusHeader } from './cache-status.js';

/**
 * Longest header line sent, name and `: ` included: Fastly takes a Surrogate-Key value of up to 16,384 bytes and
 * Cloudflare Cache-Tag headers of up to 16 KB in all. Tags past it are dropped (the CDN then cannot purge the
 * response by them, so the route says so once with a process warning).
 */
export const CDN_HEADER_LIMIT = 16 * 1024;

const SEPARATOR: Record<CdnTagHeader, string> = { 'Surrogate-Key': ' ', 'Cache-Tag': ',' };

/** The header for `groups`, de-duplicated, within {@link CDN_HEADER_LIMIT}; `onDrop` hears how many did not fit. */
export function cdnTagHeader(
  name: CdnTagHeader,
  groups: readonly string[],
  onDrop: (dropped: number, kept: number) => void,
): StatusHeader | undefined {
  const separator = SEPARATOR[name];
  const tags = new Set<string>();
  let length = name.length + 2;
  let dropped = 0;
  for (const group of groups) {
    const tag = cdnTag(group);
    if (tags.has(tag)) continue;
    const added = tag.length + (tags.size === 0 ? 0 : separator.length);
    if (length + added > CDN_HEADER_LIMIT) {
      dropped++;
      continue;
    }
    tags.add(tag);
    length += added;
  }
  if (dropped > 0) onDrop(dropped, tags.size);
  return tags.size === 0 ? undefined : [name, [...tags].join(separator)];
}
